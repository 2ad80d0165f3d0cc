"""Signing in: locks after repeated failures, identical answers, sessions and CSRF."""

from __future__ import annotations

import re
import threading

import flask
import pytest
from sqlalchemy import select

from clinic.accounts import users
from clinic.models import AuditEntry, User
from tests.conftest import PASSWORD


def _form_sign_in(client, username, password):
    return client.post("/login", data={"username": username, "password": password})


def _json_sign_in(client, username, password, ip="10.0.0.1"):
    csrf = client.get("/api/v1/session/csrf").get_json()["csrf_token"]
    return client.post(
        "/api/v1/session",
        json={"username": username, "password": password},
        headers={"X-CSRFToken": csrf},
        environ_base={"REMOTE_ADDR": ip},
    )


def test_unknown_user_and_wrong_password_get_identical_answers(anon_client, make_user):
    make_user("registrar", username="dilnoza")
    wrong = _json_sign_in(anon_client, "dilnoza", "not-her-password")
    unknown = _json_sign_in(anon_client, "nobody-here", "not-her-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_data() == unknown.get_data()


def test_wrong_passwords_from_changing_addresses_lock_the_account(
    anon_client, client, make_user, runtime
):
    user_id = make_user("cashier", username="bobur")
    for n in range(5):
        assert (
            _json_sign_in(anon_client, "bobur", "wrong-guess-xyz", ip=f"10.1.0.{n}").status_code
            == 401
        )
    locked = _json_sign_in(anon_client, "bobur", PASSWORD, ip="10.1.0.99")
    assert locked.status_code == 401  # the right password, refused while locked
    assert locked.get_data() == _json_sign_in(anon_client, "ghost", PASSWORD).get_data()

    listed = client.get("/api/v1/users?locked=true").get_json()
    assert [u["username"] for u in listed] == ["bobur"]
    assert client.post(f"/api/v1/users/{user_id}/unlock").status_code == 200
    assert _json_sign_in(anon_client, "bobur", PASSWORD).status_code == 200


def test_a_password_reset_by_an_administrator_ends_the_lock(anon_client, client, make_user):
    user_id = make_user("registrar", username="malika")
    for _ in range(users.LOCK_AFTER_FAILURES):
        assert _json_sign_in(anon_client, "malika", "forgot-it-again").status_code == 401
    assert [u["username"] for u in client.get("/api/v1/users?locked=true").get_json()] == ["malika"]
    new = "Yangi-parol-77"
    assert _json_sign_in(anon_client, "malika", new).status_code == 401  # not hers yet
    reset = client.post(f"/api/v1/users/{user_id}/password", json={"password": new})
    assert reset.status_code == 204
    assert client.get("/api/v1/users?locked=true").get_json() == []
    assert _json_sign_in(anon_client, "malika", PASSWORD).status_code == 401  # the old one
    assert _json_sign_in(anon_client, "malika", new).status_code == 200


def test_sign_in_attempts_are_audited_success_and_failure(anon_client, make_user, runtime):
    make_user("manager", username="kamola")
    _json_sign_in(anon_client, "kamola", "wrong-guess-xyz")
    _json_sign_in(anon_client, "kamola", PASSWORD)
    with runtime.db.session() as s:
        rows = s.scalars(
            select(AuditEntry).where(AuditEntry.action.startswith("auth.")).order_by(AuditEntry.id)
        ).all()
    assert [r.action for r in rows] == ["auth.sign_in_failed", "auth.sign_in"]
    assert rows[0].username == "" and rows[0].summary["username"] == "kamola"
    assert rows[1].username == "kamola" and rows[1].roles == "manager"


def test_session_id_changes_at_sign_in_and_cookie_is_httponly_lax(anon_client, make_user):
    make_user("registrar", username="said")
    anon_client.get("/api/v1/session/csrf")
    before = anon_client.get_cookie("clinic_session").value
    response = _json_sign_in(anon_client, "said", PASSWORD)
    after = anon_client.get_cookie("clinic_session")
    assert response.status_code == 200
    assert after.value != before
    header = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("clinic_session=")]
    assert header and "HttpOnly" in header[-1] and "SameSite=Lax" in header[-1]
    assert "Secure" not in header[-1]  # development over plain HTTP


def test_sessions_expire_when_idle(anon_client, make_user, runtime, settings):
    make_user("registrar", username="idle")
    _json_sign_in(anon_client, "idle", PASSWORD)
    sid = anon_client.get_cookie("clinic_session").value
    ttl = runtime.redis.ttl(f"{settings.redis_prefix}:session:{sid}")
    assert 0 < ttl <= settings.session_idle_minutes * 60


def test_form_post_without_csrf_token_is_refused_and_changes_nothing(client, runtime, make_user):
    user_id = make_user("registrar", username="jasur")
    with runtime.db.session() as s:
        before = s.get(User, user_id).password_hash
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "Boshqa-parol-77"},
        headers={"X-CSRFToken": ""},
        skip_csrf=True,
    )
    assert response.status_code == 400
    with runtime.db.session() as s:
        assert s.get(User, user_id).password_hash == before


@pytest.mark.parametrize(
    "lang, heading", [("ru", "Срок действия формы истёк"), ("uz", "Shaklning muddati tugagan")]
)
def test_a_form_refused_by_the_csrf_check_says_so_in_the_page_language(client, lang, heading):
    """A page left open past its session's end: the staff member reads what to do, in his
    language, not the CSRF library's English."""
    client.get(f"/account/password?lang={lang}")
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "Boshqa-parol-77"},
        headers={"X-CSRFToken": "", "Accept": "text/html"},
        skip_csrf=True,
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert heading in page
    assert "CSRF" not in page


def test_sign_in_form_with_csrf_signs_in_and_sign_out_ends_the_session(anon_client, make_user):
    make_user("registrar", username="gulnora")
    page = anon_client.get("/login", headers={"Accept": "text/html"}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed = anon_client.post(
        "/login", data={"username": "gulnora", "password": PASSWORD, "csrf_token": token}
    )
    assert signed.status_code == 302
    assert anon_client.get("/api/v1/me").get_json()["username"] == "gulnora"
    csrf = anon_client.get("/api/v1/me").get_json()["csrf_token"]
    assert anon_client.post("/logout", headers={"X-CSRFToken": csrf}).status_code == 302
    assert anon_client.get("/api/v1/me").status_code == 401


def test_the_sign_in_form_does_not_cut_a_longer_password_or_name_down_to_one_that_signs_in(
    anon_client, runtime
):
    password, name = "Kw9#" * 32, "u" * users.USERNAME_MAX  # as long as each may be
    with runtime.db.transaction() as session:
        users.create_user(session, username=name, password=password, roles=["registrar"])
    page = anon_client.get("/login", headers={"Accept": "text/html"}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    for sent_name, sent_password in ((name, password + "x"), (name + "x", password)):
        form = {"username": sent_name, "password": sent_password, "csrf_token": token}
        assert anon_client.post("/login", data=form).status_code == 401
        assert anon_client.get("/api/v1/me").status_code == 401
    form = {"username": name, "password": password, "csrf_token": token}
    assert anon_client.post("/login", data=form).status_code == 302


def test_a_password_change_signs_out_other_sessions(app, make_user):
    make_user("registrar", username="ozoda")
    first, second = app.test_client(), app.test_client()
    for c in (first, second):
        assert _json_sign_in(c, "ozoda", PASSWORD).status_code == 200
    csrf = first.get("/api/v1/me").get_json()["csrf_token"]
    changed = first.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "Yangi-kuchli-parol-9"},
        headers={"X-CSRFToken": csrf},
    )
    assert changed.status_code == 204
    assert second.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_wrong_passwords_sent_in_parallel_all_count_towards_the_lock(runtime, make_user):
    make_user("registrar", username="lola")
    barrier = threading.Barrier(10)

    def guess(n: int) -> None:
        with runtime.db.session() as s:
            barrier.wait()
            users.sign_in(s, "lola", f"wrong-guess-{n:04}")
            s.commit()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with runtime.db.session() as s:
        user = users.find_user(s, "lola")
        # Ten guesses at once: the first five lock the account, the rest find it locked.
        assert users.is_locked(user) and user.lock_count == 1 and user.failed_logins == 0


def test_a_users_roles_and_state_sent_back_unchanged_keep_him_signed_in(client, client_as):
    """Sessions end when the roles, the doctor or the active flag change, not when a client
    or the users page sends them back as they are (with a new full name, say)."""
    doctor = client_as("doctor")
    me = doctor.get("/api/v1/me").get_json()
    same = {"roles": ["doctor"], "doctor_id": me["doctor_id"], "active": True}
    renamed = client.patch(f"/api/v1/users/{me['id']}", json={**same, "full_name": "Dr Aziz"})
    assert renamed.status_code == 200, renamed.get_json()
    saved = client.post(f"/admin/users/{me['id']}/roles", data={"roles": ["doctor"]})
    assert saved.status_code == 302
    assert client.post(f"/admin/users/{me['id']}/enable").status_code == 302
    assert doctor.get("/api/v1/me").get_json()["full_name"] == "Dr Aziz"
    demoted = client.patch(f"/api/v1/users/{me['id']}", json={"roles": ["registrar"]})
    assert demoted.status_code == 200
    assert doctor.get("/api/v1/me").status_code == 401


def test_closing_the_browser_ends_the_session_while_the_server_keeps_the_idle_limit(
    anon_client, make_user, runtime, settings
):
    """No "remember me": the session's cookie is the browser session's. On a computer shared
    at the desk, whoever opens the browser after it was closed is not signed in as the one
    who used it before, even within the idle time."""
    make_user("cashier", username="yulduz")
    for sign_in in (_json_sign_in, _form_sign_in):
        response = sign_in(anon_client, "yulduz", PASSWORD)
        header = [
            h for h in response.headers.getlist("Set-Cookie") if h.startswith("clinic_session=")
        ]
        assert header and "Expires" not in header[-1] and "Max-Age" not in header[-1]
        sid = anon_client.get_cookie("clinic_session").value
        assert 0 < runtime.redis.ttl(f"{settings.redis_prefix}:session:{sid}")
        assert anon_client.get("/api/v1/me").status_code == 200
        assert anon_client.post("/logout").status_code == 302


def test_sign_out_works_over_https_from_a_page_that_sends_no_referer(app, make_user):
    """A signed-in person looking at a board or a patient's page (``Referrer-Policy:
    no-referrer``: their addresses are secrets) presses Sign out: the browser posts the form
    without a Referer, which the CSRF check refuses over HTTPS to every other form. The token
    still decides: without it the session goes on."""
    make_user("admin", username="nodira")
    browser = app.test_client()
    https = {"base_url": "https://localhost"}
    csrf = browser.get("/api/v1/session/csrf", **https).get_json()["csrf_token"]
    signed_in = browser.post(
        "/login", data={"username": "nodira", "password": PASSWORD, "csrf_token": csrf},
        headers={"Referer": "https://localhost/login"}, skip_csrf=True, **https,
    )  # fmt: skip
    assert signed_in.status_code == 302
    assert browser.get("/api/v1/me", **https).status_code == 200
    page = browser.get("/t/" + "x" * 43, **https)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    forged = browser.post("/logout", data={}, skip_csrf=True, **https)
    assert forged.status_code == 400
    assert browser.get("/api/v1/me", **https).status_code == 200
    csrf = browser.get("/api/v1/me", **https).get_json()["csrf_token"]
    elsewhere = {"Referer": "https://evil.example/"}
    sent_from_elsewhere = browser.post(
        "/logout", data={"csrf_token": csrf}, headers=elsewhere, skip_csrf=True, **https
    )
    assert sent_from_elsewhere.status_code == 400
    out = browser.post("/logout", data={"csrf_token": csrf}, skip_csrf=True, **https)
    assert out.status_code == 302 and out.headers["Location"].endswith("/login?signed_out=1")
    assert browser.get("/api/v1/me", **https).status_code == 401


def test_a_request_answered_after_the_sign_out_does_not_bring_the_ended_session_back(
    app, anon_client, make_user
):
    """A page's request read the session just before the user signed out at another tab and
    is answered just after: it writes its session back, as every answer does, but the id the
    sign-out ended stays ended, whoever holds it."""
    make_user("cashier", username="malika")
    assert _json_sign_in(anon_client, "malika", PASSWORD).status_code == 200
    ended = anon_client.get_cookie("clinic_session").value
    interface = app.session_interface
    with app.test_request_context("/api/v1/me", headers={"Cookie": f"clinic_session={ended}"}):
        under_way = interface.open_session(app, flask.request)
        assert under_way.get("_user_id")
        csrf = anon_client.get("/api/v1/me").get_json()["csrf_token"]
        assert anon_client.delete("/api/v1/session", headers={"X-CSRFToken": csrf}).status_code
        under_way["seen"] = True  # the request under way changed its session, too
        interface.save_session(app, under_way, app.response_class())
    holder = app.test_client()
    holder.set_cookie("clinic_session", ended)
    assert holder.get("/api/v1/me").status_code == 401
    # A session that was not ended is still written back by each request.
    assert _json_sign_in(anon_client, "malika", PASSWORD).status_code == 200
    live = anon_client.get_cookie("clinic_session").value
    with app.test_request_context("/api/v1/me", headers={"Cookie": f"clinic_session={live}"}):
        under_way = interface.open_session(app, flask.request)
        under_way["seen"] = True
        interface.save_session(app, under_way, app.response_class())
    assert anon_client.get("/api/v1/me").get_json()["username"] == "malika"


@pytest.mark.parametrize("door", ["form", "json"])
def test_a_csrf_token_from_before_the_sign_in_forges_nothing_after_it(anon_client, make_user, door):
    """Whoever read a browser's CSRF token before its user signed in (a page left open at a
    shared desk, a token planted with a session) cannot send changes in his name: the signed-in
    session has a token of its own."""
    make_user("registrar", username="feruza")
    before = anon_client.get("/api/v1/session/csrf").get_json()["csrf_token"]
    if door == "form":
        signed = anon_client.post(
            "/login", data={"username": "feruza", "password": PASSWORD, "csrf_token": before}
        )
        assert signed.status_code == 302
    else:
        signed = _json_sign_in(anon_client, "feruza", PASSWORD)
        assert signed.status_code == 200
        assert signed.get_json()["csrf_token"] != before
    forged = anon_client.post(
        "/api/v1/tokens", json={"name": "planted"}, headers={"X-CSRFToken": before}
    )
    assert forged.status_code == 400
    assert anon_client.get("/api/v1/tokens").get_json() == []
    after = anon_client.get("/api/v1/me").get_json()["csrf_token"]
    assert after != before
    made = anon_client.post("/api/v1/tokens", json={"name": "mine"}, headers={"X-CSRFToken": after})
    assert made.status_code == 201


def test_a_kiosk_session_outlasts_the_idle_limit_between_patients_while_staff_ones_keep_it(
    anon_client, make_user, runtime, settings
):
    """The kiosk stands in the hall all day, touched only when a patient takes a ticket: its
    session is kept a week without a request, not signed out after the staff's idle limit.
    The same browser signed in again as a member of staff has the idle limit again."""
    make_user("kiosk", username="hall-kiosk")
    make_user("registrar", username="dilnoza")
    idle_limit = settings.session_idle_minutes * 60

    def stored_for():
        sid = anon_client.get_cookie("clinic_session").value
        return runtime.redis.ttl(f"{settings.redis_prefix}:session:{sid}")

    for sign_in in (_json_sign_in, _form_sign_in):
        sign_in(anon_client, "hall-kiosk", PASSWORD)
        assert anon_client.get("/api/v1/me").status_code == 200
        assert idle_limit < stored_for() <= 7 * 24 * 3600
        assert anon_client.post("/logout").status_code == 302
        sign_in(anon_client, "dilnoza", PASSWORD)
        assert anon_client.get("/api/v1/me").status_code == 200
        assert 0 < stored_for() <= idle_limit
        assert anon_client.post("/logout").status_code == 302


def test_a_json_change_refused_by_the_csrf_check_names_the_token_and_changes_nothing(
    anon_client, make_user
):
    """Like every other refusal of bad input, the CSRF check's names what was wrong: the
    ``csrf_token`` (sent as the ``X-CSRFToken`` header or the form's field)."""
    make_user("registrar", username="sardor")
    assert _json_sign_in(anon_client, "sardor", PASSWORD).status_code == 200
    for headers in ({"X-CSRFToken": "forged"}, {}):
        refused = anon_client.post(
            "/api/v1/tokens", json={"name": "x"}, headers=headers, skip_csrf=True
        )
        assert refused.status_code == 400
        body = refused.get_json()
        assert body["code"] == "csrf_failed" and "CSRF" in body["detail"]
        assert body["errors"] == {"csrf_token": [body["detail"]]}
    assert anon_client.get("/api/v1/tokens").get_json() == []
