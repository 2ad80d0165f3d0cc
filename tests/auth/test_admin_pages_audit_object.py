"""A form of the users page, or a token's revocation, refused before its view runs (a role
without the permission, a missing CSRF token) is audited under the user or the token it was
about, as docs/security.md says, not under the pages' blueprint."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.accounts import tokens, users
from clinic.accounts.models import AuditEntry
from tests.conftest import ONE_BACKEND

# What the audit row of a page's form names is the web's own rule: one backend.
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])


def _object_of(runtime, answer) -> tuple[str, str, int]:
    with runtime.db.session() as s:
        (row,) = s.scalars(
            select(AuditEntry).where(AuditEntry.request_id == answer.headers["X-Request-ID"])
        ).all()
    return row.object_type, row.object_id, row.status


def _token_of(runtime, username: str) -> int:
    with runtime.db.transaction() as s:
        return tokens.create_token(s, users.find_user(s, username), name="script")[0].id


@pytest.mark.parametrize("action", ["roles", "password", "disable", "enable", "unlock"])
def test_a_users_page_form_refused_by_permission_names_the_user(
    client_as, make_user, runtime, action
):
    manager = client_as("manager")
    cashier = make_user("cashier")
    refused = manager.post(f"/admin/users/{cashier}/{action}", data={"roles": ["admin"]})
    assert _object_of(runtime, refused) == ("users", str(cashier), 403)


def test_the_new_user_form_refused_by_permission_is_audited_as_about_users(client_as, runtime):
    refused = client_as("manager").post("/admin/users", data={"username": "farida"})
    assert _object_of(runtime, refused) == ("users", "", 403)


def test_a_users_page_form_without_its_csrf_token_names_the_user(client, make_user, runtime):
    cashier = make_user("cashier")
    refused = client.post(
        f"/admin/users/{cashier}/password", data={"password": "Boshqa-parol-2026"}, skip_csrf=True
    )
    assert _object_of(runtime, refused) == ("users", str(cashier), 400)


def test_a_token_form_without_its_csrf_token_names_the_token(client_as, runtime):
    desk = client_as("registrar", "zarina")
    token_id = _token_of(runtime, "zarina")
    refused = desk.post(f"/account/tokens/{token_id}/revoke", skip_csrf=True)
    assert _object_of(runtime, refused) == ("api_tokens", str(token_id), 400)
    made = desk.post("/account/tokens", data={"name": "x", "days": "5"}, skip_csrf=True)
    assert _object_of(runtime, made) == ("api_tokens", "", 400)


def test_a_refused_revocation_of_anothers_token_still_names_the_token(client_as, runtime):
    client_as("registrar", "olim")
    token_id = _token_of(runtime, "olim")
    refused = client_as("registrar").post(f"/account/tokens/{token_id}/revoke")
    assert _object_of(runtime, refused)[:2] == ("api_tokens", str(token_id))


def test_a_json_revocation_without_its_csrf_token_names_the_token(client_as, runtime):
    desk = client_as("registrar", "nodira")
    token_id = _token_of(runtime, "nodira")
    refused = desk.post(f"/api/v1/tokens/{token_id}/revoke", json={}, skip_csrf=True)
    assert _object_of(runtime, refused) == ("api_tokens", str(token_id), 400)
    revoked = desk.post(f"/api/v1/tokens/{token_id}/revoke", json={})
    assert _object_of(runtime, revoked) == ("api_tokens", str(token_id), 200)


def test_a_form_sent_to_an_address_with_a_language_is_audited_as_refused(
    client, make_user, runtime
):
    """A form's address may carry the page's ?lang=: the form is answered in that language,
    and its refusal is audited as for any form, under its user."""
    cashier = make_user("cashier")
    refused = client.post(f"/admin/users/{cashier}/roles?lang=uz", data={"roles": ["nope"]})
    assert refused.status_code == 422
    assert "Foydalanuvchi" in refused.get_data(as_text=True)
    assert _object_of(runtime, refused) == ("users", str(cashier), 422)
