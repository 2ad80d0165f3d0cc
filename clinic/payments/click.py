"""Click SHOP API: Prepare and Complete, checked in the order ``PROTOCOLS.md`` gives.

The signature is an MD5 over the fields exactly as they arrived (``"50000"`` and
``"50000.00"`` hash differently) and is compared in constant time. A Complete (or a repeated
Prepare) that arrives with ``error < 0`` is Click saying the payment failed: our side is
cancelled and every later call for that transaction, "successful" or not, is answered -9.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinic.base import utcnow
from clinic.errors import DomainError
from clinic.payments import invoices, webhooks
from clinic.payments.models import InvoiceStatus, PaymentMethod
from clinic.payments.providers import ClickStatus, ClickTransaction
from clinic.text import whole_number

log = logging.getLogger(__name__)

PROVIDER = "click"
ACTOR = "click"
PREPARE, COMPLETE = "0", "1"

SUCCESS = 0
SIGN_FAILED = -1
WRONG_AMOUNT = -2
NO_SUCH_ACTION = -3
ALREADY_PAID = -4
NO_SUCH_INVOICE = -5
NO_SUCH_TRANSACTION = -6
UPDATE_FAILED = -7
BAD_REQUEST = -8
CANCELLED = -9

NOTES = {
    SUCCESS: "Success",
    SIGN_FAILED: "SIGN CHECK FAILED!",
    WRONG_AMOUNT: "Incorrect parameter amount",
    NO_SUCH_ACTION: "Action not found",
    ALREADY_PAID: "Already paid",
    NO_SUCH_INVOICE: "User does not exist",
    NO_SUCH_TRANSACTION: "Transaction does not exist",
    UPDATE_FAILED: "Failed to update user",
    BAD_REQUEST: "Error in request from click",
    CANCELLED: "Transaction cancelled",
}

FIELDS = (
    "click_trans_id",
    "service_id",
    "click_paydoc_id",
    "merchant_trans_id",
    "amount",
    "action",
    "error",
    "error_note",
    "sign_time",
    "sign_string",
)
COMPLETE_FIELDS = FIELDS + ("merchant_prepare_id",)
MAX_FIELD = 255
# The database's INTEGER: a prepare id past it names no transaction, and Click's error code is
# kept at its bound when past it (the transaction is cancelled all the same).
INTEGER = range(-(2**31), 2**31)


@dataclass(frozen=True)
class ClickConfig:
    service_id: str
    secret_key: str


class ClickAnswer(Exception):
    """An answer other than success, raised from the checks."""

    def __init__(self, error: int) -> None:
        super().__init__(error)
        self.error = error


def signature(fields: dict, secret_key: str, *, complete: bool) -> str:
    """The lowercase hex MD5 Click signs with, over the strings as received."""
    parts = [
        fields["click_trans_id"],
        fields["service_id"],
        secret_key,
        fields["merchant_trans_id"],
    ]
    if complete:
        parts.append(fields["merchant_prepare_id"])
    parts += [fields["amount"], fields["action"], fields["sign_time"]]
    # MD5 is what Click's protocol signs with; it is not our choice of hash.
    return hashlib.md5("".join(parts).encode(), usedforsecurity=False).hexdigest()


# A whole number as Click writes one: at most one minus sign, then ASCII digits.
WHOLE = re.compile(r"-?[0-9]+")
# Click's ids are bigint: a signed 64-bit number, up to 19 digits.
BIGINT = range(-(2**63), 2**63)


def _is_whole(value: str) -> bool:
    return len(value) <= 20 and WHOLE.fullmatch(value) is not None and int(value) in BIGINT


def _is_id(value: str) -> bool:
    """A positive whole number written plainly: digits, no sign, no leading zero."""
    return _is_whole(value) and value.isdigit() and not value.startswith("0")


# Soums as Click writes them: digits, maybe a point and more digits (whole tiyin, below).
SOUMS = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,6})?")


def _tiyin(amount: str) -> int | None:
    """Soums as Click writes them (``"50000"``, ``"50000.00"``) in tiyin; None if not money
    or not whole tiyin (signs, spaces, exponents, underscores, other scripts' digits)."""
    if not SOUMS.fullmatch(amount):
        return None
    value = Decimal(amount)
    if value <= 0:
        return None
    tiyin = value * 100
    if tiyin != tiyin.to_integral_value():
        return None
    return int(tiyin)


def _check_request(fields: dict, config: ClickConfig, *, complete: bool) -> None:
    """Missing fields -8, signature -1, action -3: the checks before any row is read."""
    needed = COMPLETE_FIELDS if complete else FIELDS
    for name in needed:
        value = fields.get(name)
        if not isinstance(value, str) or len(value) > MAX_FIELD or "\x00" in value:
            raise ClickAnswer(BAD_REQUEST)
        if name != "error_note" and not value:
            raise ClickAnswer(BAD_REQUEST)
    ids = ("click_trans_id", "click_paydoc_id", "service_id")
    if not all(_is_id(fields[name]) for name in ids) or not _is_whole(fields["error"]):
        raise ClickAnswer(BAD_REQUEST)
    if complete and not _is_whole(fields["merchant_prepare_id"]):
        raise ClickAnswer(BAD_REQUEST)
    if not config.secret_key:
        raise ClickAnswer(SIGN_FAILED)  # without a secret nothing can be signed by Click
    forms = [complete]
    carried = fields.get("merchant_prepare_id")
    if not complete and fields["action"] != PREPARE and isinstance(carried, str) and carried:
        # A Complete posted to the Prepare URL is signed as Click signs a Complete, with its
        # merchant_prepare_id: a genuine call for another action (-3 below), not a forgery.
        forms.append(True)
    # Compared as bytes: a signature that is not ASCII is a wrong one (-1), and compare_digest
    # refuses non-ASCII text outright.
    given = fields["sign_string"].lower().encode()
    if not any(
        hmac.compare_digest(signature(fields, config.secret_key, complete=form).encode(), given)
        for form in forms
    ):
        raise ClickAnswer(SIGN_FAILED)
    if fields["service_id"] != config.service_id:
        raise ClickAnswer(BAD_REQUEST)
    if fields["action"] != (COMPLETE if complete else PREPARE):
        raise ClickAnswer(NO_SUCH_ACTION)


def _invoice(session: Session, fields: dict, *, credit_reported: bool = False):
    """The invoice ``merchant_trans_id`` names, locked (-5 when there is none). With
    ``credit_reported``, a card payment its sender reported and no worker has applied yet is
    credited first, as at the desk: the patient is not charged again for what he has paid."""
    raw = fields["merchant_trans_id"]
    if not _is_id(raw) or len(raw) > 9:
        raise ClickAnswer(NO_SUCH_INVOICE)
    if credit_reported:
        webhooks.apply_waiting_payments(session, int(raw))
    try:
        return invoices.lock_invoice(session, int(raw))
    except DomainError:
        raise ClickAnswer(NO_SUCH_INVOICE) from None


def _check_amount(invoice, fields: dict, txn: ClickTransaction | None = None) -> int:
    amount = _tiyin(fields["amount"])
    # A transaction Click asks about again is compared with what it was prepared for, so that
    # a repeat is told "already paid" or "cancelled", not "wrong amount", also when part of
    # the invoice was paid another way. Otherwise an open invoice is paid in full, and a paid
    # one is compared with what it cost.
    if txn is not None and txn.invoice_id == invoice.id:
        expected = txn.amount
    elif invoice.status == InvoiceStatus.OPEN:
        expected = invoices.amount_due(invoice)
    else:
        expected = invoice.total
    if amount is None or amount != expected:
        raise ClickAnswer(WRONG_AMOUNT)
    return amount


def _check_open(invoice) -> None:
    """An invoice that takes no more money: paid (-4), or cancelled at the desk (-9, Click's
    word for a payment that will not happen: it gives the money back)."""
    if invoice.status == InvoiceStatus.CANCELLED:
        raise ClickAnswer(CANCELLED)
    if invoice.status != InvoiceStatus.OPEN:
        raise ClickAnswer(ALREADY_PAID)


def holder_of(click_trans_id: int) -> str:
    return f"{PROVIDER}:{click_trans_id}"


def answer(fields: dict, error: int, **ids) -> dict:
    """Click's answer to the call ``fields``: its ids echoed, ours (``ids``), and ``error``."""
    reply = {
        "click_trans_id": _int_or_raw(fields.get("click_trans_id")),
        "merchant_trans_id": fields.get("merchant_trans_id"),
    }
    reply.update(ids)
    reply.update({"error": error, "error_note": NOTES[error]})
    return reply


def _int_or_raw(value):
    if isinstance(value, str) and _is_whole(value):
        return int(value)
    return value


def prepare(session: Session, fields: dict, config: ClickConfig) -> dict:
    """Answer a Prepare (``action=0``); the caller commits."""
    try:
        _check_request(fields, config, complete=False)
        invoice = _invoice(session, fields, credit_reported=True)
        click_trans_id = int(fields["click_trans_id"])
        txn = session.scalar(
            select(ClickTransaction).where(ClickTransaction.click_trans_id == click_trans_id)
        )
        amount = _check_amount(invoice, fields, txn)
        if txn is not None and txn.status == ClickStatus.CANCELLED and txn.invoice_id == invoice.id:
            # Cancelled stays cancelled (-9), as for its Complete, also once the invoice was
            # paid another way: "already paid" would tell Click this payment went through.
            raise ClickAnswer(CANCELLED)
        _check_open(invoice)
        if int(fields["error"]) < 0:
            if txn is None:
                _record_failed_prepare(session, fields, invoice, amount)
            elif txn.invoice_id == invoice.id:
                _cancel_failed_prepare(session, txn.id, invoice, int(fields["error"]))
            raise ClickAnswer(CANCELLED)
        if txn is not None:
            if txn.status == ClickStatus.CANCELLED or txn.invoice_id != invoice.id:
                raise ClickAnswer(CANCELLED)
            return answer(fields, SUCCESS, merchant_prepare_id=txn.id)
        if invoice.held_by:
            # Payme or the desk is taking this invoice right now.
            raise ClickAnswer(UPDATE_FAILED)
        txn = ClickTransaction(
            click_trans_id=click_trans_id,
            click_paydoc_id=int(fields["click_paydoc_id"]),
            invoice_id=invoice.id,
            amount=amount,
            status=ClickStatus.PREPARED,
        )
        try:
            with session.begin_nested():
                session.add(txn)
                session.flush()
        except IntegrityError:  # pragma: no cover - a race only (see below)
            # The same click_trans_id for another invoice at the same instant (Prepares of
            # one invoice wait on its lock and find the first).
            raise ClickAnswer(UPDATE_FAILED) from None
        invoices.hold(session, invoice, holder_of(click_trans_id))
        return answer(fields, SUCCESS, merchant_prepare_id=txn.id)
    except ClickAnswer as exc:
        return answer(fields, exc.error, merchant_prepare_id=None)


def complete(session: Session, fields: dict, config: ClickConfig) -> dict:
    """Answer a Complete (``action=1``); the caller commits (also after a -9: the
    cancellation it made must stick)."""
    try:
        _check_request(fields, config, complete=True)
        prepare_id = int(fields["merchant_prepare_id"])
        txn = (
            session.scalar(
                select(ClickTransaction)
                .where(ClickTransaction.id == prepare_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            if prepare_id in INTEGER
            else None
        )
        invoice = _invoice(session, fields)
        if txn is not None and (
            txn.click_trans_id != int(fields["click_trans_id"]) or txn.invoice_id != invoice.id
        ):
            txn = None  # the prepare id names another payment: none of this one
        _check_amount(invoice, fields, txn)
        if txn is not None and txn.status == ClickStatus.COMPLETED:
            raise ClickAnswer(ALREADY_PAID)
        if txn is not None and txn.status == ClickStatus.CANCELLED:
            # Cancelled stays cancelled (-9: Click gives the money back), also once the invoice
            # was paid another way; "already paid" is Click's word for a confirmed transaction.
            raise ClickAnswer(CANCELLED)
        # Click's order: already paid (-4), then an unknown prepare id (-6), then cancelled
        # (-9), also for an invoice cancelled at the desk.
        if invoice.status not in (InvoiceStatus.OPEN, InvoiceStatus.CANCELLED):
            raise ClickAnswer(ALREADY_PAID)
        if txn is None:
            raise ClickAnswer(NO_SUCH_TRANSACTION)
        _check_open(invoice)
        if int(fields["error"]) < 0:
            _cancel(session, txn, invoice, int(fields["error"]))
            raise ClickAnswer(CANCELLED)
        try:
            with session.begin_nested():
                payment = invoices.record_payment(
                    session,
                    invoice,
                    method=PaymentMethod.CLICK,
                    amount=txn.amount,
                    provider=PROVIDER,
                    provider_ref=str(txn.click_trans_id),
                    actor=ACTOR,
                    holder=holder_of(txn.click_trans_id),
                )
        except DomainError as exc:
            log.warning("Click %s cannot be completed: %s", txn.click_trans_id, exc.detail)
            raise ClickAnswer(UPDATE_FAILED) from None
        txn.status = ClickStatus.COMPLETED
        txn.completed_at = utcnow()
        txn.payment_id = payment.id
        txn.confirm_id = payment.id
        session.flush()
        return answer(fields, SUCCESS, merchant_confirm_id=txn.confirm_id)
    except ClickAnswer as exc:
        return answer(fields, exc.error, merchant_confirm_id=None)


def _record_failed_prepare(session: Session, fields: dict, invoice, amount: int) -> None:
    """Click's first word of a transaction says it failed (``error < 0``): it is kept,
    cancelled and holding nothing, so that a later Prepare or Complete of it, however
    "successful", is answered -9 as well and never takes the money Click said it did not."""
    now = utcnow()
    try:
        with session.begin_nested():
            session.add(
                ClickTransaction(
                    click_trans_id=int(fields["click_trans_id"]),
                    click_paydoc_id=int(fields["click_paydoc_id"]),
                    invoice_id=invoice.id,
                    amount=amount,
                    status=ClickStatus.CANCELLED,
                    click_error=max(int(fields["error"]), INTEGER.start),
                    created_at=now,
                    cancelled_at=now,
                )
            )
            session.flush()
    except IntegrityError:  # pragma: no cover - a race only
        # The same click_trans_id recorded at the same instant by another call: it decides.
        pass


def _cancel_failed_prepare(session: Session, txn_id: int, invoice, click_error: int) -> None:
    """Click repeats a Prepare reporting that the payment failed (``error < 0``): ours is
    cancelled and the invoice let go, as Click's "cancel the payment and answer -9" asks, so
    the -9 is true. A Complete of it holding its row right now decides instead (skipped, not
    waited for: it locks the row before the invoice, which this call already holds)."""
    txn = session.scalar(
        select(ClickTransaction)
        .where(ClickTransaction.id == txn_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if txn is not None and txn.status == ClickStatus.PREPARED:
        _cancel(session, txn, invoice, click_error)


def _cancel(session: Session, txn: ClickTransaction, invoice, click_error: int) -> None:
    txn.status = ClickStatus.CANCELLED
    txn.click_error = max(click_error, INTEGER.start)
    txn.cancelled_at = utcnow()
    if invoice.held_by == holder_of(txn.click_trans_id):
        invoices.release(session, invoice, holder_of(txn.click_trans_id))
        # A card payment a signed sender reported while this hold stood is credited now,
        # before the desk, seeing the invoice let go, takes the money a second time.
        webhooks.apply_waiting_payments(session, invoice.id)
    session.flush()


def cancel_stale(session: Session, *, older_than, limit: int = 200) -> list[int]:
    """Cancel prepared transactions Click never completed (the patient left the payment
    page) so their invoices can be paid another way; returns their click_trans_ids. A
    Complete arriving later is answered -9, and Click gives the money back."""
    due = session.scalars(
        select(ClickTransaction.id)
        .where(
            ClickTransaction.status == ClickStatus.PREPARED,
            ClickTransaction.created_at < older_than,
        )
        .order_by(ClickTransaction.id)
        .limit(limit)
    ).all()
    cancelled = []
    for txn_id in due:
        txn = session.scalar(
            select(ClickTransaction)
            .where(ClickTransaction.id == txn_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if txn is None or txn.status != ClickStatus.PREPARED:
            continue  # pragma: no cover - completed or cancelled since the listing (a race)
        _cancel(session, txn, invoices.lock_invoice(session, txn.invoice_id), 0)
        cancelled.append(txn.click_trans_id)
    return cancelled


def subject_of(fields: dict) -> tuple[int | None, str | None]:
    """The invoice and Click transaction id a request is about, for the provider log."""
    raw = fields.get("merchant_trans_id")
    # Only what names an invoice for :func:`_invoice`: "042" is answered -5, so its call is
    # not logged as invoice 42's either.
    invoice_id = whole_number(raw) if isinstance(raw, str) and _is_id(raw) else None
    ref = fields.get("click_trans_id")
    return invoice_id, (ref[:255] if isinstance(ref, str) and ref else None)
