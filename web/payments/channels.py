"""Who may read the payments channels: cashiers, managers and administrators read
``payments:*``. Registrars see a ticket's paid state on the queue's own channels
(``ticket.paid`` and ``invoice.paid`` on ``queue:<id>``), under the queue's rule.

A shift's events (its opening cash, the cash expected, counted and missing at its close)
are its cashier's and those who read the shift reports (``reports.read``), as her Z slip is
(clinic/printing/access.py): another cashier's socket is not sent them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from clinic.payments import events as ev
from clinic.payments import snapshots  # noqa: F401 - registers the desk channel's snapshot
from web.ws.access import can, channel_rule, channel_view


@channel_rule("payments")
def _payments(identity, channel: str, session: Session) -> bool:
    # The one channel events go to: a screen on another name would never hear of a payment.
    return channel == ev.DESK_CHANNEL and can(identity, "payments.read")


SHIFT_EVENTS = (ev.SHIFT_OPENED, ev.SHIFT_CLOSED)


@channel_view("payments")
def _payments_shown(identity, type_: str, data, session: Session):
    if type_ not in SHIFT_EVENTS:
        return data
    if (
        can(identity, "reports.read")
        or getattr(identity, "user_id", None) == data["shift"]["cashier_id"]
    ):
        return data
    return None
