"""Notices that a user's access changed, for whoever holds live connections of that user.

A revoked token, a disable, a role change, a new password or a sign-out must reach the
WebSocket hubs of every web process within seconds, not at the socket's next subscription.
After the change commits, a notice naming the user goes out on one Redis channel; each hub
rechecks the sockets it holds for that user. A notice lost to a Redis outage costs delay
only: the hubs also recheck every socket periodically.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy.orm import Session

from clinic.db import on_commit
from clinic.events import BUS_KEY

log = logging.getLogger(__name__)


def notice_channel(prefix: str) -> str:
    """The Redis pub/sub channel of access notices for the installation ``prefix``."""
    return f"{prefix}:access"


def publish(bus, user_id: int) -> None:
    """Send the notice now (the change is already committed); never fails the caller."""
    if bus is None:
        return
    try:
        bus.redis.publish(notice_channel(bus.prefix), json.dumps({"user_id": user_id}))
    except Exception as exc:  # Redis down: the periodic recheck closes the sockets later
        log.warning("could not publish the access notice of user %s: %s", user_id, exc)


def access_changed(session: Session, user_id: int) -> None:
    """Publish an access notice for ``user_id`` once the session's transaction commits."""
    bus = session.info.get(BUS_KEY)
    on_commit(session, lambda: publish(bus, user_id))
