"""A doctor as the calendar reads him, and the lock on his row that keeps a booking from
crossing a change of his days and hours.

A change of what he offers (his week saved, an absence declared) locks his row for update
before it writes; a booking or a move locks it to share before it reads his hours and
absences. So a booking either sees the change, or is seen by the answer that lists the
visits the change leaves to move: never a visit slipped onto a sick day or outside the new
hours, unlisted (PostgreSQL; SQLite lets one writer in at a time).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.base import is_id
from clinic.errors import NotFound
from clinic.reference.models import Doctor


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
