"""Token lifecycle: what ends a token, and who may make one (docs/security.md, API tokens)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from clinic.accounts import tokens, users
from clinic.models import AuditEntry, User, utcnow


def _token_for(runtime, user_id: int, days: int = 1) -> str:
    with runtime.db.transaction() as s:
        return tokens.create_token(s, users.get_user(s, user_id), name="script", days=days)[1]


def _me(anon_client, token: str) -> int:
    return anon_client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_password_reset_revokes_the_users_tokens(client, anon_client, make_user, runtime):
    user_id = make_user("registrar")
    token = _token_for(runtime, user_id)
    assert _me(anon_client, token) == 200
    reset = client.post(f"/api/v1/users/{user_id}/password", json={"password": "Yangi-parol-77"})
    assert reset.status_code == 204
    assert _me(anon_client, token) == 401
    listed = client.get(f"/api/v1/tokens?user_id={user_id}").get_json()
    assert [t["revoked_at"] is not None for t in listed] == [True]


def test_a_disabled_user_enabled_again_does_not_get_his_tokens_back(
    client, anon_client, make_user, runtime
):
    user_id = make_user("cashier")
    token = _token_for(runtime, user_id)
    assert client.patch(f"/api/v1/users/{user_id}", json={"active": False}).status_code == 200
    assert client.patch(f"/api/v1/users/{user_id}", json={"active": True}).status_code == 200
    assert _me(anon_client, token) == 401


def test_a_locked_users_token_is_refused_until_the_lock_ends(anon_client, make_user, runtime):
    user_id = make_user("doctor")
    token = _token_for(runtime, user_id)
    with runtime.db.transaction() as s:
        s.execute(
            update(User)
            .where(User.id == user_id)
            .values(locked_until=utcnow() + timedelta(minutes=15))
        )
    assert _me(anon_client, token) == 401
    with runtime.db.transaction() as s:
        s.execute(update(User).where(User.id == user_id).values(locked_until=None))
    assert _me(anon_client, token) == 200


def test_a_token_cannot_make_tokens(client, anon_client, runtime):
    me = client.get("/api/v1/me").get_json()
    short = _token_for(runtime, me["id"], days=1)
    anon_client.token_owners[short] = me["username"]
    auth = {"Authorization": f"Bearer {short}"}
    minted = anon_client.post("/api/v1/tokens", json={"name": "long", "days": 366}, headers=auth)
    assert minted.status_code == 403
    assert minted.mimetype == "application/problem+json"
    assert (
        minted.get_json()["detail"] == "tokens are made from a signed-in session, not with a token"
    )
    by_form = anon_client.post(
        "/account/tokens", data={"name": "long", "days": "366"}, headers=auth
    )
    assert by_form.status_code == 403
    # Only the parent exists: nothing was made.
    assert [t["name"] for t in client.get("/api/v1/tokens").get_json()] == ["script"]
    # A signed-in session still makes them.
    assert client.post("/api/v1/tokens", json={"name": "ok", "days": 366}).status_code == 201


def test_a_user_asking_for_anothers_tokens_is_told_why(anon_client, make_user, runtime):
    token = _token_for(runtime, make_user("cashier"))
    other = make_user("registrar")
    auth = {"Authorization": f"Bearer {token}"}
    refused = anon_client.get(f"/api/v1/tokens?user_id={other}", headers=auth)
    assert refused.status_code == 403
    assert refused.get_json()["detail"] == "you may list only your own tokens"


def test_nobody_makes_a_token_for_someone_else_not_even_an_administrator(
    client, anon_client, make_user, runtime
):
    """A token acts as its owner: whatever it does is his in the audit log. An administrator
    who could make a doctor's token would act in the doctor's name with no trace of his own,
    so tokens are made by their owners only; tokens.manage lists and revokes everyone's."""
    doctor = make_user("doctor")
    made = client.post("/api/v1/tokens", json={"name": "as the doctor", "user_id": doctor})
    assert made.status_code == 403
    assert made.mimetype == "application/problem+json"
    assert "user_id" in made.get_json()["detail"]
    assert client.get(f"/api/v1/tokens?user_id={doctor}").get_json() == []
    me = client.get("/api/v1/me").get_json()["id"]
    own = client.post("/api/v1/tokens", json={"name": "mine", "user_id": me})
    assert own.status_code == 201 and own.get_json()["user_id"] == me
    with runtime.db.session() as s:  # the attempt is on record, under the administrator
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == "account.create_token"))
        assert sorted((r.username, r.status) for r in rows) == [("admin", 201), ("admin", 403)]


def test_a_token_is_not_signed_out_and_is_not_told_it_was(anon_client, make_user, runtime):
    """A script "signing out" with its token must not be answered as if its access had ended:
    the token lives on until it is revoked or expires."""
    user_id = make_user("cashier", "script-user")
    token = _token_for(runtime, user_id)
    anon_client.token_owners[token] = "script-user"
    auth = {"Authorization": f"Bearer {token}"}
    for method, path in (("DELETE", "/api/v1/session"), ("POST", "/logout")):
        answer = anon_client.open(path, method=method, headers=auth)
        assert answer.status_code == 403, (path, answer.status_code)
        assert "revoke" in answer.get_json()["detail"]
    assert _me(anon_client, token) == 200


def test_an_account_made_the_kiosks_loses_the_tokens_it_made_before(
    client, anon_client, make_user, runtime
):
    """A kiosk's account makes no token: one would issue tickets from anywhere for up to a
    year. Neither does one made earlier, by the desk that used the account before it was
    given to the kiosk, go on working; an account that keeps another role keeps its tokens."""
    kept_id, turned_id = make_user("registrar"), make_user("registrar")
    kept, turned = _token_for(runtime, kept_id), _token_for(runtime, turned_id)
    both = {"roles": ["kiosk", "registrar"]}
    assert client.patch(f"/api/v1/users/{kept_id}", json=both).status_code == 200
    assert client.patch(f"/api/v1/users/{turned_id}", json={"roles": ["kiosk"]}).status_code == 200
    assert _me(anon_client, kept) == 200
    assert _me(anon_client, turned) == 401
    listed = client.get(f"/api/v1/tokens?user_id={turned_id}").get_json()
    assert [t["revoked_at"] is not None for t in listed] == [True]
