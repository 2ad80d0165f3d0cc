"""A patient booked with a named doctor is that doctor's to call.

In a department's shared queue every doctor of the department presses "call next". A ticket
that carries one of them's checked-in visit waits for him: another doctor's "call next"
passes over it (keeping its place for him), and another doctor's call back of it is refused
(409 ``booked_with_another_doctor``, at ``ticket_id``): served by him, the visit would be
completed as its own doctor's, in his figures and his patient's record. A walk-in's ticket
(no visit) is anyone's. A caller who is not a doctor (the desk calling for a room) calls as
ever. To have a colleague see the patient, the visit is moved to him on the calendar, and
its ticket follows (:mod:`clinic.visits.checkin`).

The queue knows nothing of visits (visits depend on the queue): the visits module registers,
with :func:`on_reserve`, which tickets of a queue are another doctor's.
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import Select
from sqlalchemy.orm import Session

from clinic.errors import Conflict
from clinic.queue.models import Queue, Ticket

# fn(queue, doctor_id): a SELECT of the name of the doctor (not ``doctor_id``) a ticket of
# ``queue`` waits for, correlated to ``Ticket`` (no row: the caller may call it), or None
# when the queue keeps no ticket for one doctor. One index probe per ticket read: the pick
# stays one bounded statement.
Reserver = Callable[[Queue, int], "Select | None"]
_reservers: list[Reserver] = []


def on_reserve(fn: Reserver) -> Reserver:
    """Register ``fn`` (see :data:`Reserver`)."""
    _reservers.append(fn)
    return fn


def not_for_others(waiting: Select, queue: Queue, doctor_id: int | None) -> Select:
    """``waiting`` without the tickets of ``queue`` that wait for another doctor than
    ``doctor_id`` (every ticket when the caller is no doctor)."""
    if doctor_id is None:
        return waiting
    for reserver in _reservers:
        theirs = reserver(queue, doctor_id)
        if theirs is not None:
            waiting = waiting.where(~theirs.exists())
    return waiting


def check_may_call(session: Session, ticket: Ticket, doctor_id: int | None) -> None:
    """Refuse (409 ``booked_with_another_doctor``, at ``ticket_id``) the call of ``ticket``
    by doctor ``doctor_id`` when it waits for another doctor."""
    if doctor_id is None:
        return
    for reserver in _reservers:
        theirs = reserver(ticket.queue, doctor_id)
        name = None if theirs is None else session.scalar(theirs.where(Ticket.id == ticket.id))
        if name is not None:
            detail = f"{ticket.code} is booked with {name}: that doctor calls the patient"
            raise Conflict(
                detail, code="booked_with_another_doctor", errors={"ticket_id": [detail]}
            )
