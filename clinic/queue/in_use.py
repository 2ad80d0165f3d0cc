"""What the patients of a queue's open day keep as it is, while they are in it.

A queue is switched off once nobody of an open day is in it: the desk and the doctor's screen
list only working queues, so a patient left in a switched-off one would be seen by nobody to
serve, transfer or cancel, and its prefix, free for another queue then, would give the board
two patients of one number. Its prefix is changed then for the same reason: its patients keep
their numbers ("T-001"), and the letters it gives up would be free for another queue.

A patient called to a doctor, or with him, is his to finish: the doctor is not moved to
another department, nor a queue given to another doctor or department, while he would lose
that patient (clinic.queue.access: he acts only on his own queues)."""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from clinic.accounts.models import User
from clinic.errors import Conflict, refusal
from clinic.queue.models import Queue, QueueDay, Ticket, TicketEvent
from clinic.queue.models import TicketStatus as S
from clinic.reference.editing import LOOKALIKES
from clinic.reference.in_use import doctor_department_check
from clinic.reference.models import Doctor

# How many of the tickets still in the queue its refusal names.
NAMED_TICKETS = 5
# A doctor's patient of the moment: called to him, or with him.
IN_HAND = (S.CALLED, S.IN_SERVICE)


def _open_days(session: Session, whose):
    """The ids of the open days of the queues ``whose`` (a condition on the queue) picks.
    Their rows are locked first, as a call locks them, so a patient called or postponed
    meanwhile is counted as he is."""
    open_days = (
        select(QueueDay.id)
        .join(Queue, Queue.id == QueueDay.queue_id)
        .where(whose, QueueDay.closed_at.is_(None))
    )
    if session.get_bind().dialect.name == "postgresql":
        session.execute(open_days.order_by(QueueDay.id).with_for_update(of=QueueDay)).all()
    return open_days


def _codes(session: Session, open_days, *where, limit: int | None = None) -> list[str]:
    """The codes of the tickets of ``open_days`` that ``where`` picks, in the order issued."""
    query = select(Ticket.code).where(Ticket.queue_day_id.in_(open_days), *where)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query.order_by(Ticket.id)).all())


def _named(codes: list[str]) -> str:
    return ", ".join(codes[:NAMED_TICKETS]) + (", ..." if len(codes) > NAMED_TICKETS else "")


def check_in_use(session: Session, queue: Queue, values: dict) -> None:
    """Refuse (409 ``queue_in_use``) a change of ``values`` that switches off a queue with
    patients of an open day still in it (waiting, called, with the doctor or postponed),
    naming ``active``, or gives it another prefix then, naming ``prefix``. A prefix another
    active queue has too (configured before a prefix belonged to one queue) frees nothing: it
    is changed at any time, so that the board tells the two queues' patients apart."""
    switched_off = values.get("active") is False and queue.active
    new_prefix = values.get("prefix", queue.prefix) != queue.prefix
    if switched_off:
        field, then = "active", "them first"
    elif new_prefix and not _prefix_kept_by_another(session, queue):
        field, then = "prefix", "them before giving it another prefix"
    else:
        return
    open_days = _open_days(session, Queue.id == queue.id)
    codes = _codes(session, open_days, Ticket.status.in_(S.ACTIVE), limit=NAMED_TICKETS + 1)
    if not codes:
        return
    message = (
        f"Queue {queue.code} still has patients in it ({_named(codes)}): serve, transfer or "
        f"cancel {then}."
    )
    raise refusal(
        Conflict,
        f"queue {queue.code} is in use",
        {field: [("queue_in_use", message)]},
        code="queue_in_use",
    )


def _prefix_kept_by_another(session: Session, queue: Queue) -> bool:
    """Whether another active queue numbers with the queue's prefix, or letters drawn the
    same (clinic.queue.admin): changing this queue's frees no letters."""
    looks = queue.prefix.translate(LOOKALIKES)
    others = session.scalars(
        select(Queue.prefix).where(Queue.active.is_(True), Queue.id != queue.id)
    )
    return any(other.translate(LOOKALIKES) == looks for other in others)


def _in_hands_of(doctor_ids):
    """A condition on a ticket (with its queue): called to one of the doctors ``doctor_ids``
    or with him. In a doctor's own queue every such patient is his; in a shared one, those
    called to his room, or whose last call he made himself (the room of his hours, or one
    the queue's callers share)."""
    rooms = select(Doctor.room_id).where(Doctor.id.in_(doctor_ids), Doctor.room_id.is_not(None))
    users = select(User.username).where(User.doctor_id.in_(doctor_ids))
    last_caller = (
        select(TicketEvent.actor)
        .where(TicketEvent.ticket_id == Ticket.id, TicketEvent.to_status == S.CALLED)
        .order_by(TicketEvent.id.desc())
        .limit(1)
        .correlate(Ticket)
        .scalar_subquery()
    )
    own_queues = select(Queue.id).where(Queue.doctor_id.in_(doctor_ids))
    return and_(
        Ticket.status.in_(IN_HAND),
        or_(Ticket.queue_id.in_(own_queues), Ticket.room_id.in_(rooms), last_caller.in_(users)),
    )


def check_owners_keep_patients(
    session: Session, queue: Queue, losing: set[int], fields: list[str]
) -> None:
    """Refuse (409 ``doctor_with_patients``, naming each of ``fields``) a change of the
    queue's doctor or department that takes it from the doctors ``losing`` while one of them
    has a patient of it called or with him: the queue no longer his own, he could not finish
    that patient, who would stay "with the doctor" all day."""
    if not losing or not fields:
        return
    open_days = _open_days(session, Queue.id == queue.id)
    codes = _codes(session, open_days, _in_hands_of(sorted(losing)))
    if not codes:
        return
    message = (
        f"Queue {queue.code} still has patients called or with its doctor ({_named(codes)}): "
        "finish with them first."
    )
    raise refusal(
        Conflict,
        message,
        {field: [("doctor_with_patients", message)] for field in fields},
        code="doctor_with_patients",
    )


@doctor_department_check
def _patients_in_departments_queues(session: Session, doctor: Doctor) -> tuple[str, list[str]]:
    """The patients ``doctor`` has called or is seeing in his department's shared queues,
    which are his no more once he is moved to another (his own queues stay his)."""
    shared = and_(Queue.doctor_id.is_(None), Queue.department_id == doctor.department_id)
    open_days = _open_days(session, shared)
    return "patients called", _codes(session, open_days, _in_hands_of([doctor.id]))
