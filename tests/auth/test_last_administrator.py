"""At least one active administrator always remains: nobody else could undo the mistake."""

from __future__ import annotations

import pytest

from clinic.accounts import users
from clinic.errors import Conflict


def _my_id(client) -> int:
    return client.get("/api/v1/me").get_json()["id"]


def test_the_last_administrator_can_neither_drop_his_admin_role_nor_be_disabled(client, runtime):
    me = _my_id(client)
    demoted = client.patch(f"/api/v1/users/{me}", json={"roles": ["registrar"]})
    assert demoted.status_code == 409
    assert "roles" in demoted.get_json()["errors"]
    disabled = client.patch(f"/api/v1/users/{me}", json={"active": False})
    assert disabled.status_code == 409
    assert "active" in disabled.get_json()["errors"]
    with runtime.db.transaction() as s, pytest.raises(Conflict):
        users.set_active(s, users.get_user(s, me), False)  # the command line's way
    still = client.get(f"/api/v1/users/{me}").get_json()
    assert still["roles"] == ["admin"] and still["active"] is True


def test_only_another_active_administrator_lets_the_role_go(client, make_user):
    other = make_user("admin")
    assert client.patch(f"/api/v1/users/{other}", json={"active": False}).status_code == 200
    me = _my_id(client)
    # A disabled administrator does not count.
    assert client.patch(f"/api/v1/users/{me}", json={"roles": ["manager"]}).status_code == 409
    assert client.patch(f"/api/v1/users/{other}", json={"active": True}).status_code == 200
    assert client.patch(f"/api/v1/users/{me}", json={"roles": ["manager"]}).status_code == 200
