"""An invoice for an appointment alone, made once its patient has checked in and is in the
queue, is for the ticket his check-in gave him: paid, that ticket is paid, and a "pay before
the doctor" queue calls him (as one made before he came is given his ticket at check-in)."""

from __future__ import annotations

from datetime import time, timedelta

from clinic.payments import invoices
from clinic.queue import admin as queue_admin
from clinic.queue import calls
from clinic.queue.models import Ticket
from clinic.visits import booking, checkin
from clinic.visits.models import Visit
from tests.conftest import _letters
from tests.visits.conftest import ALL_DAY, make_clinic, slot_near


def test_an_appointments_invoice_made_after_check_in_is_for_his_ticket_and_pays_it(runtime):
    clinic = make_clinic(runtime, doctors=1, patients=1, **ALL_DAY)
    doctor_id, patient_id = clinic.doctor_ids[0], clinic.patient_ids[0]
    with runtime.db.transaction() as s:
        queue_id = queue_admin.create_queue(
            s,
            {
                "code": f"pv{doctor_id}", "department_id": clinic.department_id,
                "prefix": _letters(), "doctor_id": doctor_id, "room_id": clinic.room_ids[0],
                "closes_at": time(23, 59, 59, 999999), "pay_before_doctor": True,
            },
        ).id  # fmt: skip
    starts = slot_near(runtime)
    with runtime.db.transaction() as s:
        visit_id = booking.book(
            s, patient_id=patient_id, doctor_id=doctor_id, starts_at=starts, tz=clinic.tz,
            now=starts - timedelta(hours=1),
        ).id  # fmt: skip
    with runtime.db.transaction() as s:
        ticket_id = checkin.check_in(s, s.get(Visit, visit_id), tz=clinic.tz, actor="desk").id
    with runtime.db.transaction() as s:
        invoice = invoices.create_invoice(
            s,
            patient_id=patient_id,
            visit_id=visit_id,
            lines=[{"service_id": clinic.service_id, "quantity": 1}],
            actor="kassa",
            tz=clinic.tz,
        )
        assert invoice.ticket_id == ticket_id
        invoices.record_payment(s, invoice, method="cash", amount=invoice.total, actor="kassa")
    with runtime.db.transaction() as s:
        assert s.get(Ticket, ticket_id).paid_at is not None
        called = calls.call_next(
            s, queue_id, room_id=clinic.room_ids[0], tz=clinic.tz, actor="doctor"
        )
        assert called is not None and called.id == ticket_id
