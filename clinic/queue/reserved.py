"""A patient booked with a named doctor is that doctor's to call.

In a department's shared queue every doctor of the department presses "call next". A ticket
that carries one of them's checked-in visit waits for him: another doctor's "call next"
passes over it (keeping its place for him), and another doctor's call back of it is refused
(409 ``booked_with_another_doctor``, at ``ticket_id``): served by him, the visit would be
completed as its own doctor's, in his figures and his patient's record. A walk-in's ticket
(no visit) is anyone's. A caller who is not a doctor (the desk calling for a room) calls as
ever. To have a colleague see the patient, the visit is moved to him on the calendar, and
its ticket follows (:mod:`clinic.visits.checkin`).

The staff screens show whose each such ticket is (``reserved_for``, the doctor's name, and
``reserved_for_id``), so that a doctor told "nobody" by call next sees why: :func:`fields`
for one ticket (its events), :func:`fields_of` for a page of them (one statement).

The queue knows nothing of visits (visits depend on the queue): the visits module registers,
with :func:`on_reserve`, which tickets of a queue are another doctor's.
"""

from __future__ import annotations

from typing import Callable, Iterable

from sqlalchemy import Select
from sqlalchemy.orm import Session

from clinic.errors import Conflict
from clinic.queue.models import Queue, Ticket
from clinic.queue.models import TicketStatus as S

# fn(queue, doctor_id): a SELECT of the name and the id of the doctor (not ``doctor_id``;
# any doctor when it is None) a ticket of ``queue`` waits for, correlated to ``Ticket`` (no
# row: the caller may call it), or None when the queue keeps no ticket for one doctor. One
# index probe per ticket read: the pick stays one bounded statement.
Reserver = Callable[[Queue, "int | None"], "Select | None"]
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


# Only a ticket still to be called is kept for a doctor: one called is in a room already.
_KEPT = (S.WAITING, S.POSTPONED)
NOBODY = {"reserved_for": None, "reserved_for_id": None}


def fields_of(session: Session, queue_id: int, tickets: Iterable[Ticket]) -> dict[int, dict]:
    """``reserved_for`` and ``reserved_for_id`` of each of ``tickets`` (of queue
    ``queue_id``), by ticket id: the name and the id of the doctor it waits for, or None. One
    statement for them all (and the queue's row, if not read yet), none when no ticket still
    to be called carries a visit."""
    tickets = list(tickets)
    out = {ticket.id: dict(NOBODY) for ticket in tickets}
    ids = [t.id for t in tickets if t.visit_id is not None and t.status in _KEPT]
    if not ids:
        return out
    queue = session.get(Queue, queue_id)
    for reserver in _reservers:
        theirs = reserver(queue, None)
        if theirs is None:
            continue
        # With Ticket among its columns the correlated SELECT reads the tickets themselves.
        rows = session.execute(theirs.add_columns(Ticket.id).where(Ticket.id.in_(ids)))
        for name, doctor_id, ticket_id in rows:
            out[ticket_id] = {"reserved_for": name, "reserved_for_id": doctor_id}
    return out


def fields(session: Session, ticket: Ticket) -> dict:
    """``reserved_for`` and ``reserved_for_id`` of one ticket (see :func:`fields_of`)."""
    if ticket.visit_id is None or ticket.status not in _KEPT:
        return dict(NOBODY)  # a walk-in's or a called ticket: no statement
    return fields_of(session, ticket.queue_id, [ticket])[ticket.id]
