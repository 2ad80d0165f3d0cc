"""What the payment providers told us, and what we answered: Payme and Click transactions,
Standard Webhooks events and the provider log.

Each provider transaction is keyed by the provider's own id under a unique constraint, so a
repeated call finds the row it made before instead of making a second one; a partial unique
index allows one live Payme transaction per invoice.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from clinic.base import Base, BigId, JsonDoc, UTCDateTime, is_id, iso, utcnow


class PaymeState:
    CREATED = 1
    PERFORMED = 2
    CANCELLED = -1
    CANCELLED_AFTER_PERFORM = -2

    LIVE = (CREATED, PERFORMED)


class PaymeReason:
    # "Transaction execution error" in Payme's list: the clinic will not perform it (a
    # cashier let its invoice go, clinic/payments/release.py). Not 1 or 2 (a receiver or a
    # debit failing at Payme), 4 (no timeout passed), 5 (nothing was paid to give back), nor
    # 10 ("unknown": the reason is known).
    CLINIC_WITHDREW = 3
    TIMEOUT = 4
    REFUND = 5
    KNOWN = (1, 2, 3, 4, 5, 10)


class PaymeTransaction(Base):
    """One Payme transaction. Times are Payme's milliseconds since the epoch; 0 is unset."""

    __tablename__ = "payme_transactions"
    __table_args__ = (
        # One created or performed transaction per invoice, decided by the database.
        Index(
            "uq_payme_transactions_live_invoice",
            "invoice_id",
            unique=True,
            sqlite_where=text("state IN (1, 2)"),
            postgresql_where=text("state IN (1, 2)"),
        ),
        Index("ix_payme_transactions_payme_time", "payme_time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payme_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True, nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    account: Mapped[dict] = mapped_column(JsonDoc, nullable=False)
    # Payme's ``time``: the 12-hour timeout counts from it.
    payme_time: Mapped[int] = mapped_column(BigInteger, nullable=False)
    create_time: Mapped[int] = mapped_column(BigInteger, nullable=False)
    perform_time: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    cancel_time: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    state: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[int | None] = mapped_column(Integer, nullable=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True)
    fiscal_perform: Mapped[dict | None] = mapped_column(JsonDoc, nullable=True)
    fiscal_cancel: Mapped[dict | None] = mapped_column(JsonDoc, nullable=True)


class ClickStatus:
    PREPARED = "prepared"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class ClickTransaction(Base):
    """One Click payment; our id is the ``merchant_prepare_id`` Click sends back."""

    __tablename__ = "click_transactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    click_trans_id: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    click_paydoc_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True, nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    # Click's error code when it reported the payment failed.
    click_error: Mapped[int | None] = mapped_column(Integer, nullable=True)
    confirm_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PaymeKey(Base):
    """The cashbox key Payme set with ChangePassword, kept as its SHA-256 digest (only ever
    compared): one row for production's key and one for the sandbox's (test mode), each
    replaced by its own changes (clinic/payments/payme_key.py)."""

    __tablename__ = "payme_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    # The digest of the settings' key (PAYME_KEY) when the change came: a key put in the
    # settings since is newer, and stands instead.
    replaces: Mapped[str] = mapped_column(String(64), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class WebhookStatus:
    RECEIVED = "received"
    # A refund whose payment has not arrived yet (the sender's events overtook each other):
    # applied with that payment.
    WAITING = "waiting"
    APPLIED = "applied"
    REJECTED = "rejected"
    # A signed event of a type the clinic does not apply: acknowledged, kept, nothing done.
    IGNORED = "ignored"


class WebhookEvent(Base):
    """A Standard Webhooks event, stored raw once per (sender, webhook-id)."""

    __tablename__ = "payment_webhook_events"
    __table_args__ = (
        UniqueConstraint("provider", "webhook_id", name="uq_payment_webhook_events_provider_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    webhook_id: Mapped[str] = mapped_column(String(255), nullable=False)
    type: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    body: Mapped[str] = mapped_column(Text, nullable=False)
    invoice_id: Mapped[int | None] = mapped_column(Integer, index=True, nullable=True)
    reference: Mapped[str | None] = mapped_column(String(120), index=True, nullable=True)
    amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    outcome: Mapped[str] = mapped_column(Text, nullable=False, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ProviderLogEntry(Base):
    """One provider request and our answer, raw. Append-only: inserted, read, never changed
    (on PostgreSQL a trigger refuses UPDATE and DELETE)."""

    __tablename__ = "payment_provider_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, index=True)
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    method: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    invoice_id: Mapped[int | None] = mapped_column(Integer, index=True, nullable=True)
    # The provider's transaction id (Payme id, click_trans_id, webhook-id).
    provider_ref: Mapped[str | None] = mapped_column(String(255), index=True, nullable=True)
    request: Mapped[str] = mapped_column(Text, nullable=False)
    response: Mapped[str] = mapped_column(Text, nullable=False)
    http_status: Mapped[int] = mapped_column(Integer, nullable=False)
    error_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ip: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    request_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")


# -- the provider log -----------------------------------------------------------------------

MAX_LOGGED = 64 * 1024
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(text: str) -> str:
    return UNSTORABLE.sub("\ufffd", text)


def record_exchange(
    session: Session,
    *,
    provider: str,
    method: str,
    request: str,
    response: str,
    http_status: int,
    invoice_id: int | None = None,
    provider_ref: str | None = None,
    error_code: int | None = None,
    ip: str = "",
    request_id: str = "",
) -> ProviderLogEntry:
    """Add one request and our answer to the log, in the caller's transaction. Raw as it
    came, except a NUL character (no text column stores one) logged as U+FFFD."""
    entry = ProviderLogEntry(
        at=utcnow(),
        provider=provider[:32],
        method=_storable(method or "")[:64],
        invoice_id=invoice_id if is_id(invoice_id) else None,
        provider_ref=_storable(provider_ref)[:255] if provider_ref else None,
        request=_storable(request)[:MAX_LOGGED],
        response=_storable(response)[:MAX_LOGGED],
        http_status=http_status,
        error_code=error_code,
        ip=(ip or "")[:64],
        request_id=(request_id or "")[:64],
    )
    session.add(entry)
    session.flush()
    return entry


def search_log(
    session: Session,
    *,
    invoice_id: int | None = None,
    provider_ref: str | None = None,
    provider: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[ProviderLogEntry], int]:
    """The log, newest first, narrowed to an invoice, a provider transaction id or a
    provider."""
    query = select(ProviderLogEntry)
    count = select(func.count(ProviderLogEntry.id))
    conditions = []
    if invoice_id is not None:
        conditions.append(ProviderLogEntry.invoice_id == invoice_id)
    if provider_ref:
        conditions.append(ProviderLogEntry.provider_ref == provider_ref)
    if provider:
        conditions.append(ProviderLogEntry.provider == provider)
    for condition in conditions:
        query, count = query.where(condition), count.where(condition)
    rows = session.scalars(
        query.order_by(ProviderLogEntry.id.desc()).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return list(rows), session.scalar(count) or 0


def log_entry_as_dict(entry: ProviderLogEntry) -> dict:
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "provider": entry.provider,
        "method": entry.method,
        "invoice_id": entry.invoice_id,
        "provider_ref": entry.provider_ref,
        "request": entry.request,
        "response": entry.response,
        "http_status": entry.http_status,
        "error_code": entry.error_code,
        "ip": entry.ip,
        "request_id": entry.request_id,
    }
