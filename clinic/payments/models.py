"""Payments: invoices and their lines, payments, refunds, cashier shifts and the record of
the side effects of "paid" (each done exactly once).

Money is integer tiyin everywhere (1 UZS = 100 tiyin); check constraints keep the totals
honest even against a bug in the code above them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.base import Base, BigId, UTCDateTime, utcnow


class InvoiceStatus:
    OPEN = "open"
    PAID = "paid"
    PARTLY_REFUNDED = "partly_refunded"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"

    ALL = (OPEN, PAID, PARTLY_REFUNDED, REFUNDED, CANCELLED)
    # Paid, possibly with part of it given back: the service was paid for.
    SETTLED = (PAID, PARTLY_REFUNDED)


class PaymentMethod:
    CASH = "cash"
    CARD = "card"
    PAYME = "payme"
    CLICK = "click"

    # Taken at the desk, inside a cashier's shift.
    DESK = (CASH, CARD)
    PROVIDERS = (PAYME, CLICK)


class EffectKind:
    """The side effects of "paid", each done once per invoice (see :mod:`.effects`)."""

    RECEIPT = "receipt"
    NOTIFY = "notify"
    EMAIL = "email"

    ALL = (RECEIPT, NOTIFY, EMAIL)


class Invoice(Base):
    """What a patient owes for services from the price list, and what was paid of it."""

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint(
            "status IN ('open', 'paid', 'partly_refunded', 'refunded', 'cancelled')",
            name="status_known",
        ),
        CheckConstraint("subtotal >= 0", name="subtotal_not_negative"),
        CheckConstraint("discount >= 0 AND discount <= subtotal", name="discount_range"),
        CheckConstraint("total = subtotal - discount", name="total_is_subtotal_less_discount"),
        CheckConstraint("paid_amount >= 0 AND paid_amount <= total", name="paid_range"),
        CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= paid_amount", name="refunded_range"
        ),
        Index("ix_invoices_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Printed on receipts; assigned from the id in the invoice's own transaction.
    number: Mapped[str | None] = mapped_column(String(20), unique=True, nullable=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True, nullable=False)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id"), index=True, nullable=True
    )
    visit_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=InvoiceStatus.OPEN)
    subtotal: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    discount: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    discount_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    total: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    paid_amount: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    # A provider transaction in progress ("payme:<id>"): nobody else may take the invoice.
    held_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    # Who asked for it and his idempotency key (clinic/payments/invoice_once.py): the same
    # request again gets this invoice, not a second one.
    request_key: Mapped[str | None] = mapped_column(String(170), unique=True, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paid_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_by: Mapped[str | None] = mapped_column(String(64), nullable=True)

    lines: Mapped[list["InvoiceLine"]] = relationship(
        lazy="selectin", order_by="InvoiceLine.position", cascade="all, delete-orphan"
    )


class InvoiceLine(Base):
    """One service on an invoice, copied from the price list when the line was made: a later
    price change does not touch an issued invoice."""

    __tablename__ = "invoice_lines"
    __table_args__ = (
        CheckConstraint("quantity >= 1 AND quantity <= 1000", name="quantity_range"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint("amount = quantity * unit_price", name="amount_is_quantity_times_price"),
        CheckConstraint("vat_percent >= 0 AND vat_percent <= 100", name="vat_range"),
        UniqueConstraint("invoice_id", "position", name="uq_invoice_lines_invoice_id_position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True, nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    unit_price: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    ikpu_code: Mapped[str] = mapped_column(String(17), nullable=False, default="")
    package_code: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    # The service's unit of measure code when the line was made; none when it had none.
    units: Mapped[int | None] = mapped_column(Integer, nullable=True)
    vat_percent: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class CashierShift(Base):
    """A cashier's shift at the desk: cash in the drawer at the start, and at the end the
    cash expected from the shift's payments and refunds against the cash counted."""

    __tablename__ = "cashier_shifts"
    __table_args__ = (
        CheckConstraint("opening_cash >= 0", name="opening_cash_not_negative"),
        CheckConstraint("counted_cash IS NULL OR counted_cash >= 0", name="counted_not_negative"),
        # One open shift per cashier, decided by the database.
        Index(
            "uq_cashier_shifts_open_per_cashier",
            "cashier_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cashier_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True, nullable=False)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opening_cash: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    expected_cash: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    counted_cash: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # counted - expected: negative is cash missing from the drawer.
    discrepancy: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")


class Payment(Base):
    """Money received for an invoice. A provider's reference is unique per provider, so the
    same provider transaction can never be credited twice."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= amount", name="refunded_range"
        ),
        CheckConstraint("tendered IS NULL OR tendered >= amount", name="tendered_covers_amount"),
        UniqueConstraint("provider", "provider_ref", name="uq_payments_provider_provider_ref"),
        Index("ix_payments_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True, nullable=False)
    method: Mapped[str] = mapped_column(String(32), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    provider: Mapped[str | None] = mapped_column(String(32), nullable=True)
    provider_ref: Mapped[str | None] = mapped_column(String(120), nullable=True)
    shift_id: Mapped[int | None] = mapped_column(
        ForeignKey("cashier_shifts.id"), index=True, nullable=True
    )
    tendered: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    change: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    actor: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


# The provider of a desk payment taken with its page's key (the key is its reference).
DESK_PROVIDER = "desk"


def refunded_by_its_provider(payment: Payment) -> bool:
    """A payment whose refund the provider itself reports to us: Payme's (it cancels the
    transaction, -2) and a signed webhook sender's (``payment.refunded``). Recorded at the
    desk as well, the money would be counted back twice, or the provider's own refund
    refused. Click's SHOP API reports no refunds: a Click payment given back through Click's
    cabinet is recorded at the desk."""
    return payment.provider not in (None, DESK_PROVIDER, "click")


class Refund(Base):
    """Money given back from one payment, with its reason, who gave it and who approved."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint("payment_id", "provider_ref", name="uq_refunds_payment_id_provider_ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True, nullable=False)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True, nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    # A provider's refund reference (a webhook's, a cancelled Payme transaction's): unique per
    # payment, so a repeated provider refund is applied once.
    provider_ref: Mapped[str | None] = mapped_column(String(120), nullable=True)
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("cashier_shifts.id"), nullable=True)
    actor: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    # Who held ``payments.refund_large`` for a refund above the limit (often the actor).
    approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class PaidEffect(Base):
    """One side effect of an invoice being paid, done: the unique key makes it exactly once
    however often the effects task runs."""

    __tablename__ = "payment_effects"
    __table_args__ = (
        UniqueConstraint("invoice_id", "kind", name="uq_payment_effects_invoice_kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    # Why the effect could not be done and never will be (the e-mail receipt's address
    # refused for good by the mail server); None when it was done.
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
