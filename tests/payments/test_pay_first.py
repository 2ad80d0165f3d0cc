""" "Pay before the doctor": an unpaid ticket is not called; paying releases it live."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.errors import Conflict
from clinic.models import OutboxEvent, Ticket
from clinic.payments import effects, invoices, refunds
from clinic.queue import calls
from tests.payments.fixtures import TZ, issue_ticket, make_invoice, make_patient, make_queue


def _ticket_with_invoice(runtime, queue_id):
    with runtime.db.transaction() as s:
        patient = make_patient(s)
        ticket_id = issue_ticket(s, queue_id, patient).id
    return ticket_id, make_invoice(runtime, [8_000_00], ticket_id=ticket_id, patient_id=patient)


def _pay(runtime, invoice_id):
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        invoices.record_payment(s, invoice, method="cash", amount=8_000_00, actor="kassa")


def _call(runtime, queue_id):
    with runtime.db.transaction() as s:
        ticket = calls.call_next(s, queue_id, tz=TZ, actor="doctor")
        if ticket is None:
            return None
        # Seen at once: the room holds one patient at a time.
        calls.finish_service(s, ticket, tz=TZ, actor="doctor")
        return ticket.id


def test_an_unpaid_ticket_is_passed_over_until_its_invoice_is_paid(runtime):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s, pay_first=True)
    first, first_invoice = _ticket_with_invoice(runtime, queue_id)
    second, second_invoice = _ticket_with_invoice(runtime, queue_id)
    assert _call(runtime, queue_id) is None
    _pay(runtime, second_invoice)
    assert _call(runtime, queue_id) == second
    assert _call(runtime, queue_id) is None
    _pay(runtime, first_invoice)
    assert _call(runtime, queue_id) == first


def test_paying_announces_the_ticket_paid_on_the_queue_staff_channel(runtime):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s, pay_first=True)
    ticket_id, invoice_id = _ticket_with_invoice(runtime, queue_id)
    _pay(runtime, invoice_id)
    with runtime.db.session() as s:
        assert s.get(Ticket, ticket_id).paid_at is not None
        paid = s.scalars(
            select(OutboxEvent).where(
                OutboxEvent.channel == f"queue:{queue_id}", OutboxEvent.type == "ticket.paid"
            )
        ).all()
    assert len(paid) == 1
    assert paid[0].data["id"] == ticket_id and paid[0].data["paid_at"]


def test_the_queue_staff_channel_learns_an_invoice_is_paid_not_what_it_holds(runtime):
    """The queue's readers (reception, doctors) read no invoices through the API
    (``payments.read``): its channel says the invoice is paid, not its lines, amounts or
    discount reason; the cashiers' desk channel has the whole invoice."""
    with runtime.db.transaction() as s:
        queue_id = make_queue(s, pay_first=True)
    _ticket_id, invoice_id = _ticket_with_invoice(runtime, queue_id)
    _pay(runtime, invoice_id)
    effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)
    with runtime.db.session() as s:
        paid = {
            e.channel: e.data
            for e in s.scalars(select(OutboxEvent).where(OutboxEvent.type == "invoice.paid"))
        }
    assert paid["payments:desk"]["invoice"]["total"] == 8_000_00
    on_queue = paid[f"queue:{queue_id}"]["invoice"]
    assert on_queue == {
        "id": invoice_id,
        "number": paid["payments:desk"]["invoice"]["number"],
        "status": "paid",
        "paid_at": paid["payments:desk"]["invoice"]["paid_at"],
    }


def test_a_queue_without_the_flag_calls_unpaid_tickets(runtime):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s, pay_first=False)
    ticket_id, _ = _ticket_with_invoice(runtime, queue_id)
    assert _call(runtime, queue_id) == ticket_id


def _refund(runtime, invoice_id, amount):
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        refunds.refund(
            s,
            invoice,
            amount=amount,
            reason="changed his mind",
            actor="kassa",
            may_refund_large=True,
        )


def test_a_ticket_refunded_in_full_before_the_call_waits_for_payment_again(runtime):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s, pay_first=True)
    ticket_id, invoice_id = _ticket_with_invoice(runtime, queue_id)
    _pay(runtime, invoice_id)
    _refund(runtime, invoice_id, 3_000_00)  # part of it: still paid for
    with runtime.db.session() as s:
        assert s.get(Ticket, ticket_id).paid_at is not None
    _refund(runtime, invoice_id, 5_000_00)  # the rest: nothing paid any more
    with runtime.db.session() as s:
        assert s.get(Ticket, ticket_id).paid_at is None
        held = s.scalars(
            select(OutboxEvent).where(
                OutboxEvent.channel == f"queue:{queue_id}", OutboxEvent.type == "ticket.refunded"
            )
        ).all()
    assert [(e.data["id"], e.data["paid_at"]) for e in held] == [(ticket_id, None)]
    assert _call(runtime, queue_id) is None  # the doctor's call passes him over


def test_a_refund_after_the_call_leaves_the_ticket_as_it_was(runtime):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s, pay_first=True)
    ticket_id, invoice_id = _ticket_with_invoice(runtime, queue_id)
    _pay(runtime, invoice_id)
    assert _call(runtime, queue_id) == ticket_id  # seen
    _refund(runtime, invoice_id, 8_000_00)
    with runtime.db.session() as s:
        assert s.get(Ticket, ticket_id).paid_at is not None


def test_one_of_two_paid_invoices_of_a_ticket_refunded_leaves_the_ticket_paid(runtime):
    """The consultation paid, the analysis given back: the patient still sees the doctor."""
    with runtime.db.transaction() as s:
        queue_id = make_queue(s, pay_first=True)
    ticket_id, consultation = _ticket_with_invoice(runtime, queue_id)
    with runtime.db.session() as s:
        patient_id = s.get(Ticket, ticket_id).patient_id
    analysis = make_invoice(runtime, [8_000_00], ticket_id=ticket_id, patient_id=patient_id)
    _pay(runtime, consultation)
    _pay(runtime, analysis)
    _refund(runtime, analysis, 8_000_00)
    with runtime.db.session() as s:
        assert s.get(Ticket, ticket_id).paid_at is not None
    assert _call(runtime, queue_id) == ticket_id


def test_a_ticket_postponed_before_paying_is_called_back_only_once_paid(runtime):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s, pay_first=True)
    ticket_id, invoice_id = _ticket_with_invoice(runtime, queue_id)
    with runtime.db.transaction() as s:  # he steps out before the cashier
        calls.postpone(s, s.get(Ticket, ticket_id), actor="registrar")

    def call_back():
        with runtime.db.transaction() as s:
            return calls.call_back(s, s.get(Ticket, ticket_id), actor="doctor").status

    with pytest.raises(Conflict) as refused:
        call_back()
    assert refused.value.code == "not_paid"
    with runtime.db.session() as s:
        assert s.get(Ticket, ticket_id).status == "postponed"
    _pay(runtime, invoice_id)
    assert call_back() == "called"
