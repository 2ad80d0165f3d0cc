"""Settling an invoice: what follows once nothing is left to pay, and the order of its locks.

Settling an invoice takes, after the invoice's row, its ticket's row, then the events'
counters: the desk's (with the patient's page's), then the queue's (``ticket.paid``). A call
takes the ticket's row before its events too, and a refund (:mod:`clinic.payments.refunds`)
keeps the same order: taken in another order, two of them could each hold what the other
waits for (a deadlock, which PostgreSQL ends by failing one of them).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.base import is_id
from clinic.db import dispatch_after_commit
from clinic.payments.models import Invoice
from clinic.payments.models import InvoiceStatus as S
from clinic.queue.models import Ticket
from clinic.queue.tickets import set_paid, staff_channel

APPLY_PAID_TASK = "payments.apply_paid"
PAYMENTS_QUEUE = "payments"


def take_ticket_row(session: Session, ticket_id) -> None:
    """The row of ticket ``ticket_id``, locked to the commit and read afresh (PostgreSQL;
    SQLite serialises writers), with NO KEY UPDATE, as a call and a transfer take it: rows
    that only refer to it (its history, an invoice) do not wait. A payment, a refund and a
    new invoice take it after the invoice's row and before their events (see above)."""
    if session.get_bind().dialect.name != "postgresql" or not is_id(ticket_id):
        return
    session.execute(
        select(Ticket)
        .where(Ticket.id == ticket_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )


def mark_paid(session: Session, invoice: Invoice, *, actor: str, now: datetime) -> None:
    """An invoice with nothing to pay is paid now; its ticket's row is taken (see above)."""
    invoice.status = S.PAID
    invoice.paid_at = now
    invoice.paid_by = actor[:64]
    invoice.held_by = invoice.held_at = None
    session.flush()
    take_ticket_row(session, invoice.ticket_id)


def release_ticket(session: Session, invoice: Invoice, *, actor: str, now: datetime) -> None:
    """The invoice is paid: release its ticket (state, in this transaction) and send the
    paid side effects to their task after commit."""
    if invoice.ticket_id is not None:
        set_paid(
            session, invoice.ticket_id, now, actor=actor, now=now, data={"invoice_id": invoice.id}
        )
    dispatch_after_commit(session, APPLY_PAID_TASK, queue=PAYMENTS_QUEUE, invoice_id=invoice.id)


def queue_channel_of(session: Session, invoice: Invoice) -> str | None:
    """The staff channel of the invoice's ticket's queue (registrars see paid state there)."""
    if invoice.ticket_id is None:
        return None
    ticket = session.get(Ticket, invoice.ticket_id)
    return staff_channel(ticket.queue_id) if ticket else None
