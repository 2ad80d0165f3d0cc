"""Events: numbered per channel, published after commit, replayed without gaps."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from clinic.events import record_event, record_events, replay, republish_pending, writing
from clinic.models import OutboxEvent
from tests.queue.test_bounded_statements import Statements


def _emit(runtime, channel, n, type_="test.tick"):
    with runtime.db.transaction() as s:
        for i in range(n):
            record_event(s, channel, type_, {"i": i})


def test_event_numbers_grow_by_one_per_channel(runtime):
    _emit(runtime, "job:a", 3)
    _emit(runtime, "job:b", 2)
    _emit(runtime, "job:a", 1)
    with runtime.db.session() as s:
        rows = s.execute(
            select(OutboxEvent.channel, OutboxEvent.seq).order_by(OutboxEvent.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("job:a", 1),
        ("job:a", 2),
        ("job:a", 3),
        ("job:b", 1),
        ("job:b", 2),
        ("job:a", 4),
    ]


def test_concurrent_writers_never_share_a_number(runtime):
    def writer():
        for _ in range(10):
            _emit(runtime, "job:race", 1)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with runtime.db.session() as s:
        seqs = s.scalars(select(OutboxEvent.seq).where(OutboxEvent.channel == "job:race")).all()
    assert sorted(seqs) == list(range(1, 41))


def test_rolled_back_events_are_neither_stored_nor_published(runtime):
    pubsub = runtime.redis.pubsub()
    pubsub.psubscribe(runtime.bus.pubsub_pattern)
    s = runtime.db.session()
    record_event(s, "job:x", "test.tick", {})
    s.rollback()
    s.close()
    with runtime.db.session() as s2:
        assert s2.scalar(select(OutboxEvent.id)) is None
    messages = [pubsub.get_message(timeout=0.2) for _ in range(3)]
    assert all(m is None or m["type"] == "psubscribe" for m in messages)
    pubsub.close()


def _all_marked(runtime) -> bool:
    with runtime.db.session() as s:
        return all(s.scalars(select(OutboxEvent.published_at)))


def test_committed_events_are_published_and_marked(runtime):
    _emit(runtime, "job:pub", 2)
    assert [e["id"] for e in runtime.bus.history_after("job:pub", 0)] == [1, 2]
    # The marks are written in batches by the process's marker, not by the committing request.
    deadline = time.monotonic() + 5
    while not _all_marked(runtime):
        assert time.monotonic() < deadline, "the published events were never marked"
        time.sleep(0.05)


def test_a_batch_of_events_takes_consecutive_numbers_per_channel(runtime):
    with runtime.db.transaction() as s:
        record_event(s, "job:m", "test.tick", {})
        record_events(
            s,
            [
                ("job:m", "test.tick", {"n": 1}),
                ("job:n", "test.tick", {"n": 1}),
                ("job:m", "test.tick", {"n": 2}),
            ],
        )
    with runtime.db.session() as s:
        rows = s.execute(
            select(OutboxEvent.channel, OutboxEvent.seq, OutboxEvent.data).order_by(OutboxEvent.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("job:m", 1, {}),
        ("job:m", 2, {"n": 1}),
        ("job:n", 1, {"n": 1}),
        ("job:m", 3, {"n": 2}),
    ]


@pytest.mark.parametrize("with_commit", [False, True])
@pytest.mark.parametrize("size", [5, writing.ONE_STATEMENT_EVENTS + 3])
def test_the_events_answered_are_the_rows_stored_in_the_batchs_order(runtime, size, with_commit):
    """A change's few events and a bulk change's many, written at once or (a change's last
    few, on PostgreSQL) with the commit: each answered event is its stored row (id, number,
    data), numbers continue each channel's count in the batch's order, and the ids follow the
    batch."""
    _emit(runtime, "job:p", 2)
    batch = [
        (f"job:{'pqr'[i % 3]}", "test.tick", {"i": i, "name": "Oʻrinboy"}) for i in range(size)
    ]
    with runtime.db.transaction() as s:
        answered = record_events(s, batch, with_commit=with_commit)
    with runtime.db.session() as s:
        stored = s.execute(
            select(OutboxEvent.id, OutboxEvent.channel, OutboxEvent.seq, OutboxEvent.data)
            .where(OutboxEvent.id.in_([event.id for event in answered]))
            .order_by(OutboxEvent.id)
        ).all()
    assert [(e.id, e.channel, e.seq, e.data) for e in answered] == [tuple(r) for r in stored]
    expected_next = {"job:p": 3, "job:q": 1, "job:r": 1}
    for event, (channel, _type, data) in zip(answered, batch):
        assert (event.channel, event.seq, event.data) == (channel, expected_next[channel], data)
        expected_next[channel] += 1


def test_a_bulk_changes_events_take_two_statements_whatever_their_number(runtime):
    """The counters, then the rows (which the driver batches): 20 events cost what 200 do,
    on either database."""
    sent = {}
    for size in (20, 200):
        batch = [(f"job:{'st'[i % 2]}", "test.tick", {"i": i}) for i in range(size)]
        with runtime.db.transaction() as s:
            s.connection()  # the transaction's BEGIN (SQLite) is not the events'
            with Statements(runtime.db.engine) as counted:
                answered = record_events(s, batch)
        sent[size] = len(counted.sent)
        assert [(e.channel, e.data) for e in answered] == [(c, d) for c, _t, d in batch]
    assert sent[20] == sent[200] == 2, sent


def test_replay_fills_a_hole_in_the_redis_history_from_the_outbox(runtime):
    _emit(runtime, "job:h", 3)
    # Event 2 never reached Redis (as if Redis blinked while it was published).
    key = runtime.bus.history_key("job:h")
    runtime.redis.zremrangebyscore(key, 2, 2)
    assert [e["id"] for e in replay(runtime.db.sessionmaker, runtime.bus, "job:h", 0)] == [1, 2, 3]
    assert [e["id"] for e in replay(runtime.db.sessionmaker, runtime.bus, "job:h", 2)] == [3]
    assert replay(runtime.db.sessionmaker, runtime.bus, "job:h", 3) == []


def test_republisher_sends_what_the_commit_could_not(runtime):
    bus, runtime_bus_key = runtime.bus, "clinic.bus"
    s = runtime.db.session()
    s.info[runtime_bus_key] = None  # commit with no bus: nothing is published
    record_event(s, "job:late", "test.tick", {})
    s.commit()
    s.close()
    assert bus.history_after("job:late", 0) == []
    with runtime.db.session() as s:
        assert republish_pending(s, bus, older_than_seconds=0) == 1
        assert republish_pending(s, bus, older_than_seconds=0) == 0
    assert [e["id"] for e in bus.history_after("job:late", 0)] == [1]


def test_an_event_from_a_rolled_back_savepoint_is_never_published(runtime):
    with runtime.db.transaction() as s:
        record_event(s, "job:sp", "test.kept", {"n": 1})
        savepoint = s.begin_nested()
        record_event(s, "job:sp", "test.dropped", {"n": 2})
        savepoint.rollback()
        record_event(s, "job:sp", "test.kept", {"n": 3})
    published = runtime.bus.history_after("job:sp", 0)
    assert [(e["id"], e["data"]["n"]) for e in published] == [(1, 1), (2, 3)]


def test_an_event_of_a_released_savepoint_inside_a_rolled_back_one_is_never_published(runtime):
    with runtime.db.transaction() as s:
        outer = s.begin_nested()
        with s.begin_nested():
            record_event(s, "job:sp2", "test.dropped", {"n": 1})
        outer.rollback()
        record_event(s, "job:sp2", "test.kept", {"n": 2})
    published = runtime.bus.history_after("job:sp2", 0)
    assert [(e["id"], e["data"]["n"]) for e in published] == [(1, 2)]


def test_a_session_that_rolled_back_publishes_its_next_commit_at_once(runtime):
    s = runtime.db.session()
    record_event(s, "job:again", "test.dropped", {"n": 1})
    s.rollback()
    record_event(s, "job:again", "test.kept", {"n": 2})
    s.commit()
    s.close()
    published = runtime.bus.history_after("job:again", 0)
    assert [(e["id"], e["data"]["n"]) for e in published] == [(1, 2)]


def test_after_commit_waits_for_the_outer_transaction(runtime):
    from clinic.db import on_commit

    ran = []
    s = runtime.db.session()
    s.begin()
    with s.begin_nested():
        on_commit(s, lambda: ran.append("released savepoint"))
    s.rollback()
    assert ran == []
    with s.begin():
        on_commit(s, lambda: ran.append("committed"))
    s.close()
    assert ran == ["committed"]


def test_the_redis_history_stays_near_its_size_and_keeps_the_newest(runtime):
    from clinic.events import RedisBus

    bus = RedisBus(runtime.redis, prefix=runtime.bus.prefix + "trim", history_size=10)
    for first in range(1, 121, 20):
        bus.publish(
            [
                {"channel": "job:trim", "id": n, "type": "test.tick", "data": {}, "ts": ""}
                for n in range(first, first + 20)
            ]
        )
    kept = [e["id"] for e in bus.history_after("job:trim", 0)]
    assert len(kept) <= 10 + RedisBus.TRIM_EVERY
    assert kept == list(range(121 - len(kept), 121))  # the newest, unbroken
    assert 0 < runtime.redis.ttl(bus.history_key("job:trim")) <= 7 * 24 * 3600
    runtime.redis.delete(bus.history_key("job:trim"))


def test_publishing_goes_on_after_redis_forgets_its_scripts(runtime):
    """A restarted Redis knows no script: the next publish loads it again, nothing lost."""
    _emit(runtime, "job:scripts", 1)
    runtime.redis.script_flush()
    pubsub = runtime.redis.pubsub()
    pubsub.subscribe(runtime.bus.pubsub_channel("job:scripts"))
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    _emit(runtime, "job:scripts", 1)
    heard = pubsub.get_message(timeout=2)
    pubsub.close()
    assert heard is not None and '"id":2' in heard["data"].decode()
    assert [e["id"] for e in runtime.bus.history_after("job:scripts", 0)] == [1, 2]


def test_after_a_restore_to_an_older_backup_replay_answers_the_restored_databases_events(
    runtime,
):
    """The database went back to a backup taken before events 1..3 of a channel; Redis kept
    their history. The numbers are given out again, to other events: a client resuming must
    get those, not what Redis still holds from before the restore under the same numbers."""
    from sqlalchemy import delete

    from clinic.events import flush_published_marks
    from clinic.models import EventChannel

    _emit(runtime, "job:restored", 3)  # i = 0, 1, 2
    flush_published_marks()
    with runtime.db.transaction() as s:
        s.execute(delete(OutboxEvent).where(OutboxEvent.channel == "job:restored"))
        s.execute(delete(EventChannel).where(EventChannel.name == "job:restored"))
    with runtime.db.transaction() as s:
        for i in (10, 11):
            record_event(s, "job:restored", "test.tick", {"i": i})
    got = replay(runtime.db.sessionmaker, runtime.bus, "job:restored", 0)
    assert [(e["id"], e["data"]["i"]) for e in got if e["id"] <= 2] == [(1, 10), (2, 11)]
