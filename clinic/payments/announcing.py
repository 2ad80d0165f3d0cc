"""An invoice's change on the screens that show it: the cashiers' desk channel, and the
patient's own page of the ticket it bills (``ticket:<id>``), whose "Pay online" card shows
what is due.

The patient's page is told only which ticket's invoice changed (``{"ticket_id": …}``, and
the change's kind); it reads what is due again (``GET /payments/checkout/<ticket token>``).
A ticket the patient was sent on from bills on his first ticket: the page he holds now is
that of the ticket the transfers led to, and it is the one told.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from clinic.events import record_events
from clinic.payments import events as ev
from clinic.payments.models import Invoice
from clinic.queue.models import Ticket
from clinic.queue.tickets import followed, ticket_channel


def announce(session: Session, invoice: Invoice, type_: str, data: dict, **told) -> None:
    """Record ``type_`` with ``data`` on the desk channel, and on the channel of the ticket
    the invoice's patient holds now (if it bills one) with its id and ``told``."""
    events = [(ev.DESK_CHANNEL, type_, data)]
    ticket = session.get(Ticket, invoice.ticket_id) if invoice.ticket_id is not None else None
    if ticket is not None:
        holds = followed(session, ticket)
        events.append((ticket_channel(holds.id), type_, {"ticket_id": holds.id, **told}))
    record_events(session, events)
