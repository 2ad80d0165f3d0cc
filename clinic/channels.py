"""What a channel shows a client that (re)subscribes without a last event id: its snapshot.

Each kind of channel (the part before the first colon) may register a function that reads
the current state from the database. Channels without one simply have no snapshot.
"""

from __future__ import annotations

from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from clinic.events import channel_last_seq, valid_channel
from clinic.jobs import job_as_dict
from clinic.jobs.models import Job
from clinic.text import whole_number

SnapshotFn = Callable[[Session, str, ZoneInfo], "dict | None"]
_providers: dict[str, SnapshotFn] = {}


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


def int_key(channel: str) -> int | None:
    """The id a channel names (``queue:12``), or None unless written as the events name it:
    ``queue:012`` reads queue 12's snapshot but is never sent an event (they go to ``queue:12``),
    a screen frozen on that snapshot."""
    key = channel_key(channel)
    number = whole_number(key)
    return number if number is not None and str(number) == key else None


@snapshot_provider("job")
def _job_snapshot(session: Session, channel: str, tz: ZoneInfo) -> dict | None:
    job_id = channel_key(channel)
    job = session.get(Job, job_id) if len(job_id) <= 32 else None
    return job_as_dict(job) if job else None
