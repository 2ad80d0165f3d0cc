"""Payme Merchant API: the methods Payme calls, each answered by the rules of
``PROTOCOLS.md`` (Payme's own documentation), whatever order and however often they come.

Every method takes the session, the request's ``params`` and ``now`` (milliseconds since the
epoch, from an injectable clock) and returns the ``result`` object, or raises
:class:`PaymeError`. The caller commits, also after most errors: an expired transaction is
cancelled *and* answered with -31008; an error marked ``discard`` is rolled back first.

Concurrency: a transaction row is locked (``FOR UPDATE``; SQLite serialises writers) before
its state is read, and its invoice after it, always in that order. A partial unique index
allows one created or performed transaction per invoice; ``payments.provider_ref`` is unique
per provider, so one Payme transaction can never be credited twice.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.errors import DomainError
from clinic.payments import fiscal, invoices, payme_key
from clinic.payments import payme_params as param
from clinic.payments import refunds, webhooks
from clinic.payments.models import Invoice, InvoiceStatus, PaymentMethod
from clinic.payments.payme_errors import (
    CANNOT_PERFORM,
    INVALID_PARAMS,
    INVALID_REQUEST,
    INVOICE_NOT_FOUND,
    INVOICE_NOT_PAYABLE,
    NO_SUCH_METHOD,
    NOT_FOUND,
    RECEIPT_NOT_FOUND,
    SERVICE_RENDERED,
    WRONG_AMOUNT,
    PaymeError,
)
from clinic.payments.providers import PaymeReason, PaymeState, PaymeTransaction
from clinic.text import whole_number

log = logging.getLogger(__name__)

TIMEOUT_MS = 43_200_000  # 12 hours, counted from Payme's ``time``
ACCOUNT_FIELD = "invoice_id"
PROVIDER = "payme"
ACTOR = "payme"
SEEN_KEY = "payments.payme_invoices"  # session.info: Payme id -> invoice id, as read


def invoice_id_of(account: dict) -> int | None:
    """The invoice id an ``account`` names, or None when it names none."""
    raw = account.get(ACCOUNT_FIELD)
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if isinstance(raw, str) and raw.startswith("0"):
        return None  # "02" is not how an invoice is named: none is found, none is stored
    return whole_number(raw)


def holder_of(payme_id: str) -> str:
    return f"{PROVIDER}:{payme_id}"


# -- the checks every new transaction passes ------------------------------------------------


def _payable_invoice(session: Session, account: dict, amount: int, *, lock: bool) -> Invoice:
    invoice_id = invoice_id_of(account)
    if invoice_id is None:
        raise PaymeError(INVOICE_NOT_FOUND, ACCOUNT_FIELD)
    # A card payment reported and not applied yet is credited first, as at the desk.
    webhooks.apply_waiting_payments(session, invoice_id)
    try:
        invoice = (
            invoices.lock_invoice(session, invoice_id)
            if lock
            else invoices.get_invoice(session, invoice_id)
        )
    except DomainError:
        raise PaymeError(INVOICE_NOT_FOUND, ACCOUNT_FIELD) from None
    live = session.scalar(
        select(PaymeTransaction.id).where(
            PaymeTransaction.invoice_id == invoice.id,
            PaymeTransaction.state.in_(PaymeState.LIVE),
        )
    )
    if live is not None:
        raise PaymeError(CANNOT_PERFORM, ACCOUNT_FIELD)
    if invoice.status != InvoiceStatus.OPEN:
        raise PaymeError(INVOICE_NOT_PAYABLE, ACCOUNT_FIELD)
    if invoice.held_by:
        # Another provider or the desk is taking this invoice right now.
        raise PaymeError(CANNOT_PERFORM, ACCOUNT_FIELD)
    if amount != invoices.amount_due(invoice):
        raise PaymeError(WRONG_AMOUNT, "amount")
    return invoice


# -- the methods ----------------------------------------------------------------------------


def _let_go_of_expired(session: Session, account: dict, now: int) -> None:
    """A transaction past its 12 hours can never be performed: it holds its invoice no
    longer than that, whenever the sweeper comes (it is cancelled here, reason 4)."""
    invoice_id = invoice_id_of(account)
    if invoice_id is not None:
        cancel_expired(session, now, invoice_id=invoice_id)


def check_perform_transaction(session: Session, params: dict, now: int) -> dict:
    amount = param.amount(params)
    account = param.account(params)
    _let_go_of_expired(session, account, now)
    invoice = _payable_invoice(session, account, amount, lock=False)
    detail = fiscal.fiscal_detail(invoice, amount)
    return {"allow": True, "detail": detail} if detail is not None else {"allow": True}


def _seen(session: Session, txn: PaymeTransaction | None) -> PaymeTransaction | None:
    """Note the transaction's invoice for :func:`invoice_of_transaction` (an id never moves
    to another invoice)."""
    if txn is not None:
        session.info.setdefault(SEEN_KEY, {})[txn.payme_id] = txn.invoice_id
    return txn


def _read(session: Session, payme_id: str, *, lock: bool = False) -> PaymeTransaction | None:
    query = select(PaymeTransaction).where(PaymeTransaction.payme_id == payme_id)
    query = query.with_for_update() if lock else query
    return _seen(session, session.scalar(query.execution_options(populate_existing=True)))


def _locked(session: Session, payme_id: str) -> PaymeTransaction | None:
    return _read(session, payme_id, lock=True)


def _expired(txn: PaymeTransaction, now: int) -> bool:
    return now - txn.payme_time > TIMEOUT_MS


def _cancel_created(session: Session, txn: PaymeTransaction, reason: int, now: int) -> None:
    """State 1 -> -1: nothing was paid, so the invoice is only let go (and a card payment a
    sender reported while this held it is credited, before the desk takes it again)."""
    txn.state, txn.reason, txn.cancel_time = PaymeState.CANCELLED, reason, now
    invoice = invoices.lock_invoice(session, txn.invoice_id)
    if invoice.held_by == holder_of(txn.payme_id):
        invoices.release(session, invoice, holder_of(txn.payme_id))
        webhooks.apply_waiting_payments(session, invoice.id)
    session.flush()


def _created_answer(txn: PaymeTransaction) -> dict:
    return {"create_time": txn.create_time, "transaction": str(txn.id), "state": txn.state}


def create_transaction(session: Session, params: dict, now: int) -> dict:
    payme_id = param.text(params, "id")
    payme_time = param.whole(params, "time")
    amount = param.amount(params)
    account = param.account(params)
    txn = _locked(session, payme_id)
    if txn is not None:
        return _existing_create(session, txn, now)
    if now - payme_time > TIMEOUT_MS:
        raise PaymeError(CANNOT_PERFORM)  # born past its timeout: it could never be performed
    _let_go_of_expired(session, account, now)
    try:
        invoice = _payable_invoice(session, account, amount, lock=True)
    except PaymeError as refused:
        # The same id may have been created by a concurrent call this one waited for (on the
        # invoice's lock): then it is a repeat, answered as one. Read, not locked: this call
        # holds the invoice, and a Perform of it locks the transaction before the invoice.
        again = _read(session, payme_id) if refused.code == CANNOT_PERFORM else None
        if again is None:
            raise
        if again.state != PaymeState.CREATED or _expired(again, now):
            raise PaymeError(CANNOT_PERFORM) from None  # past 12 h: the sweeper cancels it
        return _created_answer(again)
    txn = PaymeTransaction(
        payme_id=payme_id,
        invoice_id=invoice.id,
        amount=amount,
        account=account,
        payme_time=payme_time,
        create_time=now,
        state=PaymeState.CREATED,
    )
    # No savepoint: the invoice is locked, so a concurrent Create for it waits and then finds
    # this transaction (a repeat, or -31008). Only the same Payme id for another invoice at
    # the same instant could still meet the unique key: that call then fails whole (-32400,
    # nothing kept) and Payme's retry is answered from what stands.
    session.add(txn)
    session.flush()
    invoices.hold(session, invoice, holder_of(payme_id), locked=True)
    return _created_answer(txn)


def _existing_create(session: Session, txn: PaymeTransaction, now: int) -> dict:
    if txn.state != PaymeState.CREATED:
        raise PaymeError(CANNOT_PERFORM)
    if _expired(txn, now):
        _cancel_created(session, txn, PaymeReason.TIMEOUT, now)
        raise PaymeError(CANNOT_PERFORM)
    return _created_answer(txn)


def _performed_answer(txn: PaymeTransaction) -> dict:
    return {"transaction": str(txn.id), "perform_time": txn.perform_time, "state": txn.state}


def perform_transaction(session: Session, params: dict, now: int) -> dict:
    txn = _locked(session, param.text(params, "id"))
    if txn is None:
        raise PaymeError(NOT_FOUND)
    if txn.state == PaymeState.PERFORMED:
        return _performed_answer(txn)
    if txn.state != PaymeState.CREATED:
        raise PaymeError(CANNOT_PERFORM)
    if _expired(txn, now):
        _cancel_created(session, txn, PaymeReason.TIMEOUT, now)
        raise PaymeError(CANNOT_PERFORM)
    invoice = invoices.lock_invoice(session, txn.invoice_id)
    try:
        # No savepoint: a refusal discards the whole call (the transaction row's lock makes
        # this the only Perform of it, and nothing before this point needs keeping).
        payment = invoices.record_payment(
            session,
            invoice,
            method=PaymentMethod.PAYME,
            amount=txn.amount,
            provider=PROVIDER,
            provider_ref=txn.payme_id,
            actor=ACTOR,
            holder=holder_of(txn.payme_id),
            locked=True,
            exclusive=True,
        )
    except DomainError as exc:
        log.warning("Payme %s cannot be performed: %s", txn.payme_id, exc.detail)
        raise PaymeError(CANNOT_PERFORM, discard=True) from None
    txn.state = PaymeState.PERFORMED
    txn.perform_time = now
    txn.payment_id = payment.id
    session.flush()
    return _performed_answer(txn)


def _cancelled_answer(txn: PaymeTransaction) -> dict:
    return {"transaction": str(txn.id), "cancel_time": txn.cancel_time, "state": txn.state}


def cancel_transaction(session: Session, params: dict, now: int) -> dict:
    payme_id = param.text(params, "id")
    reason = params.get("reason")
    # Only Payme's own reasons are stored and reported back by CheckTransaction and GetStatement.
    if isinstance(reason, bool) or not isinstance(reason, int) or reason not in PaymeReason.KNOWN:
        raise PaymeError(INVALID_REQUEST, "reason")
    txn = _locked(session, payme_id)
    if txn is None:
        raise PaymeError(NOT_FOUND)
    if txn.state in (PaymeState.CANCELLED, PaymeState.CANCELLED_AFTER_PERFORM):
        return _cancelled_answer(txn)
    if txn.state == PaymeState.CREATED:
        _cancel_created(session, txn, reason, now)
        return _cancelled_answer(txn)
    invoice = invoices.lock_invoice(session, txn.invoice_id)
    if refunds.service_rendered(session, invoice):
        raise PaymeError(SERVICE_RENDERED)
    try:
        with session.begin_nested():
            # Payme gives the money back itself: the clinic's approval limit is for refunds
            # a cashier hands out, not for recording one a provider made.
            refunds.refund(
                session,
                invoices.find_payment(session, PROVIDER, txn.payme_id),
                amount=txn.amount,
                reason=f"Payme cancelled the transaction (reason {reason})",
                provider_ref=txn.payme_id,
                actor=ACTOR,
                may_refund_large=True,
            )
    except DomainError as exc:
        log.warning("Payme %s cannot be refunded: %s", txn.payme_id, exc.detail)
        if exc.code == "changed":  # a race lost: Payme may ask again
            raise PaymeError(CANNOT_PERFORM) from None
        # Given back already, at the desk: the money must not go back twice, and Payme's
        # answer for a cancel that can never be done is -31007.
        raise PaymeError(SERVICE_RENDERED) from None
    txn.state = PaymeState.CANCELLED_AFTER_PERFORM
    txn.reason = reason
    txn.cancel_time = now
    session.flush()
    return _cancelled_answer(txn)


def check_transaction(session: Session, params: dict, now: int) -> dict:
    payme_id = param.text(params, "id")
    txn = _read(session, payme_id)
    if txn is None:
        raise PaymeError(NOT_FOUND)
    if txn.state == PaymeState.CREATED and _expired(txn, now):
        # Past its 12 hours it can never be performed: reported as what it is, cancelled by
        # timeout, not as created until the sweeper comes. Locked and checked again, so a
        # Perform of it just now decides first.
        txn = _locked(session, payme_id)
        if txn.state == PaymeState.CREATED and _expired(txn, now):
            _cancel_created(session, txn, PaymeReason.TIMEOUT, now)
    return {
        "create_time": txn.create_time,
        "perform_time": txn.perform_time,
        "cancel_time": txn.cancel_time,
        "transaction": str(txn.id),
        "state": txn.state,
        "reason": txn.reason,
    }


def get_statement(session: Session, params: dict, now: int) -> dict:
    start = param.whole(params, "from", positive=False)
    end = param.whole(params, "to", positive=False)
    # Those of the period past their 12 hours are listed cancelled by timeout, as they are.
    cancel_expired(session, now, limit=None, between=(start, end))
    rows = session.scalars(
        select(PaymeTransaction)
        .where(PaymeTransaction.payme_time >= start, PaymeTransaction.payme_time <= end)
        .order_by(PaymeTransaction.payme_time, PaymeTransaction.id)
    ).all()
    return {
        "transactions": [
            {
                "id": t.payme_id,
                "time": t.payme_time,
                "amount": t.amount,
                "account": t.account,
                "create_time": t.create_time,
                "perform_time": t.perform_time,
                "cancel_time": t.cancel_time,
                "transaction": str(t.id),
                "state": t.state,
                "reason": t.reason,
                "receivers": None,
            }
            for t in rows
        ]
    }


FISCAL_TYPES = {"PERFORM": "fiscal_perform", "CANCEL": "fiscal_cancel"}


def set_fiscal_data(session: Session, params: dict, now: int) -> dict:
    """Keep the fiscal receipt of a payment (PERFORM) or of its cancellation (CANCEL). Payme
    documents this method's own errors: -32602 for a parameter missing or mistyped (``data``
    names it) and -32001 for a receipt id no transaction has."""
    payme_id = param.text(params, "id", refusal=INVALID_PARAMS)
    kind = params.get("type")
    data = params.get("fiscal_data")
    if not isinstance(kind, str) or kind not in FISCAL_TYPES:  # a list or object: no type
        raise PaymeError(INVALID_PARAMS, "type")
    if not isinstance(data, dict):
        raise PaymeError(INVALID_PARAMS, "fiscal_data")
    txn = _locked(session, payme_id)
    if txn is None:
        raise PaymeError(RECEIPT_NOT_FOUND)
    setattr(txn, FISCAL_TYPES[kind], data)
    session.flush()
    return {"success": True}


METHODS = {
    "CheckPerformTransaction": check_perform_transaction,
    "CreateTransaction": create_transaction,
    "PerformTransaction": perform_transaction,
    "CancelTransaction": cancel_transaction,
    "CheckTransaction": check_transaction,
    "GetStatement": get_statement,
    "SetFiscalData": set_fiscal_data,
}


def call(
    session: Session, method, params, now: int, *, key: str = "", sandbox: bool = False
) -> dict:
    """Run one method and return its ``result``; raises :class:`PaymeError`. ``key`` is the
    settings' key, which a ChangePassword replaces (the sandbox's, apart, with ``sandbox``)."""
    if not isinstance(method, str):
        raise PaymeError(INVALID_REQUEST, "method")
    handler = METHODS.get(method)
    if handler is None and method != "ChangePassword":
        raise PaymeError(NO_SUCH_METHOD, method[:100])
    if not isinstance(params, dict):
        raise PaymeError(INVALID_REQUEST, "params")
    if handler is None:
        return payme_key.change_password(session, params, configured=key, sandbox=sandbox)
    return handler(session, params, now)


def subject_of(params) -> tuple[int | None, str | None]:
    """The invoice and Payme transaction id a request is about, for the provider log."""
    if not isinstance(params, dict):
        return None, None
    payme_id = params.get("id") if isinstance(params.get("id"), str) else None
    account = params.get("account")
    invoice_id = invoice_id_of(account) if isinstance(account, dict) else None
    return invoice_id, (payme_id[:255] if payme_id else None)


def invoice_of_transaction(session: Session, payme_id: str) -> int | None:
    """The invoice of a Payme transaction: from the session when the call has read it (no
    round trip), else from the database."""
    known = session.info.get(SEEN_KEY, {}).get(payme_id)
    if known is not None:
        return known
    return session.scalar(
        select(PaymeTransaction.invoice_id).where(PaymeTransaction.payme_id == payme_id)
    )


def cancel_expired(
    session: Session,
    now: int,
    *,
    limit: int | None = 200,
    invoice_id: int | None = None,
    between: tuple[int, int] | None = None,
) -> list[str]:
    """Cancel (state -1, reason 4) created transactions past the 12-hour timeout, all,
    ``invoice_id``'s or those whose Payme ``time`` is ``between`` two (inclusive); returns
    their Payme ids (at most ``limit``, None: all). Each is locked and checked again, so a
    concurrent Perform wins or loses cleanly (the transaction's row first, then its invoice:
    the order Perform locks them in)."""
    query = select(PaymeTransaction.payme_id).where(
        PaymeTransaction.state == PaymeState.CREATED,
        PaymeTransaction.payme_time < now - TIMEOUT_MS,
    )
    if invoice_id is not None:
        query = query.where(PaymeTransaction.invoice_id == invoice_id)
    if between is not None:
        query = query.where(PaymeTransaction.payme_time.between(*between))
    due = session.scalars(query.order_by(PaymeTransaction.payme_time).limit(limit)).all()
    cancelled = []
    for payme_id in due:
        txn = _locked(session, payme_id)
        if txn is None or txn.state != PaymeState.CREATED or not _expired(txn, now):
            continue  # pragma: no cover - performed or cancelled since the listing (a race)
        _cancel_created(session, txn, PaymeReason.TIMEOUT, now)
        cancelled.append(payme_id)
    return cancelled
