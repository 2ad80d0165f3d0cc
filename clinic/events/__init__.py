"""Domain events: the outbox, the Redis bus and replay (see :mod:`clinic.events.outbox`)."""

from clinic.events.outbox import (
    BUS_KEY,
    PENDING_KEY,
    RedisBus,
    channel_last_seq,
    events_after,
    flush_published_marks,
    mark_published,
    outbox_backlog,
    prune_outbox,
    record_event,
    record_events,
    replay,
    republish_pending,
    valid_channel,
)

__all__ = [
    "BUS_KEY",
    "PENDING_KEY",
    "RedisBus",
    "channel_last_seq",
    "events_after",
    "flush_published_marks",
    "mark_published",
    "outbox_backlog",
    "prune_outbox",
    "record_event",
    "record_events",
    "replay",
    "republish_pending",
    "valid_channel",
]
