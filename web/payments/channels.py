"""Who may read the payments channels: cashiers, managers and administrators read
``payments:*``. Registrars see a ticket's paid state on the queue's own channels
(``ticket.paid`` and ``invoice.paid`` on ``queue:<id>``), under the queue's rule."""

from __future__ import annotations

from sqlalchemy.orm import Session

from clinic.payments import snapshots  # noqa: F401 - registers the desk channel's snapshot
from web.ws.access import can, channel_rule


@channel_rule("payments")
def _payments(identity, channel: str, session: Session) -> bool:
    return can(identity, "payments.read")
