"""Tickets issued once per request key: a kiosk's touch, a desk's press or a phone's join sent
again after the network lost its answer (``idempotency_key``) is answered with the ticket the
first made, not a second one. The key is kept on the ticket with whose it is
(``request_key``, unique); two requests with one key at the same moment end with one ticket,
the loser's number rolled back with its transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinic.errors import ValidationFailed
from clinic.queue.limits import COMMENT_MAX
from clinic.queue.models import Ticket, TicketEvent
from clinic.queue.one_place import PatientInQueue
from clinic.queue.tickets import QueueRefused, issue_ticket


def request_key_of(whose: str, idempotency_key: str) -> str:
    """An idempotency key as the ticket keeps it, with whose it is (``kiosk:<account>``,
    ``desk:<user>``, ``online``): another's same key is another request. 8 to 100
    characters, as an invoice's."""
    if not isinstance(idempotency_key, str) or not 8 <= len(idempotency_key) <= 100:
        raise ValidationFailed(
            "an idempotency key is 8 to 100 characters",
            errors={"idempotency_key": ["8 to 100 characters"]},
        )
    return f"{whose}:{idempotency_key}"


def issued_for(
    session: Session,
    request_key: str,
    queue_id,
    phone: str | None = None,
    asked: dict | None = None,
) -> Ticket | None:
    """The ticket ``request_key`` issued before, when this request is the same as its: for
    the same queue, the same (normalised) phone when joining, and what else it ``asked`` of
    :func:`issue_ticket` (at the desk: the source, priority, patient and comment). The same
    key for another request is the caller's mistake, not a repeat: a 422 naming it, as for
    invoices."""
    first = session.scalar(select(Ticket).where(Ticket.request_key == request_key))
    if first is not None and not _same_request(session, first, queue_id, phone, asked or {}):
        raise ValidationFailed(
            "that idempotency key was used for another request",
            errors={"idempotency_key": ["already used for another ticket: use a new key"]},
        )
    return first


def _same_request(session: Session, first: Ticket, queue_id, phone, asked: dict) -> bool:
    if (first.queue_id, first.phone) != (queue_id, phone):
        return False
    kept = {"source": first.source, "priority": first.priority, "comment": first.comment}
    if "comment" in asked:
        asked = {**asked, "comment": (asked["comment"] or "")[:COMMENT_MAX]}  # as it is kept
    if any(name in asked and asked[name] != value for name, value in kept.items()):
        return False
    if "patient_id" not in asked or asked["patient_id"] == first.patient_id:
        return True
    # The desk may have given the ticket a patient since (a kiosk's, found at the desk): the
    # request is compared with the patient it was issued for.
    return asked["patient_id"] == _issued_to(session, first)


def _issued_to(session: Session, ticket: Ticket) -> int | None:
    """The patient ``ticket`` was issued for: the one its first attaching took it from."""
    attached = session.scalar(
        select(TicketEvent.data)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.action == "patient_attached")
        .order_by(TicketEvent.id)
        .limit(1)
    )
    return ticket.patient_id if attached is None else attached.get("previous_patient_id")


def issue_ticket_once(
    session: Session, queue_id: int, *, request_key: str | None, **asked
) -> tuple[Ticket, bool]:
    """:func:`issue_ticket` with ``commit``, made once per ``request_key`` (from
    :func:`request_key_of`): (the ticket, whether it is new). With a key or without, a new
    ticket costs the same statements; a repeat is answered with the first ticket, a key
    used for another request is 422 naming ``idempotency_key``."""
    if request_key is None:
        return issue_ticket(session, queue_id, commit=True, **asked), True
    # Issued first, looked up only when refused: a press whose answer came back (nearly all)
    # costs the statements of one without a key.
    try:
        ticket = issue_ticket(session, queue_id, commit=True, request_key=request_key, **asked)
    except (IntegrityError, QueueRefused, PatientInQueue):
        # The key's ticket stands (made by this press before the network lost its answer,
        # or by the same request at the same moment): the insert of a second conflicts, the
        # patient is in the queue by it, or the queue has closed since it was issued. This
        # one's transaction held nothing else, and its number went back with it.
        session.rollback()
        first = issued_for(session, request_key, queue_id, asked.get("phone"), asked)
        if first is None:
            raise
        return first, False
    return ticket, True
