"""Exceptions to doctors' weeks: a doctor away for whole days (day off, leave, sick) or the
clinic closed (a holiday, no doctor); declared, taken back, and read for a range of days.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from clinic.base import is_id, iso
from clinic.errors import Conflict, NotFound, ValidationFailed
from clinic.reference.editing import one_at_a_time
from clinic.visits.doctors import announce_change, announce_holiday, get_doctor, lock_for_change
from clinic.visits.events import ExceptionKind
from clinic.visits.models import ScheduleException


def exception_as_dict(row: ScheduleException) -> dict:
    return {
        "id": row.id,
        "doctor_id": row.doctor_id,
        "kind": row.kind,
        "first_day": iso(row.first_day),
        "last_day": iso(row.last_day),
        "note": row.note,
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
    }


def add_exception(
    session: Session,
    *,
    kind: str,
    first_day: date,
    last_day: date,
    doctor_id: int | None = None,
    note: str = "",
    actor: str = "",
    today: date | None = None,
) -> ScheduleException:
    """A doctor away for whole days, or (kind ``holiday``, no doctor) the clinic closed.

    ``today`` (the clinic's date): days wholly over are refused at ``last_day``: they close
    no slot and move no visit, so such an absence is a mistyped year or month, and the days
    meant would stay bookable."""
    errors = {}
    if kind not in ExceptionKind.ALL:
        errors["kind"] = [f"one of {', '.join(ExceptionKind.ALL)}"]
    if kind == ExceptionKind.HOLIDAY and doctor_id is not None:
        errors["doctor_id"] = ["a clinic holiday names no doctor"]
    if kind != ExceptionKind.HOLIDAY and doctor_id is None:
        errors["doctor_id"] = ["required"]
    if first_day > last_day:
        errors["last_day"] = ["on or after first_day"]
    elif (last_day - first_day).days > 366:
        errors["last_day"] = ["at most a year after first_day"]
    elif today is not None and last_day < today:
        errors["last_day"] = ["the days are over: today or a later day"]
    if errors:
        raise ValidationFailed("the exception is not valid", errors=errors)
    if doctor_id is not None:
        get_doctor(session, doctor_id)
        # A booking of him under way ends first: the visits this lists include it.
        lock_for_change(session, doctor_id)
    else:
        # Two holidays declared at once (the form sent twice) one after the other: the
        # second finds the first, as a doctor's absence does under his row's lock.
        one_at_a_time(session, "clinic holidays")
    same = session.scalar(
        select(ScheduleException.id).where(
            (
                ScheduleException.doctor_id.is_(None)
                if doctor_id is None
                else ScheduleException.doctor_id == doctor_id
            ),
            ScheduleException.kind == kind,
            ScheduleException.first_day == first_day,
            ScheduleException.last_day == last_day,
        )
    )
    if same is not None:
        # A form sent twice: the days are declared once (their visits listed once).
        detail = f"the same {kind} is already declared (exception {same})"
        raise Conflict(detail, code="already_declared", errors={"first_day": [detail]})
    row = ScheduleException(
        doctor_id=doctor_id,
        kind=kind,
        first_day=first_day,
        last_day=last_day,
        note=(note or "")[:300],
        created_by=actor[:64],
    )
    session.add(row)
    session.flush()
    _announce(session, row)
    return row


def _announce(session: Session, row: ScheduleException) -> None:
    """The calendars of the doctor (every calendar, for a holiday) redraw their slots."""
    if row.doctor_id is None:
        announce_holiday(session, row.first_day, row.last_day)
    else:
        announce_change(session, get_doctor(session, row.doctor_id), "away", row.first_day,
                        row.last_day)  # fmt: skip


def remove_exception(session: Session, exception_id) -> ScheduleException:
    """Take back an exception declared by mistake: its days are bookable again. Visits moved
    or cancelled because of it stay as they are."""
    row = session.get(ScheduleException, exception_id) if is_id(exception_id) else None
    if row is None:
        detail = f"exception {exception_id} does not exist"
        raise NotFound(detail, errors={"exception_id": [detail]})
    session.delete(row)
    session.flush()
    _announce(session, row)
    return row


def exceptions_between(
    session: Session, doctor_ids, first_day: date, last_day: date
) -> list[ScheduleException]:
    """Exceptions touching the days, for these doctors or the whole clinic."""
    return list(
        session.scalars(
            select(ScheduleException).where(
                ScheduleException.first_day <= last_day,
                ScheduleException.last_day >= first_day,
                or_(
                    ScheduleException.doctor_id.is_(None),
                    ScheduleException.doctor_id.in_(list(doctor_ids)),
                ),
            )
        )
    )


def exceptions_ahead(
    session: Session, doctor_id: int, today: date, limit: int = 200
) -> list[ScheduleException]:
    """A doctor's days off and the clinic's holidays still to come or under way on ``today``,
    in order: after a few years the past ones would fill any list and hide next week's."""
    return list(
        session.scalars(
            select(ScheduleException)
            .where(
                or_(
                    ScheduleException.doctor_id == doctor_id,
                    ScheduleException.doctor_id.is_(None),
                ),
                ScheduleException.last_day >= today,
            )
            .order_by(ScheduleException.first_day, ScheduleException.id)
            .limit(limit)
        )
    )


def away_on(exceptions, doctor_id: int, day: date) -> ScheduleException | None:
    for row in exceptions:
        if row.first_day <= day <= row.last_day and row.doctor_id in (None, doctor_id):
            return row
    return None
