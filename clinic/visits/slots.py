"""Free slots: computed in Python from the weekly templates and the booked time ranges.

A search reads the doctors, their templates, the exceptions and the holding visits of the
range (a handful of queries whatever the range), then walks each shift's slot grid. A slot
is free while a seat (of its capacity) is free for all its minutes.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from clinic.base import is_id, iso, utcnow
from clinic.errors import NotFound, ValidationFailed
from clinic.reference.models import Department, Doctor, Service
from clinic.visits import schedules
from clinic.visits.events import VisitStatus
from clinic.visits.models import DoctorService, Visit

MAX_RESULTS = 5000


def _service(session: Session, service_id) -> Service:
    service = session.get(Service, service_id) if is_id(service_id) else None
    if service is None or not service.active:
        raise NotFound("no such service", errors={"service_id": ["no such service"]})
    return service


def doctors_offering(session: Session, service: Service):
    """A select of the active doctors who offer ``service``: those who list it, and those
    who list nothing and work in its department (any department when it has none)."""
    listed = select(DoctorService.doctor_id).where(DoctorService.service_id == service.id)
    lists_nothing = ~exists().where(DoctorService.doctor_id == Doctor.id)
    own_department = (
        Doctor.department_id == service.department_id
        if service.department_id is not None
        else Doctor.id.is_not(None)
    )
    return select(Doctor).where(
        Doctor.active.is_(True),
        or_(Doctor.id.in_(listed), lists_nothing & own_department),
    )


def offers(
    session: Session, doctor: Doctor, service_ids: list[int], *, booked: bool = False
) -> list[int]:
    """The services of ``service_ids`` the doctor does not offer (empty: he offers all).

    ``booked``: the services of a visit already booked, which keeps them when it moves even
    if the price list has dropped one since (it is no longer booked anew)."""
    if not service_ids:
        return []
    listed = set(
        session.scalars(
            select(DoctorService.service_id).where(DoctorService.doctor_id == doctor.id)
        )
    )
    services = session.scalars(select(Service).where(Service.id.in_(service_ids))).all()
    known = {s.id: s for s in services}
    missing = []
    for service_id in service_ids:
        service = known.get(service_id)
        if service is None or not (service.active or booked):
            missing.append(service_id)
        elif listed:
            if service_id not in listed:
                missing.append(service_id)
        elif service.department_id is not None and service.department_id != doctor.department_id:
            missing.append(service_id)
    return missing


def doctors_for(
    session: Session, *, doctor_id=None, department_id=None, service_id=None
) -> list[Doctor]:
    if department_id is not None and not is_id(department_id):
        raise ValidationFailed("no such department", errors={"department_id": ["unknown"]})
    if department_id is not None and session.get(Department, department_id) is None:
        raise NotFound(
            f"department {department_id} does not exist", errors={"department_id": ["unknown"]}
        )
    if doctor_id is not None:
        doctor = schedules.get_doctor(session, doctor_id)
        if department_id is not None and doctor.department_id != department_id:
            # Two filters that cannot both hold: no slots, rather than one of them ignored.
            return []
        if service_id is not None and offers(session, doctor, [_service(session, service_id).id]):
            # Nor slots for a service he does not offer: booking one would be refused.
            return []
        return [doctor]
    if service_id is not None:
        query = doctors_offering(session, _service(session, service_id))
        if department_id is not None:
            query = query.where(Doctor.department_id == department_id)
        return list(session.scalars(query.order_by(Doctor.id)))
    if department_id is not None:
        return list(
            session.scalars(
                select(Doctor)
                .where(Doctor.department_id == department_id, Doctor.active.is_(True))
                .order_by(Doctor.id)
            )
        )
    raise ValidationFailed(
        "say whose slots", errors={"doctor_id": ["doctor_id, department_id or service_id"]}
    )


def holding_visits(
    session: Session, doctor_ids, starts: datetime, ends: datetime, *, but: int | None = None
) -> dict[int, list[tuple[datetime, datetime, int]]]:
    """Per doctor, the (start, end, seat) of visits that hold time overlapping [starts, ends)
    (but visit ``but``: the one being moved)."""
    query = select(Visit.doctor_id, Visit.starts_at, Visit.ends_at, Visit.seat).where(
        Visit.doctor_id.in_(list(doctor_ids)),
        Visit.status.in_(VisitStatus.HOLDING),
        Visit.starts_at < ends,
        Visit.ends_at > starts,
        Visit.id != (but or 0),
    )
    booked: dict[int, list[tuple[datetime, datetime, int]]] = {}
    for doctor_id, start, end, seat in session.execute(query.order_by(Visit.starts_at)):
        booked.setdefault(doctor_id, []).append((start, end, seat))
    return booked


class Occupancy:
    """How many seats are taken during a range, for one doctor's sorted booked ranges."""

    def __init__(self, ranges: list[tuple[datetime, datetime, int]]) -> None:
        self.ranges = sorted(ranges)
        self.starts = [r[0] for r in self.ranges]
        self.longest = max((r[1] - r[0] for r in self.ranges), default=timedelta(0))

    def count(self, starts: datetime, ends: datetime) -> int:
        """The seats any visit overlapping [starts, ends) holds: a booking takes a seat free
        for the whole range, so two visits one after the other in one seat leave the others
        free (as :func:`clinic.visits.booking.place` counts them)."""
        seats, i = set(), bisect_left(self.starts, ends) - 1
        while i >= 0 and self.ranges[i][0] + self.longest > starts:
            if self.ranges[i][1] > starts:
                seats.add(self.ranges[i][2])
            i -= 1
        return len(seats)


class RoomUse:
    """The times other doctors' visits hold each room, to tell a slot whose room is taken
    then (a room two doctors' weeks share holds one doctor's patients at a time)."""

    def __init__(self, rows) -> None:
        ranges: dict[int, list] = {}
        for room_id, doctor_id, start, end in rows:
            ranges.setdefault(room_id, []).append((start, end, doctor_id))
        self.by_room = {room_id: Occupancy(held) for room_id, held in ranges.items()}

    def taken(self, room_id: int | None, doctor_id: int, starts: datetime, ends: datetime):
        """Whether a visit of another doctor than ``doctor_id`` holds the room then."""
        held = self.by_room.get(room_id) if room_id is not None else None
        if held is None:
            return False
        i = bisect_left(held.starts, ends) - 1
        while i >= 0 and held.ranges[i][0] + held.longest > starts:
            if held.ranges[i][1] > starts and held.ranges[i][2] != doctor_id:
                return True
            i -= 1
        return False


def room_use(session: Session, room_ids, starts: datetime, ends: datetime, *, but=None):
    """:class:`RoomUse` of the visits holding ``room_ids`` overlapping [starts, ends) (but
    visit ``but``: the one being moved)."""
    ids = [i for i in set(room_ids) if i is not None]
    if not ids:
        return RoomUse([])
    query = select(Visit.room_id, Visit.doctor_id, Visit.starts_at, Visit.ends_at).where(
        Visit.room_id.in_(ids),
        Visit.status.in_(VisitStatus.HOLDING),
        Visit.starts_at < ends,
        Visit.ends_at > starts,
        Visit.id != (but or 0),
    )
    return RoomUse(session.execute(query))


def patient_elsewhere(session: Session, visit: Visit, starts: datetime, ends: datetime):
    """:class:`Occupancy` (one seat) of the times the patient of ``visit`` holds at his other
    visits overlapping [starts, ends), with any doctor: a move of ``visit`` into one of them
    is refused ``patient_busy`` (:func:`clinic.visits.booking.place`)."""
    query = select(Visit.starts_at, Visit.ends_at).where(
        Visit.patient_id == visit.patient_id,
        Visit.status.in_(VisitStatus.HOLDING),
        Visit.starts_at < ends,
        Visit.ends_at > starts,
        Visit.id != visit.id,
    )
    return Occupancy([(start, end, 0) for start, end in session.execute(query)])


def free_slots(
    session: Session,
    *,
    tz: ZoneInfo,
    first_day: date,
    last_day: date,
    doctor_id=None,
    department_id=None,
    service_id=None,
    now: datetime | None = None,
    limit: int | None = MAX_RESULTS,
    offset: int = 0,
    moving: Visit | None = None,
) -> list[dict]:
    """Free slots from ``first_day`` to ``last_day`` (clinic dates), earliest first; the
    ``limit`` of them (None: all) after the first ``offset``. ``moving``: the times that
    visit may move to, as a move checks them: its own time is free, its own start (with
    its doctor) is no move, and the times its patient is at another visit are taken."""
    schedules.check_range(first_day, last_day)
    now = now or utcnow()
    doctors = doctors_for(
        session, doctor_id=doctor_id, department_id=department_id, service_id=service_id
    )
    doctors = [d for d in doctors if d.active]  # an inactive doctor takes no booking
    # A service's slots are the starts where the whole service fits, as a booking checks.
    minutes = _service(session, service_id).duration_minutes if service_id is not None else 0
    if moving is not None and service_id is None:
        # The visit's own length, with the doctors who offer what it was booked for, as its
        # move checks them (two services: no single one of the price list says how long).
        minutes, doctors = _moving_length(session, moving, doctors)
    if not doctors:
        return []
    ids = [d.id for d in doctors]
    by_id = {d.id: d for d in doctors}
    hours = schedules.hours_for(session, ids)
    exceptions = schedules.exceptions_between(session, ids, first_day, last_day)
    window = (schedules.day_bounds(first_day, tz)[0], schedules.day_bounds(last_day, tz)[1])
    booked = holding_visits(session, ids, *window, but=moving.id if moving else None)
    stays = (moving.doctor_id, moving.starts_at) if moving else None
    occupancy = {i: Occupancy(booked.get(i, [])) for i in ids}
    working = schedules.working_rooms(
        session, [row.room_id for row in hours] + [d.room_id for d in doctors]
    )
    rooms = room_use(session, working, *window, but=moving.id if moving else None)
    elsewhere = patient_elsewhere(session, moving, *window) if moving else Occupancy([])
    out = []
    for shift in schedules.shifts(hours, exceptions, first_day, last_day, tz):
        if shift.ends <= now:
            continue
        taken_by = occupancy[shift.doctor_id]
        doctor = by_id[shift.doctor_id]
        fixed = {
            "doctor_id": doctor.id,
            "department_id": doctor.department_id,
            "room_id": schedules.visit_room(shift, doctor, working),
            "capacity": shift.capacity,
        }
        for start, _ in shift.slots():
            end = start + shift.length_for(minutes)
            if start <= now or not shift.covers(start, end) or (doctor.id, start) == stays:
                continue
            if rooms.taken(fixed["room_id"], doctor.id, start, end):
                continue
            if elsewhere.count(start, end):
                continue
            taken = taken_by.count(start, end)
            if taken < shift.capacity:
                out.append(
                    {**fixed, "starts_at": start, "ends_at": end, "free": shift.capacity - taken}
                )
    out.sort(key=lambda s: (s["starts_at"], s["doctor_id"]))
    return out[offset:] if limit is None else out[offset : offset + limit]


def _moving_length(session: Session, moving: Visit, doctors: list[Doctor]):
    """The minutes of the services ``moving`` was booked with (dropped from the price list
    since, too: it keeps them), and those of ``doctors`` who offer them all."""
    ids = [s.service_id for s in moving.services]
    minutes = sum(session.scalars(select(Service.duration_minutes).where(Service.id.in_(ids))))
    return minutes, [d for d in doctors if not offers(session, d, ids, booked=True)]


def slot_as_dict(slot: dict, tz: ZoneInfo) -> dict:
    return {
        **slot,
        "starts_at": iso(slot["starts_at"]),
        "ends_at": iso(slot["ends_at"]),
        "local_time": slot["starts_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M"),
    }
