"""Engines, sessions and after-commit hooks.

SQLite runs with WAL, foreign keys and ``BEGIN IMMEDIATE`` (a writer takes the lock when its
transaction starts, so two writers queue instead of failing when one upgrades a read lock).
PostgreSQL runs through psycopg 3.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import psycopg
from sqlalchemy import create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

AFTER_COMMIT_KEY = "clinic.after_commit"
READY_KEY = "clinic.committed"
# A callable ``send(task_name, kwargs=..., queue=...)`` (Celery's ``send_task``), set by the
# process that can reach the broker; the domain names tasks without importing Celery.
DISPATCH_KEY = "clinic.dispatch"
WRITTEN_KEY = "clinic.written"
WITH_COMMIT_KEY = "clinic.with_commit"
# The clinic's time zone (``Settings.tz``), set by the process: a rule run from a hook, with
# no caller to hand it the zone, reads it there.
TZ_KEY = "clinic.tz"
# Seconds a new PostgreSQL connection may take (a DATABASE_URL's own connect_timeout wins).
CONNECT_TIMEOUT_SECONDS = 5


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url`` with the project's connection settings applied."""
    # A failed statement's error leaves its values out: logged with a traceback, they would
    # carry what the statement was given (a patient's ticket secret, a token's hash, a name).
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        kwargs.pop("pool_size", None)  # one writer at a time: SQLAlchemy's own pool for files
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # Let SQLAlchemy, not the driver, decide when a transaction begins.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # A fixed number of connections, none opened beyond it: with overflow, up to three times as
    # many requests were inside a transaction at once, and the one holding a queue day's
    # counter row waited longer for its turn on the CPU (issuing's p99 from about 330 ms to
    # 900 ms and over, docs/PERFORMANCE.md). A request beyond the pool waits for a connection.
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 0)
    if "connect_timeout" not in make_url(url).query:
        # libpq waits for good on a server that takes the connection and never answers (a
        # paused container, dropped packets): readiness and every request would hang with it.
        given = kwargs.get("connect_args") or {}
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS, **given}
    engine = create_engine(url, **kwargs)
    event.listen(engine, "checkout", _replace_if_closed_by_the_server)
    event.listen(engine, "commit", _commit_with_writes)
    event.listen(engine, "rollback", _forget_writes)
    return engine


def sends_with_commit(session: Session) -> bool:
    """Whether writes can go with the session's ``COMMIT`` (:func:`write_with_commit`): on
    PostgreSQL, outside any savepoint (a savepoint rolled back must take its writes along)."""
    return (
        session.get_bind().dialect.name == "postgresql" and session.get_nested_transaction() is None
    )


def write_with_commit(
    session: Session, sql: str, params: dict, on_rows: Callable[[list], None] | None = None
) -> None:
    """Send ``sql``, a write nothing in the transaction reads back (a psycopg statement with
    driver-level values), to PostgreSQL with the transaction's ``COMMIT``: both in one message
    and one round trip at the commit, instead of one round trip each. A request's audit row is
    such a write: while a queue day's counter row is locked, from the number to the commit, it
    costs no round trip of its own. Rolled back with the transaction (not with a savepoint:
    for what is decided at the commit). ``on_rows`` is given the rows the statement returns,
    before the commit's after-commit callbacks run."""
    session.connection().info.setdefault(WITH_COMMIT_KEY, []).append((sql, params, on_rows))


def _commit_with_writes(connection) -> None:
    writes = connection.info.pop(WITH_COMMIT_KEY, None)
    if not writes:
        return
    raw = connection.connection.dbapi_connection
    # The values are bound by psycopg on this side (its literals, quoted by the server's
    # rules), so that the writes and the COMMIT go as one simple query: the server runs them
    # in order and stops at the first error, the COMMIT included. (Pipeline mode would need
    # the same one round trip, but waits on the socket several times: under gevent each wait
    # is a turn of the hub, which cost more than the round trip saved.)
    quoting = psycopg.ClientCursor(raw)
    script = "; ".join([quoting.mogrify(q, p) for q, p, _ in writes] + ["COMMIT"])
    try:
        # Committed by the server; the driver's own commit that follows finds no transaction
        # open and sends nothing.
        results = raw.execute(script)
        for _sql, _params, on_rows in writes:
            if on_rows is not None:
                on_rows(results.fetchall())
            results.nextset()
    except psycopg.Error as exc:  # as SQLAlchemy's own: IntegrityError, OperationalError...
        raise DBAPIError.instance(script, None, exc, psycopg.Error) from exc


def _forget_writes(connection) -> None:
    # Also when a session closes without committing: its connection rolls back on the way.
    if connection.invalidated:
        # The server ended the connection inside its transaction (a restart, a failover, an
        # ended backend): the pool connects anew with an empty ``info``, so there is nothing
        # to forget. Reading ``info`` would ask for the connection again and raise
        # PendingRollbackError in place of the OperationalError the caller retries on.
        return
    connection.info.pop(WITH_COMMIT_KEY, None)


def _replace_if_closed_by_the_server(dbapi_connection, _record, _proxy) -> None:
    """Before a pooled connection is used: the server that closed it (restarted, or ended
    the backend) left its socket readable, since an idle connection is sent nothing else.
    Such a connection is replaced at once (SQLAlchemy connects anew on this error), and a
    live one costs no round trip, as a ping before every checkout would."""
    try:
        readable, _writable, _failed = select.select([dbapi_connection.fileno()], [], [], 0)
    except Exception as exc:  # the connection closed on our side: no socket to ask
        raise DisconnectionError("the connection's socket is closed") from exc
    if readable:
        raise DisconnectionError("the server closed the connection")


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's current transaction commits; drop it on rollback.

    This is how side effects (publishing events, enqueuing tasks) wait for the state they
    describe to be durable.
    """
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _commit_happened(session: Session) -> None:
    # The callbacks run once the transaction has ended and its connection is back in the
    # pool: a callback that needs the database (marking events published) then takes a
    # connection without holding another, so a full pool cannot deadlock on itself.
    if session.get_nested_transaction() is not None:
        return  # a savepoint was released; the outer transaction may still roll back
    ready = session.info.pop(AFTER_COMMIT_KEY, [])
    if ready:
        session.info.setdefault(READY_KEY, []).extend(ready)


@event.listens_for(Session, "after_transaction_end")
def _run_after_commit(session: Session, transaction) -> None:
    if transaction.parent is not None:
        return
    for callback in session.info.pop(READY_KEY, []):
        try:
            callback()
        except Exception:  # a side effect failing must not undo a commit that happened
            log.exception("after-commit callback %r failed", callback)


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_commit(session: Session, _previous_transaction) -> None:
    if not session.in_transaction():
        session.info.pop(AFTER_COMMIT_KEY, None)


def note_written(session: Session, table: str, key) -> None:
    """Name a row that a plain insert wrote (not the ORM's unit of work, which is seen by
    itself) as changed by the transaction, for whoever records what a change was about (the
    audit log of a request)."""
    session.info.setdefault(WRITTEN_KEY, []).append((table, str(key)))


def written(session: Session) -> list[tuple[str, str]]:
    """The rows named by :func:`note_written` in the session's transaction so far."""
    return session.info.get(WRITTEN_KEY, [])


@event.listens_for(Session, "after_transaction_end")
def _forget_written(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(WRITTEN_KEY, None)


def dispatch_after_commit(
    session: Session, task_name: str, *, queue: str, coalesce: bool = False, **kwargs
) -> bool:
    """Send the task ``task_name`` once the session's transaction commits.

    ``coalesce``: the task only tells a worker to go and look (it reads what to do from the
    database), so many commits within a moment may share one send (see :class:`Nudges`).

    Returns False when this process has no dispatcher (a script, a test without a broker):
    the work must then also be found by a sweeper, which every caller of this has.
    """
    send = session.info.get(DISPATCH_KEY)
    if send is None:
        log.info("no task dispatcher in this process; %s left to its sweeper", task_name)
        return False
    if coalesce:
        key = (send, task_name, queue, tuple(sorted(kwargs.items())))
        on_commit(session, lambda: nudges.note(key))
    else:
        on_commit(session, lambda: send(task_name, kwargs=kwargs, queue=queue))
    return True


class Nudges:
    """Sends "go and look" tasks from a thread of the process, each at most once a moment.

    A commit notes its task; the thread sends every noted task, then waits ``EVERY`` seconds
    before sending again, so a burst of commits (fifty tickets a second at one desk's queue)
    costs one send per moment instead of one per commit. Every note is followed by a send
    that starts after it, so the worker always looks after the commit that asked. A note
    lost with the process is found by the task's sweeper.
    """

    EVERY = 0.1
    IDLE = 60.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._keys: dict = {}
        self._thread: threading.Thread | None = None
        self._pid = 0

    def note(self, key) -> None:
        with self._lock:
            self._keys[key] = None
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._wake = threading.Event()
                self._thread = threading.Thread(target=self._run, daemon=True, name="nudges")
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            woken = self._wake.wait(self.IDLE)
            with self._lock:
                if not woken and not self._keys:
                    self._thread = None  # idle: the next note starts a thread again
                    return
            self._wake.clear()
            self.flush()
            time.sleep(self.EVERY)

    def flush(self) -> int:
        """Send what is noted now; returns how many tasks were sent."""
        with self._lock:
            keys, self._keys = list(self._keys), {}
        for send, task_name, queue, kwargs in keys:
            try:
                send(task_name, kwargs=dict(kwargs), queue=queue)
            except Exception:  # the task's sweeper finds the work
                log.exception("sending %s failed", task_name)
        return len(keys)


nudges = Nudges()


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str, *, session_info: dict | None = None, **engine_kwargs) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessionmaker = sessionmaker(
            self.engine, expire_on_commit=False, info=dict(session_info or {})
        )

    def session(self) -> Session:
        return self.sessionmaker()

    def set_dispatcher(self, send: Callable) -> None:
        """Sessions made from now on send tasks with ``send`` (see dispatch_after_commit)."""
        self.sessionmaker.kw.setdefault("info", {})[DISPATCH_KEY] = send

    @property
    def has_dispatcher(self) -> bool:
        return DISPATCH_KEY in self.sessionmaker.kw.get("info", {})

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits on success and rolls back on any error."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def insert_once(session: Session, row, find_existing: Callable[[], object]):
    """Insert ``row`` in a savepoint. If a unique key refuses it (the same reference was
    committed at this instant by another request), return what ``find_existing`` finds
    instead; None means ``row`` went in."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        existing = find_existing()
        if existing is None:
            raise
        return existing
    return None
