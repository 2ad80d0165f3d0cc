"""The electronic queue's rules: issuing tickets, calling the next one, and every transition.

Numbers are counted per queue per clinic day (the day starts at 00:00 in the clinic's time
zone, whatever the server's clock zone) by one atomic ``UPDATE ... RETURNING`` on the day's
counter row, so concurrent desks never share a number. "Call next" locks the day's row
first, so concurrent doctors are served one after the other, each the next ticket by
priority then queue time. Every transition is a guarded update (it happens only from the
status it expects), leaves a history row with its actor, and records events on the queue's
staff channel, its board channel (numbers and rooms only: no names, no phones) and the
ticket's own channel.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import Conflict, NotFound, ValidationFailed
from ..events import record_event
from ..models import Priority, Queue, QueueDay, Room, Ticket, TicketEvent, TicketSource
from ..models import TicketStatus as S
from ..models import is_id, utcnow
from ..text import NotAPhone, normalize_phone

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


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


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
        "called_at": _iso(ticket.called_at),
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
        "queued_at": _iso(ticket.queued_at),
        "created_at": _iso(ticket.created_at),
        "called_at": _iso(ticket.called_at),
        "started_at": _iso(ticket.started_at),
        "finished_at": _iso(ticket.finished_at),
        "recalls": ticket.recalls,
        "transferred_from_id": ticket.transferred_from_id,
        "return_to_queue_id": ticket.return_to_queue_id,
    }


def waiting_count(session: Session, queue_day_id: int) -> int:
    return session.scalar(
        select(func.count(Ticket.id)).where(
            Ticket.queue_day_id == queue_day_id, Ticket.status == S.WAITING
        )
    )


def _announce(session: Session, ticket: Ticket, action: str) -> None:
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


def _history(
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
    _history(session, ticket, "issued", None, actor, now, {"source": source})
    _announce(session, ticket, "issued")
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


# -- calling and serving --------------------------------------------------------------------


def _lock_day(session: Session, queue_id: int, day: date) -> QueueDay | None:
    query = select(QueueDay).where(QueueDay.queue_id == queue_id, QueueDay.day == day)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=QueueDay)
    return session.scalar(query)


def _room(session: Session, room_id: int | None) -> Room | None:
    if room_id is None:
        return None
    room = session.get(Room, room_id) if is_id(room_id) else None
    if room is None:
        raise ValidationFailed("unknown room", errors={"room_id": ["no such room"]})
    return room


def call_next(
    session: Session,
    queue_id: int,
    *,
    tz: ZoneInfo,
    room_id: int | None = None,
    actor: str = "",
    now: datetime | None = None,
) -> Ticket | None:
    """Call the next waiting ticket (priority first, then queue time), or None if nobody waits.

    The day's row is locked for the rest of the transaction: simultaneous callers take turns,
    so no ticket is handed to two doctors and none is passed over.
    """
    now = now or utcnow()
    queue = get_queue(session, queue_id)
    room = _room(session, room_id if room_id is not None else queue.room_id)
    day = _lock_day(session, queue.id, clinic_day(now, tz))
    if day is None:
        return None
    ticket = session.scalar(
        select(Ticket)
        .where(Ticket.queue_day_id == day.id, Ticket.status == S.WAITING)
        .order_by(Ticket.priority.desc(), Ticket.queued_at, Ticket.id)
        .limit(1)
    )
    if ticket is None:
        return None
    _move(session, ticket, (S.WAITING,), S.CALLED, "called", actor, now, room=room)
    return ticket


def _move(
    session: Session,
    ticket: Ticket,
    allowed: tuple[str, ...],
    to: str,
    action: str,
    actor: str,
    now: datetime,
    *,
    room: Room | None = None,
    data: dict | None = None,
    values: dict | None = None,
) -> None:
    """The guarded transition: it happens only from an expected status, or not at all."""
    before = ticket.status
    changes = {"status": to, **(values or {})}
    if to == S.CALLED:
        changes["called_at"] = now
        if room is not None:
            changes["room_id"] = room.id
    elif to == S.IN_SERVICE:
        changes["started_at"] = now
    elif to in S.FINAL:
        changes["finished_at"] = now
    result = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status.in_(allowed))
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.refresh(ticket)
        raise Conflict(
            f"ticket {ticket.code} is {ticket.status}; cannot {action.replace('_', ' ')} it",
            code="wrong_status",
        )
    session.refresh(ticket)
    _history(session, ticket, action, before, actor, now, data)
    _announce(session, ticket, action)


def recall(session: Session, ticket: Ticket, *, actor: str = "", now=None) -> Ticket:
    """Announce a called ticket again."""
    now = now or utcnow()
    _move(
        session,
        ticket,
        (S.CALLED,),
        S.CALLED,
        "recalled",
        actor,
        now,
        values={"recalls": ticket.recalls + 1, "called_at": now},
    )
    return ticket


def start_service(session: Session, ticket: Ticket, *, actor: str = "", now=None) -> Ticket:
    _move(session, ticket, (S.CALLED,), S.IN_SERVICE, "started", actor, now or utcnow())
    return ticket


def finish_service(
    session: Session, ticket: Ticket, *, tz: ZoneInfo, actor: str = "", now=None
) -> Ticket | None:
    """Served. If the ticket came by a transfer that asked for it, the patient goes back to
    the first queue at a higher priority; returns that new ticket (or None)."""
    now = now or utcnow()
    _move(session, ticket, (S.IN_SERVICE, S.CALLED), S.SERVED, "served", actor, now)
    if ticket.return_to_queue_id is None:
        return None
    return issue_ticket(
        session,
        ticket.return_to_queue_id,
        tz=tz,
        source=ticket.source,
        priority=max(ticket.priority, Priority.RETURNED),
        patient_id=ticket.patient_id,
        phone=ticket.phone if ticket.source != TicketSource.ONLINE else None,
        comment=ticket.comment,
        actor=actor,
        now=now,
        queued_at=ticket.queued_at,
        transferred_from_id=ticket.id,
    )


def mark_no_show(session: Session, ticket: Ticket, *, actor: str = "", now=None) -> Ticket:
    _move(session, ticket, (S.CALLED,), S.NO_SHOW, "no_show", actor, now or utcnow())
    return ticket


def postpone(session: Session, ticket: Ticket, *, actor: str = "", now=None) -> Ticket:
    """Put a called (or waiting) ticket on the postponed list, to be called back later."""
    _move(session, ticket, (S.CALLED, S.WAITING), S.POSTPONED, "postponed", actor, now or utcnow())
    return ticket


def call_back(
    session: Session, ticket: Ticket, *, room_id: int | None = None, actor: str = "", now=None
) -> Ticket:
    """Call a postponed ticket."""
    room = _room(session, room_id if room_id is not None else ticket.queue.room_id)
    _move(
        session, ticket, (S.POSTPONED,), S.CALLED, "called_back", actor, now or utcnow(), room=room
    )
    return ticket


def cancel(
    session: Session, ticket: Ticket, *, actor: str = "", reason: str = "", now=None
) -> Ticket:
    _move(
        session,
        ticket,
        S.ACTIVE,
        S.CANCELLED,
        "cancelled",
        actor,
        now or utcnow(),
        data={"reason": reason[:500]} if reason else None,
    )
    return ticket


def transfer(
    session: Session,
    ticket: Ticket,
    to_queue_id: int,
    *,
    tz: ZoneInfo,
    comment: str = "",
    return_after: bool = False,
    actor: str = "",
    now=None,
) -> Ticket:
    """Close this ticket and open a linked one in another queue, keeping the queue time.

    With ``return_after``, serving the new ticket sends the patient back to this queue at a
    higher priority.
    """
    now = now or utcnow()
    target = get_queue(session, to_queue_id)
    if target.id == ticket.queue_id:
        raise ValidationFailed("transfer to another queue", errors={"to_queue_id": ["same queue"]})
    _move(
        session,
        ticket,
        S.ACTIVE,
        S.TRANSFERRED,
        "transferred",
        actor,
        now,
        data={"to_queue_id": target.id, "comment": comment[:1000]},
    )
    new = issue_ticket(
        session,
        target.id,
        tz=tz,
        source=ticket.source,
        priority=ticket.priority,
        patient_id=ticket.patient_id,
        phone=ticket.phone if ticket.source != TicketSource.ONLINE else None,
        comment=comment,
        actor=actor,
        now=now,
        queued_at=ticket.queued_at,
        transferred_from_id=ticket.id,
        return_to_queue_id=ticket.queue_id if return_after else None,
    )
    return new


def history(session: Session, ticket: Ticket) -> list[dict]:
    """The ticket's transitions, following transfers back to the first ticket."""
    chain, current = [], ticket
    while current is not None:
        chain.append(current.id)
        current = (
            session.get(Ticket, current.transferred_from_id)
            if current.transferred_from_id
            else None
        )
    rows = session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id.in_(chain))
        .order_by(TicketEvent.at, TicketEvent.id)
    ).all()
    return [
        {
            "ticket_id": r.ticket_id,
            "at": _iso(r.at),
            "action": r.action,
            "from": r.from_status,
            "to": r.to_status,
            "actor": r.actor,
            "data": r.data,
        }
        for r in rows
    ]


def people_ahead(session: Session, ticket: Ticket) -> int:
    if ticket.status != S.WAITING:
        return 0
    return session.scalar(
        select(func.count(Ticket.id)).where(
            Ticket.queue_day_id == ticket.queue_day_id,
            Ticket.status == S.WAITING,
            or_(
                Ticket.priority > ticket.priority,
                and_(Ticket.priority == ticket.priority, Ticket.queued_at < ticket.queued_at),
                and_(
                    Ticket.priority == ticket.priority,
                    Ticket.queued_at == ticket.queued_at,
                    Ticket.id < ticket.id,
                ),
            ),
        )
    )
