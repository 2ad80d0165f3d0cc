"""Whom and what an invoice is for: the patient, his queue ticket and his appointment, each
checked to exist and to be that patient's; and an appointment's invoice made before the
patient came, which names his ticket once he checks in."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from clinic.base import is_id
from clinic.errors import NotFound, ValidationFailed
from clinic.payments.models import Invoice
from clinic.payments.models import InvoiceStatus as S
from clinic.queue import followers
from clinic.queue.models import QueueDay, Ticket, TicketStatus
from clinic.queue.tickets import clinic_day, set_paid
from clinic.reference.models import Patient
from clinic.visits.checkin import on_check_in
from clinic.visits.models import Visit


def _known_patient(session: Session, patient_id) -> Patient:
    patient = session.get(Patient, patient_id) if is_id(patient_id) else None
    if patient is None:
        raise NotFound(
            f"patient {patient_id} does not exist", errors={"patient_id": ["unknown patient"]}
        )
    return patient


def invoiced_for(
    session: Session, patient_id, ticket_id, visit_id, *, tz: ZoneInfo, now: datetime
) -> tuple[Patient, Ticket | None, int | None]:
    """The patient, the ticket (or None) and the visit's id (or None) of a new invoice. A
    ticket the patient got by checking in for an appointment brings its visit. The ticket is
    one of those :func:`todays_tickets` offers: of the clinic day (in ``tz``), still in a
    queue or served; a ticket cancelled, sent on or given up, or of another day, is no
    ticket to pay for (paid, it would be called on nobody's behalf, or not at all)."""
    patient = _known_patient(session, patient_id)
    if not patient.active:
        # A deactivated record (a duplicate, one merged away) is chosen for nothing new, as
        # issuing a ticket and booking refuse it.
        raise ValidationFailed(
            "the patient's record is deactivated", errors={"patient_id": ["inactive patient"]}
        )
    ticket = None
    if ticket_id is not None:
        ticket = session.get(Ticket, ticket_id) if is_id(ticket_id) else None
        if ticket is None:
            raise NotFound(
                f"ticket {ticket_id} does not exist", errors={"ticket_id": ["unknown ticket"]}
            )
        if ticket.patient_id is not None and ticket.patient_id != patient.id:
            raise ValidationFailed(
                "the ticket is another patient's",
                errors={"ticket_id": ["belongs to another patient"]},
            )
        if ticket.status not in BILLABLE:
            raise ValidationFailed(
                f"the ticket is {ticket.status.replace('_', ' ')}: it is in no queue now",
                errors={"ticket_id": [f"a {ticket.status.replace('_', ' ')} ticket"]},
            )
        if session.get(QueueDay, ticket.queue_day_id).day != clinic_day(now, tz):
            raise ValidationFailed(
                "the ticket is of another day", errors={"ticket_id": ["a ticket of another day"]}
            )
    return patient, ticket, _visit_of(session, patient, ticket, visit_id)


def ticket_of_visit(
    session: Session, visit_id, patient_id, *, tz: ZoneInfo, now: datetime
) -> int | None:
    """The ticket of the clinic day (in ``tz``) his check-in for visit ``visit_id`` gave
    patient ``patient_id``, still in its queue (None: not checked in, no such visit, or
    another patient's, refused as such by :func:`invoiced_for`): an invoice for the
    appointment alone, made once he is in the queue, is for that ticket, as one made before
    he came is given it at his check-in. The visit's row is read shared (PostgreSQL; SQLite
    serialises writers): a check-in being committed is waited for, and its ticket found."""
    if not is_id(visit_id):
        return None
    visit = select(Visit.id).where(Visit.id == visit_id)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(visit.with_for_update(read=True))
    return session.scalar(
        select(Ticket.id)
        .join(QueueDay, QueueDay.id == Ticket.queue_day_id)
        .where(
            Ticket.visit_id == visit_id,
            Ticket.patient_id == patient_id,
            Ticket.status.in_(TicketStatus.ACTIVE),
            QueueDay.day == clinic_day(now, tz),
        )
        .order_by(Ticket.id.desc())
        .limit(1)
    )


def _visit_of(session: Session, patient: Patient, ticket, visit_id) -> int | None:
    """The appointment an invoice is for: the one named, else the ticket's own."""
    if visit_id is None:
        return ticket.visit_id if ticket is not None else None
    visit = session.get(Visit, visit_id) if is_id(visit_id) else None
    if visit is None:
        raise NotFound(f"visit {visit_id} does not exist", errors={"visit_id": ["unknown visit"]})
    if visit.patient_id != patient.id:
        raise ValidationFailed(
            "the visit is another patient's", errors={"visit_id": ["belongs to another patient"]}
        )
    if ticket is not None and ticket.visit_id not in (None, visit.id):
        raise ValidationFailed(
            "the ticket is for another visit", errors={"ticket_id": ["is for another visit"]}
        )
    return visit.id


# A desk invoice is for a ticket still in its queue or one just served (the doctor sent him
# for an analysis): not for a ticket cancelled, moved on or given up.
BILLABLE = (*TicketStatus.ACTIVE, TicketStatus.SERVED)
# More than a patient holds in one day: the list the cashier chooses from stays short.
TICKETS_OF_DAY_LIMIT = 20


def todays_tickets(session: Session, patient_id, *, tz: ZoneInfo, now: datetime) -> list[Ticket]:
    """The patient's tickets of the clinic day (in ``tz``) a new invoice may be for, the
    newest first; NotFound naming ``patient_id`` for no such patient."""
    patient = _known_patient(session, patient_id)
    query = (
        select(Ticket)
        .join(QueueDay, QueueDay.id == Ticket.queue_day_id)
        .where(
            QueueDay.day == clinic_day(now, tz),
            Ticket.patient_id == patient.id,
            Ticket.status.in_(BILLABLE),
        )
        .order_by(Ticket.id.desc())
        .limit(TICKETS_OF_DAY_LIMIT)
    )
    return list(session.scalars(query))


@on_check_in
def _invoices_follow_the_patient(
    session: Session, visit: Visit, ticket: Ticket, actor: str, now: datetime
) -> None:
    """The appointment's invoices, made before he came (paid ahead by Payme or Click, or at
    the desk), are for the ticket his check-in issued: paid, it is a paid ticket that a "pay
    before the doctor" queue calls; open, the desk and his phone page show it with the
    ticket. An invoice already holding an active ticket keeps it; one holding the ticket of
    an earlier check-in, cancelled when the visit moved to another day or transferred when
    it moved to another doctor's queue, takes the new one."""
    inactive = select(Ticket.id).where(Ticket.status.not_in(TicketStatus.ACTIVE))
    query = (
        select(Invoice)
        .where(
            Invoice.visit_id == visit.id,
            Invoice.status.in_((S.OPEN, *S.SETTLED)),
            or_(Invoice.ticket_id.is_(None), Invoice.ticket_id.in_(inactive)),
        )
        .order_by(Invoice.id)
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Locked as a payment locks them (SQLite serialises writers already): one being paid
        # right now is read once paid, or its payment reads the ticket it is for now.
        query = query.with_for_update(of=Invoice)
    invoices = session.scalars(query).all()
    for invoice in invoices:
        invoice.ticket_id = ticket.id
        if invoice.status in S.SETTLED:
            set_paid(
                session,
                ticket.id,
                invoice.paid_at or now,
                actor=actor,
                now=now,
                data={"invoice_id": invoice.id},
            )
    session.flush()


@followers.on_lock
def _lock_the_visits_invoices(session: Session, visit_ids: list[int]) -> None:
    """A queue step that moves a checked-in patient's ticket (sent on to a colleague, back
    from the laboratory, a move of his visit) may carry the appointment's invoices to the new
    ticket (above): they are locked with the visits, before the queue's rows, in the order a
    payment takes them (the invoice, then its ticket). Locked after the ticket, a payment of
    the invoice at that moment, waiting for the ticket it marks paid, would hold the invoice
    the step waits for: a deadlock. SQLite serialises writers already."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        select(Invoice.id)
        .where(Invoice.visit_id.in_(visit_ids), Invoice.status.in_((S.OPEN, *S.SETTLED)))
        .order_by(Invoice.id)
        .with_for_update()
    )
