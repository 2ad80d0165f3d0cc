"""What a change of a doctor's weekly hours leaves out: the visits booked under the old week
that the new one no longer covers (shorter hours, a new break, a weekday no longer worked,
fewer places per slot than were booked).

Nothing moves them by itself, as with a day off: the registrar is given their ids, to move
or cancel them, instead of finding out when the patient comes to a closed door.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.base import utcnow
from clinic.visits import schedules
from clinic.visits.events import VisitStatus
from clinic.visits.models import Visit
from clinic.visits.slots import Occupancy


def visits_outside_hours(
    session: Session, doctor_id: int, tz: ZoneInfo, *, now: datetime | None = None
) -> list[int]:
    """The ids of the doctor's visits still to happen (scheduled or arrived, not over yet)
    that no shift of his week covers now, or that sit in a seat it no longer has beside as
    many patients as it has places, in time order."""
    now = now or utcnow()
    visits = session.scalars(
        select(Visit)
        .where(
            Visit.doctor_id == doctor_id,
            Visit.status.in_(VisitStatus.HOLDING),
            Visit.ends_at > now,
        )
        .order_by(Visit.starts_at, Visit.id)
    ).all()
    # Every visit holding his time (one begun too) fills a place, as the free slots count.
    held = Occupancy([(visit.starts_at, visit.ends_at, visit.seat) for visit in visits])
    hours = schedules.hours_for(session, [doctor_id])
    day_shifts: dict[date, list[schedules.Shift]] = {}
    outside = []
    for visit in visits:
        if visit.status not in VisitStatus.MOVABLE:
            continue
        day = visit.starts_at.astimezone(tz).date()
        if day not in day_shifts:
            day_shifts[day] = schedules.shifts(hours, [], day, day, tz)
        # A seat the hours' capacity no longer has, while the slot holds more patients than
        # it has places, is left out too: the doctor would have one patient more than he
        # takes. Alone there, the patient fills one of its places (a booking counts him).
        if not any(
            s.covers(visit.starts_at, visit.ends_at)
            and (
                visit.seat < s.capacity or held.count(visit.starts_at, visit.ends_at) <= s.capacity
            )
            for s in day_shifts[day]
        ):
            outside.append(visit.id)
    return outside
