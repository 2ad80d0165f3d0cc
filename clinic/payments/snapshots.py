"""What the desk channel (``payments:desk``) shows a client that (re)subscribes: the clinic
day's invoices. Registered with :mod:`clinic.channels` when this module is imported."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from clinic.base import utcnow
from clinic.channels import channel_key, snapshot_provider
from clinic.payments.desk import todays_invoices
from clinic.payments.invoices import invoice_as_dict
from clinic.payments.unseen import ticket_ends
from clinic.payments.views import services_of


@snapshot_provider("payments")
def _desk_snapshot(session: Session, channel: str, tz: ZoneInfo) -> dict | None:
    if channel_key(channel) != "desk":
        return None
    found = todays_invoices(session, tz=tz, now=utcnow())
    services = services_of(session, found)  # each line named in every language on the desk
    ends = ticket_ends(session, found)  # whose patients left unseen: one statement for all
    return {"invoices": [invoice_as_dict(i, services, ends) for i in found]}
