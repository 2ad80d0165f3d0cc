"""Open WebSockets follow the rights of their credentials as they change: a revoked token, a
disabled or demoted user, a new password and a sign-out reach live sockets within seconds."""

from __future__ import annotations

import uuid

import pytest
import websocket
from sqlalchemy import update

from clinic.accounts import tokens, users
from clinic.events import record_event
from clinic.models import ApiToken, utcnow
from clinic.reference.models import Doctor
from tests.conftest import ONE_BACKEND, PASSWORD, _letters
from tests.wsclient import WSClient

# The socket's access rules, not database rules: they run on one backend (see tests/conftest.py).
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])

POLICY = 1008


def _user_with_token(runtime, make_user, role: str) -> tuple[int, str]:
    user_id = make_user(role)
    with runtime.db.transaction() as s:
        return user_id, tokens.create_token(s, users.get_user(s, user_id), name="screen")[1]


def _cookie(web_client) -> str:
    return f"clinic_session={web_client.get_cookie('clinic_session').value}"


def _session_socket(live_server, web_client) -> WSClient:
    return WSClient(live_server, cookie=_cookie(web_client), origin=live_server)


def test_revoking_a_token_or_resetting_the_password_closes_open_sockets(
    live_server, runtime, client, make_user
):
    revoked_id, revoked = _user_with_token(runtime, make_user, "registrar")
    reset_id, reset = _user_with_token(runtime, make_user, "manager")
    by_revoked, by_reset = WSClient(live_server, token=revoked), WSClient(live_server, token=reset)
    by_revoked.subscribe("job:revoke")
    by_reset.subscribe("job:reset")
    token_id = client.get(f"/api/v1/tokens?user_id={revoked_id}").get_json()[0]["id"]
    assert client.post(f"/api/v1/tokens/{token_id}/revoke").status_code == 200
    assert by_revoked.wait_closed(timeout=5) == POLICY
    new_password = {"password": "Yangi-parol-77"}
    assert client.post(f"/api/v1/users/{reset_id}/password", json=new_password).status_code == 204
    assert by_reset.wait_closed(timeout=5) == POLICY


def test_disabling_a_user_closes_his_token_and_session_sockets(
    live_server, runtime, client, client_as
):
    cashier = client_as("cashier")
    me = cashier.get("/api/v1/me").get_json()["id"]
    with runtime.db.transaction() as s:
        token = tokens.create_token(s, users.get_user(s, me), name="till")[1]
    by_token = WSClient(live_server, token=token)
    by_session = _session_socket(live_server, cashier)
    by_session.subscribe("job:till")
    assert client.patch(f"/api/v1/users/{me}", json={"active": False}).status_code == 200
    assert by_token.wait_closed(timeout=5) == POLICY
    assert by_session.wait_closed(timeout=5) == POLICY


def test_a_demoted_token_loses_the_channels_its_new_role_cannot_read(
    live_server, runtime, client, make_user
):
    user_id, token = _user_with_token(runtime, make_user, "registrar")
    ws = WSClient(live_server, token=token)
    ws.subscribe("job:demote")
    ws.subscribe("board:7")  # board.view is not a registrar's: refused below if it were kept
    assert client.patch(f"/api/v1/users/{user_id}", json={"roles": ["display"]}).status_code == 200
    got = ws.until(lambda m: m.get("op") == "revoked", timeout=5)
    assert got[-1] == {"op": "revoked", "channel": "job:demote"}
    with runtime.db.transaction() as s:
        record_event(s, "job:demote", "test.tick", {"secret": True})
    assert [m for m in ws.quiet(0.3) if m.get("op") == "event"] == []
    ws.send({"op": "ping"})
    assert ws.next()["op"] == "pong"  # still open, with the rights of a display
    ws.send({"op": "subscribe", "channel": "job:demote"})
    assert ws.wait_closed() == POLICY


def test_signing_out_closes_the_sockets_of_that_session(live_server, client_as):
    doctor = client_as("registrar")
    ws = _session_socket(live_server, doctor)
    ws.subscribe("job:desk")
    assert doctor.delete("/api/v1/session").status_code == 204
    assert ws.wait_closed(timeout=5) == POLICY


def test_another_signing_in_at_the_same_browser_closes_the_first_ones_sockets_at_once(
    live_server, app, make_user
):
    """A shared desk: the cashier signs in over the registrar's session without signing him
    out. His session ends with the new id, and his socket with it, not at the next
    periodic check half a minute later."""
    make_user("registrar", "desk-registrar")
    make_user("cashier", "desk-cashier")
    desk = app.test_client()
    desk.sign_in("desk-registrar")
    ws = _session_socket(live_server, desk)
    ws.subscribe("job:desk")
    desk.sign_in("desk-cashier")
    assert desk.get("/api/v1/me").get_json()["username"] == "desk-cashier"
    assert ws.wait_closed(timeout=5) == POLICY


def test_a_subscription_is_checked_against_the_rights_of_now(live_server, runtime, make_user):
    user_id, token = _user_with_token(runtime, make_user, "registrar")
    ws = WSClient(live_server, token=token)
    ws.subscribe("job:one")
    with runtime.db.transaction() as s:  # revoked behind the application's back: no notice
        s.execute(update(ApiToken).where(ApiToken.user_id == user_id).values(revoked_at=utcnow()))
    ws.send({"op": "subscribe", "channel": "job:two"})
    assert ws.wait_closed(timeout=5) == POLICY


def test_the_periodic_recheck_closes_a_socket_whose_notice_was_lost(
    live_server, runtime, make_user, monkeypatch
):
    from web.ws import hub as hub_module

    monkeypatch.setattr(hub_module, "RECHECK_EVERY", 0.3)
    user_id, token = _user_with_token(runtime, make_user, "registrar")
    ws = WSClient(live_server, token=token)
    ws.subscribe("job:quiet")
    with runtime.db.transaction() as s:
        s.execute(update(ApiToken).where(ApiToken.user_id == user_id).values(revoked_at=utcnow()))
    assert ws.wait_closed(timeout=5) == POLICY


def _doctor_with_token(runtime, make_user) -> tuple[int, int, str]:
    """A doctor's account and token, and his doctor record's id."""
    user_id, token = _user_with_token(runtime, make_user, "doctor")
    with runtime.db.session() as s:
        return user_id, users.get_user(s, user_id).doctor_id, token


def _department(client) -> int:
    code = f"d{uuid.uuid4().hex[:6]}"
    made = client.post(
        "/api/v1/departments",
        json={
            "code": code, "ticket_prefix": _letters(), "name_ru": "Хирургия",
            "name_uz": "Jarrohlik", "name_en": "Surgery",
        },
    )  # fmt: skip
    assert made.status_code == 201, made.get_json()
    return made.get_json()["id"]


def _queue(client, department_id: int, **extra) -> int:
    body = {"code": f"q{uuid.uuid4().hex[:6]}", "department_id": department_id, **extra}
    made = client.post("/api/v1/queues", json=body)
    assert made.status_code == 201, made.get_json()
    return made.get_json()["id"]


# A hub of its own, whose periodic round is an hour away: only the change itself can revoke.
@pytest.mark.own_app
def test_a_doctor_moved_to_another_department_leaves_its_queue_at_once(
    live_server, runtime, client, make_user, monkeypatch
):
    """The administrator moves a doctor to another department: his open screen stops
    receiving his old department's queue at once (not at the next periodic check, up to half a
    minute later), and may follow his new department's."""
    from web.ws import hub as hub_module

    monkeypatch.setattr(hub_module, "RECHECK_EVERY", 3600.0)
    _, doctor_id, token = _doctor_with_token(runtime, make_user)
    with runtime.db.session() as s:
        old_department = s.get(Doctor, doctor_id).department_id
    old_queue = _queue(client, old_department)
    new_department = _department(client)
    new_queue = _queue(client, new_department)
    ws = WSClient(live_server, token=token)
    ws.subscribe(f"queue:{old_queue}")
    moved = client.patch(f"/api/v1/doctors/{doctor_id}", json={"department_id": new_department})
    assert moved.status_code == 200, moved.get_json()
    got = ws.until(lambda m: m.get("op") == "revoked", timeout=5)
    assert got[-1] == {"op": "revoked", "channel": f"queue:{old_queue}"}
    assert ws.subscribe(f"queue:{new_queue}")[-1]["op"] == "subscribed"


@pytest.mark.own_app
def test_a_queue_given_to_another_doctor_leaves_the_first_doctors_screen_at_once(
    live_server, runtime, client, make_user, monkeypatch
):
    from web.ws import hub as hub_module

    monkeypatch.setattr(hub_module, "RECHECK_EVERY", 3600.0)
    _, first, token = _doctor_with_token(runtime, make_user)
    _, second, second_token = _doctor_with_token(runtime, make_user)
    with runtime.db.session() as s:
        department, taker_department = (s.get(Doctor, d).department_id for d in (first, second))
    own_queue = _queue(client, department, doctor_id=first)
    ws = WSClient(live_server, token=token)
    ws.subscribe(f"queue:{own_queue}")
    given = client.patch(
        f"/api/v1/queues/{own_queue}", json={"doctor_id": second, "department_id": taker_department}
    )
    assert given.status_code == 200, given.get_json()
    got = ws.until(lambda m: m.get("op") == "revoked", timeout=5)
    assert got[-1] == {"op": "revoked", "channel": f"queue:{own_queue}"}
    taker = WSClient(live_server, token=second_token)
    assert taker.subscribe(f"queue:{own_queue}")[-1]["op"] == "subscribed"


def test_a_lock_closes_the_sockets_of_the_accounts_tokens(
    live_server, runtime, anon_client, make_user
):
    """A locked account's tokens stop at once (docs/security.md), their sockets with them."""
    user_id, token = _user_with_token(runtime, make_user, "registrar")
    with runtime.db.session() as s:
        username = users.get_user(s, user_id).username
    by_token = WSClient(live_server, token=token)
    by_token.subscribe("job:locked")
    for _ in range(users.LOCK_AFTER_FAILURES):
        anon_client.post(
            "/api/v1/session", json={"username": username, "password": "wrong-guess-1"}
        )
    assert by_token.wait_closed(timeout=5) == POLICY


def test_a_password_changed_elsewhere_closes_the_old_sockets_and_their_credentials_reopen_none(
    live_server, runtime, app, make_user
):
    """A user changes his own password at one desk: his socket of another session and his
    token's close at once, and neither the other session's cookie nor the old token opens a
    socket again; the session he changed it from goes on, under its new id."""
    user_id = make_user("registrar", username="parol-almashdi")
    here, elsewhere = app.test_client(), app.test_client()
    here.sign_in("parol-almashdi")
    elsewhere.sign_in("parol-almashdi")
    with runtime.db.transaction() as s:
        token = tokens.create_token(s, users.get_user(s, user_id), name="desk")[1]
    old_elsewhere = _cookie(elsewhere)
    by_elsewhere, by_token = _session_socket(live_server, elsewhere), WSClient(
        live_server, token=token
    )
    by_elsewhere.subscribe("job:pw-elsewhere")
    by_token.subscribe("job:pw-token")
    changed = here.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "Yangi-parol-2027x"},
    )
    assert changed.status_code == 204
    assert by_elsewhere.wait_closed(timeout=5) == POLICY
    assert by_token.wait_closed(timeout=5) == POLICY
    again = WSClient(live_server, cookie=old_elsewhere, origin=live_server, expect_hello=False)
    assert again.wait_closed(timeout=5) == POLICY
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        WSClient(live_server, token=token)
    assert refused.value.status_code == 401
    still = _session_socket(live_server, here)
    assert still.subscribe("job:pw-here")[-1]["op"] == "subscribed"
