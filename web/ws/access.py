"""Who may read which channel. Each kind of channel declares a rule; unknown kinds are closed.

A socket is opened with credentials: the session cookie of our pages, a bearer token (header,
or ``?token=`` for scripts that cannot send headers), a patient's ticket secret
(``?ticket=``), or a paired board screen's device cookie. A socket with none is closed at
once with 1008 (policy violation), and so is one that asks for a channel its identity may not
read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from flask import current_app, g
from flask import session as http_session
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from clinic import jobs
from clinic.accounts import tokens
from clinic.accounts.models import User
from clinic.channels import channel_kind
from clinic.events.outbox import CHANNEL_RE
from clinic.jobs.models import Job
from clinic.queue import screens
from clinic.queue import tickets as q
from web.auth.identity import Identity

log = logging.getLogger(__name__)

Rule = Callable[[object, str, Session], bool]
_rules: dict[str, Rule] = {}
# What one reader is shown of a channel he may read, where readers differ: given the
# identity, the event's type (SNAPSHOT for the snapshot), its data and a session, the data
# to send, or None to send nothing of that event.
View = Callable[[object, str, object, Session], object]
_views: dict[str, View] = {}
SNAPSHOT = "snapshot"


@dataclass(frozen=True)
class Credential:
    """What opened a socket, kept to check again later: ``session`` (the session's key in
    Redis), ``token`` (the API token) or ``ticket`` (the ticket's secret)."""

    kind: str
    secret: str = ""

    def __repr__(self) -> str:  # never print the secret
        return f"Credential({self.kind!r})"


@dataclass(frozen=True)
class PatientIdentity:
    """A patient holding one ticket's secret: reads that ticket and its queue's board."""

    ticket_id: int
    queue_id: int


# The device cookie of a screen paired with a board (web/queue/boards.py).
SCREEN_COOKIE = "clinic_board"


@dataclass(frozen=True)
class ScreenIdentity:
    """A screen paired with a board: reads the board channels of that board's queues."""

    screen_id: int
    board_id: int
    queue_ids: frozenset
    # The display account that paired it by itself (its notices reach the screen), or None.
    paired_by_user_id: int | None = None

    @classmethod
    def of(cls, screen) -> "ScreenIdentity | None":
        if screen is None or not screen.board.active:
            return None
        ids = frozenset(i for i in screen.board.queue_ids or [] if isinstance(i, int))
        return cls(screen.id, screen.board_id, ids, screen.paired_by_user_id)


def channel_rule(kind: str):
    def register(rule: Rule) -> Rule:
        _rules[kind] = rule
        return rule

    return register


def channel_view(kind: str):
    def register(view: View) -> View:
        _views[kind] = view
        return view

    return register


def view_of(channel: str) -> View | None:
    """The channel's view, or None when every reader is shown the same."""
    return _views.get(channel_kind(channel))


def whole_channel_name(channel) -> bool:
    """The whole of ``channel`` matches the channel pattern: ``$`` alone also matches before a
    final line break, and ``job:<id>\\n`` names no channel any event goes to."""
    return isinstance(channel, str) and CHANNEL_RE.fullmatch(channel) is not None


def may_read(identity, channel: str, session: Session) -> bool:
    if identity is None or not whole_channel_name(channel):
        return False
    rule = _rules.get(channel_kind(channel))
    return bool(rule and rule(identity, channel, session))


def can(identity, permission: str) -> bool:
    return isinstance(identity, Identity) and identity.can(permission)


@channel_rule("job")
def _job(identity, channel: str, session: Session) -> bool:
    if not can(identity, "jobs.read"):
        return False
    job_id = channel.split(":", 1)[1]
    job = session.get(Job, job_id) if len(job_id) <= 32 else None
    # No such job: nothing to hide (its id, a random one, is not known before it exists).
    return job is None or jobs.may_follow(job, identity.username, identity.can)


# The reference data's doctors: a doctor's record (his department) decides which queues are his.
DOCTORS_CHANNEL = "reference:doctors"


def holder_changed_by(event: dict) -> tuple[str, int] | None:
    """The holder whose sockets an event's change concerns, ``("doctor", 4)`` for a doctor's
    record changed (moved to another department: other queues are his now); None mostly."""
    data = event.get("data")
    if event.get("channel") != DOCTORS_CHANNEL or not isinstance(data, dict):
        return None
    doctor_id = data.get("id")
    if not isinstance(doctor_id, int) or isinstance(doctor_id, bool):
        return None
    return "doctor", doctor_id


def authenticate(request, session: Session):
    """The identity behind a WebSocket handshake, or None when it carries no credentials.

    A ticket's secret named in the address comes first: the patient's page asks for his
    ticket, and reads it as he does even in a browser signed in as staff (a cashier's reads
    no queue at all)."""
    secret = request.args.get("ticket")
    if secret:
        ticket = q.ticket_by_token(session, secret)
        return PatientIdentity(ticket.id, ticket.queue_id) if ticket else None
    if g.get("identity") is not None:
        return g.identity
    token = request.args.get("token")
    if token:
        holder = tokens.holder_for_token(session, token)
        return Identity.of(holder, "token") if holder else None
    device = request.cookies.get(SCREEN_COOKIE)
    if device:
        return ScreenIdentity.of(screens.screen_for_secret(session, device))
    return None


def credential_of(request, identity) -> Credential | None:
    """How the identity ``authenticate`` found proved itself, to be proved again later."""
    if isinstance(identity, PatientIdentity):
        return Credential("ticket", request.args.get("ticket", ""))
    if isinstance(identity, ScreenIdentity):
        return Credential("screen", request.cookies.get(SCREEN_COOKIE, ""))
    if not isinstance(identity, Identity):
        return None
    if identity.via == "session":
        prefix = current_app.config.get("SESSION_KEY_PREFIX", "")
        return Credential("session", f"{prefix}{getattr(http_session, 'sid', '')}")
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else request.args.get("token")
    return Credential("token", token or "")


def recheck(credential: Credential | None, identity, session: Session, redis):
    """The identity the credential proves now (rights as they are now), or None when it
    proves nothing any more: a revoked or expired token, a disabled, locked or changed user,
    a session that ended, a ticket that is gone, a revoked screen or a board switched off."""
    if credential is None:
        return None
    if credential.kind == "token":
        holder = tokens.holder_for_token(session, credential.secret)
        return Identity.of(holder, "token") if holder else None
    if credential.kind == "ticket":
        ticket = q.ticket_by_token(session, credential.secret)
        return PatientIdentity(ticket.id, ticket.queue_id) if ticket else None
    if credential.kind == "screen":
        return ScreenIdentity.of(screens.screen_for_secret(session, credential.secret))
    if credential.kind == "session" and isinstance(identity, Identity):
        try:
            if not redis.exists(credential.secret):
                return None  # signed out, or idle past CLINIC_SESSION_IDLE_MINUTES
        except RedisError as exc:
            # Redis is away (nobody can sign out meanwhile): the user's row still decides.
            log.warning("could not look the session of a WebSocket up: %s", exc)
        user = session.get(User, identity.user_id)
        if user is None or not user.active or user.session_version != identity.session_version:
            return None
        return Identity.of(user, "session")
    return None
