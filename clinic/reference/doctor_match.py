"""A doctor's row of a price list matched to the doctor it names."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from clinic.reference import directory as reference
from clinic.reference.models import Doctor
from clinic.text import search_key


def same_doctor(session: Session, name: str, department_id: int) -> Doctor | None:
    """The department's doctor of this name, written in other capitals or spaces too
    ("КАРИМОВ Анвар" is "Каримов  Анвар", not a second doctor); the one of the very
    spelling first, else the first one registered."""
    key = search_key(name)[: reference.SEARCH_NAME_MAX]
    candidates = session.scalars(
        select(Doctor)
        .where(
            or_(Doctor.search_name == key, Doctor.full_name == name),
            Doctor.department_id == department_id,
        )
        .order_by(Doctor.id)
    ).all()
    same = [d for d in candidates if doctor_name(d.full_name) == doctor_name(name)]
    return next((d for d in same if d.full_name == name), same[0] if same else None)


def doctor_name(name: str) -> str:
    """A doctor's name as rows are matched on it: its words, in any capitals."""
    return " ".join(name.split()).casefold()
