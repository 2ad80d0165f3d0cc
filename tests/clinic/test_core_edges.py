"""The shared machinery's edges: after-commit work, UTC times, the event catalogue and outbox,
jobs, and the accounts rules that refuse odd input instead of failing on it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from clinic import channels
from clinic.accounts import access, audit, passwords, tokens, users
from clinic.base import UTCDateTime, utcnow
from clinic.db import dispatch_after_commit, on_commit
from clinic.errors import ValidationFailed
from clinic.events import (
    RedisBus,
    catalogue,
    flush_published_marks,
    mark_published,
    outbox_backlog,
    prune_outbox,
    record_event,
    record_events,
    replay,
)
from clinic.events.outbox import _PublishedMarks
from clinic.jobs import service as jobs
from clinic.migrate import upgrade
from clinic.models import OutboxEvent

PASSWORD = "Correct-horse-2026!"


# --- after commit ---------------------------------------------------------------------------


def test_a_task_without_a_dispatcher_is_left_to_its_sweeper(runtime):
    with runtime.db.transaction() as s:
        assert dispatch_after_commit(s, "test.nothing", queue="default", x=1) is False


def test_a_task_is_sent_only_once_the_transaction_commits(runtime):
    sent = []
    runtime.db.set_dispatcher(lambda name, **kw: sent.append((name, kw)))
    with runtime.db.transaction() as s:
        assert dispatch_after_commit(s, "test.later", queue="reports", job_id="j1") is True
        assert sent == []
    assert sent == [("test.later", {"kwargs": {"job_id": "j1"}, "queue": "reports"})]


def test_a_failing_after_commit_callback_keeps_the_commit_and_the_others(runtime, caplog):
    ran = []

    def broken():
        raise RuntimeError("side effect down")

    with caplog.at_level(logging.ERROR, logger="clinic.db"):
        with runtime.db.transaction() as s:
            record_event(s, "job:kept", "test.kept", {})
            on_commit(s, broken)
            on_commit(s, lambda: ran.append("second"))
    assert ran == ["second"]
    assert "after-commit callback" in caplog.text
    with runtime.db.session() as s:
        assert s.scalar(select(OutboxEvent.type).where(OutboxEvent.channel == "job:kept")) == (
            "test.kept"
        )


# --- UTC times ------------------------------------------------------------------------------


def test_a_naive_datetime_is_refused_where_an_aware_one_is_stored():
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 3, 2, 10, 0), postgresql.dialect())


def test_times_are_stored_in_utc_naive_on_sqlite_and_aware_on_postgresql():
    tashkent = timezone(timedelta(hours=5))
    local = datetime(2026, 3, 2, 15, 0, tzinfo=tashkent)
    kind = UTCDateTime()
    assert kind.process_bind_param(local, sqlite.dialect()) == datetime(2026, 3, 2, 10, 0)
    stored = kind.process_bind_param(local, postgresql.dialect())
    assert stored == datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
    assert stored.utcoffset() == timedelta(0)


def test_times_read_back_are_aware_utc_whatever_the_driver_returns():
    kind = UTCDateTime()
    naive = kind.process_result_value(datetime(2026, 3, 2, 10, 0), sqlite.dialect())
    assert naive == datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
    offset = datetime(2026, 3, 2, 15, 0, tzinfo=timezone(timedelta(hours=5)))
    aware = kind.process_result_value(offset, postgresql.dialect())
    assert aware.tzinfo == timezone.utc and aware.hour == 10
    assert kind.process_result_value(None, sqlite.dialect()) is None


# --- the event catalogue --------------------------------------------------------------------


def test_an_event_declared_for_any_channel_kind_checks_its_shape_everywhere():
    event = catalogue.EventType("edge.any", {catalogue.ANY_KIND: {"n": int}})
    assert event.shape_on("ticket:1") == {"n": int}
    event.check("queue:7", {"n": 3})
    with pytest.raises(catalogue.EventMismatch, match="n=True"):
        event.check("queue:7", {"n": True})


def test_event_data_that_is_not_an_object_is_refused():
    event = catalogue.EventType("edge.list", {"job": None})
    with pytest.raises(catalogue.EventMismatch, match="not an object"):
        event.check("job:1", ["not", "a", "dict"])


def test_an_event_declared_twice_differently_is_refused_and_the_same_twice_is_fine():
    first = catalogue.EventType("edge.twice", {"job": {"a": int}})
    catalogue.declare(first)
    catalogue.declare(catalogue.EventType("edge.twice", {"job": {"a": int}}))
    with pytest.raises(ValueError, match="declared twice"):
        catalogue.declare(catalogue.EventType("edge.twice", {"job": {"a": str}}))


# --- the outbox -----------------------------------------------------------------------------


def test_an_event_on_a_malformed_channel_is_refused_before_anything_is_written(runtime):
    with runtime.db.transaction() as s:
        with pytest.raises(ValueError, match="not a channel name"):
            record_events(s, [("job:ok", "test.tick", {}), ("no channel here", "test.tick", {})])
        # "$" alone would take a name followed by a line break: no socket could subscribe to it.
        with pytest.raises(ValueError, match="not a channel name"):
            record_events(s, [("job:7\n", "test.tick", {})])
        assert record_events(s, []) == []
    with runtime.db.session() as s:
        assert s.scalar(select(OutboxEvent.id)) is None


def test_marking_no_events_published_touches_nothing(runtime):
    mark_published(runtime.db.engine, [])
    mark_published(None, [])  # not even the connection is asked for


def test_a_failed_published_mark_is_logged_and_left_to_the_republisher(runtime, caplog):
    marks = _PublishedMarks()
    marks._ids = {object(): [1, 2, 3]}  # a bind no session can use
    with caplog.at_level(logging.WARNING, logger="clinic.events.outbox"):
        assert marks.flush() == 0
    assert "marking 3 events published failed" in caplog.text


def test_pruning_deletes_only_published_events_older_than_the_retention(runtime):
    with runtime.db.transaction() as s:
        old, fresh, unpublished = record_events(
            s, [("job:p", "test.tick", {}), ("job:p", "test.tick", {}), ("job:p", "test.tick", {})]
        )
        ids = old.id, fresh.id, unpublished.id
    flush_published_marks()  # the publisher's own marks land before the rows are set back
    long_ago = utcnow() - timedelta(days=40)
    with runtime.db.transaction() as s:
        s.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(ids))
            .values(published_at=None, created_at=long_ago)
        )
        s.execute(update(OutboxEvent).where(OutboxEvent.id == ids[0]).values(published_at=long_ago))
        s.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == ids[1])
            .values(published_at=utcnow(), created_at=utcnow())
        )
    with runtime.db.transaction() as s:
        assert prune_outbox(s, keep_days=30) == 1
    with runtime.db.session() as s:
        left = s.scalars(select(OutboxEvent.id).order_by(OutboxEvent.id)).all()
    assert left == [ids[1], ids[2]]


class _DownRedis:
    def zrangebyscore(self, *args, **kwargs):
        raise ConnectionError("redis is down")


def test_replay_reads_the_outbox_when_the_redis_history_is_unavailable(runtime, caplog):
    with runtime.db.transaction() as s:
        for i in range(3):
            record_event(s, "job:r", "test.tick", {"i": i})
    bus = RedisBus(_DownRedis(), prefix=runtime.settings.redis_prefix)
    with caplog.at_level(logging.WARNING, logger="clinic.events.outbox"):
        events = replay(runtime.db.session, bus, "job:r", 1)
    assert [e["id"] for e in events] == [2, 3]
    assert [e["data"]["i"] for e in events] == [1, 2]
    assert "reading the outbox" in caplog.text


def test_a_history_holding_one_event_twice_replays_it_once(runtime):
    with runtime.db.transaction() as s:
        record_event(s, "job:twice", "test.tick", {"i": 0})
    with runtime.db.session() as s:
        message = s.scalar(select(OutboxEvent).where(OutboxEvent.channel == "job:twice")).message()
    runtime.bus.publish([message])
    runtime.bus.publish([{**message, "ts": message["ts"] + "x"}])  # the same number, re-sent
    assert [e["id"] for e in runtime.bus.history_after("job:twice", 0)] == [1]


def test_a_malformed_channel_has_no_snapshot(db, runtime):
    assert channels.snapshot(db, "not a channel", runtime.settings.tz) == (None, 0)


# --- jobs -----------------------------------------------------------------------------------


def test_a_job_channel_is_the_one_its_events_go_to(runtime):
    with runtime.db.transaction() as s:
        job = jobs.create_job(s, kind="edge", task_name="test.nothing")
        assert jobs.job_channel(job.id) == job.channel
    with runtime.db.session() as s:
        assert s.scalar(select(OutboxEvent.channel)) == jobs.job_channel(job.id)


def test_failing_an_unknown_or_finished_job_changes_nothing(runtime):
    with runtime.db.transaction() as s:
        job = jobs.create_job(s, kind="edge", task_name="test.nothing")
        assert jobs.fail_job(s, "0" * 32, {"title": "x"}) is False
        jobs.finish_job(s, job, {"done": True})
    with runtime.db.transaction() as s:
        assert jobs.fail_job(s, job.id, {"title": "too late"}) is False
    with runtime.db.session() as s:
        finished = jobs.get_job(s, job.id)
        assert finished.error is None and finished.result == {"done": True}


# --- accounts -------------------------------------------------------------------------------


class _BrokenRedis:
    def publish(self, *args):
        raise ConnectionError("redis is down")


class _Bus:
    prefix = "edge"

    def __init__(self, redis) -> None:
        self.redis = redis


def test_an_access_notice_never_fails_its_caller(caplog):
    access.publish(None, 7)  # a process without a bus
    with caplog.at_level(logging.WARNING, logger="clinic.accounts.access"):
        access.publish(_Bus(_BrokenRedis()), 7)
    assert "access notice of user 7" in caplog.text


def test_an_access_notice_names_the_user_on_the_installation_channel(runtime):
    pubsub = runtime.redis.pubsub()
    pubsub.subscribe(access.notice_channel(runtime.bus.prefix))
    pubsub.get_message(timeout=5)  # the subscription's confirmation
    access.publish(runtime.bus, 42)
    message = pubsub.get_message(timeout=5)
    pubsub.close()
    assert message is not None and message["data"] == b'{"user_id": 42}'


def test_an_access_notice_names_one_user_screen_or_board_and_nothing_else():
    assert access.read_notice(b'{"user_id": 42}') == ("user", 42)
    assert access.read_notice('{"screen_id": 3}') == ("screen", 3)
    assert access.read_notice(b'{"board_id": 2}') == ("board", 2)
    for malformed in (
        None,
        b"not json",
        b"[42]",
        b"{}",
        b'{"ticket_id": 1}',
        b'{"user_id": true}',
        b'{"user_id": "42"}',
        b'{"user_id": 1, "screen_id": 2}',
        b'{"_id": 1}',
    ):
        assert access.read_notice(malformed) is None, malformed


def test_a_password_that_is_not_text_is_refused():
    assert passwords.policy_errors(12345678901234) == ["must be text"]
    assert passwords.policy_errors(None) == ["must be text"]


def _user(session, username="edge.user", roles=("registrar",)):
    return users.create_user(session, username=username, password=PASSWORD, roles=list(roles))


def test_a_token_request_names_every_bad_field(runtime):
    with runtime.db.transaction() as s:
        user = _user(s)
        for name, days in (("", 0), ("x" * 101, True), ("  ", 367), ("ok", "30")):
            with pytest.raises(ValidationFailed) as refused:
                tokens.create_token(s, user, name=name, days=days)
            expected = {"days"} if name == "ok" else {"name", "days"}
            assert set(refused.value.errors) == expected


def test_strings_that_cannot_be_tokens_find_no_user(runtime):
    with runtime.db.transaction() as s:
        user = _user(s)
        _row, plain = tokens.create_token(s, user, name="script", days=1)
    with runtime.db.transaction() as s:
        assert tokens.holder_for_token(s, plain).id == user.id
        for bad in (None, 42, plain[len(tokens.TOKEN_PREFIX) :], plain + "x" * 100):
            assert tokens.holder_for_token(s, bad) is None


def test_revoking_a_token_twice_keeps_the_first_revocation(runtime):
    with runtime.db.transaction() as s:
        row, _plain = tokens.create_token(s, _user(s), name="script", days=1)
        tokens.revoke_token(s, row)
        first = row.revoked_at
        tokens.revoke_token(s, row)
        assert row.revoked_at == first is not None


def test_a_user_needs_a_role_and_a_doctor_user_needs_a_real_doctor(runtime):
    with runtime.db.transaction() as s:
        with pytest.raises(ValidationFailed) as refused:
            _user(s, roles=())
        assert refused.value.errors == {"roles": ["required"]}
        with pytest.raises(ValidationFailed) as refused:
            _user(s, roles=("doctor",))
        assert "doctor_id" in refused.value.errors
        for doctor_id in (999999, "1", True):
            with pytest.raises(ValidationFailed) as refused:
                users.create_user(
                    s,
                    username="edge.doc",
                    password=PASSWORD,
                    roles=["registrar"],
                    doctor_id=doctor_id,
                )
            assert refused.value.errors == {"doctor_id": ["no such doctor"]}


def test_names_that_cannot_be_usernames_find_nobody(runtime):
    with runtime.db.transaction() as s:
        _user(s)
        assert users.find_user(s, "EDGE.USER").username == "edge.user"
        assert users.find_user(s, None) is None
        assert users.find_user(s, "e" * (users.USERNAME_MAX + 1)) is None


def _after(moment: datetime) -> datetime:
    """A time strictly later than ``moment`` (the clock has moved on)."""
    now = utcnow()
    while now <= moment:
        now = utcnow()
    return now


def test_the_audit_log_filters_by_object_and_time(runtime):
    with runtime.db.transaction() as s:
        first = audit.record(s, actor=None, action="queue.edit", object_type="queue", object_id=1)
    middle = _after(first.at)
    with runtime.db.transaction() as s:
        audit.record(s, actor=None, action="queue.edit", object_type="queue", object_id=2)
        last = audit.record(s, actor=None, action="room.edit", object_type="room", object_id=1)
    end = _after(last.at)

    def found(**criteria):
        with runtime.db.session() as s:
            rows, total = audit.search(s, audit.AuditFilter(**criteria))
        assert total == len(rows)
        return sorted((r.object_type, r.object_id) for r in rows)

    assert found(object_type="queue") == [("queue", "1"), ("queue", "2")]
    assert found(object_id="1") == [("queue", "1"), ("room", "1")]
    assert found(since=middle) == [("queue", "2"), ("room", "1")]
    assert found(until=middle) == [("queue", "1")]
    assert found(object_type="room", since=middle, until=end) == [("room", "1")]
    assert found(since=end) == []


def test_replay_without_a_bus_reads_the_outbox(runtime):
    with runtime.db.transaction() as s:
        for i in range(2):
            record_event(s, "job:nobus", "test.tick", {"i": i})
    events = replay(runtime.db.session, None, "job:nobus", 0)
    assert [(e["id"], e["data"]["i"]) for e in events] == [(1, 0), (2, 1)]


def test_the_backlog_counts_unpublished_events_and_the_age_of_the_oldest(runtime):
    with runtime.db.session() as s:
        assert outbox_backlog(s) == (0, None)
    with runtime.db.transaction() as s:
        event = record_event(s, "job:late", "test.tick", {})
    flush_published_marks()
    with runtime.db.transaction() as s:
        s.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == event.id)
            .values(published_at=None, created_at=utcnow() - timedelta(minutes=10))
        )
    with runtime.db.session() as s:
        count, age = outbox_backlog(s)
    assert count == 1 and 600 <= age < 3600


def test_outside_the_tests_recorded_events_are_not_checked_against_the_catalogue(runtime):
    catalogue.check_recorded_events(False)
    try:
        with runtime.db.transaction() as s:
            record_event(s, "job:free", "edge.undeclared", {"anything": [1, 2]})
    finally:
        catalogue.check_recorded_events(True)
    with runtime.db.session() as s:
        assert s.scalar(select(OutboxEvent.type).where(OutboxEvent.channel == "job:free")) == (
            "edge.undeclared"
        )


def test_marks_noted_while_the_marker_found_nothing_are_written_in_its_next_round(runtime):
    with runtime.db.transaction() as s:
        event = record_event(s, "job:marks", "test.tick", {})
    flush_published_marks()
    with runtime.db.transaction() as s:
        s.execute(update(OutboxEvent).values(published_at=None))
    bind = runtime.db.engine

    class Marks(_PublishedMarks):
        MARK_EVERY = 0
        rounds = 0

        def flush(self):
            done = super().flush()
            self.rounds += 1
            if self.rounds == 1:  # a request notes its events just after this round
                self._ids = {bind: [event.id]}
            return done

    marks = Marks()
    marks._run()  # returns once a round finds nothing and nothing is noted
    assert marks.rounds == 3
    with runtime.db.session() as s:
        assert s.scalar(select(OutboxEvent.published_at)) is not None


def test_a_script_with_a_runtime_alone_saves_a_user(tmp_path):
    """A process that builds a runtime and saves a user, importing nothing else (an
    operator's script, the load test's setup), knows the doctors table his row names."""
    script = (
        "from clinic.runtime import Runtime\n"
        "from clinic.settings import Settings\n"
        "from clinic.accounts import users\n"
        "runtime = Runtime(Settings.from_env())\n"
        "with runtime.db.transaction() as session:\n"
        "    users.create_user(session, username='script.user', password='Script-pass-2026',"
        " roles=['admin'])\n"
        "runtime.close()\n"
        "print('saved')\n"
    )
    database_url = f"sqlite:///{tmp_path / 'clinic.db'}"
    upgrade(database_url)  # here: the migrations know every table, the script must not need them
    env = {**os.environ, "CLINIC_INSTANCE": str(tmp_path), "DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "saved"
