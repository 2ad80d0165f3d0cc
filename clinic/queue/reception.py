"""What the reception desk does to a ticket besides issuing it: attach its patient."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from clinic.base import is_id, utcnow
from clinic.errors import Conflict, ValidationFailed
from clinic.queue.models import Ticket
from clinic.queue.models import TicketStatus as S
from clinic.queue.one_place import refuse_a_second_place
from clinic.queue.tickets import announce, record_history
from clinic.reference.models import Patient


def attach_patient(
    session: Session, ticket: Ticket, patient_id: int, *, actor: str = "", now=None
) -> Ticket:
    """The ticket is ``patient_id``'s from now on (found at the desk by name or phone, or
    registered there). Only a ticket still in the queue changes hands, and not one checked in
    for an appointment (``visit_ticket``), nor to a patient who holds another ticket of its
    queue's day still in the queue (``patient_in_queue``, as issuing him one is refused);
    attaching the same patient again changes nothing."""
    patient = session.get(Patient, patient_id) if is_id(patient_id) else None
    if patient is None or not patient.active:
        raise ValidationFailed("unknown patient", errors={"patient_id": ["no such patient"]})
    if ticket.status not in S.ACTIVE:
        raise Conflict(
            f"ticket {ticket.code} is {ticket.status}; it has left the queue",
            code="wrong_status",
        )
    if ticket.patient_id == patient.id:
        return ticket
    if ticket.visit_id is not None:
        # Checked in for an appointment: it is that visit's patient's, and serving it completes
        # his visit. Given to the next patient by a click on its row, it would complete (and
        # bill) an appointment of someone the doctor never saw.
        detail = f"ticket {ticket.code} is for visit {ticket.visit_id}, of its own patient"
        raise Conflict(detail, code="visit_ticket", errors={"patient_id": [detail]})
    if ticket.paid_at is not None and ticket.patient_id is not None:
        # Paid for by its patient (a "pay before the doctor" queue calls it on that payment):
        # given to another, he would be called on the first one's money, whose invoice stays
        # his. The next patient gets a ticket of his own.
        detail = f"ticket {ticket.code} is paid for by its patient"
        raise Conflict(detail, code="paid_ticket", errors={"patient_id": [detail]})
    refuse_a_second_place(session, ticket, patient.id)
    before = ticket.patient_id
    if not _swap_patient(session, ticket, before, patient.id):
        return ticket  # another desk attached him at the same time
    data = {"patient_id": patient.id, "previous_patient_id": before}
    record_history(session, ticket, "patient_attached", ticket.status, actor, now or utcnow(), data)
    announce(session, ticket, "patient_attached")
    return ticket


def _swap_patient(session: Session, ticket: Ticket, before: int | None, after: int) -> bool:
    """Give the ticket to ``after`` only as it was read: still in the queue, no visit's, and
    still ``before``'s. Two desks attaching at once, or a desk attaching while the ticket is
    cancelled or served, are told apart by the database (a guarded update), not by what each
    had read: the one that comes second is refused instead of overwriting the first unseen.
    False when the ticket was given to ``after`` at the same time (nothing to do)."""
    held = Ticket.patient_id.is_(None) if before is None else Ticket.patient_id == before
    result = session.execute(
        update(Ticket)
        .where(
            Ticket.id == ticket.id,
            Ticket.status.in_(S.ACTIVE),
            Ticket.visit_id.is_(None),
            held,
        )
        .values(patient_id=after)
        .execution_options(synchronize_session=False)
    )
    session.refresh(ticket)
    if result.rowcount == 1:
        return True
    if ticket.status in S.ACTIVE and ticket.patient_id == after:
        return False
    if ticket.status not in S.ACTIVE:
        raise Conflict(
            f"ticket {ticket.code} is {ticket.status}; it has left the queue",
            code="wrong_status",
        )
    if ticket.visit_id is not None:
        detail = f"ticket {ticket.code} is for visit {ticket.visit_id}, of its own patient"
        raise Conflict(detail, code="visit_ticket", errors={"patient_id": [detail]})
    detail = f"ticket {ticket.code} was given to patient {ticket.patient_id} at the same time"
    raise Conflict(detail, code="patient_changed", errors={"patient_id": [detail]})
