"""What a channel shows a client that (re)subscribes without a last event id: its snapshot.

Each kind of channel (the part before the first colon) may register a function that reads
the current state from the database. Channels without one simply have no snapshot.
"""

from __future__ import annotations

from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from .events import channel_last_seq, valid_channel
from .models import Job, Ticket
from .models import TicketStatus as S
from .services import queue as q
from .services import queue_days
from .services.jobs import job_as_dict

SnapshotFn = Callable[[Session, str, ZoneInfo], "dict | None"]
_providers: dict[str, SnapshotFn] = {}
LAST_CALLS = 6


def snapshot_provider(kind: str):
    def register(fn: SnapshotFn) -> SnapshotFn:
        _providers[kind] = fn
        return fn

    return register


def channel_kind(channel: str) -> str:
    return channel.split(":", 1)[0]


def channel_key(channel: str) -> str:
    return channel.split(":", 1)[1]


def snapshot(session: Session, channel: str, tz: ZoneInfo) -> tuple[dict | None, int]:
    """The channel's current state (or None) and the number of the last event it includes."""
    if not valid_channel(channel):
        return None, 0
    last = channel_last_seq(session, channel)
    provider = _providers.get(channel_kind(channel))
    return (provider(session, channel, tz) if provider else None), last


def _int_key(channel: str) -> int | None:
    key = channel_key(channel)
    return int(key) if key.isdigit() and len(key) < 10 else None


@snapshot_provider("job")
def _job_snapshot(session: Session, channel: str, tz: ZoneInfo) -> dict | None:
    job_id = channel_key(channel)
    job = session.get(Job, job_id) if len(job_id) <= 32 else None
    return job_as_dict(job) if job else None


def _today(session: Session, queue_id: int, tz: ZoneInfo) -> list[Ticket]:
    return queue_days.today_tickets(session, queue_id, tz=tz)


@snapshot_provider("board")
def _board_snapshot(session: Session, channel: str, tz: ZoneInfo) -> dict | None:
    """Numbers and rooms only: who is being called now, the last calls, how many wait."""
    queue_id = _int_key(channel)
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
    queue_id = _int_key(channel)
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
    ticket_id = _int_key(channel)
    ticket = session.get(Ticket, ticket_id) if ticket_id else None
    if ticket is None:
        return None
    return {**q.board_view(ticket), **queue_days.position(session, ticket)}
