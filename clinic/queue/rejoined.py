"""A patient who joined online, was marked a no-show and joined again from his phone holds
his new ticket: the first one is not taken back beside it (a phone holds one active online
ticket of a queue's day)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.errors import Conflict
from clinic.queue.models import QueueDay, Ticket, TicketSource
from clinic.queue.models import TicketStatus as S


def active_online_ticket(session: Session, queue_day_id: int, phone: str) -> Ticket | None:
    """The phone's online ticket of the day still in the queue (one at most)."""
    return session.scalar(
        select(Ticket).where(
            Ticket.queue_day_id == queue_day_id,
            Ticket.phone == phone,
            Ticket.source == TicketSource.ONLINE,
            Ticket.status.in_(S.ACTIVE),
        )
    )


def phone_carried(session: Session, ticket: Ticket, queue_id: int, day: date) -> str | None:
    """The phone the ticket a transfer (or a return) opens from ``ticket`` in ``queue_id``
    on ``day`` carries: ``ticket``'s, so that the desk finds a patient who lost his link by
    it wherever he was sent; none when that phone holds an online ticket of that day already
    (he joined the laboratory himself too: a phone holds one online ticket of a day)."""
    if ticket.source != TicketSource.ONLINE or not ticket.phone:
        return ticket.phone
    day_id = session.scalar(
        select(QueueDay.id).where(QueueDay.queue_id == queue_id, QueueDay.day == day)
    )
    if day_id is not None and active_online_ticket(session, day_id, ticket.phone) is not None:
        return None
    return ticket.phone


def check_not_rejoined(session: Session, ticket: Ticket) -> None:
    """Refuse (409 ``rejoined``, naming the ticket he holds now) to take back an online
    no-show whose phone has joined the same queue's day again since. Asked with the day's row
    locked, which a join takes before it writes its ticket."""
    if ticket.source != TicketSource.ONLINE or not ticket.phone:
        return
    holds = active_online_ticket(session, ticket.queue_day_id, ticket.phone)
    if holds is not None and holds.id != ticket.id:
        detail = (
            f"{ticket.code}'s patient has joined the queue again as {holds.code}: call him by it"
        )
        raise Conflict(detail, code="rejoined", errors={"ticket_id": [detail]})
