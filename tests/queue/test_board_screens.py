"""Board screens: paired once, they prove themselves with a device secret that outlives every
session, until an administrator revokes them; pairing leaves no secret in the access log; the
spoken call reads the ticket as the patient sees it."""

from __future__ import annotations

import re
import urllib.request
from datetime import time, timedelta
from urllib.error import HTTPError

import pytest
import websocket
from sqlalchemy import select

from clinic.accounts import tokens, users
from clinic.base import utcnow
from clinic.errors import NotFound
from clinic.queue import admin as queue_admin
from clinic.queue import boards as queue_boards
from clinic.queue import calls, screens
from clinic.queue import tickets as q
from clinic.queue.speech import letter_names, spoken_code
from clinic.reference import directory as reference
from tests.conftest import ONE_BACKEND
from tests.wsclient import WSClient

HTML = {"Accept": "text/html"}


@pytest.fixture
def hall(runtime):
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {
                "code": "ter",
                "ticket_prefix": "T",
                "name_ru": "Терапия",
                "name_uz": "Terapiya",
                "name_en": "Therapy",
            },
        )
        room = reference.create_room(s, {"number": "7", "name": ""})
        queue = queue_admin.create_queue(
            s,
            {
                "code": "ter",
                "department_id": department.id,
                "room_id": room.id,
                "closes_at": time(23, 59, 59, 999999),
            },
        )
        board = queue_boards.create_board(s, {"name": "Hall", "queue_ids": [queue.id]})
        return {
            "queue": queue.id,
            "board": board.id,
            "room": room.id,
            "department": department.id,
        }


# -- the domain -----------------------------------------------------------------------------


def test_a_pairing_code_works_once_and_only_in_time(db, hall):
    board = queue_boards.get_board(db, hall["board"])
    screen, code = screens.start_pairing(db, board, label="  left  ", created_by="admin")
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code) and screen.label == "left"
    assert screens.screen_as_dict(screen)["state"] == "pairing"
    assert screens.redeem_code(db, "short") is None
    assert screens.redeem_code(db, 12345) is None  # not text at all
    paired, secret = screens.redeem_code(db, f" {code.lower()} ")
    assert paired.id == screen.id and secret.startswith(screens.SECRET_PREFIX)
    assert screens.screen_as_dict(paired)["state"] == "paired"
    assert screens.redeem_code(db, code) is None  # used
    assert screens.screen_for_secret(db, secret).id == screen.id

    late, late_code = screens.start_pairing(db, board)
    late.code_expires_at = utcnow() - timedelta(seconds=1)
    assert screens.screen_as_dict(late)["state"] == "expired"
    assert screens.redeem_code(db, late_code) is None
    revoked, revoked_code = screens.start_pairing(db, board)
    screens.revoke_screen(db, revoked)
    assert screens.redeem_code(db, revoked_code) is None
    assert [s.id for s in screens.list_screens(db, board.id)] == [screen.id, late.id]
    assert len(screens.list_screens(db)) == 2


def test_a_code_pairs_nothing_once_its_maker_may_no_longer_manage_queues(db, hall, make_user):
    """Whoever was shown a code is trusted with a screen only while the account that asked
    for it is: disabled since, or no longer an administrator, its codes pair nothing."""
    from clinic.accounts.models import User

    for name in ("keeps", "leaves", "moves"):
        make_user("admin", name)
    board = queue_boards.get_board(db, hall["board"])
    codes = {
        name: screens.start_pairing(db, board, created_by=name)[1]
        for name in ("keeps", "leaves", "moves")
    }
    users.set_active(db, db.scalar(select(User).where(User.username == "leaves")), False)
    users.set_roles(db, db.scalar(select(User).where(User.username == "moves")), ["registrar"])
    db.commit()
    assert screens.redeem_code(db, codes["leaves"]) is None
    assert screens.redeem_code(db, codes["moves"]) is None
    assert screens.redeem_code(db, codes["keeps"]) is not None
    # A code asked for outside any account (a script) is its maker's to hand over.
    assert screens.redeem_code(db, screens.start_pairing(db, board)[1]) is not None


def test_a_device_secret_proves_its_screen_until_revoked(db, hall):
    board = queue_boards.get_board(db, hall["board"])
    screen, secret = screens.pair_directly(db, board, label="right", created_by="display")
    screen.last_seen_at = utcnow() - timedelta(hours=1)
    db.commit()
    assert screens.screen_for_secret(db, secret) is screen
    assert utcnow() - screen.last_seen_at < timedelta(minutes=1)  # seen again just now
    for wrong in (None, "", "clk_" + secret[4:], secret + "x", "clb_" + "x" * 120):
        assert screens.screen_for_secret(db, wrong) is None
    assert screens.get_screen(db, screen.id) is screen
    screens.revoke_screen(db, screen)
    first_revocation = screen.revoked_at
    screens.revoke_screen(db, screen)
    assert screen.revoked_at == first_revocation
    assert screens.screen_for_secret(db, secret) is None
    assert screens.screen_as_dict(screen)["state"] == "revoked"
    with pytest.raises(NotFound):
        screens.get_screen(db, 999999)


@pytest.mark.parametrize(
    "code, language, said",
    [
        ("T-006", "ru", "Тэ 6"),
        ("T-006", "uz", "te 6"),
        ("T-006", "en", "T 6"),
        ("К-014", "ru", "Ка 14"),  # a Cyrillic prefix
        ("К-014", "uz", "ka 14"),
        ("К-014", "en", "K 14"),
        ("KD-100", "ru", "Ка Дэ 100"),
        ("A0", "ru", "А 0"),
        ("Ш-2", "uz", "sha 2"),
        ("X-1", "de", "X 1"),  # a language without a table says the letter as it is
        ("no number", "ru", "no number"),
    ],
)
def test_the_call_reads_the_ticket_as_the_patient_sees_it(code, language, said):
    assert spoken_code(code, language) == said


def test_every_latin_letter_has_a_name_in_the_russian_and_uzbek_voices():
    for language in ("ru", "uz"):
        names = letter_names(language)
        assert all(chr(c) in names for c in range(ord("A"), ord("Z") + 1)), language
        assert all(names[letter] for letter in names)
    assert letter_names("xx") == {}


# -- the socket of a screen -----------------------------------------------------------------


def _cookie(web_client, name: str) -> str:
    found = web_client.get_cookie(name)
    return f"{name}={found.value}" if found else ""


def test_a_screen_paired_by_a_display_reads_its_board_by_its_own_cookie_until_revoked(
    app, live_server, runtime, settings, hall, client_as, client
):
    screen = client_as("display")
    paired = screen.get(f"/board/{hall['board']}", headers=HTML)
    assert paired.status_code == 303
    # The sign-in only paired the screen: it has ended, and the board goes on by its cookie.
    assert screen.get("/queue/desk", headers=HTML).status_code == 302  # signed out
    assert screen.get(f"/board/{hall['board']}", headers=HTML).status_code == 200
    cookies = f"{_cookie(screen, 'clinic_session')}; {_cookie(screen, 'clinic_board')}"

    ws = WSClient(live_server, cookie=cookies, origin=live_server)
    answered = ws.subscribe(f"board:{hall['queue']}")
    assert [m["op"] for m in answered] == ["snapshot", "subscribed"]
    with runtime.db.transaction() as s:
        q.issue_ticket(s, hall["queue"], tz=runtime.settings.tz)
        calls.call_next(s, hall["queue"], tz=runtime.settings.tz, room_id=hall["room"])
    (called,) = [e for e in ws.events(f"board:{hall['queue']}", 2) if e["type"] == "ticket.called"]
    assert called["data"]["room"] == "7"
    # It reads its own board's queues only.
    ws.send({"op": "subscribe", "channel": "board:999999"})
    assert ws.wait_closed() == 1008

    # The device cookie is as ambient as a session: another site's page may not use it.
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        WSClient(live_server, cookie=cookies, origin="http://evil.example")
    assert refused.value.status_code == 403

    live = WSClient(live_server, cookie=cookies, origin=live_server)
    live.subscribe(f"board:{hall['queue']}")
    listed = client.get("/admin/boards?lang=en", headers=HTML).get_data(as_text=True)
    (screen_id,) = re.findall(r'data-screen-id="(\d+)"', listed)
    assert client.post(f"/admin/boards/screens/{screen_id}/revoke").status_code == 302
    assert client.post("/admin/boards/screens/999999/revoke").status_code == 404
    assert live.wait_closed(timeout=5) == 1008  # the open one, at once
    revoked = WSClient(live_server, cookie=cookies, origin=live_server, expect_hello=False)
    assert revoked.wait_closed() == 1008
    # Revoked stays revoked: the page sends the screen to be paired again by a person, and
    # the board's own check says its credential is gone.
    again = screen.get(f"/board/{hall['board']}", headers=HTML)
    assert (again.status_code, again.headers["Location"]) == (302, "/board/pair")
    assert screen.get(f"/board/{hall['board']}/check").status_code == 401


def _paired(runtime, board_id: int, *labels: str) -> list[tuple[int, str]]:
    """Screens paired with a code an administrator started: their ids and device secrets."""
    made = []
    with runtime.db.transaction() as s:
        board = queue_boards.get_board(s, board_id)
        for label in labels:
            _, code = screens.start_pairing(s, board, label=label, created_by="admin")
            screen, secret = screens.redeem_code(s, code)
            made.append((screen.id, secret))
    return made


def _screen_socket(live_server, secret: str) -> WSClient:
    return WSClient(live_server, cookie=f"clinic_board={secret}", origin=live_server)


@pytest.mark.parametrize("backend", [ONE_BACKEND])  # the socket's rules, not the database's
def test_revoking_a_screen_closes_its_open_socket_at_once_by_the_api_and_the_page(
    live_server, runtime, client, hall
):
    """Not at the next periodic check (30 s): a screen taken from the wall, or stolen, stops
    showing names and numbers the moment an administrator revokes it."""
    (by_api, by_api_secret), (by_page, by_page_secret), (_, kept_secret) = _paired(
        runtime, hall["board"], "door", "hall", "stairs"
    )
    sockets = {
        secret: _screen_socket(live_server, secret)
        for secret in (by_api_secret, by_page_secret, kept_secret)
    }
    for ws in sockets.values():
        ws.subscribe(f"board:{hall['queue']}")

    assert client.post(f"/api/v1/screens/{by_api}/revoke").status_code == 200
    assert sockets[by_api_secret].wait_closed(timeout=5) == 1008
    assert client.post(f"/admin/boards/screens/{by_page}/revoke").status_code == 302
    assert sockets[by_page_secret].wait_closed(timeout=5) == 1008

    kept = sockets[kept_secret]  # the board's other screen goes on
    kept.send({"op": "ping"})
    assert kept.until(lambda m: m.get("op") == "pong")[-1] == {"op": "pong"}


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_a_board_switched_off_or_given_other_queues_reaches_its_open_screens_at_once(
    live_server, runtime, client, hall
):
    with runtime.db.transaction() as s:
        other = queue_admin.create_queue(
            s,
            {
                "code": "lab",
                "department_id": hall["department"],
                "room_id": hall["room"],
                "prefix": "L",
                "closes_at": time(23, 59, 59, 999999),
            },
        ).id
    client.patch(f"/api/v1/boards/{hall['board']}", json={"queue_ids": [hall["queue"], other]})
    ((_, secret),) = _paired(runtime, hall["board"], "door")
    ws = _screen_socket(live_server, secret)
    ws.subscribe(f"board:{hall['queue']}")
    ws.subscribe(f"board:{other}")

    moved = client.patch(f"/api/v1/boards/{hall['board']}", json={"queue_ids": [other]})
    assert moved.status_code == 200
    got = ws.until(lambda m: m.get("op") == "revoked", timeout=5)
    assert got[-1] == {"op": "revoked", "channel": f"board:{hall['queue']}"}

    off = client.patch(f"/api/v1/boards/{hall['board']}", json={"active": False})
    assert off.status_code == 200
    assert ws.wait_closed(timeout=5) == 1008


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_disabling_a_display_account_ends_the_screens_it_paired_by_itself(
    live_server, runtime, client, anon_client, make_user, hall
):
    """A display account's token or password in the wrong hands pairs screens of its own,
    each a credential that outlives the token. Disabling the account ends them, open sockets
    included, at once; screens paired with a code an administrator started go on."""
    display = make_user("display")
    with runtime.db.transaction() as s:
        token = tokens.create_token(s, users.get_user(s, display), name="hall")[1]
    exchanged = anon_client.get(f"/board/{hall['board']}?token={token}", headers=HTML)
    assert exchanged.status_code == 303
    own_secret = anon_client.get_cookie("clinic_board").value
    ((_, coded_secret),) = _paired(runtime, hall["board"], "by code")
    own, coded = _screen_socket(live_server, own_secret), _screen_socket(live_server, coded_secret)
    for ws in (own, coded):
        ws.subscribe(f"board:{hall['queue']}")

    assert client.patch(f"/api/v1/users/{display}", json={"active": False}).status_code == 200
    assert own.wait_closed(timeout=5) == 1008
    check = anon_client.get(f"/board/{hall['board']}/check")
    assert check.status_code == 401 and check.get_json()["credential"] is False
    coded.send({"op": "ping"})
    assert coded.until(lambda m: m.get("op") == "pong")[-1] == {"op": "pong"}
    listed = client.get(f"/api/v1/boards/{hall['board']}/screens").get_json()
    assert [s["label"] for s in listed] == ["by code"]


@pytest.mark.parametrize(
    "change",
    [
        lambda s, user: users.set_password(s, user, "Yangi-parol-77"),
        lambda s, user: users.set_roles(s, user, ["registrar"]),
        lambda s, user: users.set_active(s, user, False),
    ],
    ids=["new password", "other roles", "disabled"],
)
def test_a_screen_an_account_paired_ends_with_the_accounts_credentials(
    runtime, make_user, hall, change
):
    display = make_user("display")
    with runtime.db.transaction() as s:
        user = users.get_user(s, display)
        board = queue_boards.get_board(s, hall["board"])
        account = (user.id, user.session_version)
        _, secret = screens.pair_directly(s, board, label="own", account=account)
    with runtime.db.transaction() as s:
        assert screens.screen_for_secret(s, secret) is not None
        change(s, users.get_user(s, display))
    with runtime.db.transaction() as s:
        assert screens.screen_for_secret(s, secret) is None
        assert screens.list_screens(s, hall["board"]) == []
        users.set_active(s, users.get_user(s, display), True)
    with runtime.db.transaction() as s:  # for good: enabled again, the account pairs again
        assert screens.screen_for_secret(s, secret) is None


# -- the access log -------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.mark.slow
@pytest.mark.parametrize("backend", [ONE_BACKEND])  # what the access log says is the web's
def test_pairing_screens_leaves_no_token_code_or_device_secret_in_the_access_log(
    settings, runtime, client, hall, make_user, tmp_path
):
    from clinic.accounts import tokens, users
    from tests.browser.test_queue_board import WebServer

    with runtime.db.transaction() as s:
        display = users.get_user(s, make_user("display"))
        token = tokens.create_token(s, display, name="hall")[1]
    answer = client.post(f"/admin/boards/{hall['board']}/screens", data={"label": "left"})
    shown = client.get(answer.headers["Location"], headers=HTML)
    code = re.search(r'id="pairing-code">([A-Z0-9-]+)<', shown.get_data(as_text=True)).group(1)

    server = WebServer(settings, tmp_path / "web.log")
    server.start()
    try:
        opener = urllib.request.build_opener(_NoRedirect)
        secrets = []
        board = f"{server.url}/board/{hall['board']}"
        for request in (
            urllib.request.Request(f"{board}?token={token}"),
            urllib.request.Request(
                f"{server.url}/board/pair", data=f"pairing_code={code}".encode(), method="POST"
            ),
        ):
            with pytest.raises(HTTPError) as redirected:
                opener.open(request, timeout=10)
            assert redirected.value.code == 303
            assert redirected.value.headers["Location"] == f"/board/{hall['board']}"
            cookie = redirected.value.headers["Set-Cookie"].split(";")[0]
            secrets.append(cookie.split("=", 1)[1])
            shown = urllib.request.Request(board, headers={"Cookie": cookie, **HTML})
            with opener.open(shown, timeout=10) as page:
                assert page.status == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    finally:
        server.stop()  # every line written out
    log = server.log.read_text()
    assert f"/board/{hall['board']}?token=[redacted]" in log
    assert "POST /board/pair" in log and f'"GET /board/{hall["board"]} ' in log
    for secret in [token, code, code.replace("-", ""), *secrets]:
        assert secret not in log


def test_the_api_pairs_lists_and_revokes_a_boards_screens(app, client, hall):
    board = hall["board"]
    started = client.post(f"/api/v1/boards/{board}/screens", json={"label": "entrance"})
    assert started.status_code == 201
    body = started.get_json()
    assert body["state"] == "pairing" and body["pair_url"].endswith("/board/pair")
    screen = app.test_client()
    paired = screen.post("/board/pair", data={"pairing_code": body["code"]}, headers=HTML)
    assert paired.status_code == 303
    listed = client.get(f"/api/v1/boards/{board}/screens").get_json()
    assert [(s["label"], s["state"]) for s in listed] == [("entrance", "paired")]
    revoked = client.post(f"/api/v1/screens/{body['id']}/revoke")
    assert revoked.status_code == 200 and revoked.get_json()["state"] == "revoked"
    assert client.get(f"/api/v1/boards/{board}/screens").get_json() == []
    assert screen.get(f"/board/{board}/check").status_code == 401
    assert client.post("/api/v1/screens/999999/revoke").status_code == 404


def test_guessing_pairing_codes_is_rate_limited_per_address(app):
    # A pairing code is the only credential of a screen's first visit: ten tries a minute.
    screen = app.test_client()
    tries = [
        screen.post("/board/pair", data={"pairing_code": f"WXYZ-{n:04d}"}, headers=HTML)
        for n in range(11)
    ]
    assert 429 not in [t.status_code for t in tries[:10]]
    assert tries[10].status_code == 429


def test_device_secrets_and_pairing_codes_are_masked_wherever_they_are_written():
    from web.gunicorn_conf import redact_secrets

    line = "GET /board/pair?pairing_code=ABCD-EFGH&x=1 Cookie: clinic_board=clb_AbC-123_xyz"
    masked = redact_secrets(line)
    assert "ABCD-EFGH" not in masked and "AbC-123_xyz" not in masked
    assert "pairing_code=[redacted]&x=1" in masked and "clb_[redacted]" in masked
    assert redact_secrets("token=clk_Zz9") == "token=[redacted]"
    assert redact_secrets("Bearer clk_Zz9") == "Bearer clk_[redacted]"


def test_a_pairing_by_its_form_is_audited_with_the_status_it_answered(runtime, anon_client, hall):
    from clinic.accounts.models import AuditEntry

    with runtime.db.transaction() as s:
        board = queue_boards.get_board(s, hall["board"])
        _screen, code = screens.start_pairing(s, board, label="hall", created_by="admin")
    paired = anon_client.post("/board/pair", data={"pairing_code": code}, skip_csrf=True)
    assert paired.status_code == 303
    with runtime.db.session() as s:
        row = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert row.status == 303 and code not in str(row.summary)


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_one_pairing_code_typed_on_two_screens_at_once_pairs_one(runtime, hall):
    """The code shown once is typed on two screens at the same moment: one is paired, the
    other is told the code is used, rather than both told they are paired while only the
    last one's secret works."""
    import threading

    from sqlalchemy import text

    from tests.races import wait_for, waits_for_a_lock

    with runtime.db.transaction() as s:
        board = queue_boards.get_board(s, hall["board"])
        _screen, code = screens.start_pairing(s, board, created_by="admin")
    pids, answers = [], []

    def second_screen():
        with runtime.db.transaction() as s:
            pids.append(s.scalar(text("SELECT pg_backend_pid()")))
            answers.append(screens.redeem_code(s, code))

    with runtime.db.transaction() as first:
        paired, secret = screens.redeem_code(first, code)
        other = threading.Thread(target=second_screen)
        other.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the second screen")
    other.join(30)
    assert answers == [None]
    with runtime.db.session() as s:
        assert screens.screen_for_secret(s, secret).id == paired.id


def test_a_staff_member_at_a_paired_screen_stays_signed_in(runtime, client_as, hall):
    """Only a display account's sign-in ends at its board: a cashier (no queue to read, no
    board to show) who opens the board on a screen paired with it goes on working."""
    ((_, secret),) = _paired(runtime, hall["board"], "hall")
    cashier = client_as("cashier")
    cashier.set_cookie("clinic_board", secret)
    assert cashier.get(f"/board/{hall['board']}", headers=HTML).status_code == 200
    assert cashier.get("/api/v1/me").status_code == 200
