"""Collect print requests as soon as they commit.

Any transaction that writes a print request into the outbox (a ticket issued, a receipt
asked for, a refund, a shift closed) also sends ``printing.collect`` once it commits, from
whichever process made it, without the queue or payments modules knowing of printing.
A process without a task dispatcher leaves it to beat's sweeper (``printing.sweep``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from clinic.db import dispatch_after_commit
from clinic.events.models import RecordedEvent
from clinic.events.outbox import on_recorded

COLLECT_TASK = "printing.collect"
PRINTING_QUEUE = "printing"
# The requests printing takes (see clinic/printing/intake.py), by channel.
WATCHED = {
    "printing:tickets": ("ticket.print_requested",),
    "printing:receipts": ("receipt.print_requested",),
    "payments:desk": ("refund.recorded", "shift.closed"),
}
_SENT_KEY = "printing.collect_sent"


def is_print_request(row: RecordedEvent) -> bool:
    return row.type in WATCHED.get(row.channel, ())


def _collect_after_commit(session: Session, events: list[RecordedEvent]) -> None:
    transaction = session.get_transaction()
    if session.info.get(_SENT_KEY) is transaction:
        return
    if any(is_print_request(row) for row in events):
        session.info[_SENT_KEY] = transaction
        dispatch_after_commit(session, COLLECT_TASK, queue=PRINTING_QUEUE, coalesce=True)


on_recorded(_collect_after_commit)
