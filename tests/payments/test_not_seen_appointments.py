"""An appointment paid for ahead, alone (no ticket: he never checked in), then cancelled or
missed: the money is owed, and the cashier's desk says so, live, as for a ticket that ended
unseen; one still to come (moved, or just booked) keeps its money."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from clinic.base import utcnow
from clinic.payments import invoices, refunds
from clinic.payments.models import Invoice
from clinic.queue import calls
from clinic.queue.models import Ticket
from clinic.visits import booking, cancelling, checkin, rescheduling
from clinic.visits.models import Visit
from tests.payments.test_not_seen import _desk_told
from tests.visits.conftest import ALL_DAY, clear_of_midnight, make_clinic, next_week_day, slot_near
from tests.visits.test_api import _department_queue

PRICE = 15_000_000  # the clinic's consultation (tests/visits/conftest.py)


def _paid_appointment(runtime, clinic, day, patient=0) -> tuple[int, int]:
    """An appointment of ``day`` at 9:00 and its invoice, paid in cash: (visit, invoice)."""
    with runtime.db.transaction() as s:
        visit = booking.book(
            s, patient_id=clinic.patient_ids[patient], doctor_id=clinic.doctor_ids[0],
            starts_at=clinic.at(day, 9), tz=clinic.tz, service_ids=[clinic.service_id],
        )  # fmt: skip
        lines = [{"service_id": clinic.service_id, "quantity": 1}]
        invoice = invoices.create_invoice(
            s, patient_id=visit.patient_id, visit_id=visit.id, lines=lines, actor="cashier"
        )
        invoices.record_payment(s, invoice, method="cash", amount=invoice.total, actor="kassa")
        return visit.id, invoice.id


def _view(runtime, invoice_id) -> tuple:
    with runtime.db.session() as s:
        view = invoices.invoice_as_dict(s.get(Invoice, invoice_id))
    return view["ticket_status"], view["not_seen"], view["to_give_back"]


def _told(runtime, invoice_id) -> list[tuple]:
    return _desk_told(runtime, invoice_id, "not_seen")


def test_an_appointment_paid_ahead_and_cancelled_is_money_to_give_back(client_as, runtime):
    clinic = make_clinic(runtime)
    day = next_week_day(clinic.tz)
    visit_id, invoice_id = _paid_appointment(runtime, clinic, day)
    assert _view(runtime, invoice_id) == (None, None, 0)  # still to come: the money waits

    with runtime.db.transaction() as s:
        cancelling.cancel(
            s, s.get(Visit, visit_id), by="patient", reason="уезжает", late_window_hours=24,
            actor="registrar", tz=clinic.tz,
        )  # fmt: skip
    assert _view(runtime, invoice_id) == (None, "appointment_cancelled", PRICE)
    assert _told(runtime, invoice_id) == [("appointment_cancelled", PRICE)]
    listed = {i["id"]: i for i in client_as("cashier").get("/api/v1/payments/invoices").json}
    assert (listed[invoice_id]["not_seen"], listed[invoice_id]["to_give_back"]) == (
        "appointment_cancelled",
        PRICE,
    )

    with runtime.db.transaction() as s:
        refunds.refund(
            s, s.get(Invoice, invoice_id), amount=PRICE, reason="Appointment cancelled",
            actor="kassa", may_refund_large=True,
        )  # fmt: skip
    assert _view(runtime, invoice_id) == (None, None, 0)


def test_a_missed_appointment_paid_ahead_is_owed_and_a_moved_one_keeps_its_money(runtime):
    clinic = make_clinic(runtime)
    day = next_week_day(clinic.tz)
    missed, missed_invoice = _paid_appointment(runtime, clinic, day)
    moved, moved_invoice = _paid_appointment(runtime, clinic, day + timedelta(days=1), 1)
    with runtime.db.transaction() as s:
        job = rescheduling.request_move(
            s, moved, starts_at=clinic.at(day + timedelta(days=2), 11), reason="просит"
        )
    with runtime.db.transaction() as s:
        assert rescheduling.carry_out(s, job.id, tz=clinic.tz, max_moves=3)["moved"] is True
    with runtime.db.transaction() as s:
        marked = cancelling.mark_no_shows(s, grace_minutes=15, tz=clinic.tz, now=clinic.at(day, 10))
    assert marked == [missed]
    assert _view(runtime, missed_invoice) == (None, "appointment_missed", PRICE)
    assert _told(runtime, missed_invoice) == [("appointment_missed", PRICE)]
    assert _view(runtime, moved_invoice) == (None, None, 0)
    assert _told(runtime, moved_invoice) == []


def test_the_cashiers_list_keeps_an_earlier_days_invoice_whose_patient_is_owed(client_as, runtime):
    """Paid from his phone days ago for next week, the appointment cancelled today: he comes
    to the window for his money, and his invoice is on the list, not only found by number.
    One paid as long ago and still to come is not; given back, it leaves the list."""
    clinic = make_clinic(runtime)
    day = next_week_day(clinic.tz)
    owed_visit, owed = _paid_appointment(runtime, clinic, day)
    _waiting_visit, waiting = _paid_appointment(runtime, clinic, day + timedelta(days=1), 1)
    with runtime.db.transaction() as s:
        s.execute(
            update(Invoice)
            .where(Invoice.id.in_([owed, waiting]))
            .values(created_at=utcnow() - timedelta(days=4), paid_at=utcnow() - timedelta(days=4))
        )
        cancelling.cancel(
            s, s.get(Visit, owed_visit), by="clinic", reason="врач заболел", late_window_hours=24,
            actor="registrar", tz=clinic.tz,
        )  # fmt: skip
    cashier = client_as("cashier")
    listed = {i["id"]: i for i in cashier.get("/api/v1/payments/invoices").json}
    assert owed in listed and waiting not in listed
    assert listed[owed]["to_give_back"] == PRICE
    with runtime.db.transaction() as s:
        refunds.refund(
            s, s.get(Invoice, owed), amount=PRICE, reason="Appointment cancelled",
            actor="kassa", may_refund_large=True,
        )  # fmt: skip
    assert owed not in {i["id"] for i in cashier.get("/api/v1/payments/invoices").json}


def test_an_arrived_patient_whose_ticket_ended_keeps_his_money_that_day_only(runtime):
    """Checked in and paid, his ticket cancelled: the same day he may still be waiting for
    his doctor without a ticket (moved to a colleague whose queue has closed), so nothing is
    owed yet; an arrived visit of a day gone, never begun, is a patient who left."""
    clear_of_midnight(runtime, 120)
    clinic = make_clinic(runtime, **ALL_DAY)
    _department_queue(runtime, clinic)
    now = slot_near(runtime)
    with runtime.db.transaction() as s:
        visit = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0], starts_at=now,
            tz=clinic.tz, service_ids=[clinic.service_id], now=now - timedelta(hours=1),
        )  # fmt: skip
        ticket = checkin.check_in(s, visit, tz=clinic.tz, actor="desk")
        lines = [{"service_id": clinic.service_id, "quantity": 1}]
        invoice = invoices.create_invoice(
            s, patient_id=visit.patient_id, visit_id=visit.id, lines=lines, actor="cashier"
        )
        invoices.record_payment(s, invoice, method="cash", amount=invoice.total, actor="kassa")
        visit_id, invoice_id = visit.id, invoice.id
        assert invoice.ticket_id == ticket.id
    with runtime.db.transaction() as s:
        calls.cancel(s, s.get(Ticket, ticket.id), actor="registrar")
    assert _view(runtime, invoice_id) == ("cancelled", None, 0)
    with runtime.db.transaction() as s:
        s.execute(
            update(Visit)
            .where(Visit.id == visit_id)
            .values(starts_at=now - timedelta(days=1), ends_at=now - timedelta(days=1, minutes=-5))
        )
    assert _view(runtime, invoice_id) == ("cancelled", "cancelled", PRICE)
