"""What the queue module keeps of the reference data, told to the directory before a room,
a department or a doctor changes (clinic.reference.directory asks these checks, knowing
nothing of queues): the active queues that would be left without their room, department or
doctor, and the patients a doctor has called to the room he would leave."""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from clinic.queue.models import Queue, Ticket, TicketStatus
from clinic.reference.in_use import (
    department_check,
    doctor_check,
    doctor_room_check,
    room_check,
)
from clinic.reference.models import Department, Doctor, Room


def room_serves(room_department_id: int | None, queue_department_id: int | None) -> bool:
    """Whether a room of ``room_department_id`` may be a queue's of ``queue_department_id``:
    one of its own department, or a shared one (of none)."""
    return room_department_id in (None, queue_department_id)


@room_check
def _queues_a_room_change_breaks(
    session: Session, room: Room, field: str, value
) -> tuple[str, list[str]]:
    """The active queues calling into ``room`` that it would no longer serve: every one when
    it is deactivated, those of other departments when it moves to a department (a shared
    room serves any). A switched-off queue calls no one; it is switched on only with a room
    that serves it."""
    rows = session.execute(
        select(Queue.code, Queue.department_id)
        .where(Queue.room_id == room.id, Queue.active.is_(True))
        .order_by(Queue.code)
    ).all()
    if field == "active":
        broken = [code for code, _ in rows] if value is False else []
    else:
        broken = [code for code, department in rows if not room_serves(value, department)]
    return "active queues", broken


@department_check
def _queues_of_department(session: Session, department: Department) -> tuple[str, list[str]]:
    """The active queues of ``department``: switched off with it they would go on issuing its
    tickets (and a queue of a switched-off department is not switched on again)."""
    return "active queues", _active_queue_codes(session, Queue.department_id == department.id)


@doctor_check
def _queues_of_doctor(session: Session, doctor: Doctor) -> tuple[str, list[str]]:
    """The active queues of ``doctor`` himself: switched off, he would go on being issued
    tickets there (and a queue of a switched-off doctor is not switched on again)."""
    return "active queues", _active_queue_codes(session, Queue.doctor_id == doctor.id)


def _active_queue_codes(session: Session, whose) -> list[str]:
    """The codes of the active queues ``whose`` (a condition on the queue) picks, in order."""
    return list(
        session.scalars(
            select(Queue.code).where(whose, Queue.active.is_(True)).order_by(Queue.code)
        ).all()
    )


@doctor_room_check
def _patients_in_doctors_room(session: Session, doctor: Doctor) -> tuple[str, list[str]]:
    """The patients ``doctor`` has called to his room, from the queues he calls (his own, his
    department's shared ones), still called or with him."""
    codes = session.scalars(
        select(Ticket.code)
        .join(Queue, Queue.id == Ticket.queue_id)
        .where(
            Ticket.room_id == doctor.room_id,
            Ticket.status.in_((TicketStatus.CALLED, TicketStatus.IN_SERVICE)),
            or_(
                Queue.doctor_id == doctor.id,
                and_(Queue.doctor_id.is_(None), Queue.department_id == doctor.department_id),
            ),
        )
        .order_by(Ticket.id)
    ).all()
    return "patients called", list(codes)
