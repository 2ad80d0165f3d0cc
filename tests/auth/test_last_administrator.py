"""At least one active administrator always remains: nobody else could undo the mistake."""

from __future__ import annotations

import pytest

from clinic.accounts import users
from clinic.errors import Conflict


def _my_id(client) -> int:
    return client.get("/api/v1/me").get_json()["id"]


def test_the_last_administrator_cannot_drop_his_own_admin_role(client):
    me = _my_id(client)
    answer = client.patch(f"/api/v1/users/{me}", json={"roles": ["registrar"]})
    assert answer.status_code == 409
    assert "roles" in answer.get_json()["errors"]
    assert client.get(f"/api/v1/users/{me}").get_json()["roles"] == ["admin"]


def test_the_last_administrator_cannot_be_disabled(client, runtime):
    me = _my_id(client)
    assert client.patch(f"/api/v1/users/{me}", json={"active": False}).status_code == 409
    with runtime.db.transaction() as s, pytest.raises(Conflict):
        users.set_active(s, users.get_user(s, me), False)


def test_a_disabled_administrator_does_not_count(client, make_user, runtime):
    other = make_user("admin")
    assert client.patch(f"/api/v1/users/{other}", json={"active": False}).status_code == 200
    me = _my_id(client)
    assert client.patch(f"/api/v1/users/{me}", json={"roles": ["manager"]}).status_code == 409


def test_with_another_active_administrator_the_role_may_go(client, make_user):
    make_user("admin")
    me = _my_id(client)
    assert client.patch(f"/api/v1/users/{me}", json={"roles": ["manager"]}).status_code == 200
