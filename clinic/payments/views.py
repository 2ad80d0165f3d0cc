"""How invoices, their lines and payments look to staff screens and events."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from clinic.base import iso
from clinic.payments.amounts import amount_due
from clinic.payments.models import Invoice, InvoiceLine, Payment
from clinic.payments.unseen import (
    NO_TICKET,
    TicketEnd,
    owed_through,
    shown_by,
    ticket_end,
    to_give_back,
    to_give_back_at_desk,
)
from clinic.reference.models import Service


def line_titles(line: InvoiceLine, services: dict[int, Service]) -> dict[str, str] | None:
    """The line's service in each language of the interface, as screens name it: its own
    (Russian) title, and the price list's Uzbek and English names of its service (from
    ``services``, see :func:`services_of`); None when it is not among them."""
    service = services.get(line.service_id)
    if service is None:
        return None
    return {
        "ru": line.title,
        "uz": service.name_uz or line.title,
        "en": service.name_en or line.title,
    }


def services_of(session: Session, invoices) -> dict[int, Service]:
    """The services of the ``invoices``' lines, read in one statement, by id: their lines are
    then named in every language (the desk's list, the staff API). A provider's call does
    without them and answers within its bound number of statements."""
    wanted = {line.service_id for invoice in invoices for line in invoice.lines}
    if not wanted:
        return {}
    return {s.id: s for s in session.scalars(select(Service).where(Service.id.in_(wanted)))}


def line_as_dict(line: InvoiceLine, services: dict[int, Service] | None = None) -> dict:
    return {
        "position": line.position,
        "service_id": line.service_id,
        "title": line.title,
        **({"titles": titles} if (titles := line_titles(line, services or {})) else {}),
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "amount": line.amount,
        "ikpu_code": line.ikpu_code,
        "package_code": line.package_code,
        "units": line.units,
        "vat_percent": line.vat_percent,
    }


def invoice_as_dict(
    invoice: Invoice,
    services: dict[int, Service] | None = None,
    ends: dict[int, TicketEnd] | None = None,
) -> dict:
    """The staff view of an invoice; amounts in tiyin. ``ticket_status`` is the status of the
    ticket its patient holds now (the one the transfers led to; None without a ticket, or
    when the invoice keeps no money paid), and
    ``to_give_back`` what he is owed because he left unseen, ``not_seen`` how (None when he
    is owed nothing: :mod:`.unseen`): of it, ``to_give_back_at_desk`` the desk gives back,
    ``owed_through`` (tiyin by provider) only the provider that took it. ``ends``: how the
    patients of a page of invoices left, read at once (:func:`.unseen.ticket_ends`); without
    it, this invoice's are read (one statement, none when it bills neither a ticket nor an
    appointment)."""
    if ends is None:
        end = ticket_end(object_session(invoice), invoice)
    else:
        end = ends.get(invoice.id, NO_TICKET)
    owed = to_give_back(invoice, end)
    return {
        "id": invoice.id,
        "number": invoice.number,
        "patient_id": invoice.patient_id,
        "ticket_id": invoice.ticket_id,
        "visit_id": invoice.visit_id,
        "status": invoice.status,
        "subtotal": invoice.subtotal,
        "discount": invoice.discount,
        "discount_reason": invoice.discount_reason,
        "total": invoice.total,
        "paid_amount": invoice.paid_amount,
        "refunded_amount": invoice.refunded_amount,
        "amount_due": amount_due(invoice),
        "held": invoice.held_by is not None,
        # Who is taking it right now (``payme:<id>``, ``click:<click_trans_id>``) and since when.
        "held_by": invoice.held_by,
        "held_at": iso(invoice.held_at),
        "created_at": iso(invoice.created_at),
        "created_by": invoice.created_by,
        "paid_at": iso(invoice.paid_at),
        "paid_by": invoice.paid_by,
        "cancelled_at": iso(invoice.cancelled_at),
        "lines": [line_as_dict(line, services) for line in invoice.lines],
        "ticket_status": end.status,
        "not_seen": end.why if owed else None,
        "to_give_back": owed,
        "to_give_back_at_desk": to_give_back_at_desk(invoice, end),
        "owed_through": owed_through(invoice, end),
    }


@shown_by
def _told_the_desk(session: Session, invoices, ends: dict[int, TicketEnd]) -> list[dict]:
    """The invoices along a patient's way, as the desk is told of them once he left unseen
    or came back (each line named in every language, as on the desk's list)."""
    services = services_of(session, invoices)
    return [invoice_as_dict(invoice, services, ends) for invoice in invoices]


def paid_state_as_dict(invoice: Invoice) -> dict:
    """What the queue's readers (reception, doctors: no ``payments.read``) learn of a ticket's
    invoice: that it is paid, not its lines, amounts or discount."""
    return {
        "id": invoice.id,
        "number": invoice.number,
        "status": invoice.status,
        "paid_at": iso(invoice.paid_at),
    }


def payment_as_dict(payment: Payment) -> dict:
    return {
        "id": payment.id,
        "invoice_id": payment.invoice_id,
        "method": payment.method,
        "amount": payment.amount,
        "refunded_amount": payment.refunded_amount,
        "provider": payment.provider,
        "provider_ref": payment.provider_ref,
        "shift_id": payment.shift_id,
        "tendered": payment.tendered,
        "change": payment.change,
        "actor": payment.actor,
        "created_at": iso(payment.created_at),
    }
