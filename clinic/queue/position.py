"""Where a waiting patient stands: how many will be called before him, at the same cost on a
short day and a long one."""

from __future__ import annotations

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from clinic.queue.models import QueueDay, Ticket
from clinic.queue.models import TicketStatus as S

# A patient who asks where he stands has usually just joined: the back of the line. Up to
# this many tickets behind him are counted from the back (the rest is the day's kept waiting
# count); a ticket deeper in a longer line counts those ahead instead.
NEAR_THE_BACK = 500


def _count(*where, limit: int | None = None):
    if limit is None:
        return select(func.count(Ticket.id)).where(*where).scalar_subquery()
    rows = select(Ticket.id).where(*where).limit(limit).subquery()
    return select(func.count()).select_from(rows).scalar_subquery()


def people_ahead(session: Session, ticket: Ticket) -> int:
    """How many waiting tickets will be called before this one, read from the calling-order
    index: near the back of the line (fewer than :data:`NEAR_THE_BACK` behind at each end of
    the count), the day's kept waiting count less those behind; deeper in, those ahead
    (higher priorities; the same priority queued earlier). The patient who has just joined
    a long day costs what he costs on a short one."""
    if ticket.status != S.WAITING:
        return 0
    day_waiting = (Ticket.queue_day_id == ticket.queue_day_id, Ticket.status == S.WAITING)
    if ticket.paid_at is not None and ticket.queue.pay_before_doctor:
        # "Pay before the doctor": call next passes over the unpaid, so only the paid ones
        # are ahead of a paid patient (one not paid yet waits behind everyone before him).
        day_waiting = (*day_waiting, Ticket.paid_at.is_not(None))
        return session.scalar(select(_ahead(ticket, day_waiting)))
    key = tuple_(Ticket.queued_at, Ticket.id)
    mine = tuple_(ticket.queued_at, ticket.id)
    same = Ticket.priority == ticket.priority
    # One statement, one snapshot: the kept count, the ticket still waiting, those behind.
    waiting, still_waiting, lower, later = session.execute(
        select(
            QueueDay.waiting,
            _count(Ticket.id == ticket.id, Ticket.status == S.WAITING),
            _count(*day_waiting, Ticket.priority < ticket.priority, limit=NEAR_THE_BACK),
            _count(*day_waiting, same, key > mine, limit=NEAR_THE_BACK),
        ).where(QueueDay.id == ticket.queue_day_id)
    ).one()
    ahead = waiting - 1 - lower - later
    if still_waiting and lower < NEAR_THE_BACK and later < NEAR_THE_BACK and ahead >= 0:
        return ahead
    return session.scalar(select(_ahead(ticket, day_waiting)))


def _ahead(ticket: Ticket, day_waiting: tuple):
    """How many of ``day_waiting`` come before ``ticket`` in calling order: higher
    priorities, and the same priority queued earlier."""
    key = tuple_(Ticket.queued_at, Ticket.id)
    mine = tuple_(ticket.queued_at, ticket.id)
    higher = _count(*day_waiting, Ticket.priority > ticket.priority)
    earlier = _count(*day_waiting, Ticket.priority == ticket.priority, key < mine)
    return higher + earlier
