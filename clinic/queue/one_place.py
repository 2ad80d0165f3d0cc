"""One place per patient in a queue's day: a patient who holds a ticket of the day still in
the queue (waiting, called, with the doctor, postponed), or sent on from it to come back and
not back yet, is given no second one by the desk, issued or by attaching him to a walk-in's
ticket, nor brought back on an old one, nor sent back there by his return."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, bindparam, case, literal_column, select, union_all
from sqlalchemy.orm import Session, aliased

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
    queue's day still in the queue (or sent on from it to come back): ``ticket`` put back in
    the queue, or given him, would be his second place there."""
    if patient_id is None:
        return
    asked = {"patient_id": patient_id, "queue_id": ticket.queue_id, "except_id": ticket.id}
    held = session.scalar(_held(QueueDay.id == ticket.queue_day_id), asked)
    if held is not None:
        raise PatientInQueue(held)


def _held(of_the_day, *, but_one: bool = True):
    """The code of the patient's ticket that holds his place in the queue's day (``of_the_day``
    picks the day's row; none: null): one still in the queue, read by the day's calling-order
    index, or one sent on from it (to the laboratory) whose onward ticket is still in its
    queue and brings him back here (the transfer asked for it, or the ticket it came from
    did: his return is kept along the chain); once back here, he holds the ticket he came
    back with. One statement however far he was sent."""
    queue_id, patient_id = bindparam("queue_id"), bindparam("patient_id")
    sent_on = (
        select(
            Ticket.id.label("origin_id"),
            Ticket.code.label("code"),
            Ticket.id.label("at_id"),
            literal_column("0").label("returns"),
        )
        .join(QueueDay, QueueDay.id == Ticket.queue_day_id)
        .where(of_the_day, Ticket.status == S.TRANSFERRED, Ticket.patient_id == patient_id)
        .cte("sent_on", recursive=True)
    )
    onward = aliased(Ticket)
    sent_on = sent_on.union_all(
        select(
            sent_on.c.origin_id,
            sent_on.c.code,
            onward.id,
            case((onward.return_to_queue_id == queue_id, 1), else_=sent_on.c.returns),
        ).where(onward.transferred_from_id == sent_on.c.at_id, onward.queue_id != queue_id)
    )
    still_in = aliased(Ticket)
    returning = (
        select(sent_on.c.code, sent_on.c.origin_id.label("id"))
        .join(still_in, still_in.id == sent_on.c.at_id)
        .where(sent_on.c.returns == 1, still_in.status.in_(S.ACTIVE))
    )
    in_queue = (
        select(Ticket.code, Ticket.id)
        .join(QueueDay, QueueDay.id == Ticket.queue_day_id)
        .where(of_the_day, Ticket.status.in_(S.ACTIVE), Ticket.patient_id == patient_id)
    )
    if but_one:
        in_queue = in_queue.where(Ticket.id != bindparam("except_id"))
    either = union_all(in_queue, returning).subquery()
    return select(either.c.code).order_by(either.c.id).limit(1)


# The code of a ticket holding the patient's place in the queue on the day (none: null).
_HELD = _held(
    and_(QueueDay.queue_id == bindparam("queue_id"), QueueDay.day == bindparam("on_day")),
    but_one=False,
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


def place_held(session: Session, patient_id: int, queue_id: int, day: date) -> str | None:
    """The code of the ticket that holds patient ``patient_id``'s place in queue ``queue_id``
    on ``day`` (still in the queue, or sent on from it to come back); None when he holds
    none. Read as it stands: his row is not taken."""
    asked = {"patient_id": patient_id, "queue_id": queue_id, "on_day": day}
    return session.scalar(_HELD, asked)


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
