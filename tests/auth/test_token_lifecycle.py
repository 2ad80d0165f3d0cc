"""Token lifecycle: what ends a token, and who may make one (docs/security.md, API tokens)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from clinic.accounts import tokens, users
from clinic.models import User, utcnow


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
