"""Notices that a holder's access changed, for whoever holds live connections under it.

A revoked token, a disable, a role change, a new password or a sign-out must reach the
WebSocket hubs of every web process within seconds, not at the socket's next subscription;
so must a revoked board screen, a board switched off or given other queues (the screens
showing it), and a queue given to another doctor or department (the doctors who read it, or
may now). After the change commits, a notice naming the holder (``{"user_id": 7}``,
``{"screen_id": 3}``, ``{"board_id": 2}`` or ``{"doctor_id": 4}``) goes out on one Redis
channel; each hub rechecks the sockets it holds under that holder. (A doctor moved to
another department or room in the reference data needs no notice: the hubs recheck his
sockets on the ``doctor.*`` event itself.) A notice lost to a Redis outage costs delay
only: the hubs also recheck every socket periodically.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy.orm import Session

from clinic.db import on_commit
from clinic.events import BUS_KEY

log = logging.getLogger(__name__)

# What a notice may name: a user (his sessions and tokens), a board screen (its device
# secret), a board (every screen paired with it), a doctor (the accounts linked to him: his
# queues are his room's and his department's, decided by the reference data).
HOLDERS = ("user", "screen", "board", "doctor")


def notice_channel(prefix: str) -> str:
    """The Redis pub/sub channel of access notices for the installation ``prefix``."""
    return f"{prefix}:access"


def publish(bus, holder_id: int, *, holder: str = "user") -> None:
    """Send the notice now (the change is already committed); never fails the caller."""
    if bus is None:
        return
    try:
        bus.redis.publish(notice_channel(bus.prefix), json.dumps({f"{holder}_id": holder_id}))
    except Exception as exc:  # Redis down: the periodic recheck closes the sockets later
        log.warning("could not publish the access notice of %s %s: %s", holder, holder_id, exc)


def read_notice(data) -> tuple[str, int] | None:
    """The holder a notice names, ``("user", 7)``; None for anything else."""
    try:
        notice = json.loads(data)
    except (TypeError, ValueError):
        return None
    if not isinstance(notice, dict) or len(notice) != 1:
        return None
    ((key, value),) = notice.items()
    holder = key[: -len("_id")] if isinstance(key, str) and key.endswith("_id") else ""
    if holder not in HOLDERS or not isinstance(value, int) or isinstance(value, bool):
        return None
    return holder, value


def _changed(session: Session, holder: str, holder_id: int) -> None:
    bus = session.info.get(BUS_KEY)
    on_commit(session, lambda: publish(bus, holder_id, holder=holder))


def access_changed(session: Session, user_id: int) -> None:
    """Publish an access notice for ``user_id`` once the session's transaction commits."""
    _changed(session, "user", user_id)


def screen_access_changed(session: Session, screen_id: int) -> None:
    """A notice for the board screen ``screen_id`` (revoked), once the change commits."""
    _changed(session, "screen", screen_id)


def board_access_changed(session: Session, board_id: int) -> None:
    """A notice for every screen of ``board_id`` (switched off, other queues), after commit."""
    _changed(session, "board", board_id)


def doctor_access_changed(session: Session, doctor_id: int) -> None:
    """A notice for the accounts linked to doctor ``doctor_id`` (his queues changed), after
    commit."""
    _changed(session, "doctor", doctor_id)
