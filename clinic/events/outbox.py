"""Domain events: recorded in the outbox with the change, published to Redis after commit.

Every event belongs to a channel (``job:<id>``, ``queue:<id>:staff``, ...) and carries a
number that grows by one per channel. Numbers are taken under a row lock on the channel's
counter, so within a channel events commit in number order and a client can resume from the
last number it saw. After commit the events go to Redis: a PUBLISH for live subscribers and a
capped sorted set per channel for replay. If Redis is unreachable the rows stay unpublished
and :func:`republish_pending` (run by beat) sends them later; the database stays the
authority, so a missed publish costs delay, never truth.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta, timezone
from typing import Callable, Iterable

from sqlalchemy import delete, func
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from clinic.base import utcnow
from clinic.db import on_commit
from clinic.events import catalogue
from clinic.events.models import EventChannel, OutboxEvent

log = logging.getLogger(__name__)

BUS_KEY = "clinic.bus"
PENDING_KEY = "clinic.pending_events"
CHANNEL_RE = re.compile(r"^[a-z][a-z_]*:[A-Za-z0-9_.:-]{1,150}$")


def valid_channel(name: str) -> bool:
    return isinstance(name, str) and bool(CHANNEL_RE.match(name))


def _next_seq(session: Session, channel: str) -> int:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = EventChannel.__table__
    stmt = (
        insert(table)
        .values(name=channel, last_seq=1)
        .on_conflict_do_update(
            index_elements=[table.c.name], set_={"last_seq": table.c.last_seq + 1}
        )
        .returning(table.c.last_seq)
    )
    return session.execute(stmt).scalar_one()


def record_event(session: Session, channel: str, type_: str, data: dict) -> OutboxEvent:
    """Write an event into the outbox as part of the session's transaction.

    It is published once the transaction commits, and never if it rolls back.
    """
    if not valid_channel(channel):
        raise ValueError(f"not a channel name: {channel!r}")
    if catalogue.checking():
        catalogue.check(channel, type_, data)
    event = OutboxEvent(
        channel=channel, seq=_next_seq(session, channel), type=type_, data=data, created_at=utcnow()
    )
    session.add(event)
    session.flush()
    pending = session.info.setdefault(PENDING_KEY, [])
    if not pending:
        on_commit(session, lambda: _publish_committed(session))
    pending.append(event)
    return event


def _publish_committed(session: Session) -> None:
    # An event recorded inside a savepoint that was rolled back was never committed: its row
    # was dropped (and its number will be used again), so it must not be published.
    events = [e for e in session.info.pop(PENDING_KEY, []) if sa_inspect(e).has_identity]
    bus = session.info.get(BUS_KEY)
    if not events or bus is None:
        return
    try:
        bus.publish([e.message() for e in events])
    except Exception as exc:  # Redis down: the re-publisher will send them
        log.warning("publishing %d events failed, left for the re-publisher: %s", len(events), exc)
        return
    mark_published(session.get_bind(), [e.id for e in events])


def mark_published(bind, ids: Iterable[int]) -> None:
    ids = list(ids)
    if not ids:
        return
    with Session(bind) as s, s.begin():
        s.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(ids), OutboxEvent.published_at.is_(None))
            .values(published_at=utcnow())
        )


def republish_pending(
    session: Session, bus, *, older_than_seconds: float = 2, limit: int = 500
) -> int:
    """Publish outbox rows that were committed but never reached Redis; commits; returns
    the count.

    Rows younger than ``older_than_seconds`` are left to their own after-commit publish.
    Publishing twice is harmless: subscribers and the history skip numbers they have.
    """
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    rows = session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.published_at.is_(None), OutboxEvent.created_at <= cutoff)
        .order_by(OutboxEvent.id)
        .limit(limit)
    ).all()
    if not rows:
        return 0
    bus.publish([r.message() for r in rows])
    session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_([r.id for r in rows]))
        .values(published_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return len(rows)


def outbox_backlog(session: Session) -> tuple[int, float | None]:
    """How many events wait to be published, and the age in seconds of the oldest."""
    count, oldest = session.execute(
        select(func.count(OutboxEvent.id), func.min(OutboxEvent.created_at)).where(
            OutboxEvent.published_at.is_(None)
        )
    ).one()
    if oldest is None:
        return count, None
    if oldest.tzinfo is None:  # SQLite aggregates bypass the column type
        oldest = oldest.replace(tzinfo=timezone.utc)
    return count, (utcnow() - oldest).total_seconds()


def prune_outbox(session: Session, *, keep_days: int) -> int:
    """Delete published events older than ``keep_days``; returns how many went."""
    cutoff = utcnow() - timedelta(days=keep_days)
    result = session.execute(
        delete(OutboxEvent).where(
            OutboxEvent.published_at.is_not(None), OutboxEvent.created_at < cutoff
        )
    )
    return result.rowcount or 0


def channel_last_seq(session: Session, channel: str) -> int:
    value = session.scalar(select(EventChannel.last_seq).where(EventChannel.name == channel))
    return value or 0


def events_after(session: Session, channel: str, after: int, limit: int = 1000) -> list[dict]:
    """Events of ``channel`` numbered above ``after``, from the outbox, in order."""
    rows = session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.channel == channel, OutboxEvent.seq > after)
        .order_by(OutboxEvent.seq)
        .limit(limit)
    ).all()
    return [r.message() for r in rows]


class RedisBus:
    """Publishes events to Redis pub/sub and keeps a capped history per channel."""

    def __init__(self, redis_client, prefix: str = "clinic", history_size: int = 1000) -> None:
        self.redis = redis_client
        self.prefix = prefix
        self.history_size = history_size

    def pubsub_channel(self, channel: str) -> str:
        return f"{self.prefix}:ev:{channel}"

    @property
    def pubsub_pattern(self) -> str:
        return f"{self.prefix}:ev:*"

    def channel_from_pubsub(self, name: str) -> str:
        return name[len(self.prefix) + 4 :]

    def history_key(self, channel: str) -> str:
        return f"{self.prefix}:hist:{channel}"

    def publish(self, messages: list[dict]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for message in messages:
            payload = json.dumps(message, separators=(",", ":"), sort_keys=True)
            key = self.history_key(message["channel"])
            pipe.zadd(key, {payload: message["id"]})
            pipe.zremrangebyrank(key, 0, -(self.history_size + 1))
            pipe.expire(key, 7 * 24 * 3600)
            pipe.publish(self.pubsub_channel(message["channel"]), payload)
        pipe.execute()

    def history_after(self, channel: str, after: int) -> list[dict]:
        """Events above ``after`` held in the channel's history, in order."""
        raw = self.redis.zrangebyscore(self.history_key(channel), f"({after}", "+inf")
        events, seen = [], set()
        for item in raw:
            message = json.loads(item)
            if message["id"] not in seen:
                seen.add(message["id"])
                events.append(message)
        return events


def replay(
    session_factory: Callable[[], Session], bus: RedisBus | None, channel: str, after: int
) -> list[dict]:
    """Every event of ``channel`` after number ``after``, in order, without duplicates.

    The Redis history answers when it holds an unbroken run from ``after + 1``; when it has
    a hole (an event that never reached Redis) or has been trimmed, the outbox answers.
    """
    if bus is not None:
        try:
            events = bus.history_after(channel, after)
            unbroken = all(e["id"] == after + 1 + i for i, e in enumerate(events))
            if events and unbroken:
                return events
            if not events and _no_more(session_factory, channel, after):
                return []
        except Exception as exc:
            log.warning("history for %s unavailable, reading the outbox: %s", channel, exc)
    with session_factory() as session:
        return events_after(session, channel, after)


def _no_more(session_factory, channel: str, after: int) -> bool:
    with session_factory() as session:
        return channel_last_seq(session, channel) <= after
