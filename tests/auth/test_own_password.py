"""A signed-in user changes his own password on the account page."""

from __future__ import annotations

from clinic.accounts.models import User
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
