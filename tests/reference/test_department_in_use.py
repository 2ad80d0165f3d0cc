"""A department is switched off only when nobody works in it and nobody is booked into it:
its active doctors would go on taking visits in a department the desk no longer lists, and
the visits booked ahead in it would drop off the desk's calendar, which lists the active
departments only, while their patients still come."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.base import utcnow
from clinic.errors import Conflict
from clinic.reference import directory as reference
from tests.payments.fixtures import make_patient, make_visit

NAMES = {"name_ru": "Кардиология", "name_uz": "Kardiologiya", "name_en": "Cardiology"}


def _department(s, code="CARD", prefix="K"):
    return reference.create_department(s, {"code": code, "ticket_prefix": prefix, **NAMES})


def _refusal(runtime, department_id: int) -> Conflict:
    with runtime.db.transaction() as s:
        with pytest.raises(Conflict) as refused:
            reference.deactivate_department(s, department_id)
    with runtime.db.session() as s:
        assert reference.get_department(s, department_id).active is True
    assert refused.value.code == "department_in_use"
    assert list(refused.value.errors) == ["active"]
    return refused.value


def test_a_department_with_an_active_doctor_is_not_switched_off(runtime):
    with runtime.db.transaction() as s:
        department = _department(s)
        s.flush()
        doctor = reference.create_doctor(
            s, {"full_name": "Каримов Анвар", "department_id": department.id}
        )
        s.flush()
        department_id, doctor_id = department.id, doctor.id
    refused = _refusal(runtime, department_id)
    assert "Каримов Анвар" in refused.detail + str(refused.errors)

    with runtime.db.transaction() as s:  # he leaves: the department may close
        reference.deactivate_doctor(s, doctor_id)
    with runtime.db.transaction() as s:
        assert reference.deactivate_department(s, department_id).active is False


def test_a_department_with_visits_booked_ahead_is_not_switched_off(runtime):
    with runtime.db.transaction() as s:
        department = _department(s)
        s.flush()
        doctor = reference.create_doctor(s, {"full_name": "Д", "department_id": department.id})
        s.flush()
        patient_id = make_patient(s)
        visit = make_visit(s, patient_id, doctor, at=utcnow() + timedelta(days=3))
        # A visit of the past, or one cancelled, holds nothing.
        make_visit(s, patient_id, doctor, at=utcnow() - timedelta(days=3), status="completed")
        make_visit(s, patient_id, doctor, at=utcnow() + timedelta(days=4), status="cancelled")
        reference.deactivate_doctor(s, doctor.id)
        department_id, visit_id = department.id, visit.id
    refused = _refusal(runtime, department_id)
    assert str(visit_id) in str(refused.errors["active"])

    with runtime.db.transaction() as s:  # the visit is cancelled: the department may close
        from clinic.visits.models import Visit

        s.get(Visit, visit_id).status = "cancelled"
    with runtime.db.transaction() as s:
        assert reference.deactivate_department(s, department_id).active is False


def test_the_api_refuses_it_with_a_409_naming_active(client):
    created = client.post(
        "/api/v1/departments", json={"code": "CARD", "ticket_prefix": "K", **NAMES}
    )
    department_id = created.json["id"]
    client.post(
        "/api/v1/doctors", json={"full_name": "Каримов Анвар", "department_id": department_id}
    )
    response = client.post(f"/api/v1/departments/{department_id}/deactivate")
    assert response.status_code == 409, response.json
    assert response.json["code"] == "department_in_use"
    assert "Каримов Анвар" in str(response.json["errors"]["active"])
