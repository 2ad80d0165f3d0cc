"""Tickets issued once per request key: a kiosk's touch or a phone's join sent again after
the network lost its answer (``idempotency_key``) is answered with the ticket the first made,
not a second one. The key is kept on the ticket with whose it is (``request_key``, unique);
two requests with one key at the same moment end with one ticket, the loser's number rolled
back with its transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinic.errors import ValidationFailed
from clinic.queue.models import Ticket
from clinic.queue.tickets import issue_ticket


def request_key_of(whose: str, idempotency_key: str) -> str:
    """An idempotency key as the ticket keeps it, with whose it is (``kiosk:<account>``,
    ``online``): another's same key is another request. 8 to 100 characters, as an
    invoice's."""
    if not isinstance(idempotency_key, str) or not 8 <= len(idempotency_key) <= 100:
        raise ValidationFailed(
            "an idempotency key is 8 to 100 characters",
            errors={"idempotency_key": ["8 to 100 characters"]},
        )
    return f"{whose}:{idempotency_key}"


def issued_for(
    session: Session, request_key: str, queue_id, phone: str | None = None
) -> Ticket | None:
    """The ticket ``request_key`` issued before, when this request is the same as its: for
    the same queue, and the same (normalised) phone when joining. The same key for another
    queue or phone is the caller's mistake, not a repeat: a 422 naming it, as for invoices."""
    first = session.scalar(select(Ticket).where(Ticket.request_key == request_key))
    if first is not None and (first.queue_id, first.phone) != (queue_id, phone):
        raise ValidationFailed(
            "that idempotency key was used for another request",
            errors={"idempotency_key": ["already used for another ticket: use a new key"]},
        )
    return first


def issue_ticket_once(
    session: Session, queue_id: int, *, request_key: str | None, **asked
) -> tuple[Ticket, bool]:
    """:func:`issue_ticket` with ``commit``, made once per ``request_key`` (from
    :func:`request_key_of`): (the ticket, whether it is new). Without a key it is issued as
    ever, with no statement more."""
    if request_key is None:
        return issue_ticket(session, queue_id, commit=True, **asked), True
    first = issued_for(session, request_key, queue_id, asked.get("phone"))
    if first is not None:
        return first, False
    try:
        ticket = issue_ticket(session, queue_id, commit=True, request_key=request_key, **asked)
    except IntegrityError:
        # The same key in a request made at the same moment: its ticket stands. This one's
        # transaction held nothing else, and its number went back with it.
        session.rollback()
        first = issued_for(session, request_key, queue_id, asked.get("phone"))
        if first is None:
            raise
        return first, False
    return ticket, True
