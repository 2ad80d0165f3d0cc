"""Which tickets of a department's shared queue wait for one doctor (see
:mod:`clinic.queue.reserved`): those of a visit checked in with him, while he calls from
that queue.

He calls from it while he works in its department, is switched on and has no active queue
of his own: there his check-ins go (:func:`clinic.visits.checkin.queue_for`). A visit sent on
for good from his own queue to the shared one, or of a doctor who has left or moved to
another department, is anyone's there, so no patient waits for a doctor who will not call
him. Only a checked-in visit (arrived, or started) keeps its ticket: a visit cancelled or
missed leaves it to anyone.
"""

from __future__ import annotations

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session, aliased

from clinic.queue import reserved
from clinic.queue import tickets as q
from clinic.queue.models import Queue, Ticket
from clinic.queue.models import TicketStatus as S
from clinic.reference.listeners import on_change
from clinic.reference.models import Doctor
from clinic.visits.events import VisitStatus
from clinic.visits.models import Visit

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
