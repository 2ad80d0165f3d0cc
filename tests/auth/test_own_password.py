"""A signed-in user changes his own password on the account page."""

from __future__ import annotations

import html

from sqlalchemy import select

from clinic.accounts.models import AuditEntry, User
from tests.conftest import PASSWORD

NEW = "Yangi-parol-2026!"


def test_a_user_changes_his_password_and_stays_signed_in(client_as, app, runtime):
    desk = client_as("registrar", "dilnoza")
    with runtime.db.session() as s:
        before = s.query(User).filter_by(username="dilnoza").one().password_hash
    changed = desk.post(
        "/account/password", data={"current_password": PASSWORD, "new_password": NEW}
    )
    assert changed.status_code == 302, changed.get_data(as_text=True)
    assert desk.get("/api/v1/me").get_json()["username"] == "dilnoza"
    with runtime.db.session() as s:
        assert s.query(User).filter_by(username="dilnoza").one().password_hash != before
    fresh = app.test_client()
    assert (
        fresh.post(
            "/api/v1/session", json={"username": "dilnoza", "password": PASSWORD}
        ).status_code
        == 401
    )
    fresh.sign_in("dilnoza", NEW)


def test_a_wrong_current_password_changes_nothing(client_as, runtime):
    desk = client_as("registrar", "botir")
    with runtime.db.session() as s:
        before = s.query(User).filter_by(username="botir").one().password_hash
    refused = desk.post(
        "/account/password", data={"current_password": "not-my-password", "new_password": NEW}
    )
    assert refused.status_code == 422
    with runtime.db.session() as s:
        assert s.query(User).filter_by(username="botir").one().password_hash == before


def test_the_page_refuses_a_password_in_its_own_language(client_as):
    desk = client_as("registrar", "gulnora")
    short = desk.post(
        "/account/password?lang=ru", data={"current_password": PASSWORD, "new_password": "gulnora1"}
    )
    assert short.status_code == 422
    page = short.get_data(as_text=True)
    assert "Пароль должен быть не короче" in page
    assert "Пароль не должен содержать имя пользователя." in page
    assert "must be at least" not in page
    wrong = desk.post(
        "/account/password?lang=uz",
        data={"current_password": "not-my-password", "new_password": NEW},
    )
    assert wrong.status_code == 422
    assert "Joriy parol noto'g'ri." in html.unescape(wrong.get_data(as_text=True))


def test_a_password_changed_through_the_api_keeps_this_session_and_ends_the_others(client_as, app):
    desk = client_as("registrar", "shahlo")
    elsewhere = app.test_client()
    elsewhere.sign_in("shahlo")
    changed = desk.post(
        "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW}
    )
    assert changed.status_code == 204
    assert desk.get("/api/v1/me").get_json()["username"] == "shahlo"
    assert desk.post("/api/v1/tokens", json={"name": "after", "days": 1}).status_code == 201
    assert elsewhere.get("/api/v1/me").status_code == 401


def test_guessing_the_current_password_locks_the_account_like_wrong_sign_ins(
    client_as, app, runtime
):
    """A session left open on a shared computer gives no way round the lock."""
    desk = client_as("registrar", "kamola")
    for n in range(5):
        door = ("/api/v1/me/password", "/account/password")[n % 2]
        guess = {"current_password": f"guess-number-{n}", "new_password": NEW}
        answer = (
            desk.post(door, json=guess) if door.startswith("/api") else desk.post(door, data=guess)
        )
        assert answer.status_code == 422
    # Locked now: neither the right password nor a change with it gets through.
    assert (
        app.test_client()
        .post("/api/v1/session", json={"username": "kamola", "password": PASSWORD})
        .status_code
        == 401
    )
    refused = desk.post(
        "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW}
    )
    assert refused.status_code == 422
    assert "locked" in refused.get_json()["errors"]["current_password"][0]
    with runtime.db.session() as s:
        user = s.query(User).filter_by(username="kamola").one()
        assert user.locked_until is not None and user.lock_count == 1
        statuses = s.scalars(
            select(AuditEntry.status).where(
                AuditEntry.username == "kamola", AuditEntry.status == 422
            )
        ).all()
    assert len(statuses) == 6
