"""Writes that nothing in the transaction reads back (a request's audit row, the events of a
ticket issued at the desk) go to PostgreSQL with the transaction's COMMIT, in one message:
committed with the transaction, rolled back with it, and their failure is the commit's."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import IntegrityError

from clinic.accounts import audit
from clinic.accounts.models import AuditEntry
from clinic.db import Database, write_with_commit
from clinic.events import record_event, record_events
from clinic.models import OutboxEvent

POSTGRES = pytest.mark.parametrize("backend", ["postgresql"])


def _actions(runtime) -> list[str]:
    with runtime.db.session() as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@POSTGRES
def test_the_write_is_sent_with_the_commit_in_one_message(runtime, monkeypatch):
    sent: list[str] = []
    messages: list[str] = []
    real_execute = psycopg.Connection.execute

    def execute(self, query, *args, **kwargs):
        messages.append(str(query))
        return real_execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", execute)
    engine = runtime.db.engine
    note = lambda _c, _cur, statement, *_a: sent.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", note)
    try:
        with runtime.db.transaction() as s:
            entry = audit.record(
                s,
                actor=None,
                action="queue.edit",
                summary={"name": "Терапевт'; DROP TABLE audit_log; --"},
                user_agent="it's \\ a 'browser'",
                with_commit=True,
            )
            assert entry.id is None  # not written yet
            s.execute(text("SELECT 1"))
            assert messages == []
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert not any("audit_log" in statement for statement in sent)  # not sent on its own
    assert len(messages) == 1  # the row and the COMMIT, in one message
    assert messages[0].startswith("INSERT INTO audit_log") and messages[0].endswith("; COMMIT")
    with runtime.db.session() as s:
        row = s.scalars(select(AuditEntry)).one()
    assert (row.action, row.status) == ("queue.edit", None)
    assert row.summary == {"name": "Терапевт'; DROP TABLE audit_log; --"}
    assert row.user_agent == "it's \\ a 'browser'"
    assert row.at.tzinfo is not None and row.at == entry.at


@POSTGRES
def test_a_rolled_back_write_is_forgotten_by_the_pooled_connection(runtime, database_urls, backend):
    db = Database(database_urls[backend], pool_size=1)  # every session gets the same connection
    try:
        with db.session() as s:
            audit.record(s, actor=None, action="rolled.back", with_commit=True)
            s.rollback()
        with db.session() as s:
            audit.record(s, actor=None, action="closed.uncommitted", with_commit=True)
        with db.session() as s:
            s.execute(text("SELECT 1"))  # a transaction that commits nothing of its own
            s.commit()
        with db.transaction() as s:
            audit.record(s, actor=None, action="kept", with_commit=True)
        with db.session() as s:
            assert list(s.scalars(select(AuditEntry.action))) == ["kept"]
    finally:
        db.dispose()


@POSTGRES
def test_a_failing_write_fails_the_commit_and_takes_the_transaction_with_it(runtime):
    with runtime.db.transaction() as s:
        kept = audit.record(s, actor=None, action="first")
    with pytest.raises(IntegrityError):
        with runtime.db.transaction() as s:
            audit.record(s, actor=None, action="second")  # sent at once: must not stay
            write_with_commit(  # the same id again: the primary key refuses it
                s, "INSERT INTO audit_log (id, action) VALUES (%(id)s, 'clash')", {"id": kept.id}
            )
    assert _actions(runtime) == ["first"]
    with runtime.db.transaction() as s:  # the pooled connection works on
        audit.record(s, actor=None, action="third", with_commit=True)
    assert _actions(runtime) == ["first", "third"]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_on_sqlite_the_row_is_written_at_once(runtime):
    with runtime.db.transaction() as s:
        entry = audit.record(s, actor=None, action="queue.edit", with_commit=True)
        assert s.scalar(select(func.count(AuditEntry.id))) == 1
    assert entry.id is not None and _actions(runtime) == ["queue.edit"]


@POSTGRES
def test_events_sent_with_the_commit_are_numbered_after_earlier_ones_and_published(runtime):
    with runtime.db.transaction() as s:
        first = record_event(s, "job:w", "test.tick", {"at": "once"})
        answered = record_events(
            s,
            [
                ("job:w", "test.tick", {"i": 0, "name": "Oʻrinboy"}),
                ("job:x", "test.tick", {"i": 1}),
                ("job:w", "test.tick", {"i": 2}),
            ],
            with_commit=True,
        )
        assert [(e.id, e.seq) for e in answered] == [(None, None)] * 3  # not sent yet
    # Stored as answered: tests/clinic/test_events.py; here, after an event written at once.
    assert all(e.id is not None for e in answered)
    assert [(e.channel, e.seq) for e in answered] == [("job:w", 2), ("job:x", 1), ("job:w", 3)]
    published = [e["id"] for e in runtime.bus.history_after("job:w", 0)]
    assert published == [first.seq, answered[0].seq, answered[2].seq]  # numbers, in order


@POSTGRES
def test_events_for_the_commit_of_a_rolled_back_transaction_are_never_sent(runtime):
    with runtime.db.session() as s:
        record_events(s, [("job:gone", "test.tick", {})], with_commit=True)
        s.rollback()
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(OutboxEvent.id))) == 0
    assert runtime.bus.history_after("job:gone", 0) == []


@POSTGRES
def test_in_a_savepoint_the_events_are_written_at_once(runtime):
    with runtime.db.transaction() as s:
        with s.begin_nested():
            inside = record_events(s, [("job:sp", "test.tick", {})], with_commit=True)
            assert inside[0].id is not None and inside[0].seq == 1
