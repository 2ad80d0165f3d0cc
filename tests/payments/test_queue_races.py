"""Payments racing the electronic queue on one ticket, under real concurrency: PostgreSQL,
the production database (SQLite lets one writer in at a time, so the two cannot overlap).

Each test holds one side's transaction open at the moment that matters, starts the other in
a thread, waits until it either finishes or waits for a lock, and then commits the first."""

from __future__ import annotations

import threading
from datetime import time, timedelta

import pytest
from sqlalchemy import select, text

from clinic.errors import Conflict, ValidationFailed
from clinic.events.models import EventChannel
from clinic.payments import invoices, refunds
from clinic.payments.events import DESK_CHANNEL
from clinic.payments.models import Invoice
from clinic.queue import admin as queue_admin
from clinic.queue import calls
from clinic.queue.models import Ticket
from clinic.visits import booking, checkin
from clinic.visits.models import Visit
from tests.conftest import _letters
from tests.payments.fixtures import (
    TZ,
    issue_ticket,
    make_invoice,
    make_patient,
    make_queue,
    make_service,
)
from tests.races import wait_for, waits_for_a_lock
from tests.visits.conftest import ALL_DAY, make_clinic, slot_near

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])

PRICE = 8_000_00


def _paid_ticket(runtime, queue_id) -> tuple[int, int]:
    """A waiting ticket of a new patient, its invoice paid: (ticket, invoice)."""
    with runtime.db.transaction() as s:
        ticket_id = issue_ticket(s, queue_id, make_patient(s)).id
        patient_id = s.get(Ticket, ticket_id).patient_id
    invoice_id = make_invoice(runtime, [PRICE], ticket_id=ticket_id, patient_id=patient_id)
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        invoices.record_payment(s, invoice, method="cash", amount=PRICE, actor="kassa")
    return ticket_id, invoice_id


def _refund_in_full(s, invoice_id) -> None:
    refunds.refund(
        s,
        invoices.get_invoice(s, invoice_id),
        amount=PRICE,
        reason="changed his mind",
        actor="kassa",
        may_refund_large=True,
    )


def _racing(runtime, step):
    """``step(session)`` in a thread of its own, in its own transaction: (start it, what it
    answered or raised, its backend's pid)."""
    pids, answers = [], []

    def run():
        try:
            with runtime.db.transaction() as s:
                pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                answers.append(step(s))
        except Exception as exc:  # noqa: BLE001 - asserted by the test
            answers.append(exc)

    thread = threading.Thread(target=run)

    def start_and_wait() -> None:
        thread.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the racing step")

    return start_and_wait, answers, thread


def test_call_next_waits_for_a_refund_in_full_and_passes_over_the_ticket(runtime):
    """The cashier gives the money back in full while the doctor presses "call next" in a
    queue that calls only paid tickets: the call waits for the refund and calls the next paid
    patient, not the one whose money was just given back."""
    with runtime.db.transaction() as s:
        queue_id = make_queue(s, pay_first=True)
    refunded, invoice_id = _paid_ticket(runtime, queue_id)
    next_paid, _ = _paid_ticket(runtime, queue_id)
    start, answers, thread = _racing(
        runtime, lambda s: calls.call_next(s, queue_id, tz=TZ, actor="doctor").id
    )
    with runtime.db.transaction() as s:
        _refund_in_full(s, invoice_id)
        start()
    thread.join(30)
    assert answers == [next_paid]
    with runtime.db.session() as s:
        ticket = s.get(Ticket, refunded)
        assert (ticket.status, ticket.paid_at) == ("waiting", None)


def test_a_refund_in_full_after_the_call_finds_the_ticket_called_and_leaves_it_paid(runtime):
    """The other order: the call took the ticket first, so the refund waits for it and finds
    the patient called, whose ticket keeps its mark (as for any refund after the call)."""
    with runtime.db.transaction() as s:
        queue_id = make_queue(s, pay_first=True)
    ticket_id, invoice_id = _paid_ticket(runtime, queue_id)
    start, answers, thread = _racing(runtime, lambda s: _refund_in_full(s, invoice_id))
    with runtime.db.transaction() as s:
        assert calls.call_next(s, queue_id, tz=TZ, actor="doctor").id == ticket_id
        start()
    thread.join(30)
    assert answers == [None]
    with runtime.db.session() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket.status == "called" and ticket.paid_at is not None
        assert s.get(Invoice, invoice_id).status == "refunded"


def test_call_back_waits_for_a_refund_in_full_and_refuses_the_unpaid_ticket(runtime):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s, pay_first=True)
    ticket_id, invoice_id = _paid_ticket(runtime, queue_id)
    with runtime.db.transaction() as s:  # he steps out to the cashier
        calls.postpone(s, s.get(Ticket, ticket_id), actor="registrar")
    start, answers, thread = _racing(
        runtime,
        lambda s: calls.call_back(s, s.get(Ticket, ticket_id), actor="doctor").status,
    )
    with runtime.db.transaction() as s:
        _refund_in_full(s, invoice_id)
        start()
    thread.join(30)
    assert len(answers) == 1 and isinstance(answers[0], Conflict), answers
    assert answers[0].code == "not_paid"
    with runtime.db.session() as s:
        ticket = s.get(Ticket, ticket_id)
        assert (ticket.status, ticket.paid_at) == ("postponed", None)


def _invoice_for(ticket_id: int, patient_id: int, service_id: int):
    def create(s):
        return invoices.create_invoice(
            s,
            patient_id=patient_id,
            ticket_id=ticket_id,
            lines=[{"service_id": service_id, "quantity": 1}],
            actor="kassa",
            tz=TZ,
        ).id

    return create


def _refused_as_sent_on(answers) -> None:
    assert len(answers) == 1 and isinstance(answers[0], ValidationFailed), answers
    assert "ticket_id" in answers[0].errors


def test_an_invoice_made_while_its_ticket_is_sent_on_is_refused_as_for_a_ticket_sent_on(
    runtime,
):
    """The cashier bills the ticket the desk offered her at the moment the registrar sends
    the patient on to another queue: the invoice waits for the transfer and is refused,
    naming the ticket, as it would be a moment later, instead of billing a ticket that has
    left its queue."""
    with runtime.db.transaction() as s:
        therapy, laboratory = make_queue(s), make_queue(s, pay_first=True)
        patient_id = make_patient(s)
        ticket_id = issue_ticket(s, therapy, patient_id).id
        service_id = make_service(s, PRICE)
    start, answers, thread = _racing(runtime, _invoice_for(ticket_id, patient_id, service_id))
    with runtime.db.transaction() as s:
        calls.transfer(s, s.get(Ticket, ticket_id), laboratory, tz=TZ, actor="registrar")
        start()
    thread.join(30)
    _refused_as_sent_on(answers)
    with runtime.db.session() as s:
        assert s.query(Invoice).filter(Invoice.ticket_id == ticket_id).count() == 0


def test_an_appointments_invoice_made_while_he_is_sent_on_to_a_colleague_does_not_stay_behind(
    runtime,
):
    """The cashier bills the consultation of a checked-in patient at the moment his doctor
    sends him on to a colleague, whose queue calls only paid tickets. The appointment's
    invoices follow him there; a new one made against the ticket he left would stay behind,
    and paid, it would mark that ticket paid while the colleague's queue never calls him.
    The invoice waits for the transfer and is refused, naming the ticket."""
    clinic = make_clinic(runtime, doctors=2, patients=1, **ALL_DAY)
    with runtime.db.transaction() as s:
        queue_ids = [
            queue_admin.create_queue(
                s,
                {
                    "code": f"pr{doctor_id}", "department_id": clinic.department_id,
                    "prefix": _letters(), "doctor_id": doctor_id,
                    "room_id": clinic.room_ids[n], "closes_at": time(23, 59, 59, 999999),
                    "pay_before_doctor": n == 1,
                },
            ).id
            for n, doctor_id in enumerate(clinic.doctor_ids)
        ]  # fmt: skip
    starts = slot_near(runtime)
    with runtime.db.transaction() as s:
        visit_id = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
            starts_at=starts, tz=clinic.tz, now=starts - timedelta(hours=1),
        ).id  # fmt: skip
    with runtime.db.transaction() as s:
        ticket_id = checkin.check_in(s, s.get(Visit, visit_id), tz=clinic.tz, actor="desk").id
    start, answers, thread = _racing(
        runtime, _invoice_for(ticket_id, clinic.patient_ids[0], clinic.service_id)
    )
    with runtime.db.transaction() as s:
        calls.transfer(s, s.get(Ticket, ticket_id), queue_ids[1], tz=clinic.tz, actor="doctor")
        start()
    thread.join(30)
    _refused_as_sent_on(answers)
    with runtime.db.session() as s:
        assert s.query(Invoice).filter(Invoice.ticket_id == ticket_id).count() == 0


# -- the order of the locks: the invoice, its ticket's row, then the events' counters -------
# Each test below has a third party (the test) hold a row for a moment, so that the two
# sides wait for it in the order that would make them wait for each other.


def _hold(s, model, *where) -> None:
    s.execute(select(model).where(*where).with_for_update())


def _pay_in_full(invoice_id):
    def pay(s):
        invoice = invoices.get_invoice(s, invoice_id)
        return invoices.record_payment(
            s, invoice, method="cash", amount=invoice.total, actor="kassa"
        ).id

    return pay


def _in_turn(runtime, held, first, second) -> tuple:
    """``first`` and ``second`` (each in a thread and a transaction of its own) start while
    the test holds the rows ``held(session)`` takes, and wait for them in that order; once
    they are let go, what each answered. Neither failed (a deadlock fails one of them)."""
    start_first, first_answers, first_thread = _racing(runtime, first)
    start_second, second_answers, second_thread = _racing(runtime, second)
    with runtime.db.transaction() as s:
        held(s)
        start_first()
        start_second()
    first_thread.join(30)
    second_thread.join(30)
    for answers in (first_answers, second_answers):
        assert len(answers) == 1 and not isinstance(answers[0], Exception), answers
    return first_answers[0], second_answers[0]


def _ticket_row(ticket_id):
    return lambda s: _hold(s, Ticket, Ticket.id == ticket_id)


def _desk_counter(s) -> None:
    _hold(s, EventChannel, EventChannel.name == DESK_CHANNEL)


def test_a_payment_in_full_while_the_doctor_calls_the_patient_waits_for_the_call(runtime):
    """The cashier takes the whole invoice at the moment the doctor calls its patient, in a
    queue that calls unpaid tickets too. The payment takes the ticket's row before it records
    its events, as the call does, instead of holding the ticket's event counter while it
    waits for the ticket the call holds while waiting for that counter (a deadlock)."""
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
        patient_id = make_patient(s)
        ticket_id = issue_ticket(s, queue_id, patient_id).id
    invoice_id = make_invoice(runtime, [PRICE], ticket_id=ticket_id, patient_id=patient_id)
    called, _paid = _in_turn(
        runtime,
        _ticket_row(ticket_id),
        lambda s: calls.call_next(s, queue_id, tz=TZ, actor="doctor").id,
        _pay_in_full(invoice_id),
    )
    assert called == ticket_id
    with runtime.db.session() as s:
        assert s.get(Ticket, ticket_id).paid_at is not None


def test_an_invoice_made_for_a_ticket_while_another_of_its_invoices_is_paid_waits(runtime):
    """A second invoice (the analysis) is made for a ticket at the moment its first one is
    paid in full at another desk: the two take the ticket's row, then the events' counters,
    one after the other."""
    with runtime.db.transaction() as s:
        queue_id = make_queue(s, pay_first=True)
        patient_id = make_patient(s)
        ticket_id = issue_ticket(s, queue_id, patient_id).id
        service_id = make_service(s, PRICE)
    invoice_id = make_invoice(runtime, [PRICE], ticket_id=ticket_id, patient_id=patient_id)
    _in_turn(
        runtime,
        _ticket_row(ticket_id),
        _invoice_for(ticket_id, patient_id, service_id),
        _pay_in_full(invoice_id),
    )


def test_a_refund_in_full_and_a_payment_in_full_in_one_queue_take_the_desks_events_first(
    runtime,
):
    """One cashier gives back the whole invoice of a waiting patient while another takes
    the whole invoice of another patient of the same queue. Both record the desk's event
    before the queue's (a refund recording the queue's first would hold the queue's counters
    while it waits for the desk's that the payment holds while waiting for the queue's)."""
    with runtime.db.transaction() as s:
        queue_id = make_queue(s, pay_first=True)
    _refunded, refunded_invoice = _paid_ticket(runtime, queue_id)
    with runtime.db.transaction() as s:
        patient_id = make_patient(s)
        paying_ticket = issue_ticket(s, queue_id, patient_id).id
    paying_invoice = make_invoice(runtime, [PRICE], ticket_id=paying_ticket, patient_id=patient_id)
    _in_turn(
        runtime,
        _desk_counter,
        _pay_in_full(paying_invoice),
        lambda s: _refund_in_full(s, refunded_invoice),
    )


def test_an_invoice_discounted_to_nothing_takes_the_desks_events_before_the_queues(runtime):
    """A discount that makes an invoice free settles it and marks its ticket paid, at the
    moment another patient of the queue pays in full: both record the desk's event first."""
    with runtime.db.transaction() as s:
        queue_id = make_queue(s, pay_first=True)
        patients = [make_patient(s), make_patient(s)]
        tickets = [issue_ticket(s, queue_id, patient).id for patient in patients]
    free, paying_invoice = (
        make_invoice(runtime, [PRICE], ticket_id=ticket, patient_id=patient)
        for ticket, patient in zip(tickets, patients)
    )

    def discount(s):
        invoice = invoices.get_invoice(s, free)
        return invoices.set_discount(
            s, invoice, amount=PRICE, reason="a veteran", actor="manager"
        ).status

    _paid, discounted = _in_turn(runtime, _desk_counter, _pay_in_full(paying_invoice), discount)
    assert discounted == "paid"
    with runtime.db.session() as s:
        assert s.get(Ticket, tickets[0]).paid_at is not None
