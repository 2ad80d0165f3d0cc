"""A service dropped from the price list (deactivated) is offered no more, but what was
booked with it before goes on: its visit is still invoiced for it, at the price the price
list has."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.base import utcnow
from clinic.errors import NotFound
from clinic.payments import invoices
from clinic.reference import directory as reference
from clinic.reference import price_list
from clinic.visits.models import VisitService
from tests.payments.fixtures import make_patient, make_service, make_visit

PRICE = 15_000_000


def _visit_booked_with(s, service_id: int) -> tuple[int, int]:
    patient_id = make_patient(s)
    names = {"name_ru": "Терапия", "name_uz": "Terapiya", "name_en": "Therapy"}
    department = reference.create_department(s, {"code": "ter", "ticket_prefix": "TR", **names})
    doctor = reference.create_doctor(s, {"full_name": "Д", "department_id": department.id})
    visit = make_visit(s, patient_id, doctor, at=utcnow() + timedelta(days=1))
    visit.services.append(VisitService(service_id=service_id, price=PRICE))
    s.flush()
    return patient_id, visit.id


def test_a_visit_booked_with_a_service_since_dropped_is_still_invoiced_for_it(runtime):
    with runtime.db.transaction() as s:
        service_id = make_service(s, PRICE)
        patient_id, visit_id = _visit_booked_with(s, service_id)
        price_list.deactivate_service(s, service_id)
    with runtime.db.transaction() as s:
        lines = [{"service_id": service_id, "quantity": 1}]
        invoice = invoices.create_invoice(
            s, patient_id=patient_id, visit_id=visit_id, lines=lines, actor="registrar"
        )
        assert invoice.total == PRICE
        assert [line.service_id for line in invoice.lines] == [service_id]


def test_a_dropped_service_is_not_invoiced_without_a_visit_booked_with_it(runtime):
    with runtime.db.transaction() as s:
        service_id, other_id = make_service(s, PRICE), make_service(s, PRICE)
        patient_id, visit_id = _visit_booked_with(s, other_id)
        price_list.deactivate_service(s, service_id)
    for visit in (None, visit_id):
        with runtime.db.transaction() as s:
            with pytest.raises(NotFound) as refused:
                invoices.create_invoice(
                    s,
                    patient_id=patient_id,
                    visit_id=visit,
                    lines=[{"service_id": service_id}],
                    actor="registrar",
                )
            assert list(refused.value.errors) == ["lines.0.service_id"]
