"""A queue's day as a whole: today's overview, waiting-time estimates, and closing the day."""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import mean
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from clinic.base import utcnow
from clinic.events import record_event
from clinic.queue import events as queue_events
from clinic.queue import followers
from clinic.queue.models import Queue, QueueDay, Ticket, TicketEvent
from clinic.queue.models import TicketStatus as S
from clinic.queue.position import people_ahead
from clinic.queue.ticket_views import board_view
from clinic.queue.tickets import (
    announce,
    board_channel,
    clinic_day,
    find_day,
    staff_channel,
)

RECENT_SERVICES = 20


# Rooms whose services ended within this long of the latest one are serving the queue now.
AT_WORK = timedelta(hours=1)


def service_seconds(started, called, finished) -> float | None:
    """How long a served patient was with the doctor: from the start of his service to its
    finish (None without either end). A doctor may finish a patient straight from the
    call, without pressing Start: that service runs from the patient's last call (a recall
    is a call: he came in after it), and counts as any other."""
    began = started or called
    return (finished - began).total_seconds() if began and finished else None


def service_pace(session: Session, queue: Queue, queue_day_id: int) -> tuple[float, int]:
    """The mean of the day's last services (or the queue's configured default), and how many
    rooms serve the queue now: those among them that ended within :data:`AT_WORK` of the
    latest (a department's queue several doctors call from moves as fast as all of them).
    A service finished straight from the call counts from the call (:func:`service_seconds`)."""
    rows = session.execute(
        select(Ticket.started_at, Ticket.called_at, Ticket.finished_at, Ticket.room_id)
        .where(
            Ticket.queue_day_id == queue_day_id,
            Ticket.status == S.SERVED,
            Ticket.finished_at.is_not(None),
            func.coalesce(Ticket.started_at, Ticket.called_at).is_not(None),
        )
        .order_by(Ticket.finished_at.desc())
        .limit(RECENT_SERVICES)
    ).all()
    durations = [
        seconds
        for started, called, finished, _room in rows
        if (seconds := service_seconds(started, called, finished)) is not None and seconds > 0
    ]
    if not durations:
        return queue.default_service_minutes * 60.0, 1
    latest = rows[0].finished_at
    rooms = {room for *_began, f, room in rows if latest - f <= AT_WORK}
    return mean(durations), max(1, len(rooms))


def position(session: Session, ticket: Ticket) -> dict:
    """People ahead and an estimated wait in minutes (None once the ticket is not waiting)."""
    if ticket.status != S.WAITING:
        return {"ahead": 0, "estimated_minutes": None}
    ahead = people_ahead(session, ticket)
    seconds, rooms = service_pace(session, ticket.queue, ticket.queue_day_id)
    return {"ahead": ahead, "estimated_minutes": int(round(ahead * seconds / rooms / 60))}


def patient_view(session: Session, ticket: Ticket) -> dict:
    """What the patient's own page shows of his ticket: the board's view, his place and wait,
    and whether the day's closing ended it (``closed_with_day``: the queue closed before his
    turn, which his page says rather than "did not come")."""
    closed_with_day = ticket.status in (S.NO_SHOW, S.CANCELLED) and (
        session.scalar(
            select(TicketEvent.id)
            .where(TicketEvent.ticket_id == ticket.id, TicketEvent.action == "day_closed")
            .limit(1)
        )
        is not None
    )
    return {**board_view(ticket), **position(session, ticket), "closed_with_day": closed_with_day}


CALLING_ORDER = (Ticket.priority.desc(), Ticket.queued_at, Ticket.id)


def today_tickets(
    session: Session,
    queue_id: int,
    *,
    tz: ZoneInfo,
    now=None,
    statuses: tuple[str, ...] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[Ticket]:
    """Today's tickets in calling order; only ``statuses`` when given; a page of them with
    ``limit`` and ``offset``."""
    day = find_day(session, queue_id, clinic_day(now or utcnow(), tz))
    if day is None:
        return []
    return day_tickets(session, day.id, statuses=statuses, limit=limit, offset=offset)


def day_tickets(
    session: Session,
    queue_day_id: int,
    *,
    statuses: tuple[str, ...] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[Ticket]:
    query = select(Ticket).where(Ticket.queue_day_id == queue_day_id).order_by(*CALLING_ORDER)
    if statuses:
        query = query.where(Ticket.status.in_(statuses))
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return list(session.scalars(query))


def status_counts(session: Session, queue_day_id: int) -> dict[str, int]:
    """How many of the day's tickets are in each status (every status, zeros included)."""
    counts = {status: 0 for status in S.ALL}
    rows = session.execute(
        select(Ticket.status, func.count(Ticket.id))
        .where(Ticket.queue_day_id == queue_day_id)
        .group_by(Ticket.status)
    )
    counts.update({status: count for status, count in rows})
    return counts


def _due(day: QueueDay, today, local_now: datetime) -> bool:
    if day.day < today:
        return True
    return day.day == today and local_now.time() >= day.queue.closes_at


def day_statistics(session: Session, queue_day_id: int) -> dict:
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.queue_day_id == queue_day_id)
        .execution_options(populate_existing=True)
    ).all()
    # The wait ends at the first call, from the history: called_at is the last one (the board
    # shows recalls), and a recall does not make the patient wait longer.
    first_calls = dict(
        session.execute(
            select(TicketEvent.ticket_id, func.min(TicketEvent.at))
            .join(Ticket, Ticket.id == TicketEvent.ticket_id)
            .where(Ticket.queue_day_id == queue_day_id, TicketEvent.to_status == S.CALLED)
            .group_by(TicketEvent.ticket_id)
        ).all()
    )
    waits = [
        (called - t.queued_at).total_seconds()
        for t in tickets
        if t.called_at and (called := first_calls.get(t.id) or t.called_at) >= t.queued_at
    ]
    services = [
        seconds
        for t in tickets
        if t.status == S.SERVED
        and (seconds := service_seconds(t.started_at, t.called_at, t.finished_at)) is not None
    ]
    counts = {status: 0 for status in S.ALL}
    for t in tickets:
        counts[t.status] += 1
    return {
        "issued": len(tickets),
        "by_status": counts,
        "no_shows": counts[S.NO_SHOW],
        "average_wait_seconds": round(mean(waits)) if waits else None,
        "longest_wait_seconds": round(max(waits)) if waits else None,
        "average_service_seconds": round(mean(services)) if services else None,
    }


# The doctor's patient of the moment: called to his room, or with him. The closing time
# stops the queue, not the doctor: these are his to finish (or mark a no-show), and the day
# closes once he has, or once the clinic day is over, whatever is left then.
IN_HAND = (S.CALLED, S.IN_SERVICE)


def _close_ticket(
    session: Session, ticket_id: int, before: str, to_status: str, now, closable: tuple[str, ...]
) -> str | None:
    """Close one ticket of a day from the ``closable`` status it has now: the doctor may have
    called, postponed or started it since it was read. Answers the status it was closed from,
    or None once it is not closable (finished, sent on, or in the doctor's hands)."""
    while before in closable:
        changed = session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.status == before)
            .values(status=to_status, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount == 1:
            return before
        before = session.scalar(select(Ticket.status).where(Ticket.id == ticket_id))
    return None


def _lock_open_day(session: Session, day_id: int) -> QueueDay | None:
    """The day's row, locked before any of its tickets (the order issuing and calling
    follow), while it is still open."""
    query = select(QueueDay).where(QueueDay.id == day_id, QueueDay.closed_at.is_(None))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=QueueDay)
    return session.scalar(query.execution_options(populate_existing=True))


def close_due_days(
    session: Session, *, tz: ZoneInfo, now: datetime | None = None, commit_each: bool = False
) -> list[int]:
    """Close every open queue day whose closing time has passed: whoever still waits (or is
    postponed) becomes a no-show or is cancelled (per queue), and the day's figures are kept.
    A patient called to a doctor or with him is left to the doctor: his day closes at a
    later run, once nobody is in a doctor's hands any more or once the clinic day is over.
    With ``commit_each``, each day's work is committed before the next day is taken up (a
    failure then leaves the days closed so far closed: the next run closes the rest).
    Returns the ids of the days closed."""
    now = now or utcnow()
    local_now = now.astimezone(tz)
    today = clinic_day(now, tz)
    closed = []
    open_days = session.scalars(
        select(QueueDay).where(QueueDay.closed_at.is_(None)).order_by(QueueDay.id)
    ).all()
    for due in open_days:
        if not _due(due, today, local_now):
            continue
        if commit_each:
            # The days done so far let go of the calendars' event counters before this day's
            # visits and row are locked: a step of this day's queue (the desk cancelling an
            # arrived patient) holds them while it waits for the counters: a deadlock.
            session.commit()
        # The visits that follow the day's tickets are locked before the day's row, as the
        # calendar locks a visit before its ticket's day (clinic.queue.followers).
        followers.lock_for(
            session,
            session.scalars(
                select(Ticket).where(Ticket.queue_day_id == due.id, Ticket.status.in_(S.ACTIVE))
            ).all(),
        )
        day = _lock_open_day(session, due.id)
        if day is None:
            continue  # closed by another run meanwhile
        over = day.day < today
        closable = S.ACTIVE if over else tuple(s for s in S.ACTIVE if s not in IN_HAND)
        to_status = S.NO_SHOW if day.queue.close_action == "no_show" else S.CANCELLED
        # A day kept open past midnight closes after the new day began: its tickets' events
        # say how many wait now (the new day's), and the board showing the new day's calls
        # is not cleared (the staff screens tell the days apart by the events' ``day``).
        newer = _newer_day_waiting(session, day)
        left = session.scalars(
            select(Ticket).where(Ticket.queue_day_id == day.id, Ticket.status.in_(closable))
        ).all()
        for ticket in left:
            followers.lock(session, ticket)  # done above, unless issued since
            before = _close_ticket(session, ticket.id, ticket.status, to_status, now, closable)
            if before is None:
                continue  # finished, sent on or called since it was read: as the doctor left it
            session.add(
                TicketEvent(
                    ticket_id=ticket.id,
                    at=now,
                    action="day_closed",
                    from_status=before,
                    to_status=to_status,
                    actor="system",
                )
            )
            # Every audience that shows the ticket hears of it: the patient's page, too, which
            # would otherwise keep saying "called" or "waiting".
            session.refresh(ticket)
            announce(session, ticket, "day_closed", waiting=newer or 0)
        day.waiting = 0
        session.flush()
        if not over and _still_active(session, day.id):
            continue  # the doctor's patient (or one he postponed meanwhile): a later run
        day.stats = day_statistics(session, day.id)
        day.closed_at = now
        session.flush()
        screens = [staff_channel(day.queue_id)]
        if newer is None:  # else the board shows the new day's calls: they stay
            screens.append(board_channel(day.queue_id))
        for channel in screens:
            record_event(
                session,
                channel,
                queue_events.DAY_CLOSED.name,
                {"queue_id": day.queue_id, "day": day.day.isoformat(), "waiting": 0},
            )
        closed.append(day.id)
    return closed


def reopen_today(
    session: Session, queue: Queue, *, tz: ZoneInfo, now: datetime | None = None
) -> bool:
    """Open the queue's clinic day of ``now`` again when it was closed and its closing time
    (as it is now) has not come yet: a closing time set too early by mistake closed it, and
    has been put back. Only the closing time closes the day of today (a day closes for good
    once the clinic day is over, with whoever was left); whoever it closed on stays a no-show
    or cancelled. Its counter is kept, so numbering goes on after its last ticket, and its
    figures are taken again when it closes. Answers whether it was opened again."""
    now = now or utcnow()
    if now.astimezone(tz).time() >= queue.closes_at:
        return False
    reopened = session.execute(
        update(QueueDay)
        .where(
            QueueDay.queue_id == queue.id,
            QueueDay.day == clinic_day(now, tz),
            QueueDay.closed_at.is_not(None),
        )
        .values(closed_at=None, stats=None)
        .execution_options(synchronize_session="fetch")
    )
    return reopened.rowcount == 1


def _newer_day_waiting(session: Session, day: QueueDay) -> int | None:
    """How many wait in the queue's newest day when it is newer than ``day``, else None."""
    return session.scalar(
        select(QueueDay.waiting)
        .where(QueueDay.queue_id == day.queue_id, QueueDay.day > day.day)
        .order_by(QueueDay.day.desc())
        .limit(1)
    )


def _still_active(session: Session, queue_day_id: int) -> bool:
    return (
        session.scalar(
            select(Ticket.id)
            .where(Ticket.queue_day_id == queue_day_id, Ticket.status.in_(S.ACTIVE))
            .limit(1)
        )
        is not None
    )
