"""At least one active administrator always remains: nobody else could undo the mistake."""

from __future__ import annotations

import threading

import pytest

from clinic.accounts import users
from clinic.accounts.models import User
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


def test_an_administrator_does_not_disable_himself_even_with_others_left(client, make_user):
    """The users page refuses it, and the API as well: one slip and he is locked out."""
    make_user("admin")
    me = _my_id(client)
    refused = client.patch(f"/api/v1/users/{me}", json={"active": False, "full_name": "Я"})
    assert refused.status_code == 409, refused.get_json()
    assert refused.get_json()["code"] == "self_disable" and "active" in refused.get_json()["errors"]
    still = client.get(f"/api/v1/users/{me}").get_json()
    assert still["active"] is True and still["full_name"] != "Я"


def _at_once(runtime, change, user_ids) -> list[str]:
    """Apply ``change`` to each user in its own transaction, all starting together."""
    barrier = threading.Barrier(len(user_ids))
    outcomes = []

    def run(user_id):
        with runtime.db.session() as s:
            user = users.get_user(s, user_id)
            user.roles  # loaded before the others start, as a request would have it
            barrier.wait()
            try:
                change(s, user)
                s.commit()
                outcomes.append("done")
            except Exception as exc:
                s.rollback()
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=run, args=(user_id,)) for user_id in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def _active_administrators(runtime) -> list[str]:
    with runtime.db.session() as s:
        return [u.username for u in users.list_users(s) if u.active and "admin" in u.roles]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    "change",
    [
        lambda s, user: users.set_active(s, user, False),
        lambda s, user: users.set_roles(s, user, ["manager"]),
    ],
    ids=["disable", "demote"],
)
def test_the_last_two_administrators_changed_at_once_leave_one_and_a_clear_refusal(
    runtime, make_user, change
):
    for _ in range(3):
        pair = [make_user("admin"), make_user("admin")]
        # One change goes through; the other waits for it, then is refused (409), never
        # passed on a stale count nor broken off as a deadlock.
        assert _at_once(runtime, change, pair) == ["Conflict", "done"]
        assert len(_active_administrators(runtime)) == 1
        with runtime.db.transaction() as s:
            for user_id in pair:
                s.get(User, user_id).active = False


def test_a_page_refusing_the_last_administrators_demotion_says_why_in_its_audit_row(
    client, runtime
):
    from sqlalchemy import select

    from clinic.accounts.models import AuditEntry

    me = _my_id(client)
    page = client.post(f"/admin/users/{me}/roles", data={"roles": ["manager"], "doctor_id": ""})
    # Said at the roles of his row, drawn again as ticked, with the API's status.
    assert page.status_code == 409
    with runtime.db.session() as s:
        row = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert row.status == 409 and row.summary["refused"]["code"] == "last_admin"
    assert "last active administrator" in row.summary["refused"]["detail"]
    assert client.get(f"/api/v1/users/{me}").get_json()["roles"] == ["admin"]
