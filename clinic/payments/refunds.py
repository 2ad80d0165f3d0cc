"""Refunds: money given back from a payment, with a reason; large ones need approval.

A refund that brings what was given back of an invoice without approval above
``CLINIC_REFUND_APPROVAL_FROM`` tiyin needs ``payments.refund_large``
(:func:`clinic.accounts.permissions.permission_to_refund`); the caller says whether the person
asking holds it. A provider's refund carries its reference and is applied once.
"""

from __future__ import annotations

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from clinic.accounts.permissions import permission_to_refund
from clinic.base import iso, utcnow
from clinic.db import insert_once
from clinic.errors import Conflict, DomainError, ValidationFailed, refusal
from clinic.payments import events as ev
from clinic.payments.amounts import whole_tiyin
from clinic.payments.announcing import announce
from clinic.payments.invoices import lock_invoice
from clinic.payments.models import Invoice, InvoiceStatus, Payment, Refund
from clinic.payments.settling import take_ticket_row
from clinic.payments.views import invoice_as_dict
from clinic.queue.models import Ticket, TicketStatus
from clinic.queue.tickets import set_paid
from clinic.visits.events import VisitStatus
from clinic.visits.models import Visit

# Why a refund's field is refused, beside the English message (the problem's ``reasons``): the
# desk's page says each in its own language, whatever words the message uses.
REASON_REQUIRED = "reason_required"
REASON_TOO_LONG = "reason_too_long"
ABOVE_PAYMENT = "above_payment"
REASONS = (REASON_REQUIRED, REASON_TOO_LONG, ABOVE_PAYMENT)
# The longest reason a refund asked for at the desk may have (a provider's is cut to it).
REASON_MAX = 500


def reason_refused(reason) -> str | None:
    """Why ``reason``, as asked for, is not a refund's reason: its code (none given, or one
    longer than :data:`REASON_MAX`), or None."""
    if reason is None or (isinstance(reason, str) and not reason.strip()):
        return REASON_REQUIRED
    if isinstance(reason, str) and len(reason) > REASON_MAX:
        return REASON_TOO_LONG
    return None


def service_rendered(session: Session, invoice: Invoice) -> bool:
    """Whether the patient has been seen for this invoice (no refund by Payme then): its
    appointment was begun or completed by the doctor, or its ticket, or the one he was
    transferred on to (and so on), was taken into service or served. A consultation begun is
    a service given; called only, it is not."""
    if invoice.visit_id is not None:
        begun = session.scalar(
            select(Visit.id).where(
                Visit.id == invoice.visit_id,
                Visit.status.in_((VisitStatus.IN_PROGRESS, VisitStatus.COMPLETED)),
            )
        )
        if begun is not None:
            return True
    ticket_id, seen = invoice.ticket_id, set()
    while ticket_id is not None and ticket_id not in seen:
        seen.add(ticket_id)
        ticket = session.execute(
            select(Ticket.status, Ticket.started_at).where(Ticket.id == ticket_id)
        ).first()
        if ticket is not None and (
            ticket.status == TicketStatus.SERVED or ticket.started_at is not None
        ):
            return True
        ticket_id = session.scalar(
            select(Ticket.id).where(Ticket.transferred_from_id == ticket_id).limit(1)
        )
    return False


class RefundNeedsApproval(DomainError):
    """The refund is above the clinic's limit and the person asking may not approve it."""

    status = 403
    title = "Forbidden"


def given_back_while_open(invoice: Invoice):
    """Which refunds gave back part payments of ``invoice`` before it was paid in full (a
    ``where`` condition): each took its amount off what is paid, so every receipt of the
    invoice, e-mailed or printed, lists them beside the payments. A refund after it was paid
    has a refund receipt of its own."""
    condition = Refund.invoice_id == invoice.id
    if invoice.paid_at is not None:
        condition = and_(condition, Refund.created_at < invoice.paid_at)
    return condition


def refund_as_dict(refund: Refund) -> dict:
    return {
        "id": refund.id,
        "payment_id": refund.payment_id,
        "invoice_id": refund.invoice_id,
        "amount": refund.amount,
        "reason": refund.reason,
        "provider_ref": refund.provider_ref,
        # The shift whose drawer gave the cash back (a manager's from a cashier's drawer).
        "shift_id": refund.shift_id,
        "actor": refund.actor,
        "approved_by": refund.approved_by,
        "created_at": iso(refund.created_at),
    }


def _provider_refund(session: Session, payment: Payment, provider_ref: str):
    return session.scalar(
        select(Refund).where(Refund.payment_id == payment.id, Refund.provider_ref == provider_ref)
    )


def _unapproved(session: Session, invoice: Invoice) -> int:
    """Tiyin given back of the invoice by refunds nobody approved (each within the limit)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(
                Refund.invoice_id == invoice.id, Refund.approved_by.is_(None)
            )
        )
    )


def refuse_nothing_paid(invoice: Invoice) -> None:
    """Conflict ``not_paid`` unless money paid for the invoice is left to give back: none is
    of an open invoice nothing was paid of, a cancelled one, one given back in full, nor of
    a free one (settled at no cost: paid, with nothing paid)."""
    part_paid = invoice.status == InvoiceStatus.OPEN and invoice.paid_amount > 0
    settled = invoice.status in (InvoiceStatus.PAID, InvoiceStatus.PARTLY_REFUNDED)
    if not (part_paid or settled) or invoice.paid_amount <= invoice.refunded_amount:
        raise Conflict(
            f"invoice {invoice.number} is {invoice.status} with nothing paid to give back",
            code="not_paid",
        )


def payment_to_refund(
    session: Session, invoice: Invoice, amount: int, *, among=lambda payment: True
) -> Payment:
    """The newest payment of the invoice (``among`` those it accepts) that can give back
    ``amount`` on its own."""
    payments = session.scalars(
        select(Payment).where(Payment.invoice_id == invoice.id).order_by(Payment.id.desc())
    ).all()
    for payment in payments:
        if among(payment) and payment.amount - payment.refunded_amount >= amount:
            return payment
    raise refusal(
        ValidationFailed,
        "no single payment of the invoice covers that refund",
        {"amount": [(ABOVE_PAYMENT, "more than any one payment can give back")]},
    )


def refuse_above_payment(payment: Payment, amount: int) -> None:
    """More than ``payment`` has left to give back: 422 naming ``amount``."""
    left = payment.amount - payment.refunded_amount
    if amount > left:
        raise refusal(
            ValidationFailed,
            "more than the payment can give back",
            {"amount": [(ABOVE_PAYMENT, f"at most {left} tiyin")]},
        )


def refund(
    session: Session,
    payment_or_invoice: Payment | Invoice,
    *,
    amount: int,
    reason: str,
    actor: str,
    may_refund_large: bool,
    large_from: int = 0,
    provider_ref: str | None = None,
    shift_id: int | None = None,
    now=None,
) -> Refund:
    """Give back ``amount`` tiyin of a paid invoice (from the given payment, or from the
    invoice's newest payment that covers it). ``large_from`` is the clinic's approval limit;
    left out, every refund counts as large (refusing is the safe mistake)."""
    amount = whole_tiyin(amount, "amount", positive=True)
    reason = reason.strip()[:REASON_MAX] if isinstance(reason, str) else ""
    if not reason:
        raise refusal(
            ValidationFailed,
            "a refund needs a reason",
            {"reason": [(REASON_REQUIRED, "required")]},
        )
    invoice_id = (
        payment_or_invoice.invoice_id
        if isinstance(payment_or_invoice, Payment)
        else payment_or_invoice.id
    )
    invoice = lock_invoice(session, invoice_id)
    if isinstance(payment_or_invoice, Payment):
        payment = session.get(Payment, payment_or_invoice.id, populate_existing=True)
    else:
        refuse_nothing_paid(invoice)
        payment = payment_to_refund(session, invoice, amount)
    if provider_ref is not None:
        existing = _provider_refund(session, payment, provider_ref)
        if existing is not None:
            return existing
    part_paid = invoice.status == InvoiceStatus.OPEN and invoice.paid_amount > 0
    refuse_nothing_paid(invoice)
    if part_paid and invoice.held_by:
        # A provider is taking the amount it was shown: what is due must not move under it.
        raise Conflict(f"invoice {invoice.number} is being paid", code="held")
    # What can never be given is said first: a manager's approval would not make it so.
    refuse_above_payment(payment, amount)
    # Counted with what was given back of the invoice without approval: a large refund
    # split into small ones needs the approval the whole would.
    needs = permission_to_refund(_unapproved(session, invoice) + amount, large_from)
    if needs == "payments.refund_large" and not may_refund_large:
        raise RefundNeedsApproval(
            f"refunds above {large_from} tiyin need a manager's approval",
            code="approval_required",
        )
    now = now or utcnow()
    row = Refund(
        payment_id=payment.id,
        invoice_id=invoice.id,
        amount=amount,
        reason=reason,
        provider_ref=provider_ref,
        shift_id=shift_id,
        actor=actor[:64],
        approved_by=actor[:64] if needs == "payments.refund_large" else None,
        created_at=now,
    )
    existing = insert_once(
        session,
        row,
        lambda: _provider_refund(session, payment, provider_ref) if provider_ref else None,
    )
    if existing is not None:
        return existing
    moved = session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.refunded_amount == payment.refunded_amount)
        .values(refunded_amount=Payment.refunded_amount + amount)
        .execution_options(synchronize_session=False)
    )
    if part_paid:
        # A part of an open invoice given back (the patient left before paying the rest): it
        # is no longer paid, so it is due again, and an invoice with nothing paid left can be
        # cancelled. The refund row and the payment's refunded amount keep the record.
        status = InvoiceStatus.OPEN
        values = {"paid_amount": invoice.paid_amount - amount}
    else:
        refunded = invoice.refunded_amount + amount
        status = (
            InvoiceStatus.REFUNDED
            if refunded == invoice.paid_amount
            else InvoiceStatus.PARTLY_REFUNDED
        )
        values = {"refunded_amount": refunded, "status": status}
    changed = session.execute(
        update(Invoice)
        .where(
            Invoice.id == invoice.id,
            Invoice.refunded_amount == invoice.refunded_amount,
            Invoice.paid_amount == invoice.paid_amount,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1 or changed.rowcount != 1:  # unreachable under the invoice lock
        raise Conflict(  # pragma: no cover - unreachable under the lock (see above)
            "the invoice changed while refunding; try again", code="changed"
        )
    session.refresh(invoice)
    session.refresh(payment)
    # All of it given back: the ticket's row is taken before the events are recorded, the
    # desk's then the queue's, in the order a payment and a call take them (see
    # clinic/payments/invoices.py), so that none of them waits for another that waits for it:
    # two invoices of the ticket given back at once take turns, and a call of the ticket at
    # that moment is waited for (he is called: his ticket keeps its mark), or waits for the
    # refund (it passes over him, unpaid again).
    given_back = status == InvoiceStatus.REFUNDED and invoice.ticket_id is not None
    if given_back:
        take_ticket_row(session, invoice.ticket_id)
    data = {"invoice": invoice_as_dict(invoice), "refund": refund_as_dict(row)}
    announce(session, invoice, ev.REFUND_RECORDED, data)
    if given_back:
        _hold_ticket_again(session, invoice, actor=actor, now=now)
    return row


def _hold_ticket_again(session: Session, invoice: Invoice, *, actor: str, now) -> None:
    """All of it given back before the patient was called: his ticket is unpaid again, so a
    "pay before the doctor" queue holds it, and the desk sees it unpaid. A ticket already
    called or served keeps its mark: the service was rendered or is under way. So does a
    ticket with another invoice still paid (the consultation paid, the analysis given back).
    The ticket's row is held already (:func:`take_ticket_row`)."""
    still_paid = session.scalar(
        select(Invoice.id)
        .where(
            Invoice.ticket_id == invoice.ticket_id,
            Invoice.id != invoice.id,
            Invoice.status.in_(InvoiceStatus.SETTLED),
        )
        .limit(1)
    )
    if still_paid is None:
        set_paid(
            session, invoice.ticket_id, None, actor=actor, now=now, data={"invoice_id": invoice.id}
        )
