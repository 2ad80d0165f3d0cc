"""Domain events: recorded in the outbox with the change, published to Redis after commit.

Every event belongs to a channel (``job:<id>``, ``queue:<id>:staff``, ...) and carries a
number that grows by one per channel. Numbers are taken under a row lock on the channel's
counter, so within a channel events commit in number order and a client can resume from the
last number it saw. After commit the events go to Redis: a PUBLISH for live subscribers and a
capped sorted set per channel for replay; the process marks them published in the outbox in
batches, off the request's path. If Redis is unreachable the rows stay unpublished
and :func:`republish_pending` (run by beat) sends them later; the database stays the
authority, so a missed publish costs delay, never truth.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Callable, Iterable

from sqlalchemy import delete, event, func, select, update
from sqlalchemy.orm import Session

from clinic.base import utcnow
from clinic.db import on_commit, sends_with_commit
from clinic.events import catalogue, writing
from clinic.events.models import EventChannel, OutboxEvent, RecordedEvent

log = logging.getLogger(__name__)

BUS_KEY = "clinic.bus"
PENDING_KEY = "clinic.pending_events"
ROLLED_BACK_KEY = "clinic.rolled_back_savepoints"
CHANNEL_RE = re.compile(r"^[a-z][a-z_]*:[A-Za-z0-9_.:-]{1,150}$")


def valid_channel(name: str) -> bool:
    return isinstance(name, str) and bool(CHANNEL_RE.fullmatch(name))


# Called with (session, events) whenever events are recorded: a module that acts on some
# events (printing collects print requests) hears of them without the recorder knowing it.
_recorded_hooks: list[Callable[[Session, list[RecordedEvent]], None]] = []


def on_recorded(hook: Callable[[Session, list[RecordedEvent]], None]) -> None:
    """Call ``hook(session, events)`` whenever events are recorded in a session."""
    _recorded_hooks.append(hook)


def record_events(
    session: Session,
    events: list[tuple[str, str, dict]],
    *,
    with_commit: bool = False,
    lead: writing.Lead | None = None,
) -> list[RecordedEvent]:
    """Write several events, ``(channel, type, data)`` each, into the outbox as part of the
    session's transaction: one statement for a change's few, two for many (and on SQLite).

    They are published once the transaction commits, and never if it rolls back (nor if the
    savepoint they were recorded in rolls back). The rows are written as plain inserts, not
    through the ORM's unit of work: the events answered are not in the session.

    ``with_commit``: the change's last events, recorded just before its commit (a ticket
    issued at the desk). On PostgreSQL their statement then goes with the ``COMMIT``, and the
    rows answered get their ids and numbers only then; elsewhere, or inside a savepoint, or
    for many events, they are written at once as usual.

    ``lead``: a statement these events follow in one, with the ``COMMIT`` (PostgreSQL only;
    see :class:`clinic.events.writing.Lead`).
    """
    if lead is not None and not can_go_with_commit(session, events):
        raise ValueError("a lead goes with the COMMIT: PostgreSQL, a few events, no savepoint")
    checking = catalogue.checking()
    for channel, type_, data in events:
        if not valid_channel(channel):
            raise ValueError(f"not a channel name: {channel!r}")
        if checking:
            catalogue.check(channel, type_, data)
    if not events:
        return []
    if (with_commit or lead is not None) and can_go_with_commit(session, events):
        rows = writing.write_events_with_commit(session, events, utcnow(), lead)
    else:
        rows = writing.write_events(session, events, utcnow())
    pending = session.info.setdefault(PENDING_KEY, [])
    if not pending:
        on_commit(session, lambda: _publish_committed(session))
    transaction = session.get_nested_transaction() or session.get_transaction()
    pending.extend((transaction, row) for row in rows)
    for hook in _recorded_hooks:
        hook(session, rows)
    return rows


def can_go_with_commit(session: Session, events: list) -> bool:
    """Whether ``events`` can be written with the transaction's ``COMMIT``: a change's few,
    where writes can go with it at all (:func:`clinic.db.sends_with_commit`)."""
    return len(events) <= writing.ONE_STATEMENT_EVENTS and sends_with_commit(session)


def record_event(session: Session, channel: str, type_: str, data: dict) -> RecordedEvent:
    """Write an event into the outbox as part of the session's transaction.

    It is published once the transaction commits, and never if it rolls back.
    """
    return record_events(session, [(channel, type_, data)])[0]


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous) -> None:
    if previous.nested:
        if not session.info.get(PENDING_KEY):
            return  # nothing recorded so far could have been inside it
        # A savepoint rolled back: the events recorded inside it were never committed (their
        # numbers will be used again), so they must not be published with the transaction.
        session.info.setdefault(ROLLED_BACK_KEY, []).append(previous)
    else:  # the whole transaction rolled back: nothing recorded in it was committed
        session.info.pop(PENDING_KEY, None)
        session.info.pop(ROLLED_BACK_KEY, None)


def _committed(transaction, rolled_back: list) -> bool:
    while transaction is not None:
        if any(transaction is gone for gone in rolled_back):
            return False
        transaction = transaction.parent
    return True


def _publish_committed(session: Session) -> None:
    rolled_back = session.info.pop(ROLLED_BACK_KEY, [])
    pending = session.info.pop(PENDING_KEY, [])
    events = [e for transaction, e in pending if _committed(transaction, rolled_back)]
    bus = session.info.get(BUS_KEY)
    if not events or bus is None:
        return
    try:
        bus.publish([e.message() for e in events])
    except Exception as exc:  # Redis down: the re-publisher will send them
        log.warning("publishing %d events failed, left for the re-publisher: %s", len(events), exc)
        return
    _marks.note(session.get_bind(), [e.id for e in events])


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


class _PublishedMarks:
    """Marks published events in the outbox in batches, off the request's path.

    A request that published its events only notes their ids; a thread of the process writes
    the marks of everyone's events in one transaction every ``MARK_EVERY`` seconds, instead of
    a transaction per request after its commit. A mark lost with the process costs only a
    second publish by the re-publisher (which waits longer than this), never an event.
    """

    MARK_EVERY = 0.25
    BATCH = 5000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._ids: dict = {}
        self._thread: threading.Thread | None = None
        self._pid = 0

    def note(self, bind, ids: list[int]) -> None:
        with self._lock:
            self._ids.setdefault(bind, []).extend(ids)
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, daemon=True, name="outbox-marks")
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.MARK_EVERY)
            if not self.flush():
                with self._lock:
                    if not self._ids:
                        self._thread = None
                        return

    def flush(self) -> int:
        """Write the marks noted so far (and wait for a write under way); returns how many."""
        with self._flushing:
            with self._lock:
                taken, self._ids = self._ids, {}
            done = 0
            for bind, ids in taken.items():
                for start in range(0, len(ids), self.BATCH):
                    batch = ids[start : start + self.BATCH]
                    try:
                        mark_published(bind, batch)
                        done += len(batch)
                    except Exception as exc:  # the re-publisher will send them again
                        log.warning("marking %d events published failed: %s", len(batch), exc)
            return done


_marks = _PublishedMarks()


def flush_published_marks() -> int:
    """Write the published marks this process has noted (the marker does it by itself)."""
    return _marks.flush()


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


def _recorded_at(message: dict) -> datetime:
    """When the event was recorded (its ``ts``, UTC), to tell two events of one number apart."""
    try:
        at = datetime.fromisoformat(message["ts"])
    except (KeyError, TypeError, ValueError):
        at = datetime.min
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


# How long a channel's history is kept after its last trim (a week).
HISTORY_LIFETIME = 7 * 24 * 3600


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

    def history_key(self, channel: str) -> str:
        return f"{self.prefix}:hist:{channel}"

    # The history is trimmed to its size and its expiry renewed once every this many events
    # of a channel (and at its first), not at each: it may hold this many more meanwhile.
    TRIM_EVERY = 50

    # Each message into its channel's history, then to its subscribers, in one command: KEYS
    # are the histories; ARGV the history's size and lifetime, then for each message its
    # pub/sub channel, payload, number and whether its history is trimmed now.
    _PUBLISH = """
local size, lifetime = tonumber(ARGV[1]), tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
    local at = 2 + (i - 1) * 4
    redis.call('ZADD', key, ARGV[at + 3], ARGV[at + 2])
    if ARGV[at + 4] == '1' then
        redis.call('ZREMRANGEBYRANK', key, 0, -(size + 1))
        redis.call('EXPIRE', key, lifetime)
    end
    redis.call('PUBLISH', ARGV[at + 1], ARGV[at + 2])
end
"""

    def publish(self, messages: list[dict]) -> None:
        keys, args = [], [self.history_size, HISTORY_LIFETIME]
        for message in messages:
            keys.append(self.history_key(message["channel"]))
            args.append(self.pubsub_channel(message["channel"]))
            args.append(json.dumps(message, separators=(",", ":"), sort_keys=True))
            args.append(message["id"])
            args.append(1 if message["id"] % self.TRIM_EVERY == 1 else 0)
        if keys:
            self._published(keys=keys, args=args)

    @cached_property
    def _published(self):
        return self.redis.register_script(self._PUBLISH)

    def history_after(self, channel: str, after: int) -> list[dict]:
        """Events above ``after`` held in the channel's history, in order.

        One number held twice means the database was restored to a backup older than the
        history: the number was given out again, to another event, and the newer one is the
        database's (the older stays in Redis until trimmed or expired)."""
        raw = self.redis.zrangebyscore(self.history_key(channel), f"({after}", "+inf")
        newest: dict[int, dict] = {}
        for item in raw:
            message = json.loads(item)
            held = newest.get(message["id"])
            if held is None or _recorded_at(message) > _recorded_at(held):
                newest[message["id"]] = message
        return [newest[n] for n in sorted(newest)]


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
