"""A doctor as the calendar reads him, and the lock on his row that keeps a booking from
crossing a change of his days and hours.

A change of what he offers (his week saved, an absence declared) locks his row for update
before it writes; a booking or a move locks it to share before it reads his hours and
absences. So a booking either sees the change, or is seen by the answer that lists the
visits the change leaves to move: never a visit slipped onto a sick day or outside the new
hours, unlisted (PostgreSQL; SQLite lets one writer in at a time).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.base import is_id
from clinic.errors import NotFound
from clinic.events import record_events
from clinic.reference.models import Department, Doctor
from clinic.visits.events import SCHEDULE_CHANGED


def get_doctor(session: Session, doctor_id) -> Doctor:
    doctor = session.get(Doctor, doctor_id) if is_id(doctor_id) else None
    if doctor is None:
        raise NotFound(
            f"doctor {doctor_id} does not exist", errors={"doctor_id": ["no such doctor"]}
        )
    return doctor


def lock_for_change(session: Session, doctor_id: int) -> None:
    """Before his week or his absences change: wait for the bookings of him under way."""
    session.execute(select(Doctor.id).where(Doctor.id == doctor_id).with_for_update())


def lock_for_booking(session: Session, doctor_id: int) -> None:
    """Before a booking (or a move) reads his hours and absences: wait for a change of them
    under way. A share of the key only: bookings do not wait for each other, nor for an
    edit of his name."""
    session.execute(
        select(Doctor.id).where(Doctor.id == doctor_id).with_for_update(read=True, key_share=True)
    )


def _days(first_day: date | None, last_day: date | None) -> dict:
    return {
        "first_day": first_day.isoformat() if first_day else None,
        "last_day": last_day.isoformat() if last_day else None,
    }


def announce_change(
    session: Session,
    doctor: Doctor,
    what: str,
    first_day: date | None = None,
    last_day: date | None = None,
) -> None:
    """Tell the doctor's calendars that his free slots changed (``schedule.changed``): a
    calendar open at the desk redraws them instead of offering what is no longer there."""
    data = {"doctor_id": doctor.id, "department_id": doctor.department_id, "what": what,
            **_days(first_day, last_day)}  # fmt: skip
    events = [(f"visits_doctor:{doctor.id}", SCHEDULE_CHANGED, data)]
    if doctor.department_id is not None:
        events.append((f"visits_department:{doctor.department_id}", SCHEDULE_CHANGED, data))
    record_events(session, events)


def announce_holiday(session: Session, first_day: date, last_day: date) -> None:
    """Tell every calendar that the clinic's holidays changed: every doctor's slots did."""
    days = _days(first_day, last_day)
    events = [
        (f"visits_doctor:{d.id}", SCHEDULE_CHANGED,
         {"doctor_id": d.id, "department_id": d.department_id, "what": "holiday", **days})
        for d in session.scalars(select(Doctor).where(Doctor.active.is_(True)).order_by(Doctor.id))
    ] + [
        (f"visits_department:{department_id}", SCHEDULE_CHANGED,
         {"doctor_id": None, "department_id": department_id, "what": "holiday", **days})
        for department_id in session.scalars(
            select(Department.id).where(Department.active.is_(True)).order_by(Department.id)
        )
    ]  # fmt: skip
    if events:
        record_events(session, events)
