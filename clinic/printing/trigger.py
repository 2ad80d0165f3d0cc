"""Collect print requests as soon as they commit.

Any transaction that writes a print request into the outbox (a ticket issued, a receipt
asked for, a part of an invoice paid at the desk, a refund, a shift closed) also sends
``printing.collect`` once it commits, from whichever process made it, without the queue or
payments modules knowing of printing. A process without a task dispatcher leaves it to beat's
sweeper (``printing.sweep``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from clinic.db import dispatch_after_commit
from clinic.events.models import RecordedEvent
from clinic.events.outbox import on_recorded
from clinic.payments.models import InvoiceStatus, PaymentMethod

COLLECT_TASK = "printing.collect"
PRINTING_QUEUE = "printing"
# The requests printing takes (see clinic/printing/intake.py), by channel.
WATCHED = {
    "printing:tickets": ("ticket.print_requested",),
    "printing:receipts": ("receipt.print_requested",),
    "payments:desk": ("payment.recorded", "refund.recorded", "shift.closed"),
}
_SENT_KEY = "printing.collect_sent"


def part_payment_at_desk(data: dict) -> bool:
    """Whether a ``payment.recorded`` (its ``data``) is money taken at the desk (cash or
    card) that leaves part of its invoice due: that payment has a receipt of its own. The
    payment that settles an invoice has the invoice's full receipt instead (the paid effects,
    clinic/payments/effects.py), and so has every provider's payment, which settles it."""
    return (
        data["payment"]["method"] in PaymentMethod.DESK
        and data["invoice"]["status"] == InvoiceStatus.OPEN
    )


def is_print_request(row: RecordedEvent) -> bool:
    if row.type not in WATCHED.get(row.channel, ()):
        return False
    return row.type != "payment.recorded" or part_payment_at_desk(row.data)


def _collect_after_commit(session: Session, events: list[RecordedEvent]) -> None:
    transaction = session.get_transaction()
    if session.info.get(_SENT_KEY) is transaction:
        return
    if any(is_print_request(row) for row in events):
        session.info[_SENT_KEY] = transaction
        dispatch_after_commit(session, COLLECT_TASK, queue=PRINTING_QUEUE, coalesce=True)


on_recorded(_collect_after_commit)
