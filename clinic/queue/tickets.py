"""The electronic queue's rules: issuing tickets and joining online (calling and serving are
in :mod:`clinic.queue.calls`).

Numbers are counted per queue per clinic day (the day starts at 00:00 in the clinic's time
zone, whatever the server's clock zone) by one atomic ``UPDATE ... RETURNING`` on the day's
counter row, so concurrent desks never share a number. Every change records events on the
queue's staff channel, its board channel (numbers and rooms only: no names, no phones) and
the ticket's own channel.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinic.base import is_id, iso, utcnow
from clinic.errors import Conflict, NotFound, ValidationFailed
from clinic.events import record_event
from clinic.queue.models import Priority, Queue, QueueDay, Ticket, TicketEvent, TicketSource
from clinic.queue.models import TicketStatus as S
from clinic.text import NotAPhone, normalize_phone

EVENT_PREFIX = "ticket."


class QueueRefused(Conflict):
    """The queue will not take this ticket now; ``code`` says why."""


def clinic_day(now: datetime, tz: ZoneInfo) -> date:
    """The clinic's calendar day at ``now``: counted in its own time zone, not the server's."""
    return now.astimezone(tz).date()


def staff_channel(queue_id: int) -> str:
    return f"queue:{queue_id}"


def board_channel(queue_id: int) -> str:
    return f"board:{queue_id}"


def ticket_channel(ticket_id: int) -> str:
    return f"ticket:{ticket_id}"


def get_queue(session: Session, queue_id: int) -> Queue:
    queue = session.get(Queue, queue_id) if is_id(queue_id) else None
    if queue is None:
        raise NotFound(f"queue {queue_id} does not exist", errors={"queue_id": ["unknown queue"]})
    return queue


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id) if is_id(ticket_id) else None
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    return ticket


def ticket_by_token(session: Session, token: str) -> Ticket | None:
    if not isinstance(token, str) or not 20 <= len(token) <= 43:
        return None
    return session.scalar(select(Ticket).where(Ticket.token == token))


def find_day(session: Session, queue_id: int, day: date) -> QueueDay | None:
    return session.scalar(
        select(QueueDay).where(QueueDay.queue_id == queue_id, QueueDay.day == day)
    )


def _ensure_day(session: Session, queue: Queue, day: date) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(QueueDay.__table__)
        .values(queue_id=queue.id, day=day, last_number=queue.start_number - 1, online_issued=0)
        .on_conflict_do_nothing(index_elements=["queue_id", "day"])
    )


def _take_number(session: Session, queue: Queue, day: date) -> tuple[int, int]:
    """The next number of the queue's day, and the day's id. Keep this transaction short:
    the counter row stays locked until commit."""
    _ensure_day(session, queue, day)
    row = session.execute(
        update(QueueDay)
        .where(QueueDay.queue_id == queue.id, QueueDay.day == day, QueueDay.closed_at.is_(None))
        .values(last_number=QueueDay.last_number + 1)
        .returning(QueueDay.id, QueueDay.last_number)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        raise QueueRefused("the queue is closed for today", code="queue_closed")
    return row.id, row.last_number


# -- what the screens see -------------------------------------------------------------------


def board_view(ticket: Ticket) -> dict:
    """What a public board may show: number, room, queue. Never a name or a phone."""
    return {
        "ticket_id": ticket.id,
        "code": ticket.code,
        "queue_id": ticket.queue_id,
        "room": ticket.room.number if ticket.room else None,
        "status": ticket.status,
        "recalls": ticket.recalls,
        # A board showing several queues orders their calls by this.
        "called_at": iso(ticket.called_at),
    }


def ticket_as_dict(ticket: Ticket) -> dict:
    """The staff view of a ticket."""
    return {
        "id": ticket.id,
        "code": ticket.code,
        "number": ticket.number,
        "queue_id": ticket.queue_id,
        "source": ticket.source,
        "priority": ticket.priority,
        "status": ticket.status,
        "room": ticket.room.number if ticket.room else None,
        "room_id": ticket.room_id,
        "patient_id": ticket.patient_id,
        "visit_id": ticket.visit_id,
        "phone": ticket.phone,
        "comment": ticket.comment,
        "queued_at": iso(ticket.queued_at),
        "created_at": iso(ticket.created_at),
        "called_at": iso(ticket.called_at),
        "started_at": iso(ticket.started_at),
        "finished_at": iso(ticket.finished_at),
        "recalls": ticket.recalls,
        "paid_at": iso(ticket.paid_at),
        "transferred_from_id": ticket.transferred_from_id,
        "return_to_queue_id": ticket.return_to_queue_id,
    }


def waiting_count(session: Session, queue_day_id: int) -> int:
    return session.scalar(
        select(func.count(Ticket.id)).where(
            Ticket.queue_day_id == queue_day_id, Ticket.status == S.WAITING
        )
    )


def waiting_today(session: Session, queue_id: int, *, tz: ZoneInfo, now=None) -> int:
    """How many wait in the queue on today's clinic day (0 before its first ticket)."""
    day = find_day(session, queue_id, clinic_day(now or utcnow(), tz))
    return waiting_count(session, day.id) if day else 0


def announce(session: Session, ticket: Ticket, action: str) -> None:
    """Record ``ticket.<action>`` on the staff, board and ticket channels (part of the
    transaction of the change)."""
    session.flush()
    waiting = waiting_count(session, ticket.queue_day_id)
    type_ = EVENT_PREFIX + action
    record_event(
        session,
        staff_channel(ticket.queue_id),
        type_,
        {**ticket_as_dict(ticket), "waiting": waiting},
    )
    record_event(
        session, board_channel(ticket.queue_id), type_, {**board_view(ticket), "waiting": waiting}
    )
    record_event(session, ticket_channel(ticket.id), type_, board_view(ticket))


def record_history(
    session: Session, ticket: Ticket, action: str, before: str | None, actor: str, now, data=None
) -> None:
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=now,
            action=action,
            from_status=before,
            to_status=ticket.status,
            actor=actor[:64],
            data=data,
        )
    )


# -- issuing --------------------------------------------------------------------------------


def issue_ticket(
    session: Session,
    queue_id: int,
    *,
    tz: ZoneInfo,
    source: str = TicketSource.DESK,
    priority: int = Priority.NORMAL,
    patient_id: int | None = None,
    phone: str | None = None,
    comment: str = "",
    actor: str = "",
    now: datetime | None = None,
    queued_at: datetime | None = None,
    transferred_from_id: int | None = None,
    return_to_queue_id: int | None = None,
) -> Ticket:
    """A new waiting ticket with the queue's next number for the clinic day of ``now``."""
    now = now or utcnow()
    queue = get_queue(session, queue_id)
    if not queue.active:
        raise QueueRefused("the queue is not active", code="queue_inactive")
    if source not in TicketSource.ALL:
        raise ValidationFailed("unknown source", errors={"source": [f"one of {TicketSource.ALL}"]})
    if priority not in Priority.NAMES.values():
        raise ValidationFailed(
            "unknown priority", errors={"priority": ["normal, returned or urgent"]}
        )
    day_id, number = _take_number(session, queue, clinic_day(now, tz))
    ticket = Ticket(
        queue_day_id=day_id,
        queue_id=queue.id,
        number=number,
        code=f"{queue.prefix}-{number:03d}",
        source=source,
        priority=priority,
        status=S.WAITING,
        patient_id=patient_id,
        phone=phone,
        comment=(comment or "")[:1000],
        token=secrets.token_urlsafe(32),
        queued_at=queued_at or now,
        created_at=now,
        transferred_from_id=transferred_from_id,
        return_to_queue_id=return_to_queue_id,
    )
    session.add(ticket)
    session.flush()
    record_history(session, ticket, "issued", None, actor, now, {"source": source})
    announce(session, ticket, "issued")
    # The printing module prints from this; until then the ticket page prints in the browser.
    record_event(
        session,
        "printing:tickets",
        "ticket.print_requested",
        {"ticket_id": ticket.id, "code": ticket.code, "queue_id": queue.id},
    )
    return ticket


def _local_time(now: datetime, tz: ZoneInfo):
    return now.astimezone(tz).time()


def active_online_ticket(session: Session, queue_day_id: int, phone: str) -> Ticket | None:
    return session.scalar(
        select(Ticket).where(
            Ticket.queue_day_id == queue_day_id,
            Ticket.phone == phone,
            Ticket.source == TicketSource.ONLINE,
            Ticket.status.in_(S.ACTIVE),
        )
    )


def join_online(
    session: Session, queue_id: int, phone: str, *, tz: ZoneInfo, now: datetime | None = None
) -> tuple[Ticket, bool]:
    """A patient joins from his phone. Returns (ticket, created).

    The same phone asking again gets its active ticket back, even once the window has
    closed or the limit is reached: the duplicate is checked first.
    """
    now = now or utcnow()
    try:
        phone = normalize_phone(phone)
    except NotAPhone as exc:
        raise ValidationFailed(str(exc), errors={"phone": [str(exc)]}) from exc
    queue = get_queue(session, queue_id)
    day = clinic_day(now, tz)
    existing_day = find_day(session, queue.id, day)
    if existing_day is not None:
        existing = active_online_ticket(session, existing_day.id, phone)
        if existing is not None:
            return existing, False
    if not queue.active or not queue.online_from or not queue.online_until:
        raise QueueRefused("this queue does not take online joining", code="online_disabled")
    local = _local_time(now, tz)
    if local < queue.online_from:
        raise QueueRefused(
            f"online joining opens at {queue.online_from:%H:%M}", code="window_not_open"
        )
    if local >= queue.online_until:
        raise QueueRefused(
            f"online joining closed at {queue.online_until:%H:%M}", code="window_closed"
        )
    _ensure_day(session, queue, day)
    try:
        with session.begin_nested():
            counted = session.execute(
                update(QueueDay)
                .where(
                    QueueDay.queue_id == queue.id,
                    QueueDay.day == day,
                    QueueDay.online_issued < queue.online_daily_limit,
                )
                .values(online_issued=QueueDay.online_issued + 1)
                .execution_options(synchronize_session=False)
            )
            if counted.rowcount != 1:
                raise QueueRefused("today's online places are taken", code="online_limit_reached")
            ticket = issue_ticket(
                session,
                queue.id,
                tz=tz,
                source=TicketSource.ONLINE,
                phone=phone,
                now=now,
                actor=f"online:{phone}",
            )
    except IntegrityError:
        # The same phone joined at the same instant from another request: theirs stands.
        winner = active_online_ticket(session, find_day(session, queue.id, day).id, phone)
        if winner is None:
            raise
        return winner, False
    return ticket, True
