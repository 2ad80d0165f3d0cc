"""A ticket's history: every transition with its time and actor, across the transfers that
led to it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.base import iso
from clinic.queue.models import Ticket, TicketEvent


def history(session: Session, ticket: Ticket) -> list[dict]:
    """The ticket's transitions, following transfers back to the first ticket."""
    chain, current = [], ticket
    while current is not None:
        chain.append(current.id)
        current = (
            session.get(Ticket, current.transferred_from_id)
            if current.transferred_from_id
            else None
        )
    rows = session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id.in_(chain))
        .order_by(TicketEvent.at, TicketEvent.id)
    ).all()
    return [
        {
            "ticket_id": r.ticket_id,
            "at": iso(r.at),
            "action": r.action,
            "from": r.from_status,
            "to": r.to_status,
            "actor": r.actor,
            "data": r.data,
        }
        for r in rows
    ]
