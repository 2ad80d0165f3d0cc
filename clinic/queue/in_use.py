"""A queue is switched off once nobody of an open day is in it: the desk and the doctor's
screen list only working queues, so a patient left in a switched-off one would be seen by
nobody to serve, transfer or cancel, and its prefix, free for another queue then, would give
the board two patients of one number."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.errors import Conflict, refusal
from clinic.queue.models import Queue, QueueDay, Ticket
from clinic.queue.models import TicketStatus as S

# How many of the tickets still in the queue its refusal names.
NAMED_TICKETS = 5


def check_switching_off(session: Session, queue: Queue, values: dict) -> None:
    """Refuse (409 ``queue_in_use`` naming ``active``) a change of ``values`` that switches
    off a queue with patients of an open day still in it (waiting, called, with the doctor or
    postponed). Its days' rows are locked first, as a call locks them, so a patient called
    or postponed meanwhile is counted as he is."""
    if values.get("active") is not False or not queue.active:
        return
    open_days = select(QueueDay.id).where(
        QueueDay.queue_id == queue.id, QueueDay.closed_at.is_(None)
    )
    if session.get_bind().dialect.name == "postgresql":
        session.execute(open_days.order_by(QueueDay.id).with_for_update()).all()
    codes = session.scalars(
        select(Ticket.code)
        .where(Ticket.queue_day_id.in_(open_days), Ticket.status.in_(S.ACTIVE))
        .order_by(Ticket.id)
        .limit(NAMED_TICKETS + 1)
    ).all()
    if not codes:
        return
    named = ", ".join(codes[:NAMED_TICKETS]) + (", ..." if len(codes) > NAMED_TICKETS else "")
    message = (
        f"Queue {queue.code} still has patients in it ({named}): serve, transfer or cancel "
        "them first."
    )
    raise refusal(
        Conflict,
        f"queue {queue.code} is in use",
        {"active": [("queue_in_use", message)]},
        code="queue_in_use",
    )
