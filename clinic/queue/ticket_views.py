"""What the screens see of a ticket: a public board (numbers and rooms, never a name or a
phone) and the staff."""

from __future__ import annotations

from clinic.base import iso
from clinic.queue.models import Priority, Ticket


def board_view(ticket: Ticket) -> dict:
    """What a public board may show: number, room, queue. Never a name or a phone."""
    return {
        "ticket_id": ticket.id,
        "code": ticket.code,
        "queue_id": ticket.queue_id,
        "room": ticket.room.number if ticket.room else None,
        "status": ticket.status,
        "recalls": ticket.recalls,
        # A board showing several queues orders their calls by this.
        "called_at": iso(ticket.called_at),
    }


def ticket_as_dict(ticket: Ticket) -> dict:
    """The staff view of a ticket."""
    return {
        "id": ticket.id,
        "code": ticket.code,
        "number": ticket.number,
        "queue_id": ticket.queue_id,
        "source": ticket.source,
        "priority": Priority.NAME_OF[ticket.priority],
        "status": ticket.status,
        "room": ticket.room.number if ticket.room else None,
        "room_id": ticket.room_id,
        "patient_id": ticket.patient_id,
        "visit_id": ticket.visit_id,
        "phone": ticket.phone,
        "comment": ticket.comment,
        "queued_at": iso(ticket.queued_at),
        "created_at": iso(ticket.created_at),
        "called_at": iso(ticket.called_at),
        "started_at": iso(ticket.started_at),
        "finished_at": iso(ticket.finished_at),
        "recalls": ticket.recalls,
        "paid_at": iso(ticket.paid_at),
        "transferred_from_id": ticket.transferred_from_id,
        "return_to_queue_id": ticket.return_to_queue_id,
    }
