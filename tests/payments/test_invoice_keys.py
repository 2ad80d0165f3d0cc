"""An invoice's idempotency key names one request: the same key for another appointment is the
caller's mistake, and the same request again after the patient checked in is still the same."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from clinic.base import utcnow
from clinic.errors import ValidationFailed
from clinic.models import Invoice
from clinic.payments import subjects
from clinic.payments.invoice_once import create_invoice_once
from clinic.reference import directory as reference
from clinic.visits.models import Visit
from tests.payments.fixtures import (
    issue_ticket,
    make_patient,
    make_queue,
    make_service,
    make_visit,
)


def _appointments(s, patient_id: int, count: int) -> list[Visit]:
    names = {"name_ru": "Кардиология", "name_uz": "Kardiologiya", "name_en": "Cardiology"}
    department = reference.create_department(s, {"code": "ikd", "ticket_prefix": "IKD", **names})
    doctor = reference.create_doctor(s, {"full_name": "Д", "department_id": department.id})
    made = []
    for hour in range(count):
        made.append(make_visit(s, patient_id, doctor, at=utcnow() + timedelta(hours=hour + 1)))
    return made


def test_one_key_for_another_appointment_is_refused_and_makes_nothing(runtime):
    with runtime.db.transaction() as s:
        patient = make_patient(s)
        first, second = (v.id for v in _appointments(s, patient, 2))
        lines = [{"service_id": make_service(s, 25_000_00), "quantity": 1}]
    asked = {"patient_id": patient, "ticket_id": None, "lines": lines}
    with runtime.db.transaction() as s:
        made, new = create_invoice_once(
            s, idempotency_key="inv-visit-0001", actor="cashier", visit_id=first, **asked
        )
        assert new and made.visit_id == first
    with pytest.raises(ValidationFailed) as caught:
        with runtime.db.transaction() as s:
            create_invoice_once(
                s, idempotency_key="inv-visit-0001", actor="cashier", visit_id=second, **asked
            )
    assert "idempotency_key" in caught.value.errors
    with runtime.db.session() as s:
        assert s.scalars(select(Invoice.visit_id)).all() == [first]


def test_the_same_request_again_after_the_patient_checked_in_answers_its_invoice(runtime):
    with runtime.db.transaction() as s:
        patient = make_patient(s)
        (visit,) = _appointments(s, patient, 1)
        visit_id = visit.id
        lines = [{"service_id": make_service(s, 25_000_00), "quantity": 1}]
    asked = {"patient_id": patient, "ticket_id": None, "visit_id": visit_id, "lines": lines}
    with runtime.db.transaction() as s:
        made, _new = create_invoice_once(s, idempotency_key="inv-visit-0002", actor="c", **asked)
        invoice_id = made.id
    with runtime.db.transaction() as s:
        # He checks in: the appointment's invoice is for the ticket his check-in issued.
        ticket = issue_ticket(s, make_queue(s), patient)
        subjects._invoices_follow_the_patient(
            s, s.get(Visit, visit_id), ticket, "registrar", utcnow()
        )
    with runtime.db.transaction() as s:
        again, new = create_invoice_once(s, idempotency_key="inv-visit-0002", actor="c", **asked)
        assert (again.id, new) == (invoice_id, False)
        assert again.ticket_id is not None
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Invoice.id))) == 1
