"""An audit row of a change to a user says what he was before and what he is after: the
administrator and an auditor read who gave whom which roles, not only what was sent."""

from __future__ import annotations

from sqlalchemy import select

from clinic.accounts.models import AuditEntry


def _rows(runtime, *actions: str) -> list[AuditEntry]:
    with runtime.db.session() as s:
        return s.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(actions)).order_by(AuditEntry.id)
        ).all()


def test_a_role_change_by_the_api_is_recorded_with_the_roles_before_and_after(
    client, make_user, runtime
):
    cashier = make_user("cashier")
    answer = client.patch(f"/api/v1/users/{cashier}", json={"roles": ["cashier", "admin"]})
    assert answer.status_code == 200
    (row,) = _rows(runtime, "users.update_user")
    assert row.summary["changes"] == {
        "roles": {"before": ["cashier"], "after": ["admin", "cashier"]}
    }


def test_the_users_page_records_roles_and_the_active_flag_before_and_after(
    client, make_user, runtime
):
    doctor = make_user("doctor")
    ticked = client.post(f"/admin/users/{doctor}/roles", data={"roles": ["registrar"]})
    disabled = client.post(f"/admin/users/{doctor}/disable")
    assert ticked.status_code == disabled.status_code == 302
    roles, active = _rows(runtime, "admin.user_action_form")
    assert roles.summary["changes"]["roles"] == {"before": ["doctor"], "after": ["registrar"]}
    assert roles.summary["changes"]["doctor_id"]["after"] is None
    assert roles.summary["changes"]["doctor_id"]["before"] is not None
    assert active.summary["changes"] == {"active": {"before": True, "after": False}}


def test_a_change_that_changes_nothing_records_no_changes(client, make_user, runtime):
    cashier = make_user("cashier")
    same = client.patch(f"/api/v1/users/{cashier}", json={"roles": ["cashier"], "active": True})
    assert same.status_code == 200
    (row,) = _rows(runtime, "users.update_user")
    assert "changes" not in row.summary


def test_lifting_a_lock_that_ran_out_records_no_changes_and_a_live_one_is_recorded(
    client, make_user, runtime
):
    """The users' list says a user whose lock ran out is not locked: the log does not say
    an administrator lifted a lock then; lifting one that holds says so."""
    from datetime import timedelta

    from sqlalchemy import update

    from clinic.accounts.models import User
    from clinic.base import utcnow

    ran_out, holds = make_user("cashier"), make_user("cashier")
    with runtime.db.transaction() as s:
        for user, until in ((ran_out, -1), (holds, 1)):
            lock = utcnow() + timedelta(hours=until)
            s.execute(update(User).where(User.id == user).values(locked_until=lock))
    assert client.get(f"/api/v1/users/{ran_out}").get_json()["locked_until"] is None
    for user in (ran_out, holds):
        assert client.post(f"/api/v1/users/{user}/unlock").status_code == 200
    nothing, lifted = _rows(runtime, "users.unlock_user")
    assert "changes" not in nothing.summary, nothing.summary
    assert lifted.summary["changes"]["locked_until"]["after"] is None
    assert lifted.summary["changes"]["locked_until"]["before"] is not None


def test_a_manager_reading_the_log_sees_that_a_name_changed_but_not_the_names(
    client, client_as, make_user, runtime
):
    cashier = make_user("cashier")
    renamed = client.patch(f"/api/v1/users/{cashier}", json={"full_name": "Dilnoza Karimova"})
    assert renamed.status_code == 200
    manager = client_as("manager")
    entries = manager.get("/api/v1/audit?action=users.update_user").get_json()
    changes = [e["summary"]["changes"] for e in entries["items"]]
    assert changes == [{"full_name": "***"}]
    entries = client.get("/api/v1/audit?action=users.update_user").get_json()
    assert entries["items"][0]["summary"]["changes"]["full_name"]["after"] == "Dilnoza Karimova"


def test_a_price_changed_is_recorded_with_the_price_before_and_after(client, runtime):
    made = client.post(
        "/api/v1/services",
        json={
            "code": "LAB-01",
            "name_ru": "Анализ крови",
            "name_uz": "Qon tahlili",
            "name_en": "Blood test",
            "price": 5_000_000,
        },
    )
    assert made.status_code == 201, made.get_json()
    service = made.get_json()["id"]
    assert client.patch(f"/api/v1/services/{service}", json={"price": 6_500_000}).status_code == 200
    assert client.post(f"/api/v1/services/{service}/deactivate").status_code == 200
    changed, deactivated = _rows(
        runtime, "reference.update_service", "reference.deactivate_service"
    )
    assert changed.summary["changes"] == {"price": {"before": 5_000_000, "after": 6_500_000}}
    assert deactivated.summary["changes"] == {"active": {"before": True, "after": False}}


def test_a_patients_phone_changed_is_masked_before_and_after_for_a_manager(
    client, client_as, runtime
):
    made = client.post(
        "/api/v1/patients", json={"full_name": "Olim Rasulov", "phone": "+998901234567", "sex": "M"}
    )
    assert made.status_code == 201, made.get_json()
    patient = made.get_json()["id"]
    moved = client.patch(f"/api/v1/patients/{patient}", json={"phone": "+998907654321"})
    assert moved.status_code == 200
    (row,) = _rows(runtime, "reference.update_patient")
    assert row.summary["changes"]["phone"]["before"] == "+998901234567"
    manager = client_as("manager")
    seen = manager.get("/api/v1/audit?action=reference.update_patient").get_json()["items"]
    assert seen[0]["summary"]["changes"]["phone"] == "***"
    assert "+99890" not in str(seen)


def test_the_clinics_legal_details_changed_are_recorded_before_and_after(client, runtime):
    """The taxpayer number and legal name are printed on every receipt: an auditor reads
    what they were before a save, also a save that left one out (and so emptied it)."""
    details = {"legal_name": "OOO Shifo", "taxpayer_number": "123456789", "phone": "71 200 00 00"}
    assert client.put("/api/v1/clinic", json=details).status_code == 200
    assert client.put("/api/v1/clinic", json={"legal_name": "OOO Shifo Plus"}).status_code == 200
    first, second = _rows(runtime, "reference.put_clinic")
    assert first.summary["changes"]["taxpayer_number"] == {"before": None, "after": "123456789"}
    assert second.summary["changes"] == {
        "legal_name": {"before": "OOO Shifo", "after": "OOO Shifo Plus"},
        "taxpayer_number": {"before": "123456789", "after": ""},
        "phone": {"before": "+998712000000", "after": ""},
    }
