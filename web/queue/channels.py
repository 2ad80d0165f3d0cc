"""Who may read the queue's channels: boards, staff views, tickets and print requests.

Each rule asks the queue's one access rule (:mod:`clinic.queue.access`), as the API and the
pages do, so a doctor is refused here exactly what he is refused there.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from clinic.channels import int_key
from clinic.queue import snapshots  # noqa: F401 - registers the queue's channel snapshots
from clinic.queue import access
from clinic.queue.events import QUEUES_CHANNEL
from clinic.queue.models import Queue, Ticket
from web.auth.identity import Identity
from web.ws.access import PatientIdentity, ScreenIdentity, can, channel_rule


def _row(session: Session, model, channel: str):
    key = int_key(channel)
    return session.get(model, key) if key else None


@channel_rule("board")
def _board(identity, channel: str, session: Session) -> bool:
    if int_key(channel) is None:
        return False  # names no queue: no event would ever reach it
    if isinstance(identity, PatientIdentity):
        return int_key(channel) == identity.queue_id
    if isinstance(identity, ScreenIdentity):
        return int_key(channel) in identity.queue_ids
    return isinstance(identity, Identity) and access.may_read_board(identity.staff)


@channel_rule("queues")
def _queues(identity, channel: str, session: Session) -> bool:
    """Which queues are switched on, by id: the desk and the kiosk list them anyway, and so
    does anyone who may read a board."""
    return (
        channel == QUEUES_CHANNEL
        and isinstance(identity, Identity)
        and access.may_read_board(identity.staff)
    )


@channel_rule("queue")
def _staff(identity, channel: str, session: Session) -> bool:
    if not isinstance(identity, Identity):
        return False
    queue = _row(session, Queue, channel)
    return queue is not None and access.may_read_queue(session, identity.staff, queue)


@channel_rule("ticket")
def _ticket(identity, channel: str, session: Session) -> bool:
    if isinstance(identity, PatientIdentity):
        return int_key(channel) == identity.ticket_id
    if not isinstance(identity, Identity):
        return False
    ticket = _row(session, Ticket, channel)
    return ticket is not None and access.may_read_queue(session, identity.staff, ticket.queue)


# Print requests carry what the paper shows: a ticket's is the desk's to see, a receipt's
# (lines, amounts, cash tendered, the cashier) the cashiers'.
PRINT_REQUEST_READERS = {"printing:tickets": "queue.issue", "printing:receipts": "payments.read"}


@channel_rule("printing")
def _printing(identity, channel: str, session: Session) -> bool:
    permission = PRINT_REQUEST_READERS.get(channel)
    return permission is not None and can(identity, permission)
