"""An invoice asked for once, however often the request comes: the desk sends an idempotency
key with it, so a press repeated while the first answer is on its way, or a request sent again
after the network lost its answer, gets the invoice the first one made, not a second open
invoice for the same ticket (which the patient's phone page would offer him to pay).

The key is kept on the invoice with who asked (``request_key``, unique): the same key for
another request (another patient, ticket, appointment or lines) is the caller's mistake, a 422
naming it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinic.payments import invoices
from clinic.payments.desk import checked_key, key_reused
from clinic.payments.models import Invoice


def _same_request(invoice: Invoice, patient_id, ticket_id, visit_id, lines) -> bool:
    asked = sorted(
        (line.get("service_id"), line.get("quantity", 1)) if isinstance(line, dict) else ()
        for line in (lines if isinstance(lines, list) else ())
    )
    made = sorted((line.service_id, line.quantity) for line in invoice.lines)
    if visit_id is not None and visit_id != invoice.visit_id:
        return False  # another appointment's invoice
    # An appointment's invoice asked for before the patient came takes the ticket his
    # check-in issues: the same request again is still the same.
    ticket_taken = ticket_id is None and visit_id is not None
    return (invoice.patient_id, made) == (patient_id, asked) and (
        invoice.ticket_id == ticket_id or ticket_taken
    )


def _first(session: Session, key: str, asked: dict) -> Invoice | None:
    """The invoice the key made before, when this request is the same as its."""
    first = session.scalar(select(Invoice).where(Invoice.request_key == key))
    if first is not None and not _same_request(
        first,
        asked.get("patient_id"),
        asked.get("ticket_id"),
        asked.get("visit_id"),
        asked.get("lines"),
    ):
        raise key_reused(f"invoice {first.number}")
    return first


def create_invoice_once(
    session: Session, *, idempotency_key: str | None, actor: str, **asked
) -> tuple[Invoice, bool]:
    """``invoices.create_invoice``, made once per key: (the invoice, whether it is new)."""
    if idempotency_key is None:
        return invoices.create_invoice(session, actor=actor, **asked), True
    key = f"{actor}:{checked_key(idempotency_key)}"
    first = _first(session, key, asked)
    if first is not None:
        return first, False
    try:
        with session.begin_nested():
            made = invoices.create_invoice(session, actor=actor, **asked)
            made.request_key = key
            session.flush()
    except IntegrityError:
        # The same key in a request made at the same moment: its invoice stands.
        first = _first(session, key, asked)
        if first is None:
            raise
        return first, False
    return made, True
