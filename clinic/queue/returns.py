"""A patient's return from a transfer: sent from therapy to the laboratory "to come back",
he is given a ticket in therapy again once the laboratory has served him, ahead of those
waiting (priority ``RETURNED``), keeping his queue time, his payment and his appointment.

:func:`clinic.queue.calls.transfer` asks :func:`returns_to` where the new ticket takes the
patient back to; :func:`clinic.queue.calls.finish_service` asks :func:`send_back` for the
ticket there.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from clinic.queue import rejoined
from clinic.queue.models import Priority, Ticket, TicketStatus
from clinic.queue.one_place import place_held
from clinic.queue.tickets import QueueRefused, clinic_day, issue_ticket


def returns_to(
    ticket: Ticket, to_queue_id: int, return_after: bool, held: Ticket | None = None
) -> int | None:
    """Where the patient goes once seen in the queue he is sent to: back here when asked;
    else where this ticket was to take him back to (therapy sends him to the laboratory to
    come back, the laboratory sends him on to the X-ray: he still comes back to therapy),
    unless he is being sent there now: then, as on a return, where the ticket he ``held``
    there was to take him on to."""
    if return_after:
        return ticket.queue_id
    if held is not None:
        return _return_kept(held, ticket)
    if ticket.return_to_queue_id != to_queue_id:
        return ticket.return_to_queue_id
    return None


def send_back(
    session: Session, ticket: Ticket, *, tz: ZoneInfo, actor: str, now: datetime
) -> Ticket | None:
    """The new ticket that takes the patient of ``ticket``, just served, back to the queue
    it came by a transfer from, at a higher priority; None when that transfer did not ask
    for it.

    A first queue that takes no ticket any more (closed for the day, or switched off) does
    not keep the doctor from finishing: the patient is served and not sent back (None). Nor
    is a patient who holds a place there already (checked in there meanwhile): he is called
    by that ticket, not given a second place."""
    if ticket.return_to_queue_id is None:
        return None
    day = clinic_day(now, tz)
    if ticket.patient_id is not None and place_held(
        session, ticket.patient_id, ticket.return_to_queue_id, day
    ):
        return None
    sent_from = _sent_from(session, ticket, ticket.return_to_queue_id)
    if sent_from is None:
        # Sent back to a queue he never held a ticket in: his appointment's doctor is
        # another now (the visit moved while he was away), and he comes back to that visit.
        sent_from = _with_visit(session, ticket)
    try:
        with session.begin_nested():
            return issue_ticket(
                session,
                ticket.return_to_queue_id,
                tz=tz,
                source=ticket.source,
                priority=max(ticket.priority, Priority.RETURNED),
                patient_id=ticket.patient_id,
                phone=rejoined.phone_carried(session, ticket, ticket.return_to_queue_id, day),
                comment=ticket.comment,
                actor=actor,
                now=now,
                queued_at=ticket.queued_at,
                transferred_from_id=ticket.id,
                # Paid there before he was sent away, he comes back paid: a "pay before the
                # doctor" queue calls him without a second payment. And he comes back to the
                # appointment he was checked in for, which serving him there completes.
                paid_at=sent_from.paid_at if sent_from is not None else None,
                visit_id=sent_from.visit_id if sent_from is not None else None,
                return_to_queue_id=_return_kept(sent_from, ticket),
            )
    except QueueRefused:
        return None


def call_off(session: Session, ticket: Ticket) -> bool:
    """The patient sent on from ``ticket`` (to the laboratory) to come back does not come
    back: what he was to come back for is over (his visit completed on the calendar). Where
    he is sent now still serves him, and the returns between the queues he was sent on to
    stay (the laboratory sent him to the X-ray to come back to the laboratory). True when a
    return was called off."""
    chain = onward_of(session, ticket)
    if not chain or chain[-1].status not in TicketStatus.ACTIVE:
        return False
    inner = {t.queue_id for t in chain}
    returning = [t for t in chain if t.return_to_queue_id not in (None, *inner)]
    for sent in returning:
        sent.return_to_queue_id = None
    session.flush()
    return bool(returning)


def held_there(session: Session, ticket: Ticket, to_queue_id: int) -> Ticket | None:
    """The ticket the patient held in queue ``to_queue_id`` when ``ticket`` is transferred
    there and that is the queue he was to come back to (the laboratory sends him back by hand
    rather than finishing him): his appointment and his payment there come back with him, as
    on a return; None otherwise."""
    if ticket.return_to_queue_id != to_queue_id:
        return None
    return _sent_from(session, ticket, to_queue_id) or _with_visit(session, ticket)


def _return_kept(sent_from: Ticket | None, served: Ticket) -> int | None:
    """Where the patient goes once seen again in the queue he is sent back to: the return
    his ticket there was to take him on (therapy sent him to the laboratory to come back, and
    the laboratory sent him to the X-ray to come back: seen in the laboratory again, he still
    goes back to therapy); none when that return leads to the queue that has just served him
    (he has been there since)."""
    if sent_from is None or sent_from.return_to_queue_id == served.queue_id:
        return None
    return sent_from.return_to_queue_id


def _sent_from(session: Session, ticket: Ticket, queue_id: int) -> Ticket | None:
    """The ticket the patient last held in queue ``queue_id`` before ``ticket``: the one he
    was sent away from, to come back to that queue."""
    current = ticket
    while current.transferred_from_id is not None:
        current = session.get(Ticket, current.transferred_from_id)
        if current.queue_id == queue_id:
            return current
    return None


def _with_visit(session: Session, ticket: Ticket) -> Ticket | None:
    """The last ticket before ``ticket`` that carried the patient's appointment."""
    current = ticket
    while current.transferred_from_id is not None:
        current = session.get(Ticket, current.transferred_from_id)
        if current.visit_id is not None:
            return current
    return None


def onward_of(session: Session, ticket: Ticket) -> list[Ticket]:
    """The tickets the holder of ``ticket`` was given after it, oldest first: the one a
    transfer opened from it, the one he was sent back with, and so on (the last is the one
    :func:`clinic.queue.tickets.followed` finds); empty when he was never sent on."""
    chain: list[Ticket] = []
    while (onward := session.scalar(_ONWARD, {"from_id": ticket.id})) is not None:
        chain.append(onward)
        ticket = onward
    return chain


_ONWARD = (
    select(Ticket).where(Ticket.transferred_from_id == bindparam("from_id")).order_by(Ticket.id)
)


def priority_elsewhere(session: Session, ticket: Ticket) -> int:
    """The priority a patient who came back (``RETURNED``) takes to any other queue, where
    he is not coming back: his privilege, if the ticket he came back from had it (a
    privileged patient sent to the laboratory is privileged there, and after his return
    still is, also after returns from returns: the laboratory sent him on to the X-ray and
    back), else normal. A check-in for a booked visit came from no ticket: normal."""
    current = ticket
    while current.priority == Priority.RETURNED and current.transferred_from_id is not None:
        current = session.get(Ticket, current.transferred_from_id)
    if current is not ticket and current.priority == Priority.PRIVILEGED:
        return Priority.PRIVILEGED
    return Priority.NORMAL
