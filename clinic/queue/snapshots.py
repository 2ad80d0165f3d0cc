"""What the queue's channels show a client that (re)subscribes: the board, the staff view and
a patient's own ticket. Registered with :mod:`clinic.channels` when this module is imported."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from clinic.channels import int_key, snapshot_provider
from clinic.queue import days as queue_days
from clinic.queue import tickets as q
from clinic.queue.models import Ticket
from clinic.queue.models import TicketStatus as S

LAST_CALLS = 6


def _today(session: Session, queue_id: int, tz: ZoneInfo) -> list[Ticket]:
    return queue_days.today_tickets(session, queue_id, tz=tz)


@snapshot_provider("board")
def _board_snapshot(session: Session, channel: str, tz: ZoneInfo) -> dict | None:
    """Numbers and rooms only: who is being called now, the last calls, how many wait."""
    queue_id = int_key(channel)
    if queue_id is None:
        return None
    tickets = _today(session, queue_id, tz)
    calls = sorted(
        (
            t
            for t in tickets
            if t.called_at is not None and t.status in (S.CALLED, S.IN_SERVICE, S.SERVED, S.NO_SHOW)
        ),
        key=lambda t: t.called_at,
        reverse=True,
    )
    return {
        "queue_id": queue_id,
        "calling": [q.board_view(t) for t in calls if t.status == S.CALLED],
        "last_calls": [q.board_view(t) for t in calls[:LAST_CALLS]],
        "waiting": sum(1 for t in tickets if t.status == S.WAITING),
    }


@snapshot_provider("queue")
def _staff_snapshot(session: Session, channel: str, tz: ZoneInfo) -> dict | None:
    queue_id = int_key(channel)
    if queue_id is None:
        return None
    tickets = _today(session, queue_id, tz)
    return {
        "queue_id": queue_id,
        "tickets": [q.ticket_as_dict(t) for t in tickets],
        "waiting": sum(1 for t in tickets if t.status == S.WAITING),
    }


@snapshot_provider("ticket")
def _ticket_snapshot(session: Session, channel: str, tz: ZoneInfo) -> dict | None:
    ticket_id = int_key(channel)
    ticket = session.get(Ticket, ticket_id) if ticket_id else None
    if ticket is None:
        return None
    return {**q.board_view(ticket), **queue_days.position(session, ticket)}
