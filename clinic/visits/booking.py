"""Booking: the checks a registrar's form shows next to its fields, and the insert that the
database decides.

The checks (in the past, service not offered, doctor away, outside hours, doctor busy,
patient busy) read the current state and answer with a typed refusal. They cannot by
themselves stop two requests that check at the same instant; the database does:
PostgreSQL's exclusion constraints reject the second overlapping visit of a doctor's seat or
of a patient, and SQLite runs every writing transaction under ``BEGIN IMMEDIATE``, so the
check and the insert of one booking happen before the next booking's check begins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from psycopg.errors import DeadlockDetected
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from clinic.base import is_id, utcnow
from clinic.errors import Conflict, NotFound, ValidationFailed
from clinic.reference.editing import one_at_a_time
from clinic.reference.models import Doctor, Patient, Service
from clinic.visits import schedules, slots
from clinic.visits import visits as v
from clinic.visits.doctors import lock_department_for_booking, lock_for_booking
from clinic.visits.events import VISIT_BOOKED
from clinic.visits.events import Conflicts as C
from clinic.visits.events import VisitKind, VisitStatus
from clinic.visits.models import Visit, VisitService

# Refusals the form shows as "taken" (409); the others are about the request itself (422).
BUSY = (C.DOCTOR_BUSY, C.PATIENT_BUSY, C.ROOM_TAKEN, C.NOT_MOVABLE, C.TOO_MANY_MOVES)
FIELDS = {
    C.DOCTOR_BUSY: "starts_at",
    C.PATIENT_BUSY: "patient_id",
    C.ROOM_TAKEN: "starts_at",
    C.OUTSIDE_HOURS: "starts_at",
    C.DOCTOR_AWAY: "starts_at",
    C.IN_PAST: "starts_at",
    C.SERVICE_NOT_OFFERED: "service_ids",
    C.NOT_MOVABLE: "visit_id",
    C.TOO_MANY_MOVES: "visit_id",
    C.DEPARTMENT_INACTIVE: "doctor_id",
}


CONSTRAINTS = {
    "ex_visits_doctor_seat_time": C.DOCTOR_BUSY,
    "ex_visits_patient_time": C.PATIENT_BUSY,
}


class BookingConflict(Conflict):
    """The time is taken (409); ``code`` is one of :class:`Conflicts`."""


class BookingRefused(ValidationFailed):
    """The request cannot be booked as asked (422); ``code`` is one of :class:`Conflicts`."""


def refusal(code: str, detail: str) -> Conflict | ValidationFailed:
    cls = BookingConflict if code in BUSY else BookingRefused
    return cls(detail, code=code, errors={FIELDS[code]: [detail]})


def inactive_doctor(field: str = "doctor_id") -> ValidationFailed:
    """A doctor who no longer works here takes no visit, booked, moved or covered for."""
    return ValidationFailed(
        "inactive doctor", code=C.DOCTOR_INACTIVE, errors={field: ["not working here now"]}
    )


@dataclass
class Placement:
    """Where a checked visit goes: its end, seat and room."""

    ends_at: datetime
    seat: int
    room_id: int | None
    free_seats: list[int]


def _length(shift: schedules.Shift, services: list[Service]) -> timedelta:
    """Whole slots long enough for the services (one slot when none is named)."""
    return shift.length_for(sum(s.duration_minutes for s in services))


def place(
    session: Session,
    *,
    doctor: Doctor,
    patient_id: int,
    starts_at: datetime,
    services: list[Service],
    tz: ZoneInfo,
    now: datetime,
    kind: str = VisitKind.SCHEDULED,
    exclude_visit_id: int | None = None,
) -> Placement:
    """Check that the doctor can see the patient at ``starts_at``; raise the typed refusal."""
    if kind == VisitKind.WALK_IN:
        # A walk-in is booked into the slot that is running now.
        if starts_at + timedelta(hours=1) <= now:
            raise refusal(C.IN_PAST, "this time has passed")
    elif starts_at <= now:
        raise refusal(C.IN_PAST, "this time has passed")
    # A move (``exclude_visit_id``) keeps the services the visit was booked with.
    missing = slots.offers(
        session, doctor, [s.id for s in services], booked=exclude_visit_id is not None
    )
    if missing:
        raise refusal(C.SERVICE_NOT_OFFERED, f"the doctor does not offer service {missing[0]}")
    # His hours and absences are read under a lock a change of them waits for (and waits
    # for): a sick day declared, or a week saved, at this moment is seen here, or lists this
    # visit among those it leaves to move.
    if not lock_for_booking(session, doctor.id):
        # He left while this waited for his row: as any booking of a doctor who has left.
        raise inactive_doctor()
    # The department the visit is written into (his, as read): switched off, or being
    # switched off now, it takes no visit; a switching off waits for this one to commit.
    if doctor.department_id is not None and not lock_department_for_booking(
        session, doctor.department_id
    ):
        raise refusal(C.DEPARTMENT_INACTIVE, "the doctor's department is switched off")
    day = starts_at.astimezone(tz).date()
    exceptions = schedules.exceptions_between(session, [doctor.id], day, day)
    away = schedules.away_on(exceptions, doctor.id, day)
    if away is not None:
        raise refusal(C.DOCTOR_AWAY, f"the doctor is away that day ({away.kind})")
    hours = schedules.hours_for(session, [doctor.id])
    shift = next(
        (s for s in schedules.shifts(hours, [], day, day, tz) if s.starts <= starts_at < s.ends),
        None,
    )
    ends_at = starts_at + _length(shift, services) if shift else None
    if shift is None or not shift.covers(starts_at, ends_at):
        raise refusal(C.OUTSIDE_HOURS, "the doctor does not work at this time")
    if starts_at not in {start for start, _ in shift.slots()}:
        # Off the grid a visit would straddle two slots and leave neither free.
        raise refusal(
            C.OUTSIDE_HOURS,
            f"a visit starts at the start of a slot (every {shift.slot_minutes} minutes"
            f" from {shift.starts.astimezone(tz):%H:%M})",
        )
    if kind == VisitKind.WALK_IN and starts_at + timedelta(minutes=shift.slot_minutes) <= now:
        # A slot that is over is not running now: booked into it, the walk-in would be a
        # no-show at beat's next round, with the patient standing at the desk.
        raise refusal(C.IN_PAST, "this slot is over; book the slot running now")
    overlapping = session.execute(
        select(Visit.seat, Visit.patient_id, Visit.doctor_id).where(
            Visit.status.in_(VisitStatus.HOLDING),
            Visit.starts_at < ends_at,
            Visit.ends_at > starts_at,
            (Visit.doctor_id == doctor.id) | (Visit.patient_id == patient_id),
            Visit.id != (exclude_visit_id or 0),
        )
    ).all()
    taken = {row.seat for row in overlapping if row.doctor_id == doctor.id}
    # Places are counted, not only numbered: a patient booked while the slot had more places
    # than it has now fills one of those it has, whatever his seat's number (as the free
    # slots count him). So a free seat is offered only for the places still open, and two
    # bookings at once cannot take two of them for one.
    free = [seat for seat in range(shift.capacity) if seat not in taken]
    free = free[: max(0, shift.capacity - len(taken))]
    if not free:
        raise refusal(C.DOCTOR_BUSY, "the doctor is booked at this time")
    if any(row.patient_id == patient_id for row in overlapping):
        raise refusal(C.PATIENT_BUSY, "the patient has another visit at this time")
    working = schedules.working_rooms(session, (shift.room_id, doctor.room_id))
    room_id = schedules.visit_room(shift, doctor, working)
    if room_id is not None and room_taken(session, room_id, doctor.id, starts_at, ends_at,
                                          but=exclude_visit_id):  # fmt: skip
        raise refusal(C.ROOM_TAKEN, "another doctor's patient is booked into the room then")
    return Placement(ends_at, free[0], room_id, free)


def room_taken(
    session: Session, room_id: int, doctor_id: int, starts_at, ends_at, *, but: int | None
) -> bool:
    """Whether another doctor's visit holds ``room_id`` during [starts_at, ends_at).

    Bookings into one room run one at a time from here to their commit (PostgreSQL; SQLite
    lets one writer in at a time already), so two doctors' bookings at once into a room they
    share cannot both see it free. The doctor's own visits are his seats, counted above."""
    one_at_a_time(session, f"visits.room:{room_id}")
    return (
        session.scalar(
            select(Visit.id)
            .where(
                Visit.room_id == room_id,
                Visit.doctor_id != doctor_id,
                Visit.status.in_(VisitStatus.HOLDING),
                Visit.starts_at < ends_at,
                Visit.ends_at > starts_at,
                Visit.id != (but or 0),
            )
            .limit(1)
        )
        is not None
    )


def constraint_refusal(exc: IntegrityError) -> Conflict | None:
    """The typed refusal for an exclusion-constraint violation, or None for another error."""
    message = str(exc.orig)
    for name, code in CONSTRAINTS.items():
        if name in message:
            return refusal(code, "taken a moment ago by another booking")
    return None


# How often one seat is tried again after PostgreSQL broke a deadlock between two bookings
# checking each other's row (each waited for the other to end).
DEADLOCK_TRIES = 5


def hold_seat(session: Session, visit: Visit, seats: list[int]) -> None:
    """Flush the new ``visit`` into the first of ``seats`` the database accepts."""

    def put(seat: int) -> None:
        visit.seat = seat
        session.add(visit)

    take_seat(session, seats, put)


def take_seat(
    session: Session,
    seats: list[int],
    put: Callable[[int], None],
    *,
    undo: Callable[[], None] = lambda: None,
) -> None:
    """Flush what ``put(seat)`` writes for the first of ``seats`` the database accepts (a
    savepoint per try; ``undo`` runs after each try rolled back).

    Two bookings (or moves) that checked at once may pick the same seat; the loser tries the
    next free one, and with none left gets the typed refusal the constraint names. An
    exclusion constraint checks a new row against rows not yet committed and waits for
    them: two written at the same instant can each wait for the other, and PostgreSQL then
    fails one with a deadlock. That one steps back (its savepoint) and tries the seat again,
    now waiting for the other to end: taken, it gets the typed refusal; freed, it has it.
    """
    last = None
    for seat in seats:
        for attempt in range(DEADLOCK_TRIES):
            try:
                with session.begin_nested():
                    put(seat)
                    session.flush()
                return
            except OperationalError as exc:
                undo()
                if not isinstance(exc.orig, DeadlockDetected) or attempt == DEADLOCK_TRIES - 1:
                    raise
            except IntegrityError as exc:
                undo()
                last = constraint_refusal(exc)
                if last is None:
                    raise
                if last.code != C.DOCTOR_BUSY:
                    raise last from exc
                break
    raise last or refusal(C.DOCTOR_BUSY, "the doctor is booked at this time")


def _services(session: Session, service_ids) -> list[Service]:
    if service_ids is None:
        return []
    if not isinstance(service_ids, list) or not all(is_id(i) for i in service_ids):
        raise ValidationFailed("service ids", errors={"service_ids": ["a list of service ids"]})
    ids = list(dict.fromkeys(service_ids))
    found = {s.id: s for s in session.scalars(select(Service).where(Service.id.in_(ids)))}
    unknown = [i for i in ids if i not in found or not found[i].active]
    if unknown:
        raise ValidationFailed(
            "unknown service", errors={"service_ids": [f"no service {unknown[0]}"]}
        )
    return [found[i] for i in ids]


def book(
    session: Session,
    *,
    patient_id: int,
    doctor_id: int,
    starts_at: datetime,
    tz: ZoneInfo,
    service_ids: list[int] | None = None,
    kind: str = VisitKind.SCHEDULED,
    comment: str = "",
    notify_email: str | None = None,
    actor: str = "",
    now: datetime | None = None,
) -> Visit:
    """A new scheduled visit, or the typed refusal (:class:`BookingConflict` 409 when the
    time is taken, :class:`BookingRefused` 422 otherwise)."""
    now = now or utcnow()
    if kind not in VisitKind.ALL:
        raise ValidationFailed("unknown kind", errors={"kind": [f"one of {VisitKind.ALL}"]})
    if starts_at.tzinfo is None:
        raise ValidationFailed("give the time zone", errors={"starts_at": ["with an offset"]})
    starts_at = starts_at.astimezone(timezone.utc)  # kept and answered as every instant is
    patient = session.get(Patient, patient_id) if is_id(patient_id) else None
    if patient is None:
        raise NotFound("no such patient", errors={"patient_id": ["no such patient"]})
    if not patient.active:
        # On file, but deactivated: chosen for nothing new, as a ticket at the desk refuses
        # him (not "no such patient", which sends the registrar to register him again).
        raise BookingRefused(
            "the patient's record is deactivated",
            code=C.PATIENT_INACTIVE,
            errors={"patient_id": ["inactive patient"]},
        )
    doctor = schedules.get_doctor(session, doctor_id)
    if not doctor.active:
        raise inactive_doctor()
    services = _services(session, service_ids)
    placement = place(
        session,
        doctor=doctor,
        patient_id=patient.id,
        starts_at=starts_at,
        services=services,
        tz=tz,
        now=now,
        kind=kind,
    )
    visit = Visit(
        patient_id=patient.id,
        doctor_id=doctor.id,
        department_id=doctor.department_id,
        room_id=placement.room_id,
        starts_at=starts_at,
        ends_at=placement.ends_at,
        kind=kind,
        status=VisitStatus.SCHEDULED,
        moves=0,
        comment=(comment or "")[:2000],
        notify_email=notify_email,
        late_cancellation=False,
        created_by=(actor or "")[:64],
        created_at=now,
        updated_at=now,
        services=[VisitService(service_id=s.id, price=s.price) for s in services],
    )
    hold_seat(session, visit, placement.free_seats)
    v.record_history(session, visit, "booked", None, actor, now, {"kind": kind})
    v.announce(session, visit, VISIT_BOOKED)
    return visit
