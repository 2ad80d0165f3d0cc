"""Which tickets of a department's shared queue wait for one doctor (see
:mod:`clinic.queue.reserved`): those of a visit checked in with him, while he calls from
that queue.

He calls from it while he works in its department, is switched on and has no active queue
of his own: there his check-ins go (:func:`clinic.visits.checkin.queue_for`). A visit sent on
for good from his own queue to the shared one, or of a doctor who has left or moved to
another department, is anyone's there, so no patient waits for a doctor who will not call
him. Only a checked-in visit (arrived, or started) keeps its ticket: a visit cancelled or
missed leaves it to anyone.

And where a doctor calls his patients from a queue without a room: into the room his working
hours name for the moment (a procedure room on Tuesdays), where his visits send them, else
into his own room (see ``calling_room`` in :mod:`clinic.queue.access`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from clinic.base import CLINIC_TZ
from clinic.db import TZ_KEY
from clinic.queue import access, reserved
from clinic.queue import tickets as q
from clinic.queue.models import Queue, Ticket
from clinic.queue.models import TicketStatus as S
from clinic.reference.listeners import on_change
from clinic.reference.models import Doctor, Room
from clinic.visits import schedules
from clinic.visits.events import VisitStatus
from clinic.visits.models import ScheduleException, Visit, WorkingHours

_OWN = aliased(Queue)


@reserved.on_reserve
def _booked_with_another_doctor(queue: Queue, doctor_id: int | None) -> Select | None:
    if queue.doctor_id is not None:
        return None  # a doctor's own queue: everyone in it is his
    has_own_queue = exists().where(_OWN.doctor_id == Doctor.id, _OWN.active.is_(True))
    theirs = (
        select(Doctor.full_name, Doctor.id)
        .join(Visit, Visit.doctor_id == Doctor.id)
        .where(
            Visit.id == Ticket.visit_id,
            Visit.status.in_((VisitStatus.ARRIVED, VisitStatus.IN_PROGRESS)),
            Doctor.active.is_(True),
            Doctor.department_id == queue.department_id,
            ~has_own_queue,
        )
    )
    # Without a caller: whose the ticket is, whoever asks (the staff screens show it).
    return theirs if doctor_id is None else theirs.where(Visit.doctor_id != doctor_id)


@on_change
def _doctor_left_the_shared_queue(session: Session, kind: str, entity, changed: frozenset) -> None:
    """A doctor switched off or on, or moved to another department: his checked-in patients
    waiting in a shared queue are his, or anyone's, from now, and the staff screens that name
    whom each waits for (``reserved_for``) hear it with the change's commit."""
    if kind != "doctor" or not changed & {"active", "department_id"}:
        return
    waiting = session.scalars(
        select(Ticket)
        .join(Visit, Visit.id == Ticket.visit_id)
        .join(Queue, Queue.id == Ticket.queue_id)
        .where(
            Visit.doctor_id == entity.id,
            Visit.status.in_((VisitStatus.ARRIVED, VisitStatus.IN_PROGRESS)),
            Queue.doctor_id.is_(None),
            Ticket.status.in_((S.WAITING, S.POSTPONED)),
        )
        .order_by(Ticket.id)
    ).all()
    for ticket in waiting:
        q.announce(session, ticket, "visit_moved")


@access.on_working_room
def _room_of_his_hours(session: Session, doctor_id: int, at: datetime) -> int | None:
    """The room of the doctor's hours that cover ``at``: his week's row, or that date's own
    (which replace the week's), on a day he is not away. None when none covers it, when it
    names no room, or when its room is deactivated: his visits then go to his own room, and
    so do his calls. A break inside the hours keeps him in their room. One statement."""
    tz = session.info.get(TZ_KEY) or CLINIC_TZ
    day = at.astimezone(tz).date()
    away = exists().where(
        ScheduleException.first_day <= day,
        ScheduleException.last_day >= day,
        or_(ScheduleException.doctor_id.is_(None), ScheduleException.doctor_id == doctor_id),
    )
    rows = session.execute(
        select(WorkingHours, Room.active)
        .outerjoin(Room, Room.id == WorkingHours.room_id)
        .where(
            WorkingHours.doctor_id == doctor_id,
            or_(
                WorkingHours.day == day,
                and_(WorkingHours.day.is_(None), WorkingHours.weekday == day.weekday()),
            ),
            ~away,
        )
    ).all()
    working = {hours.room_id for hours, active in rows if active}
    for shift in schedules.shifts([hours for hours, _ in rows], [], day, day, tz):
        if shift.starts <= at < shift.ends:
            return shift.room_id if shift.room_id in working else None
    return None
