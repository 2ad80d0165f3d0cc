"""What the queue's channels show a client that (re)subscribes: the board, the staff view and
a patient's own ticket. Registered with :mod:`clinic.channels` when this module is imported."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.base import utcnow
from clinic.channels import int_key, snapshot_provider
from clinic.queue import days as queue_days
from clinic.queue import reserved, ticket_views
from clinic.queue import tickets as q
from clinic.queue.events import QUEUES_CHANNEL
from clinic.queue.models import Queue, Ticket
from clinic.queue.models import TicketStatus as S

LAST_CALLS = 6
# The staff view shows every ticket in the room's hands, the first waiting ones in calling
# order and the latest finished ones, with the day's counts: a bounded message, however long
# the day (the whole list is paged at GET /api/v1/queues/<id>/tickets).
WAITING_WINDOW = 100
RECENT_FINISHED = 20
# The doctor's screen offers the day's latest no-shows of a call "came after all": they are
# in the view however many were finished since.
LATEST_NO_SHOWS = 10
MOST_IN_HAND = 200
# The board's earlier calls: "calling" holds the ones called now, so each room calling does
# not push one earlier call out of the six a board shows (live, it keeps them all).
EARLIER_CALLS = (S.IN_SERVICE, S.SERVED, S.NO_SHOW)


def _switched_on(session: Session, queue_id: int) -> bool:
    """Whether the queue is switched on: a screen that comes back after its channel's history
    was let go shows it as the switch left it (``queue.switched_off`` not heard)."""
    return bool(session.scalar(select(Queue.active).where(Queue.id == queue_id)))


def _open_day_id(session: Session, queue_id: int, today) -> int | None:
    """Today's day of the queue while it is open: a closed day is shown as no day, as the
    screens that heard ``queue.day_closed`` show it."""
    day = q.find_day(session, queue_id, today)
    return day.id if day is not None and day.closed_at is None else None


@snapshot_provider("board")
def _board_snapshot(session: Session, channel: str, tz: ZoneInfo) -> dict | None:
    """Numbers and rooms only: who is being called now, the last calls, how many wait. A day
    closed shows nothing, as a live board clears itself at ``queue.day_closed``."""
    queue_id = int_key(channel)
    if queue_id is None:
        return None
    # The day shown: a screen leaves it be when an earlier day closes after midnight.
    today = q.clinic_day(utcnow(), tz)
    day_id = _open_day_id(session, queue_id, today)
    if day_id is None:
        return {
            "queue_id": queue_id, "day": today.isoformat(), "calling": [], "last_calls": [],
            "waiting": 0, "active": _switched_on(session, queue_id),
        }  # fmt: skip
    newest_calls = select(Ticket).where(
        Ticket.queue_day_id == day_id, Ticket.called_at.is_not(None)
    )
    calling = session.scalars(
        newest_calls.where(Ticket.status == S.CALLED)
        .order_by(Ticket.called_at.desc())
        .limit(MOST_IN_HAND)
    ).all()
    last_calls = session.scalars(
        newest_calls.where(Ticket.status.in_(EARLIER_CALLS))
        .order_by(Ticket.called_at.desc())
        .limit(LAST_CALLS)
    ).all()
    return {
        "queue_id": queue_id,
        "day": today.isoformat(),
        "calling": [ticket_views.board_view(t) for t in calling],
        "last_calls": [ticket_views.board_view(t) for t in last_calls],
        "waiting": q.waiting_count(session, day_id),
        "active": _switched_on(session, queue_id),
    }


@snapshot_provider("queue")
def _staff_snapshot(session: Session, channel: str, tz: ZoneInfo) -> dict | None:
    """The tickets in hand, the first waiting ones, the latest finished and the latest
    no-shows of a call, and the day's counts by status (``tickets`` is a window of the day;
    ``counts`` are the whole day). A day closed shows nothing, as a live screen clears itself
    at ``queue.day_closed``."""
    queue_id = int_key(channel)
    if queue_id is None:
        return None
    today = q.clinic_day(utcnow(), tz)
    day_id = _open_day_id(session, queue_id, today)
    if day_id is None:
        counts = {status: 0 for status in S.ALL}
        return {
            "queue_id": queue_id, "day": today.isoformat(), "tickets": [], "waiting": 0,
            "counts": counts, "active": _switched_on(session, queue_id),
        }  # fmt: skip
    in_hand = queue_days.day_tickets(
        session, day_id, statuses=(S.CALLED, S.IN_SERVICE, S.POSTPONED), limit=MOST_IN_HAND
    )
    waiting = queue_days.day_tickets(session, day_id, statuses=(S.WAITING,), limit=WAITING_WINDOW)
    finished = session.scalars(
        select(Ticket)
        .where(Ticket.queue_day_id == day_id, Ticket.status.in_(S.FINAL))
        .order_by(Ticket.finished_at.desc(), Ticket.id.desc())
        .limit(RECENT_FINISHED)
    ).all()
    no_shows = session.scalars(
        select(Ticket)
        .where(
            Ticket.queue_day_id == day_id,
            Ticket.status == S.NO_SHOW,
            Ticket.called_at.is_not(None),
            Ticket.id.not_in([t.id for t in finished] or [0]),
        )
        .order_by(Ticket.finished_at.desc(), Ticket.id.desc())
        .limit(LATEST_NO_SHOWS)
    ).all()
    counts = queue_days.status_counts(session, day_id)
    shown = (*in_hand, *waiting, *finished, *no_shows)
    # Whose patient each one still to be called is: one statement for the page, if any.
    kept_for = reserved.fields_of(session, queue_id, shown)
    return {
        "queue_id": queue_id,
        "day": today.isoformat(),
        "tickets": [{**ticket_views.ticket_as_dict(t), **kept_for[t.id]} for t in shown],
        "waiting": counts[S.WAITING],
        "counts": counts,
        "active": _switched_on(session, queue_id),
    }


@snapshot_provider("ticket")
def _ticket_snapshot(session: Session, channel: str, tz: ZoneInfo) -> dict | None:
    ticket_id = int_key(channel)
    ticket = session.get(Ticket, ticket_id) if ticket_id else None
    if ticket is None:
        return None
    return queue_days.patient_view(session, ticket)


@snapshot_provider("queues")
def _queues_snapshot(session: Session, channel: str, tz: ZoneInfo) -> dict | None:
    """The ids of the queues switched on, in one statement: a desk or a kiosk adds one it
    does not show (switched on while the page loaded, or while its socket was away)."""
    if channel != QUEUES_CHANNEL:
        return None
    return {"active": list(session.scalars(select(Queue.id).where(Queue.active.is_(True))))}
