"""Who may read which channel. Each kind of channel declares a rule; unknown kinds are closed.

A socket is opened with credentials: the session cookie of our pages, a bearer token (header,
or ``?token=`` for display screens that cannot send headers), or a patient's ticket secret
(``?ticket=``). A socket with none is closed at once with 1008 (policy violation), and so is
one that asks for a channel its identity may not read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import g
from sqlalchemy.orm import Session

from clinic.channels import channel_key, channel_kind
from clinic.events import valid_channel
from clinic.models import Queue
from clinic.services import queue as q
from clinic.services import queue_admin, tokens

from ..auth.identity import Identity

Rule = Callable[[object, str, Session], bool]
_rules: dict[str, Rule] = {}


@dataclass(frozen=True)
class PatientIdentity:
    """A patient holding one ticket's secret: reads that ticket and its queue's board."""

    ticket_id: int
    queue_id: int


def channel_rule(kind: str):
    def register(rule: Rule) -> Rule:
        _rules[kind] = rule
        return rule

    return register


def may_read(identity, channel: str, session: Session) -> bool:
    if identity is None or not valid_channel(channel):
        return False
    rule = _rules.get(channel_kind(channel))
    return bool(rule and rule(identity, channel, session))


def _can(identity, permission: str) -> bool:
    return isinstance(identity, Identity) and identity.can(permission)


def _queue_id(channel: str) -> int | None:
    key = channel_key(channel)
    return int(key) if key.isdigit() and len(key) < 10 else None


@channel_rule("job")
def _job(identity, channel: str, session: Session) -> bool:
    return _can(identity, "jobs.read")


@channel_rule("reference")
def _reference(identity, channel: str, session: Session) -> bool:
    if channel == "reference:patients":
        return _can(identity, "patients.read")
    return _can(identity, "reference.read")


@channel_rule("board")
def _board(identity, channel: str, session: Session) -> bool:
    if isinstance(identity, PatientIdentity):
        return _queue_id(channel) == identity.queue_id
    return _can(identity, "board.view") or _can(identity, "queue.read")


@channel_rule("queue")
def _staff(identity, channel: str, session: Session) -> bool:
    if not _can(identity, "queue.read"):
        return False
    if identity.doctor_id is None or identity.can("queue.manage") or identity.can("queue.issue"):
        return True
    queue_id = _queue_id(channel)
    queue = session.get(Queue, queue_id) if queue_id else None
    return queue is not None and queue_admin.doctor_may_act(session, queue, identity.doctor_id)


@channel_rule("ticket")
def _ticket(identity, channel: str, session: Session) -> bool:
    if isinstance(identity, PatientIdentity):
        return _queue_id(channel) == identity.ticket_id
    return _can(identity, "queue.read")


@channel_rule("printing")
def _printing(identity, channel: str, session: Session) -> bool:
    return _can(identity, "queue.issue")


def authenticate(request, session: Session):
    """The identity behind a WebSocket handshake, or None when it carries no credentials."""
    if g.get("identity") is not None:
        return g.identity
    token = request.args.get("token")
    if token:
        user = tokens.user_for_token(session, token)
        return Identity.of(user, "token") if user else None
    secret = request.args.get("ticket")
    if secret:
        ticket = q.ticket_by_token(session, secret)
        return PatientIdentity(ticket.id, ticket.queue_id) if ticket else None
    return None
