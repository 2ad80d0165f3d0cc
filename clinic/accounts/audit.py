"""The audit log: who did what, to which object, from where. Append-only by construction:
this module inserts and reads; nothing updates or deletes a row (and on PostgreSQL a
trigger refuses it)."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone

from psycopg.types.json import Jsonb
from sqlalchemy import String, and_, cast, func, insert, or_, select
from sqlalchemy.orm import Session

from clinic.accounts.models import AuditEntry, User
from clinic.base import iso, utcnow
from clinic.db import write_with_commit
from clinic.errors import ValidationFailed
from clinic.text import spreadsheet_safe

SECRET_FIELDS = {
    "password",
    "new_password",
    "current_password",
    "token",
    "secret",
    "csrf_token",
    "pairing_code",
}
# The most rows one CSV export holds; a filter matching more is refused, not cut short.
EXPORT_MOST_ROWS = 100_000
# A failed sign-in has no actor (whoever it names): its row names the user as its object.
SIGN_IN_FAILED = "auth.sign_in_failed"
CSV_COLUMNS = (
    "id",
    "at",
    "username",
    "roles",
    "action",
    "object_type",
    "object_id",
    "status",
    "ip",
    "user_agent",
    "request_id",
    "summary",
)


_INSERT = insert(AuditEntry.__table__).returning(AuditEntry.__table__.c.id)
_COLUMNS = (
    "at",
    "user_id",
    "username",
    "roles",
    "action",
    "object_type",
    "object_id",
    "summary",
    "status",
    "ip",
    "user_agent",
    "request_id",
)
# The same row as a psycopg statement, sent with the transaction's COMMIT.
_INSERT_WITH_COMMIT = (
    f"INSERT INTO audit_log ({', '.join(_COLUMNS)}) "  # nosec B608 - our own column names
    f"VALUES ({', '.join(f'%({name})s' for name in _COLUMNS)})"
)


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    roles: tuple[str, ...] = ()


def storable(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` and made storable anywhere: whatever a caller sent, the audit
    row must be written. PostgreSQL refuses NUL in text and jsonb, and no database takes a
    lone surrogate (JSON may carry ``"\\ud800"``): both are kept as visible escapes."""
    text = text[:limit].replace("\x00", "\\u0000")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")[:limit]


# What identifies a patient (and the people on the staff): shown in an audit row only to
# readers who may read patients themselves; the others see that it was there and changed.
PERSONAL_FIELDS = {
    "full_name",
    "birth_date",
    "phone",
    "email",
    "notify_email",
    "document_number",
    "notes",
    "comment",
    "address",
}


def changes_between(before: dict, after: dict) -> dict:
    """The fields of an object that a change changed, each with its value before and after
    (``summary.changes`` of its audit row); empty when nothing changed."""
    return {
        field: {"before": before.get(field), "after": value}
        for field, value in after.items()
        if before.get(field) != value
    }


def reads_personal_data(reader) -> bool:
    """Whether ``reader`` (an identity or staff, or None) sees personal fields in audit rows:
    whoever may read the patients themselves."""
    return reader is not None and reader.can("patients.read")


def without_personal_data(data):
    """A copy of an audit summary with the values of personal fields masked."""
    if isinstance(data, dict):
        return {
            k: ("***" if k in PERSONAL_FIELDS and v not in (None, "") else without_personal_data(v))
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [without_personal_data(v) for v in data]
    return data


def redact(data):
    """A copy of request data with secrets masked, long values cut and text made storable."""
    if isinstance(data, dict):
        return {
            storable(str(k), 64): ("***" if str(k).lower() in SECRET_FIELDS else redact(v))
            for k, v in list(data.items())[:50]
        }
    if isinstance(data, list):
        return [redact(v) for v in data[:20]]
    if isinstance(data, str):
        return storable(data, 200)
    if isinstance(data, float) and not math.isfinite(data):
        # A parser reads NaN and Infinity, which JSON and PostgreSQL's jsonb have not: kept as
        # the text the caller sent, so the row is written.
        return "NaN" if math.isnan(data) else ("Infinity" if data > 0 else "-Infinity")
    return data


def record(
    session: Session,
    *,
    actor: Actor | None,
    action: str,
    object_type: str = "",
    object_id: str = "",
    summary: dict | None = None,
    status: int | None = None,
    ip: str = "",
    user_agent: str = "",
    request_id: str = "",
    with_commit: bool = False,
) -> AuditEntry:
    """Write the audit row of a change in its transaction. ``with_commit``: on PostgreSQL the
    row goes to the server with the ``COMMIT`` (one round trip for both), and the entry
    answered has no id."""
    values = _row(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        summary=summary,
        status=status,
        ip=ip,
        user_agent=user_agent,
        request_id=request_id,
    )
    if with_commit and session.get_bind().dialect.name == "postgresql":
        write_with_commit(
            session, _INSERT_WITH_COMMIT, {**values, "summary": Jsonb(values["summary"])}
        )
        return AuditEntry(id=None, **values)
    # A plain insert: one row per request, written beside every change, needs no unit of work.
    entry_id = session.execute(_INSERT, values).scalar_one()
    return AuditEntry(id=entry_id, **values)


def record_many(session: Session, rows: list[dict]) -> None:
    """Write the audit rows of several changes made together (each row the keyword arguments
    of :func:`record` but ``with_commit``), in their transaction: one multi-row insert."""
    if rows:
        session.execute(_INSERT, [_row(**row) for row in rows])


def _row(
    *,
    actor: Actor | None,
    action: str,
    object_type: str = "",
    object_id: str = "",
    summary: dict | None = None,
    status: int | None = None,
    ip: str = "",
    user_agent: str = "",
    request_id: str = "",
) -> dict:
    return dict(
        at=utcnow(),
        user_id=actor.user_id if actor else None,
        username=storable(actor.username if actor else "", 64),
        roles=",".join(actor.roles) if actor else "",
        action=storable(action, 100),
        object_type=storable(object_type, 64),
        object_id=storable(str(object_id), 64),
        summary=redact(summary) if summary is not None else None,
        status=status,
        ip=storable(ip or "", 64),
        user_agent=storable(user_agent or "", 500),
        request_id=storable(request_id or "", 64),
    )


@dataclass
class AuditFilter:
    username: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _in_utc(moment: datetime) -> datetime:
    """``moment`` in UTC, where the column is compared. A moment of the calendar's first day
    east of UTC, or its last day west of it, has no UTC datetime: the calendar's end it lies
    beyond bounds the same rows."""
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        end = datetime.min if moment.year == datetime.min.year else datetime.max
        return end.replace(tzinfo=timezone.utc)


def _filtered(query, f: AuditFilter):
    if f.username:
        # As a username is typed anywhere (trimmed, any case); and the failed sign-ins naming
        # that user, which have no actor: whoever looks into a user's lock wants to see them.
        name = f.username.strip().lower()
        named = select(cast(User.id, String)).where(User.username == name).scalar_subquery()
        query = query.where(
            or_(
                AuditEntry.username == name,
                and_(
                    AuditEntry.action == SIGN_IN_FAILED,
                    AuditEntry.object_type == "users",
                    AuditEntry.object_id == named,
                ),
            )
        )
    # Trimmed, as a value copied from the log's own table arrives with a space around it.
    action, object_type, object_id = (
        (value or "").strip() for value in (f.action, f.object_type, f.object_id)
    )
    if action:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True))
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    if f.since:
        query = query.where(AuditEntry.at >= _in_utc(f.since))
    if f.until:
        query = query.where(AuditEntry.at < _in_utc(f.until))
    return query


def search(
    session: Session, f: AuditFilter, *, page: int = 1, page_size: int = 50
) -> tuple[list[AuditEntry], int]:
    total = session.scalar(_filtered(select(func.count(AuditEntry.id)), f))
    rows = session.scalars(
        _filtered(select(AuditEntry), f)
        .order_by(AuditEntry.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return list(rows), total or 0


def entry_as_dict(entry: AuditEntry, *, personal: bool = True) -> dict:
    """``personal``: the reader may read patients; else personal fields are masked."""
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "user_id": entry.user_id,
        "username": entry.username,
        "roles": entry.roles.split(",") if entry.roles else [],
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "summary": entry.summary if personal else without_personal_data(entry.summary),
        "status": entry.status,
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "request_id": entry.request_id,
    }


def export_csv(session: Session, f: AuditFilter, *, personal: bool = True) -> str:
    """The rows ``f`` matches as CSV, oldest first. More than ``EXPORT_MOST_ROWS`` is a 422
    naming ``since``: an export cut short would pass for the whole period, its newest rows
    missing without a word."""
    limit = EXPORT_MOST_ROWS
    total = session.scalar(_filtered(select(func.count(AuditEntry.id)), f)) or 0
    if total > limit:
        raise ValidationFailed(
            f"{total} rows match, more than one export holds ({limit}): narrow the filter",
            errors={"since": [f"more than {limit} rows match: choose a later day, or filter"]},
        )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    rows = session.scalars(_filtered(select(AuditEntry), f).order_by(AuditEntry.id).limit(limit))
    for entry in rows:
        d = entry_as_dict(entry, personal=personal)
        d["roles"] = ",".join(d["roles"])
        # JSON, as the API gives it: a reader's script parses it (Python's repr it could not).
        d["summary"] = "" if d["summary"] is None else json.dumps(d["summary"], ensure_ascii=False)
        writer.writerow([spreadsheet_safe(d[c]) for c in CSV_COLUMNS])
    return out.getvalue()
