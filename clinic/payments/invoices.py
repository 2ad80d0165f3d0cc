"""Invoices and payments: the rules every way of paying goes through.

The contract the desk, the providers and the tasks rely on:

- :func:`create_invoice` (patient, lines of ``{"service_id", "quantity"}``, optional ticket):
  prices, IKPU and package codes and VAT are copied from the price list; unknown ids raise
  NotFound and bad values ValidationFailed, both naming the field (``lines.0.service_id``).
- :func:`get_invoice` / :func:`lock_invoice` (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
  already serialises writers with ``BEGIN IMMEDIATE``). Take the lock before deciding.
- :func:`amount_due`: tiyin still to pay (0 unless the invoice is open).
- :func:`hold` / :func:`release`: a provider transaction in progress holds the invoice under
  a holder name (``"payme:<transaction id>"``); anyone else (another provider, the desk) gets
  Conflict ``held``; an invoice that is not open gets ``not_open`` (``already_paid`` if paid).
- :func:`record_payment`: guarded and idempotent by ``(provider, provider_ref)``: the same
  reference again returns the first payment and changes nothing. When the invoice is fully
  paid it becomes ``paid``, the hold is released, the ticket is released for a "pay before
  the doctor" queue, and the paid side effects (:mod:`clinic.payments.effects`) are sent to
  the ``payments.apply_paid`` task after commit.
- :func:`refund` (in :mod:`clinic.payments.refunds`): above ``CLINIC_REFUND_APPROVAL_FROM``
  only with ``may_refund_large`` (``payments.refund_large``).
- :func:`invoice_as_dict`; event types and channels are in :mod:`clinic.payments.events`.

Money is integer tiyin. An invoice's lines and discount are frozen once anything is paid.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session, lazyload

from clinic.base import CLINIC_TZ, is_id, utcnow
from clinic.db import insert_once
from clinic.errors import Conflict, NotFound, ValidationFailed
from clinic.payments import events as ev
from clinic.payments.amounts import amount_due, check_discount, lines_from_price_list, whole_tiyin
from clinic.payments.announcing import announce
from clinic.payments.models import Invoice
from clinic.payments.models import InvoiceStatus as S
from clinic.payments.models import Payment, PaymentMethod
from clinic.payments.settling import (
    APPLY_PAID_TASK,
    PAYMENTS_QUEUE,
    mark_paid,
    release_ticket,
    take_ticket_row,
)
from clinic.payments.subjects import invoiced_for, ticket_of_visit
from clinic.payments.views import invoice_as_dict, line_as_dict, payment_as_dict, services_of

# Methods are the desk's two and any provider name ("payme", "click", a webhook provider).
METHOD_MAX_LENGTH = 32


# -- reading --------------------------------------------------------------------------------


def get_invoice(session: Session, invoice_id: int) -> Invoice:
    invoice = session.get(Invoice, invoice_id) if is_id(invoice_id) else None
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} does not exist")
    return invoice


def lock_invoice(session: Session, invoice_id: int) -> Invoice:
    """The invoice, locked for the rest of the transaction and read afresh."""
    if not is_id(invoice_id):
        raise NotFound(f"invoice {invoice_id} does not exist")
    # The lines are read when used (under the lock, so as fresh): most decisions need only the
    # invoice's own columns, and a lock taken twice in one call would read them twice.
    query = (
        select(Invoice)
        .where(Invoice.id == invoice_id)
        .options(lazyload(Invoice.lines))
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Invoice)
    invoice = session.scalar(query)
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} does not exist")
    return invoice


def find_payment(session: Session, provider: str, provider_ref: str) -> Payment | None:
    return session.scalar(
        select(Payment).where(Payment.provider == provider, Payment.provider_ref == provider_ref)
    )


def payments_of(session: Session, invoice_id: int) -> list[Payment]:
    return list(
        session.scalars(
            select(Payment).where(Payment.invoice_id == invoice_id).order_by(Payment.id)
        )
    )


# -- making ---------------------------------------------------------------------------------


def create_invoice(
    session: Session,
    *,
    patient_id: int,
    lines: list[dict],
    ticket_id: int | None = None,
    visit_id: int | None = None,
    actor: str,
    discount: int = 0,
    discount_reason: str = "",
    now: datetime | None = None,
    tz: ZoneInfo = CLINIC_TZ,
) -> Invoice:
    """An open invoice for a patient from the price list, optionally for a queue ticket and
    an appointment. A ticket the patient got by checking in for an appointment brings its
    visit: the revenue reports count the invoice for that visit's doctor; an appointment
    named alone, its patient checked in and in the queue, brings his ticket. Its number starts
    with the year in the clinic's zone ``tz``."""
    now = now or utcnow()
    if ticket_id is None:
        ticket_id = ticket_of_visit(session, visit_id, patient_id, tz=tz, now=now)
    # Taken before it is checked: a transfer of the ticket being committed is waited for, and
    # the ticket it leaves behind refused as sent on (else the invoice would stay with it
    # while the appointment's invoices follow the patient to his new ticket, and paid, it
    # would mark the old ticket paid); a transfer that comes after takes the invoice along.
    take_ticket_row(session, ticket_id)
    patient, ticket, visit_id = invoiced_for(
        session, patient_id, ticket_id, visit_id, tz=tz, now=now
    )
    made = lines_from_price_list(session, lines, visit_id)
    subtotal = sum(line.amount for line in made)
    discount, reason = check_discount(subtotal, discount, discount_reason)
    invoice = Invoice(
        patient_id=patient.id,
        ticket_id=ticket.id if ticket else None,
        visit_id=visit_id,
        status=S.OPEN,
        subtotal=subtotal,
        discount=discount,
        discount_reason=reason,
        total=subtotal - discount,
        paid_amount=0,
        refunded_amount=0,
        created_at=now,
        created_by=actor[:64],
        lines=made,
    )
    session.add(invoice)
    session.flush()
    # The clinic's year: 00:30 on 1 January in Tashkent is still 31 December in UTC.
    year = now.astimezone(tz).year
    invoice.number = f"{year % 100:02d}-{invoice.id:07d}"
    session.flush()
    free = invoice.total == 0  # fully discounted or free: nothing to take, it is settled now
    if free:
        mark_paid(session, invoice, actor=actor, now=now)
    # Once settled: the desk's list is told the state this transaction commits (paid, for
    # a free invoice), not an open one with nothing due that no screen may take money for;
    # its lines named in every language, as each desk lists them.
    services = services_of(session, [invoice])
    announce(session, invoice, ev.INVOICE_CREATED, {"invoice": invoice_as_dict(invoice, services)})
    if free:
        release_ticket(session, invoice, actor=actor, now=now)
    return invoice


def _editable(session: Session, invoice: Invoice) -> Invoice:
    invoice = lock_invoice(session, invoice.id)
    if invoice.status != S.OPEN:
        raise Conflict(f"invoice {invoice.number} is {invoice.status}", code="not_open")
    if invoice.paid_amount or invoice.held_by:
        # Something is paid or a provider is paying the amount it was shown: keep it as is.
        raise Conflict("the invoice's lines are frozen once payment began", code="lines_frozen")
    return invoice


def replace_lines(session: Session, invoice: Invoice, lines: list[dict], *, actor: str) -> Invoice:
    """New lines (from the price list) for an invoice nothing was paid of yet."""
    invoice = _editable(session, invoice)
    made = lines_from_price_list(session, lines, invoice.visit_id)
    subtotal = sum(line.amount for line in made)
    if invoice.discount > subtotal:
        raise ValidationFailed(
            "the discount is larger than the new lines", errors={"lines": ["below the discount"]}
        )
    invoice.lines.clear()
    session.flush()  # the old positions go before the new ones take them
    invoice.lines.extend(made)
    invoice.subtotal = subtotal
    invoice.total = subtotal - invoice.discount
    session.flush()
    _changed_maybe_settled(session, invoice, "lines", actor=actor)  # free services: settled
    return invoice


def set_discount(
    session: Session, invoice: Invoice, *, amount: int, reason: str, actor: str
) -> Invoice:
    """A discount (tiyin, with its reason) on an invoice nothing was paid of yet."""
    invoice = _editable(session, invoice)
    invoice.discount, invoice.discount_reason = check_discount(
        invoice.subtotal, amount, reason, fields=("amount", "reason")
    )
    invoice.total = invoice.subtotal - invoice.discount
    session.flush()
    _changed_maybe_settled(session, invoice, "discount", actor=actor)  # a full discount
    return invoice


def cancel_invoice(session: Session, invoice: Invoice, *, actor: str, now=None) -> Invoice:
    """Cancel an open invoice nothing was paid of and no provider holds."""
    invoice = _editable(session, invoice)
    invoice.status = S.CANCELLED
    invoice.cancelled_at = now or utcnow()
    invoice.cancelled_by = actor[:64]
    session.flush()
    _changed(session, invoice, "cancelled")
    return invoice


def _changed(session: Session, invoice: Invoice, change: str) -> None:
    data = {"invoice": invoice_as_dict(invoice), "change": change}
    announce(session, invoice, ev.INVOICE_CHANGED, data, change=change)


def _changed_maybe_settled(session: Session, invoice: Invoice, change: str, *, actor: str):
    """Announce ``change``; an invoice it leaves with nothing to pay (free services, or as
    much as the discount) is settled by it, and the event says so (as a new free one)."""
    free = invoice.total == 0
    now = utcnow()
    if free:
        mark_paid(session, invoice, actor=actor, now=now)
    _changed(session, invoice, change)
    if free:
        release_ticket(session, invoice, actor=actor, now=now)


# -- holding --------------------------------------------------------------------------------


def refuse_taking(invoice: Invoice, holder: str | None) -> None:
    """Conflict unless ``holder`` (None: the desk) may take money for the invoice now."""
    if invoice.status in S.SETTLED:
        raise Conflict(f"invoice {invoice.number} is already paid", code="already_paid")
    if invoice.status != S.OPEN:
        raise Conflict(f"invoice {invoice.number} is {invoice.status}", code="not_open")
    if invoice.held_by is not None and invoice.held_by != holder:
        raise Conflict(f"invoice {invoice.number} is being paid elsewhere", code="held")


def hold(
    session: Session, invoice: Invoice, holder: str, *, now=None, locked: bool = False
) -> Invoice:
    """Mark the invoice as being paid by ``holder``; the same holder again is a no-op.
    ``locked``: the caller has just read ``invoice`` with :func:`lock_invoice` in this
    transaction (it is not read again)."""
    if not isinstance(holder, str) or not 1 <= len(holder) <= 120:
        raise ValueError("a holder is a name of 1 to 120 characters")
    if not locked:
        invoice = lock_invoice(session, invoice.id)
    refuse_taking(invoice, holder)
    if invoice.held_by == holder:
        return invoice
    result = session.execute(
        update(Invoice)
        .where(Invoice.id == invoice.id, Invoice.status == S.OPEN, Invoice.held_by.is_(None))
        .values(held_by=holder, held_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(invoice)
    if result.rowcount != 1:  # unreachable under the lock: refuse_taking above decided
        refuse_taking(invoice, holder)  # pragma: no cover - unreachable under the lock
    _changed(session, invoice, "held")
    return invoice


def release(session: Session, invoice: Invoice, holder: str) -> Invoice:
    """Let go of a hold; releasing what is not held is a no-op, another's hold a Conflict."""
    invoice = lock_invoice(session, invoice.id)
    if invoice.held_by is None:
        return invoice
    if invoice.held_by != holder:
        raise Conflict(f"invoice {invoice.number} is held by another payment", code="held")
    session.execute(
        update(Invoice)
        .where(Invoice.id == invoice.id, Invoice.held_by == holder)
        .values(held_by=None, held_at=None)
        .execution_options(synchronize_session=False)
    )
    session.refresh(invoice)
    _changed(session, invoice, "released")
    return invoice


# -- paying ---------------------------------------------------------------------------------


def record_payment(
    session: Session,
    invoice: Invoice,
    *,
    method: str,
    amount: int,
    provider: str | None = None,
    provider_ref: str | None = None,
    actor: str,
    shift_id: int | None = None,
    tendered: int | None = None,
    holder: str | None = None,
    now: datetime | None = None,
    locked: bool = False,
    exclusive: bool = False,
) -> Payment:
    """Money received for ``invoice``; see the module's contract. Returns the payment (the
    existing one when ``(provider, provider_ref)`` was already recorded). ``locked``: the
    caller has just read ``invoice`` with :func:`lock_invoice` in this transaction and
    changed nothing of it since (it is not read again). ``exclusive``: the caller holds a
    lock under which nobody else can record this provider reference (Payme's transaction
    row), so no savepoint is taken for the insert; were the unique key to refuse it all the
    same, the caller's whole transaction fails, and nothing is credited twice either way."""
    if not isinstance(method, str) or not 1 <= len(method) <= METHOD_MAX_LENGTH:
        raise ValidationFailed("unknown payment method", errors={"method": ["unknown method"]})
    amount = whole_tiyin(amount, "amount", positive=True)
    if (provider is None) != (provider_ref is None):
        raise ValueError("a provider payment names both the provider and its reference")
    now = now or utcnow()
    if not locked:
        invoice = lock_invoice(session, invoice.id)
    if provider_ref is not None:
        existing = find_payment(session, provider, provider_ref)
        if existing is not None:
            if existing.invoice_id != invoice.id:
                raise Conflict("that provider reference paid another invoice", code="ref_used")
            return existing
    refuse_taking(invoice, holder)
    due = amount_due(invoice)
    if amount > due:
        raise ValidationFailed(
            f"only {due} tiyin are due", errors={"amount": [f"at most {due} tiyin"]}
        )
    change = None
    if tendered is not None:
        tendered = whole_tiyin(tendered, "tendered")
        if tendered < amount:
            raise ValidationFailed(
                "less cash than the amount", errors={"tendered": ["less than the amount"]}
            )
        change = tendered - amount
    payment = Payment(
        invoice_id=invoice.id,
        method=method,
        amount=amount,
        refunded_amount=0,
        provider=provider,
        provider_ref=provider_ref,
        shift_id=shift_id,
        tendered=tendered,
        change=change,
        actor=actor[:64],
        created_at=now,
    )
    # The same provider reference committed at this instant by another request: theirs
    # stands, and this call answers with it.
    if exclusive:
        session.add(payment)
        session.flush()
    else:
        existing = insert_once(
            session,
            payment,
            lambda: find_payment(session, provider, provider_ref) if provider_ref else None,
        )
        if existing is not None:  # the same reference committed at this instant (a race)
            if existing.invoice_id != invoice.id:  # for another invoice: this one is not paid
                raise Conflict("that provider reference paid another invoice", code="ref_used")
            return existing  # pragma: no cover - a race only (tests/payments: insert_once)
    paid_in_full = invoice.paid_amount + amount == invoice.total
    values = {"paid_amount": Invoice.paid_amount + amount}
    if paid_in_full:
        values.update(status=S.PAID, paid_at=now, paid_by=actor[:64])
    if paid_in_full or (holder is not None and invoice.held_by == holder):
        values.update(held_by=None, held_at=None)
    result = session.execute(
        update(Invoice)
        .where(
            Invoice.id == invoice.id,
            Invoice.status == S.OPEN,
            Invoice.paid_amount == invoice.paid_amount,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # unreachable under the lock; refuse rather than double-credit
        raise Conflict(  # pragma: no cover - unreachable under the lock (see above)
            "the invoice changed while paying; try again", code="changed"
        )
    session.refresh(invoice)
    if paid_in_full:
        take_ticket_row(session, invoice.ticket_id)
    data = {"invoice": invoice_as_dict(invoice), "payment": payment_as_dict(payment)}
    announce(session, invoice, ev.PAYMENT_RECORDED, data)
    if paid_in_full:
        release_ticket(session, invoice, actor=actor, now=now)
    return payment


def invoices_numbered(session: Session, number: str) -> list[Invoice]:
    """The invoice numbered ``number`` (as printed, spaces around it ignored), or none."""
    return list(session.scalars(select(Invoice).where(Invoice.number == number.strip())))


# The contract's names, with those kept in the neighbouring modules.
__all__ = [
    "APPLY_PAID_TASK",
    "PAYMENTS_QUEUE",
    "PaymentMethod",
    "amount_due",
    "cancel_invoice",
    "create_invoice",
    "find_payment",
    "get_invoice",
    "hold",
    "invoice_as_dict",
    "line_as_dict",
    "lock_invoice",
    "payment_as_dict",
    "payments_of",
    "record_payment",
    "refuse_taking",
    "release",
    "replace_lines",
    "set_discount",
    "whole_tiyin",
]
