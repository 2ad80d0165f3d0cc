"""Taking a queue day's next number and writing the ticket with it: the statements issuing
sends while the day's counter row is locked, built once (building a statement costs more
than sending it).

On PostgreSQL the number, the ticket and its first history row are one statement: the
counter's ``UPDATE ... RETURNING`` and the two inserts are CTEs, so issuing waits for one
answer under the lock instead of three. A ticket that is its transaction's last change (at
the desk or the kiosk) goes further: that statement, with its events, is sent with the
``COMMIT`` in one message, and the row is locked for no round trip at all (below). Elsewhere
(SQLite) they are three plain statements.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import Select, String, Text, and_, bindparam, cast, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from clinic.base import iso
from clinic.events.writing import Lead
from clinic.queue.models import Queue, QueueDay, Ticket, TicketEvent


def ensure_day(session: Session, queue: Queue, day: date) -> None:
    """The queue's row for ``day`` (its counter), made by the day's first ticket."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(QueueDay.__table__)
        .values(
            queue_id=queue.id,
            day=day,
            last_number=queue.start_number - 1,
            online_issued=0,
            waiting=0,
        )
        .on_conflict_do_nothing(index_elements=["queue_id", "day"])
    )


def lock_days_in_order(session: Session, queue_day_id: int, target: Queue, day: date) -> None:
    """A transfer (and a return, as a patient sent back is finished) steps out of its day and
    takes a number in the target's ``day``: two days, each with its counters. Both rows are
    locked first, the lower id first, so two crossing between the same two queues wait for
    each other instead of each holding one queue's and waiting for the other's (a deadlock)."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: one writer at a time
    ensure_day(session, target, day)
    target_day = select(QueueDay.id).where(QueueDay.queue_id == target.id, QueueDay.day == day)
    session.execute(
        select(QueueDay.id)
        .where(QueueDay.id.in_([queue_day_id, target_day.scalar_subquery()]))
        .order_by(QueueDay.id)
        .with_for_update()
    ).all()


_days = QueueDay.__table__
# Built once: the statements of issuing run on every ticket, and building one costs more than
# sending it.
_TAKE_NUMBER = (
    update(_days)
    .where(
        _days.c.queue_id == bindparam("for_queue"),
        _days.c.day == bindparam("for_day"),
        _days.c.closed_at.is_(None),
    )
    .values(last_number=_days.c.last_number + 1, waiting=_days.c.waiting + 1)
    .returning(_days.c.id, _days.c.last_number, _days.c.waiting)
)
_INSERT_TICKET = insert(Ticket.__table__).returning(Ticket.__table__.c.id)
_INSERT_HISTORY = insert(TicketEvent.__table__)
_HISTORY_COLUMNS = ("at", "action", "from_status", "to_status", "actor", "data")


def _issue_in_one_statement(keyed: bool):
    """PostgreSQL: the number, the ticket and its first history row in one statement (the
    counter's ``UPDATE ... RETURNING`` and the two inserts are CTEs), answering the ticket's
    id, day, number and code and how many wait with it; no row when the day's counter row is
    missing or closed. The counter row stays locked from here to the commit: issuing spends
    one round trip under it here instead of two. ``keyed``: with the request's key (see
    :func:`write_ticket`)."""
    tickets, history = Ticket.__table__, TicketEvent.__table__
    taken = _TAKE_NUMBER.cte("taken")
    digits = cast(taken.c.last_number, Text)
    # f"{prefix}-{number:03d}": at least three digits, never cut.
    code = func.concat(
        bindparam("prefix", type_=String()),
        "-",
        func.lpad(digits, func.greatest(3, func.length(digits)), "0"),
        type_=String(),
    )
    made = {"queue_day_id": taken.c.id, "number": taken.c.last_number, "code": code}
    columns = [c for c in tickets.c if c.name != "id" and (keyed or c.name != "request_key")]
    issued = (
        insert(tickets)
        .from_select(
            [c.name for c in columns],
            select(
                *[made.get(c.name, bindparam(f"ticket_{c.name}", type_=c.type)) for c in columns]
            ),
        )
        .returning(tickets.c.id, tickets.c.queue_day_id, tickets.c.number, tickets.c.code)
        .cte("issued")
    )
    first = [bindparam(f"history_{name}", type_=history.c[name].type) for name in _HISTORY_COLUMNS]
    recorded = (
        insert(history)
        .from_select(["ticket_id", *_HISTORY_COLUMNS], select(issued.c.id, *first))
        .cte("recorded")
    )
    return (
        select(issued.c.id, issued.c.queue_day_id, issued.c.number, issued.c.code, taken.c.waiting)
        .select_from(issued.join(taken, taken.c.id == issued.c.queue_day_id))
        .add_cte(recorded)
    )


_ISSUE_IN_ONE_STATEMENT = _issue_in_one_statement(keyed=False)
_ISSUE_KEYED_IN_ONE_STATEMENT = _issue_in_one_statement(keyed=True)
# What issuing reads of the queue, before anything is locked.
ISSUING_QUEUE = select(
    Queue.id, Queue.active, Queue.closes_at, Queue.prefix, Queue.start_number
).where(Queue.id == bindparam("queue_id"))
# The same, issuing with the commit: also the day's counter row (none before the day's first
# ticket) and the ticket's id, taken from its sequence here, so that its channel and the
# events naming it are known before the number is.
ISSUING_QUEUE_AND_DAY = (
    select(
        Queue.id,
        Queue.active,
        Queue.closes_at,
        Queue.prefix,
        Queue.start_number,
        QueueDay.id.label("day_id"),
        QueueDay.closed_at.label("day_closed_at"),
        func.nextval(func.pg_get_serial_sequence("tickets", "id")).label("ticket_id"),
    )
    .outerjoin(QueueDay, and_(QueueDay.queue_id == Queue.id, QueueDay.day == bindparam("on_day")))
    .where(Queue.id == bindparam("queue_id"))
)


class ReadAlong(Protocol):
    """What a caller reads of the queue with the statement that reads it for issuing (before
    anything is locked), instead of in a statement and a round trip of its own: the kiosk and
    the desk read where the queue's tickets print (clinic.printing.routes.QueuePaper)."""

    def statement(self, reading: Select) -> Select:
        """``reading`` (one of the statements above, whose rows are the queue's) with this
        reader's columns added; the same statement for the same ``reading``."""

    def take(self, row) -> None:
        """Keep what this reader wanted of the queue's ``row``."""


def write_ticket(session: Session, queue, day: date, values: dict, first: dict):
    """The ticket of ``values`` with the next number of the queue's ``day`` and its first
    history row (``first``); fills ``values`` with the day, number and code taken. Answers
    the ticket's id and how many wait with it, or None when the day is closed. The counter
    row stays locked until commit, so the caller takes it as late as it can.

    ``values`` hold a ``request_key`` only when the request sent one: a ticket without it is
    written by the statement of a database before revision 0026, which leaves the column
    NULL where there is one (the migration tests issue tickets on such a database)."""
    write = _in_one_statement if session.get_bind().dialect.name == "postgresql" else _plainly
    for _attempt in range(2):
        written = write(session, queue, day, values, first)
        if written is not None:
            return written
        # The day's first ticket makes its row (or finds it closed); later ones never come here.
        ensure_day(session, queue, day)
    return None


def _in_one_statement(session: Session, queue, day: date, values: dict, first: dict):
    # Named apart from any column: a parameter named as a column of the counter's table
    # would be taken for a value to set there.
    params = {
        **{f"ticket_{name}": value for name, value in values.items()},
        **{f"history_{name}": value for name, value in first.items()},
        "for_queue": queue.id,
        "for_day": day,
        "prefix": queue.prefix,
    }
    statement = (
        _ISSUE_KEYED_IN_ONE_STATEMENT if "request_key" in values else _ISSUE_IN_ONE_STATEMENT
    )
    row = session.execute(statement, params).first()
    if row is None:
        return None
    values.update(queue_day_id=row.queue_day_id, number=row.number, code=row.code)
    return row.id, row.waiting


def _plainly(session: Session, queue, day: date, values: dict, first: dict):
    row = session.execute(_TAKE_NUMBER, {"for_queue": queue.id, "for_day": day}).first()
    if row is None:
        return None
    values.update(
        queue_day_id=row.id, number=row.last_number, code=f"{queue.prefix}-{row.last_number:03d}"
    )
    ticket_id = session.execute(_INSERT_TICKET, values).scalar_one()
    session.execute(_INSERT_HISTORY, {"ticket_id": ticket_id, **first})
    return ticket_id, row.waiting


# -- issuing with the commit (PostgreSQL) ---------------------------------------------------
# The number is taken by the statement that goes to the server with the COMMIT, in the same
# message: the day's counter row is locked from the number to the commit for no round trip,
# and no process waits for its turn on a CPU while holding it.

_COMPUTED = ("queue_day_id", "number", "code")
_TICKET_COLUMNS = [c.name for c in Ticket.__table__.c if c.name not in _COMPUTED]
# The values only the database knows before the commit, which the events carry.
ISSUED_FILLS = ("code", "number", "waiting")
_ISSUING_CTES = (
    # The day's row, open: its next number, and one more waiting.
    "taken AS (UPDATE queue_days SET last_number = last_number + 1, waiting = waiting + 1 "
    "WHERE id = %(day_id)s AND closed_at IS NULL RETURNING id, last_number, waiting), "
    # f"{prefix}-{number:03d}": at least three digits, never cut. A day closed since it was
    # read has no row to take: the statement, and the COMMIT after it, stop there.
    "made AS (SELECT taken.id AS queue_day_id, taken.last_number AS number, "
    "concat(CAST(%(prefix)s AS VARCHAR), '-', lpad(CAST(taken.last_number AS TEXT), "
    "greatest(3, length(CAST(taken.last_number AS TEXT))), '0')) AS code, taken.waiting "
    "FROM (SELECT 1) AS one LEFT JOIN taken ON true "
    "WHERE CASE WHEN taken.id IS NULL THEN clinic_refuse('queue_closed') ELSE true END), "
    # The ticket's and its history's values come as JSON documents, read as rows of their
    # tables (their columns' types): one parameter each.
    "issued AS (INSERT INTO tickets (queue_day_id, number, code, "  # nosec B608 - our columns
    + ", ".join(_TICKET_COLUMNS)
    + ") SELECT made.queue_day_id, made.number, made.code, "
    + ", ".join(f"t.{name}" for name in _TICKET_COLUMNS)
    + " FROM made, jsonb_populate_record(CAST(NULL AS tickets), %(ticket)s) AS t "
    "RETURNING id), "
    "recorded AS (INSERT INTO ticket_events (ticket_id, "
    + ", ".join(_HISTORY_COLUMNS)
    + ") SELECT issued.id, "
    + ", ".join(f"h.{name}" for name in _HISTORY_COLUMNS)
    + " FROM issued, jsonb_populate_record(CAST(NULL AS ticket_events), %(history)s) AS h)"
)


def _as_json(values: dict) -> dict:
    return {k: iso(v) if isinstance(v, datetime) else v for k, v in values.items()}


def issuing_lead(day_id: int, prefix: str, values: dict, first: dict, on_row) -> Lead:
    """The statement issuing the ticket of ``values`` (with its id) in the day ``day_id``,
    and its first history row (``first``), for its events to follow with the COMMIT; the
    number, code and waiting count go to ``on_row``."""
    params = {
        # A ticket without a request key is NULL there.
        "ticket": Jsonb(_as_json({name: values.get(name) for name in _TICKET_COLUMNS})),
        "history": Jsonb(_as_json(first)),
        "day_id": day_id,
        "prefix": prefix,
    }
    return Lead("issue", _ISSUING_CTES, "made", ISSUED_FILLS, params, on_row)


def refused_with_commit(exc: DBAPIError) -> str | None:
    """The refusal (``clinic_refuse``'s code) that stopped a commit, if that is what did."""
    if isinstance(exc.orig, psycopg.errors.RaiseException):
        return exc.orig.diag.message_primary
    return None
