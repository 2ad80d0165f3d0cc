"""A doctor as the calendar reads him, and the lock on his row that keeps a booking from
crossing a change of his days and hours.

A change of what he offers (his week saved, an absence declared) locks his row for update
before it writes; a booking or a move locks it to share before it reads his hours and
absences. So a booking either sees the change, or is seen by the answer that lists the
visits the change leaves to move: never a visit slipped onto a sick day or outside the new
hours, unlisted (PostgreSQL; SQLite lets one writer in at a time).

His department's row is held the same way: switching it off locks it for update, a booking
to share, so the switching off either sees the visit booked (and is refused) or the booking
sees the department off (and is refused).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import event, select
from sqlalchemy.orm import Session, object_session

from clinic.base import is_id, utcnow
from clinic.errors import NotFound
from clinic.events import record_events
from clinic.events.models import RecordedEvent
from clinic.events.outbox import on_recorded
from clinic.reference.in_use import department_check
from clinic.reference.models import Department, Doctor
from clinic.visits.events import SCHEDULE_CHANGED, VisitStatus
from clinic.visits.models import Visit

# Visits of a department named in a refusal to switch it off; the others are counted.
VISITS_NAMED = 10


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


def lock_for_booking(session: Session, doctor_id: int) -> bool:
    """Before a booking (or a move) reads his hours and absences: wait for a change of them
    under way. A share of the key only: bookings do not wait for each other, nor for an
    edit of his name. Returns whether he works here, as his row is once the wait is over
    (deactivated meanwhile, he takes no visit)."""
    return bool(
        session.scalar(
            select(Doctor.active)
            .where(Doctor.id == doctor_id)
            .with_for_update(read=True, key_share=True)
        )
    )


def lock_department_for_booking(session: Session, department_id: int) -> bool:
    """Before a booking (or a move) writes a visit into ``department_id``: wait for its
    switching off under way, which locks its row for update (and checks, under that lock,
    that no visit is still to come there). A share of the key only, as for the doctor:
    bookings do not wait for each other, nor for an edit of its names. Returns whether the
    department works, as its row is once the wait is over (switched off meanwhile, it takes
    no visit). Taken after the doctor's row and before the room's turn, in every booking."""
    return bool(
        session.scalar(
            select(Department.active)
            .where(Department.id == department_id)
            .with_for_update(read=True, key_share=True)
        )
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


# The reference module's changes of a doctor that change what his calendars offer: he left
# (no more free slots), came back, or moved to another department (or room).
_DOCTOR_CHANGES = ("doctor.updated", "doctor.activated", "doctor.deactivated")
_LEFT_DEPARTMENT = "visits.doctor_left_department"


@event.listens_for(Doctor.department_id, "set", active_history=True)
def _note_department_left(doctor: Doctor, value, before, initiator) -> None:
    """Keep the department a doctor is moved out of, for its calendar to hear it."""
    session = object_session(doctor)
    if session is not None and doctor.id is not None and isinstance(before, int):
        if before != value:
            session.info.setdefault(_LEFT_DEPARTMENT, {}).setdefault(doctor.id, before)


def _doctor_changed(session: Session, events: list[RecordedEvent]) -> None:
    """A doctor deactivated, activated or changed (``schedule.changed``, ``what``:
    ``doctor``): an open calendar redraws his free slots instead of offering those of a
    doctor who has left until someone reloads it; the department he left hears it too."""
    for recorded in events:
        if recorded.type not in _DOCTOR_CHANGES:
            continue
        doctor = session.get(Doctor, recorded.data["id"])
        if doctor is None:
            continue
        announce_change(session, doctor, "doctor")
        left = session.info.get(_LEFT_DEPARTMENT, {}).pop(doctor.id, None)
        if left is not None and left != doctor.department_id:
            data = {"doctor_id": doctor.id, "department_id": doctor.department_id,
                    "what": "doctor", **_days(None, None)}  # fmt: skip
            record_events(session, [(f"visits_department:{left}", SCHEDULE_CHANGED, data)])


on_recorded(_doctor_changed)


@department_check
def _visits_booked_in_department(session: Session, department: Department) -> tuple[str, list[str]]:
    """The visits still to come in ``department`` (by number): switched off, it leaves the
    desk's calendar, which lists the active departments, and its patients would come for
    visits nobody at the desk sees. They are moved or cancelled first."""
    ids = session.scalars(
        select(Visit.id)
        .where(
            Visit.department_id == department.id,
            Visit.status.in_(VisitStatus.MOVABLE),
            Visit.ends_at > utcnow(),
        )
        .order_by(Visit.starts_at, Visit.id)
        .limit(VISITS_NAMED + 1)
    ).all()
    named = [str(i) for i in ids[:VISITS_NAMED]]
    return "visits booked ahead", named + (["…"] if len(ids) > VISITS_NAMED else [])
