"""Who may read the queue's channels: boards, staff views, tickets and print requests."""

from __future__ import annotations

from sqlalchemy.orm import Session

from clinic.channels import int_key
from clinic.queue import admin as queue_admin
from clinic.queue import snapshots  # noqa: F401 - registers the queue's channel snapshots
from clinic.queue.models import Queue
from web.ws.access import PatientIdentity, can, channel_rule


@channel_rule("board")
def _board(identity, channel: str, session: Session) -> bool:
    if isinstance(identity, PatientIdentity):
        return int_key(channel) == identity.queue_id
    return can(identity, "board.view") or can(identity, "queue.read")


@channel_rule("queue")
def _staff(identity, channel: str, session: Session) -> bool:
    if not can(identity, "queue.read"):
        return False
    if identity.doctor_id is None or identity.can("queue.manage") or identity.can("queue.issue"):
        return True
    queue_id = int_key(channel)
    queue = session.get(Queue, queue_id) if queue_id else None
    return queue is not None and queue_admin.doctor_may_act(session, queue, identity.doctor_id)


@channel_rule("ticket")
def _ticket(identity, channel: str, session: Session) -> bool:
    if isinstance(identity, PatientIdentity):
        return int_key(channel) == identity.ticket_id
    return can(identity, "queue.read")


@channel_rule("printing")
def _printing(identity, channel: str, session: Session) -> bool:
    return can(identity, "queue.issue")
