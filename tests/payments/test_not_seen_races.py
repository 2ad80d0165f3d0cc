"""The desk told of a paid patient's ticket cancelled, at the moment another patient of the
same queue pays: on PostgreSQL, the production database (SQLite lets one writer in at a time).

A payment takes the desk's event counter, then the queue's. Telling the desk in the cancel's
own transaction, after the queue's events, would take them the other way round: the payment
holding the desk's counter would wait for the queue's that the cancel holds while it waits for
the desk's, and PostgreSQL would fail one of the two. The desk is told once the cancel has
committed, in a transaction that takes the invoice and then the desk's counter only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.events.models import EventChannel
from clinic.models import OutboxEvent
from clinic.payments import invoices
from clinic.payments.events import DESK_CHANNEL, INVOICE_CHANGED
from clinic.queue import calls
from clinic.queue.models import Ticket
from tests.payments.fixtures import issue_ticket, make_invoice, make_patient, make_queue
from tests.payments.test_queue_races import _racing

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])

PRICE = 9_000_00


def _ticket_and_invoice(runtime, queue_id, *, paid: bool) -> tuple[int, int]:
    with runtime.db.transaction() as s:
        patient_id = make_patient(s)
        ticket_id = issue_ticket(s, queue_id, patient_id).id
    invoice_id = make_invoice(runtime, [PRICE], ticket_id=ticket_id, patient_id=patient_id)
    if paid:
        with runtime.db.transaction() as s:
            invoice = invoices.get_invoice(s, invoice_id)
            invoices.record_payment(s, invoice, method="cash", amount=PRICE, actor="kassa")
    return ticket_id, invoice_id


def test_a_paid_ticket_cancelled_while_another_patient_of_the_queue_pays_both_finish(runtime):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
    cancelled_ticket, cancelled_invoice = _ticket_and_invoice(runtime, queue_id, paid=True)
    _paying_ticket, paying_invoice = _ticket_and_invoice(runtime, queue_id, paid=False)

    def pay(s):
        invoice = invoices.get_invoice(s, paying_invoice)
        return invoices.record_payment(s, invoice, method="card", amount=PRICE, actor="kassa").id

    def cancel(s):
        return calls.cancel(s, s.get(Ticket, cancelled_ticket), actor="registrar").id

    start_paying, paid, paying = _racing(runtime, pay)
    start_cancelling, cancelled, cancelling = _racing(runtime, cancel)
    with runtime.db.transaction() as s:
        # The desk's counter held: the payment waits for it first (holding its invoice and
        # ticket), then the cancel comes, in the same queue.
        s.execute(select(EventChannel).where(EventChannel.name == DESK_CHANNEL).with_for_update())
        start_paying()
        start_cancelling()
    paying.join(30)
    cancelling.join(30)
    for answers in (paid, cancelled):
        assert len(answers) == 1 and not isinstance(answers[0], Exception), answers
    with runtime.db.session() as s:
        told = s.scalars(
            select(OutboxEvent.data).where(
                OutboxEvent.channel == DESK_CHANNEL, OutboxEvent.type == INVOICE_CHANGED
            )
        ).all()
    assert [(d["invoice"]["id"], d["invoice"]["to_give_back"]) for d in told] == [
        (cancelled_invoice, PRICE)
    ]
