"""What a change of a doctor's weekly hours leaves out: the visits booked under the old week
that the new one no longer covers (shorter hours, a new break, a weekday no longer worked,
fewer places per slot than were booked).

Nothing moves them by itself, as with a day off: the registrar is given their ids, to move
or cancel them, instead of finding out when the patient comes to a closed door. The visits
the new hours still cover go to the room those hours name (:func:`follow_rooms`), and so do
those of a room switched off or on again, or of a doctor given another room of his own.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.base import utcnow
from clinic.db import TZ_KEY
from clinic.events.models import RecordedEvent
from clinic.events.outbox import on_recorded
from clinic.reference.models import Doctor, Room
from clinic.visits import notify, schedules
from clinic.visits import visits as v
from clinic.visits.events import VISIT_CHANGED, VisitStatus
from clinic.visits.models import Visit, WorkingHours


def visits_outside_hours(
    session: Session, doctor_id: int, tz: ZoneInfo, *, now: datetime | None = None
) -> list[int]:
    """The ids of the doctor's visits still to happen (scheduled or arrived, not over yet)
    that no shift of his week covers now, or that are over the places their slot has now
    (:func:`_over_places`), in time order."""
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
    hours = schedules.hours_for(session, [doctor_id])
    day_shifts: dict[date, list[schedules.Shift]] = {}
    outside, placeless = set(), []
    for visit in visits:
        day = visit.starts_at.astimezone(tz).date()
        if day not in day_shifts:
            day_shifts[day] = schedules.shifts(hours, [], day, day, tz)
        shift = next((s for s in day_shifts[day] if s.covers(visit.starts_at, visit.ends_at)), None)
        if shift is None:
            if visit.status in VisitStatus.MOVABLE:
                outside.add(visit.id)
        elif visit.seat >= shift.capacity:
            placeless.append((visit, shift))
    outside |= _over_places(visits, placeless)
    return [visit.id for visit in visits if visit.id in outside]


def _over_places(visits, placeless: list[tuple[Visit, schedules.Shift]]) -> set[int]:
    """Of the visits in a place their slot no longer has (``placeless``, each with the shift
    that covers it), those that find none of its places free for their whole time: the
    patients over its places, as many as it has too many. Every other visit holding its time
    keeps its place (as a booking counts them). Those in the lowest places fill the free ones
    first, so the patients listed are those in the highest (a visit's ``seat``): the places
    the cut takes away, which a booking (it takes the lowest free place) filled when the slot
    was fullest. A visit begun, which nobody moves, takes its place before any."""
    without_place = {visit.id for visit, _ in placeless}
    taken: dict[int, list[tuple[datetime, datetime]]] = {}
    for visit in visits:
        if visit.id not in without_place:
            taken.setdefault(visit.seat, []).append((visit.starts_at, visit.ends_at))
    over = set()
    order = sorted(
        placeless,
        key=lambda p: (p[0].status in VisitStatus.MOVABLE, p[0].seat, p[0].starts_at, p[0].id),
    )
    for visit, shift in order:
        free = next(
            (
                seat
                for seat in range(shift.capacity)
                if not any(
                    begins < visit.ends_at and visit.starts_at < ends
                    for begins, ends in taken.get(seat, [])
                )
            ),
            None,
        )
        if free is not None:
            taken.setdefault(free, []).append((visit.starts_at, visit.ends_at))
        elif visit.status in VisitStatus.MOVABLE:
            over.add(visit.id)
    return over


def follow_rooms(
    session: Session,
    doctor_id: int,
    tz: ZoneInfo,
    *,
    actor: str = "",
    now: datetime | None = None,
    why: str | None = None,
) -> list[int]:
    """The doctor's visits still to happen that his hours (just saved) cover in another room
    than the one they were booked into go to that room, as a booking now would: his
    reminders and the calendar send the patient to the door he works behind. Unsent
    reminders naming the old room are dropped (beat writes them anew). Returns their ids."""
    now = now or utcnow()
    doctor = schedules.get_doctor(session, doctor_id)
    # Locked, passing over those a step holds now: a move holds its visit and waits for the
    # doctor's row this change holds (it then reads the new hours and their room itself).
    visits = session.scalars(
        select(Visit)
        .where(
            Visit.doctor_id == doctor_id,
            Visit.status.in_(VisitStatus.MOVABLE),
            Visit.ends_at > now,
        )
        .order_by(Visit.starts_at, Visit.id)
        .with_for_update(of=Visit, skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    if not visits:
        return []
    hours = schedules.hours_for(session, [doctor_id])
    working = schedules.working_rooms(session, [r.room_id for r in hours] + [doctor.room_id])
    day_shifts: dict[date, list[schedules.Shift]] = {}
    changed = []
    for visit in visits:
        day = visit.starts_at.astimezone(tz).date()
        if day not in day_shifts:
            day_shifts[day] = schedules.shifts(hours, [], day, day, tz)
        shift = next((s for s in day_shifts[day] if s.covers(visit.starts_at, visit.ends_at)), None)
        if shift is None:
            continue  # outside the hours: listed to move, where it goes is the move's
        room_id = schedules.visit_room(shift, doctor, working)
        if room_id == visit.room_id:
            continue
        before = visit.room_id
        visit.room_id = room_id
        visit.updated_at = now
        session.flush()
        session.expire(visit, ["room"])
        notify.drop_unsent_reminders(session, visit)
        data = {"from": before, "to": room_id, **({"reason": why} if why else {})}
        v.record_history(session, visit, "room_changed", visit.status, actor, now, data)
        v.announce(session, visit, VISIT_CHANGED, {"action": "room_changed"})
        changed.append(visit.id)
    return changed


def follow_room(
    session: Session, room_id: int, tz: ZoneInfo, *, actor: str = "", now: datetime | None = None
) -> list[int]:
    """A room switched off (or on again): the visits to come booked into it, and those of
    the doctors whose hours or own room name it, go to the room a booking now would give
    them (:func:`follow_rooms`), so no reminder sends a patient to a closed door. Returns
    the ids of the visits whose room changed."""
    now = now or utcnow()
    booked = select(Visit.doctor_id).where(
        Visit.room_id == room_id, Visit.status.in_(VisitStatus.MOVABLE), Visit.ends_at > now
    )
    doctors = set(session.scalars(booked))
    doctors |= set(
        session.scalars(select(WorkingHours.doctor_id).where(WorkingHours.room_id == room_id))
    )
    doctors |= set(session.scalars(select(Doctor.id).where(Doctor.room_id == room_id)))
    why = f"room {room_id} switched {'on' if _room_active(session, room_id) else 'off'}"
    changed = []
    for doctor_id in sorted(doctors):
        changed += follow_rooms(session, doctor_id, tz, actor=actor, now=now, why=why)
    return changed


def _room_active(session: Session, room_id: int) -> bool:
    return bool(session.scalar(select(Room.active).where(Room.id == room_id)))


def _rooms_changed(session: Session, events: list[RecordedEvent]) -> None:
    """The reference module's changes that move where patients are sent: a room switched off
    or on, a doctor's own room changed (his other changes leave the rooms as they are)."""
    tz = session.info.get(TZ_KEY)
    for recorded in events:
        if tz is None or recorded.type not in _ROOM_CHANGES:
            continue
        if recorded.type == "doctor.updated":
            doctor = session.get(Doctor, recorded.data["id"])
            if doctor is not None and doctor.active:
                follow_rooms(session, doctor.id, tz, actor="system", why="the doctor's room")
        else:
            follow_room(session, recorded.data["id"], tz, actor="system")


_ROOM_CHANGES = ("room.deactivated", "room.activated", "doctor.updated")
on_recorded(_rooms_changed)
