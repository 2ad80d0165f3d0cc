"""Writing a change's events into the outbox with their numbers: the statements, built once
per shape (building a statement costs more than sending it).

A channel's counter row is locked from the moment its numbers are taken to the commit, so
events of one channel commit in the order of their numbers. On PostgreSQL a change's few
events take one statement: the counters' upsert is a CTE the outbox insert reads, one round
trip fewer under those locks. Many events (a doctor's absence moving a day of visits), and
every batch on SQLite, take two: the counters, then the rows, which the driver batches. A
change's last few events (a ticket issued at the desk) may instead go with the COMMIT itself,
in the same message: then those counter rows are locked for no round trip at all; and the
statement they follow (a ticket's number, :class:`Lead`) may be the same statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from psycopg.types.json import Jsonb
from sqlalchemy import BigInteger, String, bindparam, insert, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from clinic.base import JsonDoc, UTCDateTime
from clinic.db import write_with_commit
from clinic.events.models import EventChannel, OutboxEvent, RecordedEvent

_channels = EventChannel.__table__
_outbox = OutboxEvent.__table__
_INSERT_EVENTS = insert(_outbox).returning(_outbox.c.id, sort_by_parameter_order=True)
# SQLite numbers a multi-row insert's rows in the order of its VALUES, but SQLAlchemy cannot
# know that and would send an insert ordered as above one row at a time: there the rows
# answered are matched to the batch by their (channel, number), which is unique.
_INSERT_EVENTS_NUMBERED = insert(_outbox).returning(_outbox.c.id, _outbox.c.channel, _outbox.c.seq)
_seq_statements: dict[tuple[str, int], object] = {}


def _seq_statement(dialect: str, count: int):
    """The upsert taking numbers on ``count`` channels, built once per dialect and count."""
    key = (dialect, count)
    if key not in _seq_statements:
        insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert_(_channels).values(
            [{"name": bindparam(f"name{i}"), "last_seq": bindparam(f"n{i}")} for i in range(count)]
        )
        _seq_statements[key] = stmt.on_conflict_do_update(
            index_elements=[_channels.c.name],
            set_={"last_seq": _channels.c.last_seq + stmt.excluded.last_seq},
        ).returning(_channels.c.name, _channels.c.last_seq)
    return _seq_statements[key]


def _take_seqs(session: Session, channels: list[str]) -> dict[str, int]:
    """Take numbers for events on ``channels`` (a channel may repeat): one statement.

    Answers each channel's last number after taking; its events get the numbers up to it.
    Counter rows are upserted in name order, so two transactions lock them in one order.
    """
    wanted: dict[str, int] = {}
    for channel in channels:
        wanted[channel] = wanted.get(channel, 0) + 1
    params = {}
    for i, name in enumerate(sorted(wanted)):
        params[f"name{i}"] = name
        params[f"n{i}"] = wanted[name]
    stmt = _seq_statement(session.get_bind().dialect.name, len(wanted))
    return {name: last for name, last in session.execute(stmt, params)}


_events_statements: dict[tuple[int, int], object] = {}
# A change's own few events go in one statement; a bulk change's many take the two
# statements, instead of one statement per size.
ONE_STATEMENT_EVENTS = 16


def _events_sql(channels: int, events: int, mark) -> str:
    """The numbers on ``channels`` channels and the ``events`` outbox rows in one statement
    (the counters' upsert is a CTE the insert reads); ``mark(name)`` writes a placeholder."""
    counters = ", ".join(f"({mark(f'name{i}')}, {mark(f'n{i}')})" for i in range(channels))
    rows = ", ".join(
        f"(CAST({mark(f'c{j}')} AS VARCHAR), CAST({mark(f'b{j}')} AS BIGINT),"
        f" CAST({mark(f't{j}')} AS VARCHAR), CAST({mark(f'd{j}')} AS JSONB), {j})"
        for j in range(events)
    )
    # Only the shape is formatted in (placeholders numbered by the counts); every value is a
    # bound parameter. Text, not a Core VALUES construct: that one is never cached, and
    # compiling it again costs more than the round trip it saves.
    return (
        "WITH seqs AS ("  # nosec B608 - only the shape; every value is bound
        f"INSERT INTO event_channels AS ch (name, last_seq) VALUES {counters} "
        "ON CONFLICT (name) DO UPDATE SET last_seq = ch.last_seq + excluded.last_seq "
        "RETURNING ch.name, ch.last_seq) "
        "INSERT INTO outbox_events (channel, seq, type, data, created_at) "
        f"SELECT e.channel, seqs.last_seq - e.back, e.type, e.data, {mark('at')} "
        f"FROM (VALUES {rows}) AS e (channel, back, type, data, ord) "
        "JOIN seqs ON seqs.name = e.channel ORDER BY e.ord "
        "RETURNING id, channel, seq"
    )


def _events_statement(channels: int, events: int):
    """PostgreSQL: :func:`_events_sql` as a SQLAlchemy statement, built once per shape. The
    counter rows stay locked until commit, so this saves their holder a round trip."""
    key = (channels, events)
    if key not in _events_statements:
        params = [bindparam("at", type_=UTCDateTime())]
        for i in range(channels):
            params += [
                bindparam(f"name{i}", type_=String()),
                bindparam(f"n{i}", type_=BigInteger()),
            ]
        for j in range(events):
            params += [
                bindparam(f"c{j}", type_=String()),
                bindparam(f"b{j}", type_=BigInteger()),
                bindparam(f"t{j}", type_=String()),
                bindparam(f"d{j}", type_=JsonDoc),
            ]
        _events_statements[key] = (
            text(_events_sql(channels, events, lambda name: f":{name}"))
            .bindparams(*params)
            .columns(id=BigInteger(), channel=String(), seq=BigInteger())
        )
    return _events_statements[key]


def _one_statement_parts(events: list[tuple[str, str, dict]], now) -> tuple[int, dict, list]:
    """For the one statement: how many channels, its parameters, and the rows to number."""
    wanted: dict[str, int] = {}
    for channel, _type, _data in events:
        wanted[channel] = wanted.get(channel, 0) + 1
    params: dict = {"at": now}
    for i, name in enumerate(sorted(wanted)):  # counters upserted in name order
        params[f"name{i}"] = name
        params[f"n{i}"] = wanted[name]
    later = dict(wanted)  # how many of the batch's events on the channel follow this one
    values = []
    for j, (channel, type_, data) in enumerate(events):
        later[channel] -= 1
        params.update({f"c{j}": channel, f"b{j}": later[channel], f"t{j}": type_, f"d{j}": data})
        values.append({"channel": channel, "type": type_, "data": data, "created_at": now})
    return len(wanted), params, values


def _numbered(values: list[dict], returned) -> list[dict]:
    """``values`` with the ids and numbers of the rows returned (``(id, channel, seq)``)."""
    written = {(channel, seq): id_ for id_, channel, seq in returned}
    # A channel's events took its numbers in the batch's order, from its lowest one.
    following: dict[str, int] = {}
    for channel, seq in written:
        following[channel] = min(seq, following.get(channel, seq))
    for value in values:
        value["seq"] = following[value["channel"]]
        following[value["channel"]] += 1
        value["id"] = written[(value["channel"], value["seq"])]
    return values


def _in_one_statement(session: Session, events: list[tuple[str, str, dict]], now) -> list[dict]:
    """The rows of ``events`` written with their numbers, in one statement (PostgreSQL)."""
    channels, params, values = _one_statement_parts(events, now)
    returned = session.execute(_events_statement(channels, len(events)), params)
    return _numbered(values, [(row.id, row.channel, row.seq) for row in returned])


_driver_sql: dict[tuple[int, int], str] = {}


def write_events_with_commit(
    session: Session, events: list[tuple[str, str, dict]], now, lead: Lead | None = None
) -> list[RecordedEvent]:
    """PostgreSQL, a change's few events: the one statement goes to the server with the
    transaction's COMMIT (:func:`clinic.db.write_with_commit`), so the channels' counter rows
    are locked for no round trip at all. The rows answered get their ids and numbers then;
    nothing in the transaction may read them back before it. After a ``lead``, see
    :class:`Lead`."""
    if lead is not None:
        return _after_lead(session, events, now, lead)
    channels, params, values = _one_statement_parts(events, now)
    key = (channels, len(events))
    if key not in _driver_sql:
        _driver_sql[key] = _events_sql(*key, lambda name: f"%({name})s")
    rows = [RecordedEvent(**value) for value in values]

    def numbered(returned) -> None:
        for row, value in zip(rows, _numbered(values, returned)):
            row.id, row.seq = value["id"], value["seq"]

    for j in range(len(events)):
        params[f"d{j}"] = Jsonb(params[f"d{j}"])
    write_with_commit(session, _driver_sql[key], params, numbered)
    return rows


@dataclass(frozen=True)
class Lead:
    """A statement a change's events follow in one, with the ``COMMIT``: ``ctes`` (driver-level
    text, ``%(name)s`` placeholders valued by ``params``) end in ``source``, a CTE of at most
    one row with the columns ``fills``. The channels' numbers are taken only once the lead has
    its row, and each event's data get those of its values it has keys for: values only the
    database knows before the commit (a ticket's number). Once the statement has answered,
    the rows answered get them too, and ``on_row`` is given them as a dict. ``key`` names the
    lead's text, for the statement built once."""

    key: str
    ctes: str
    source: str
    fills: tuple[str, ...]
    params: dict
    on_row: Callable[[dict], None]


def _lead_sql(lead: Lead) -> str:
    """The lead, the channels' numbers and the outbox rows in one statement. The counters and
    the rows come as two JSON documents: one text for any number of events, short enough
    for the driver to keep its parse of the placeholders."""
    filled = ", ".join(f"'{name}', s.{name}" for name in lead.fills)
    return (
        f"WITH {lead.ctes}, "  # nosec B608 - our own text and names; every value is bound
        "seqs AS (INSERT INTO event_channels AS ch (name, last_seq) "
        "SELECT v.name, v.n FROM jsonb_to_recordset(%(counters)s) AS v (name VARCHAR, n BIGINT) "
        f"CROSS JOIN {lead.source} ORDER BY v.name "  # counters upserted in name order
        "ON CONFLICT (name) DO UPDATE SET last_seq = ch.last_seq + excluded.last_seq "
        "RETURNING ch.name, ch.last_seq), "
        "written AS (INSERT INTO outbox_events (channel, seq, type, data, created_at) "
        "SELECT e.channel, seqs.last_seq - e.back, e.type, e.data || "
        "(SELECT COALESCE(jsonb_object_agg(f.key, f.value), CAST('{}' AS JSONB)) "
        f"FROM jsonb_each(jsonb_build_object({filled})) AS f WHERE e.data ? f.key), %(at)s "
        "FROM jsonb_to_recordset(%(events)s) "
        "AS e (channel VARCHAR, back BIGINT, type VARCHAR, data JSONB, ord INT) "
        f"JOIN seqs ON seqs.name = e.channel CROSS JOIN {lead.source} AS s ORDER BY e.ord "
        "RETURNING id, channel, seq) "
        "SELECT written.id, written.channel, written.seq, "
        + ", ".join(f"s.{name}" for name in lead.fills)
        + f" FROM written CROSS JOIN {lead.source} AS s"
    )


_lead_statements: dict[str, str] = {}


def _after_lead(
    session: Session, events: list[tuple[str, str, dict]], now, lead: Lead
) -> list[RecordedEvent]:
    if lead.key not in _lead_statements:
        _lead_statements[lead.key] = _lead_sql(lead)
    channels, parts, values = _one_statement_parts(events, now)
    counters = [{"name": parts[f"name{i}"], "n": parts[f"n{i}"]} for i in range(channels)]
    written = [
        {"channel": c, "back": parts[f"b{j}"], "type": t, "data": d, "ord": j}
        for j, (c, t, d) in enumerate(events)
    ]
    params = {**lead.params, "counters": Jsonb(counters), "events": Jsonb(written), "at": now}
    rows = [RecordedEvent(**value) for value in values]

    def answered(returned) -> None:
        for row, value in zip(rows, _numbered(values, [tuple(r[:3]) for r in returned])):
            row.id, row.seq = value["id"], value["seq"]
        if not returned:
            return
        known = dict(zip(lead.fills, returned[0][3:]))
        for row in rows:
            for name in row.data.keys() & known.keys():
                row.data[name] = known[name]
        lead.on_row(known)

    write_with_commit(session, _lead_statements[lead.key], params, answered)
    return rows


def _in_two_statements(
    session: Session, events: list[tuple[str, str, dict]], now
) -> list[RecordedEvent]:
    """The rows of ``events`` written with their numbers: the counters, then the rows."""
    last = _take_seqs(session, [channel for channel, _type, _data in events])
    first = dict(last)
    for channel, _type, _data in events:
        first[channel] -= 1
    values = []
    for channel, type_, data in events:
        first[channel] += 1
        values.append(
            {
                "channel": channel,
                "seq": first[channel],
                "type": type_,
                "data": data,
                "created_at": now,
            }
        )
    if session.get_bind().dialect.name == "postgresql":
        ids = session.execute(_INSERT_EVENTS, values).scalars()
    else:
        numbered = session.execute(_INSERT_EVENTS_NUMBERED, values).all()
        id_of = {(channel, seq): id_ for id_, channel, seq in numbered}
        ids = [id_of[(row["channel"], row["seq"])] for row in values]
    rows = [RecordedEvent(id=id_, **row) for id_, row in zip(ids, values)]
    return rows


def write_events(session: Session, events: list[tuple[str, str, dict]], now) -> list[RecordedEvent]:
    """``events`` (``(channel, type, data)`` each) written as outbox rows with their numbers;
    answers the rows (not in the session), in the order given."""
    if session.get_bind().dialect.name == "postgresql" and len(events) <= ONE_STATEMENT_EVENTS:
        return [RecordedEvent(**row) for row in _in_one_statement(session, events, now)]
    return _in_two_statements(session, events, now)
