"""A patient in two queues at once (the registrar gave him tickets for the laboratory and the
cardiologist): while one doctor has him, called or with him, the other's "call next" passes
over him, and he keeps his place there until he is free; calling him back from the postponed
list waits for him too.

Two doctors calling at the same instant would each find him free: the call takes his
patient record's row first (on PostgreSQL), so the second waits for the first and, finding
him taken, calls the next one instead.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, aliased

from clinic.queue.models import QueueDay, Ticket
from clinic.queue.models import TicketStatus as S
from clinic.reference.models import Patient

_OTHER = aliased(Ticket)


def _busy(day: date):
    """The patients a doctor has on clinic day ``day``: called, or with him."""
    return (
        select(_OTHER.patient_id)
        .join(QueueDay, QueueDay.id == _OTHER.queue_day_id)
        .where(QueueDay.day == day, _OTHER.status.in_((S.CALLED, S.IN_SERVICE)))
        .where(_OTHER.patient_id.is_not(None))
    )


def free_now(waiting: Select, day: date) -> Select:
    """``waiting`` without the tickets of a patient another doctor has now (one without a
    patient record is called as ever)."""
    return waiting.where(or_(Ticket.patient_id.is_(None), Ticket.patient_id.not_in(_busy(day))))


def taken_elsewhere(session: Session, ticket: Ticket, day: date) -> bool:
    """Whether another doctor has ``ticket``'s patient now (called, or with him). On
    PostgreSQL his record's row is locked until the caller commits first, so a doctor calling
    him at the same instant waits for this call and then finds him taken."""
    if ticket.patient_id is None:
        return False
    if session.get_bind().dialect.name == "postgresql":  # SQLite: one writer at a time
        # NO KEY UPDATE: two calls take turns over him, while a ticket issued for him
        # meanwhile (its reference to his record) does not wait for the call.
        lock = select(Patient.id).where(Patient.id == ticket.patient_id)
        session.execute(lock.with_for_update(key_share=True))
    busy = _busy(day).where(_OTHER.patient_id == ticket.patient_id, _OTHER.id != ticket.id)
    return session.scalar(busy.limit(1)) is not None
