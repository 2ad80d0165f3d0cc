"""Who may read and act on which queue: the one rule every door asks (the JSON API, the
pages and the WebSocket channels), so a doctor gets the same answer through each.

A *doctor-bound* user is one linked to a doctor record who does not configure queues
(``queue.manage``). He reads the tickets, and calls, serves and transfers them, only on his
own queues: his room's queue, or his department's shared one. Everyone else is bound only by
the permissions of his roles. What a display board shows (numbers and rooms, never a name or
a phone) is open to every queue reader.

A doctor's working hours may put him in another room than his record's (a procedure room on
Tuesdays): the visits module, which knows the hours (and depends on the queue), registers
with :func:`on_working_room` which room that is at a given moment.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.accounts.permissions import Staff
from clinic.base import is_id, utcnow
from clinic.errors import Forbidden
from clinic.queue import admin as queue_admin
from clinic.queue.models import Queue, Ticket, TicketEvent, TicketSource, TicketStatus
from clinic.queue.rooms import room_of_call
from clinic.reference.models import Doctor

NOT_YOURS = "this is not one of your queues"

# fn(session, doctor_id, at): the working room the doctor's hours put him in at instant
# ``at`` (the row of his week, or of that date alone, that covers it), or None. One small
# statement, asked only where the answer matters.
WorkingRoom = Callable[[Session, int, datetime], "int | None"]
_working_rooms: list[WorkingRoom] = []


def on_working_room(fn: WorkingRoom) -> WorkingRoom:
    """Register ``fn`` (see :data:`WorkingRoom`)."""
    _working_rooms.append(fn)
    return fn


def working_room(session: Session, doctor_id: int, at: datetime | None = None) -> int | None:
    """The room the doctor's working hours put him in at ``at`` (now by default), if any."""
    for fn in _working_rooms:
        room_id = fn(session, doctor_id, at or utcnow())
        if room_id is not None:
            return room_id
    return None


def _doctor(session: Session, actor: Staff) -> Doctor | None:
    return session.get(Doctor, actor.doctor_id) if is_id(actor.doctor_id) else None


def is_doctors_queue(queue: Queue, doctor: Doctor) -> bool:
    """The queue is the doctor's own: his room's queue, or his department's shared one."""
    if queue.doctor_id is not None:
        return queue.doctor_id == doctor.id
    return queue.department_id == doctor.department_id


def _own(session: Session, actor: Staff, queue: Queue) -> bool:
    doctor = _doctor(session, actor)
    return doctor is not None and is_doctors_queue(queue, doctor)


def doctor_bound(actor: Staff) -> bool:
    """A doctor who acts only on his own queues (not one who configures every queue)."""
    return actor.doctor_id is not None and not actor.can("queue.manage")


def may_read_queue(session: Session, actor: Staff, queue: Queue) -> bool:
    """May ``actor`` see the queue's tickets (the staff view: names, phones, comments)?

    Reception (``queue.issue``) serves every queue, so a doctor who also works the desk
    reads them all.
    """
    if not actor.can("queue.read"):
        return False
    if not doctor_bound(actor) or actor.can("queue.issue"):
        return True
    return _own(session, actor, queue)


def may_act_on_queue(session: Session, actor: Staff, queue: Queue) -> bool:
    """May ``actor`` call, recall, serve, postpone, call back or transfer the queue's
    tickets?"""
    if not actor.can("queue.call"):
        return False
    if not doctor_bound(actor):
        return True
    return _own(session, actor, queue)


def may_read_board(actor: Staff) -> bool:
    """A board's numbers and rooms: display screens, kiosks (how many wait) and every queue
    reader."""
    return actor.can("board.view") or actor.can("queue.read") or actor.can("queue.kiosk")


# How long after issuing a kiosk may print a ticket or show its page's code: the kiosk shows
# a ticket 20 seconds (45 without paper), its paper is printed at once.
KIOSK_PRINTS_FOR = timedelta(seconds=60)


def may_print_at_kiosk(
    session: Session, ticket: Ticket, username: str, *, now: datetime | None = None
) -> bool:
    """A kiosk prints a ticket it issued itself, while the ticket waits and only just after
    issuing it: the printed ticket carries the patient's own page, which no one else's touch
    at the kiosk may fetch, also not by typing an earlier patient's ticket number into the
    kiosk's address."""
    if (now or utcnow()) - ticket.created_at > KIOSK_PRINTS_FOR:
        return False
    first = session.scalar(
        select(TicketEvent.actor)
        .where(TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.id)
        .limit(1)
    )
    return (
        ticket.source == TicketSource.KIOSK
        and ticket.status == TicketStatus.WAITING
        and bool(username)
        and first == username
    )


def check_may_read_queue(session: Session, actor: Staff, queue: Queue) -> None:
    if not may_read_queue(session, actor, queue):
        raise Forbidden(NOT_YOURS, code="not_your_queue")


def check_may_act_on_queue(session: Session, actor: Staff, queue: Queue) -> None:
    if not may_act_on_queue(session, actor, queue):
        raise Forbidden(NOT_YOURS, code="not_your_queue")


def check_may_act_on_ticket(session: Session, actor: Staff, ticket: Ticket) -> None:
    """As :func:`check_may_act_on_queue`, and in a department's shared queue a patient a
    colleague has called to his own room is that colleague's: another doctor of the queue
    does not recall, serve, finish, postpone, mark or send on the patient in someone else's
    room. The room his working hours put him in when the patient was called counts as his
    own (he finishes a patient after his hours there have ended). (Reception and
    administrators may, as for any ticket; so may any doctor of the queue while the patient
    waits, or when the queue's callers share its own room.)"""
    check_may_act_on_queue(session, actor, ticket.queue)
    if not doctor_bound(actor) or ticket.status not in (
        TicketStatus.CALLED,
        TicketStatus.IN_SERVICE,
    ):
        return
    queue = ticket.queue
    if queue.doctor_id is not None or ticket.room_id in (None, queue.room_id):
        return
    doctor = _doctor(session, actor)
    if doctor is None or ticket.room_id == doctor.room_id:
        return
    if ticket.room_id != working_room(session, doctor.id, ticket.called_at):
        raise Forbidden(
            "this patient is with a colleague, in another room", code="not_your_patient"
        )


def queues_to_call(session: Session, actor: Staff) -> list[Queue]:
    """The active queues ``actor`` may call: a doctor's own, or every one for the others."""
    if not actor.can("queue.call"):
        return []
    queues = queue_admin.list_queues(session)
    if doctor_bound(actor):
        doctor = _doctor(session, actor)
        return [q for q in queues if doctor is not None and is_doctors_queue(q, doctor)]
    return queues


def calling_room(
    session: Session, actor: Staff, queue: Queue, room_id: int | None = None
) -> int | None:
    """The room a call on ``queue`` sends the patient to.

    Without ``room_id``: the queue's own room, else (a queue without one: a department's
    shared queue) the room the calling doctor's working hours put him in now, else his own
    room; the door his visits send his patients to (docs/visits.md). A doctor-bound caller
    may name only one of those three rooms; other callers may name any existing room.
    """
    doctor = _doctor(session, actor)
    own_room = doctor.room_id if doctor is not None else None
    if room_id is None:
        if queue.room_id is not None or doctor is None:
            return queue.room_id
        return working_room(session, doctor.id) or own_room
    room_of_call(session, room_id)  # an existing room, in use (docs/reference-data.md)
    if (
        doctor_bound(actor)
        and room_id not in (queue.room_id, own_room)
        and (doctor is None or room_id != working_room(session, doctor.id))
    ):
        raise Forbidden(
            "a doctor calls to his own room, the queue's, or the one his hours name now",
            errors={"room_id": ["not your room, nor the queue's, nor that of your hours now"]},
            code="not_your_room",
        )
    return room_id
