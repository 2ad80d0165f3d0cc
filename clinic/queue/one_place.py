"""One place per patient in a queue's day: a patient who holds a ticket of the day still in
the queue (waiting, called, with the doctor, postponed) is given no second one by the desk,
issued or by attaching him to a walk-in's ticket, nor brought back on an old one."""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from clinic.base import is_id
from clinic.errors import Conflict
from clinic.queue.models import QueueDay, Ticket
from clinic.queue.models import TicketStatus as S
from clinic.reference.models import Patient


class PatientInQueue(Conflict):
    """The patient holds a ticket of the queue's day still in the queue (``patient_in_queue``,
    its code in ``values``): a second place there would be called for a patient the first
    already calls. The desk prints that one again rather than issue another."""

    def __init__(self, held: str):
        detail = f"the patient already holds {held} in this queue today"
        super().__init__(
            detail,
            code="patient_in_queue",
            errors={"patient_id": [detail]},
            values={"ticket_code": held},
        )


def refuse_a_second_place(session: Session, ticket: Ticket, patient_id: int | None) -> None:
    """:class:`PatientInQueue` when ``patient_id`` holds another ticket than ``ticket`` of its
    queue's day still in the queue: ``ticket`` put back in the queue, or given him, would be
    his second place there."""
    if patient_id is None:
        return
    held = session.scalar(
        select(Ticket.code)
        .where(
            Ticket.queue_day_id == ticket.queue_day_id,
            Ticket.patient_id == patient_id,
            Ticket.status.in_(S.ACTIVE),
            Ticket.id != ticket.id,
        )
        .limit(1)
    )
    if held is not None:
        raise PatientInQueue(held)


# The code of a ticket of the patient's still in the queue on the day (none: null), read by
# the day's calling-order index.
_HELD = (
    select(Ticket.code)
    .join(QueueDay, QueueDay.id == Ticket.queue_day_id)
    .where(
        QueueDay.queue_id == bindparam("queue_id"),
        QueueDay.day == bindparam("on_day"),
        Ticket.status.in_(S.ACTIVE),
        Ticket.patient_id == bindparam("patient_id"),
    )
    .order_by(Ticket.id)
    .limit(1)
)
# SQLite (one writer at a time): the patient and his ticket in one statement.
_PATIENT_AND_HELD = select(Patient, _HELD.scalar_subquery()).where(
    Patient.id == bindparam("patient_id")
)
# PostgreSQL: the patient's row taken first, so that two desks issuing for him at the same
# moment take turns, and the second reads the first's ticket once it is committed (read in
# a statement of its own: one begun before that commit would not see it).
_PATIENT_TAKEN = (
    select(Patient)
    .where(Patient.id == bindparam("patient_id"))
    .with_for_update(key_share=True)
    .execution_options(populate_existing=True)
)


def patient_and_held(
    session: Session, patient_id, queue_id: int, day: date, one_per_patient: bool
) -> tuple[Patient | None, str | None]:
    """The patient ``patient_id`` (None: none, or no such patient) and, when asked
    (``one_per_patient``), the code of his ticket still in the queue on ``day``: on
    PostgreSQL his row is held to the commit, and the ticket read once it is."""
    if not is_id(patient_id):
        return None, None
    if not one_per_patient:
        return session.get(Patient, patient_id), None
    asked = {"patient_id": patient_id, "queue_id": queue_id, "on_day": day}
    if session.get_bind().dialect.name == "postgresql":
        patient = session.scalar(_PATIENT_TAKEN, asked)
        return patient, (session.scalar(_HELD, asked) if patient is not None else None)
    row = session.execute(_PATIENT_AND_HELD, asked).first()
    return (row[0], row[1]) if row is not None else (None, None)
