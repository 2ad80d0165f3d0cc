"""Letting go of an invoice held by an online payment the patient never finished.

A Payme transaction created and never performed holds its invoice for up to 12 hours, an
abandoned Click Prepare until its sweeper comes: meanwhile the desk is refused (``held``).
:func:`release_online_hold` withdraws that payment on the clinic's side and lets the invoice
go, so that the cashier can take the money another way:

- Payme: the transaction goes from state 1 to -1 with reason 3 (:data:`PaymeReason.CLINIC_WITHDREW`;
  4 when its 12 hours are past anyway) and its ``cancel_time``: a later PerformTransaction
  gets -31008, and CheckTransaction and GetStatement report it cancelled.
- Click: the prepared transaction is cancelled: a later Complete, or Prepare, gets -9.

The cashier names the hold she saw (``holder``): one that changed meanwhile (a new payment
the patient is making right now) is refused, not withdrawn. The transaction's row is locked
before its invoice, the order a Perform, a Complete and the sweepers take them in, so a
release and the provider's call racing for one transaction are decided one after the other:
the first wins, the second is refused (the desk with 409, the provider by its protocol).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.base import iso, utcnow
from clinic.errors import Conflict
from clinic.payments import click, invoices, payme, webhooks
from clinic.payments.models import Invoice
from clinic.payments.models import InvoiceStatus as S
from clinic.payments.providers import (
    ClickStatus,
    ClickTransaction,
    PaymeReason,
    PaymeState,
    PaymeTransaction,
)

log = logging.getLogger(__name__)

# The largest click_trans_id a BIGINT column holds.
BIGINT_MAX = 2**63 - 1


def _refuse(invoice: Invoice, holder: str) -> None:
    """Why ``invoice`` is not held by ``holder`` (any more)."""
    if invoice.status in S.SETTLED:
        raise Conflict(f"invoice {invoice.number} is already paid", code="already_paid")
    if invoice.status != S.OPEN:
        raise Conflict(f"invoice {invoice.number} is {invoice.status}", code="not_open")
    if invoice.held_by is None:
        raise Conflict(f"invoice {invoice.number} is not held", code="not_held")
    raise Conflict(
        f"invoice {invoice.number} is held by {invoice.held_by} now, not by {holder}",
        code="hold_changed",
        errors={"held_by": [f"held by {invoice.held_by} now"]},
    )


def _not_releasable(invoice: Invoice, holder: str) -> Conflict:
    return Conflict(
        f"invoice {invoice.number} is held by {holder}, not an online payment waiting to be"
        " confirmed",
        code="not_releasable",
    )


def _locked_transaction(session: Session, invoice_id: int, holder: str):
    """The waiting transaction behind ``holder``, locked; None when there is none."""
    provider, _, ref = holder.partition(":")
    if provider == payme.PROVIDER and ref:
        query = select(PaymeTransaction).where(
            PaymeTransaction.payme_id == ref, PaymeTransaction.invoice_id == invoice_id
        )
    elif provider == click.PROVIDER and ref.isascii() and ref.isdigit():
        if int(ref) > BIGINT_MAX:
            return None
        query = select(ClickTransaction).where(
            ClickTransaction.click_trans_id == int(ref), ClickTransaction.invoice_id == invoice_id
        )
    else:
        return None
    return session.scalar(query.with_for_update().execution_options(populate_existing=True))


def _withdraw(txn, payme_now: int, now: datetime) -> None:
    if isinstance(txn, PaymeTransaction):
        expired = payme_now - txn.payme_time > payme.TIMEOUT_MS
        txn.state = PaymeState.CANCELLED
        txn.reason = PaymeReason.TIMEOUT if expired else PaymeReason.CLINIC_WITHDREW
        txn.cancel_time = payme_now
    else:
        txn.status = ClickStatus.CANCELLED
        txn.cancelled_at = now


def _waiting(txn) -> bool:
    if isinstance(txn, PaymeTransaction):
        return txn.state == PaymeState.CREATED
    return txn is not None and txn.status == ClickStatus.PREPARED


def release_online_hold(
    session: Session,
    invoice_id: int,
    *,
    holder: str,
    actor: str,
    payme_now: int,
    now: datetime | None = None,
) -> dict:
    """Withdraw the online payment ``holder`` (``payme:<id>``, ``click:<click_trans_id>``)
    that holds the invoice and was not confirmed, and let the invoice go. ``payme_now``: the
    time in Payme's milliseconds. Returns what was released (``provider``, ``transaction``:
    the provider's id, ``held_at``). Conflicts: ``already_paid``, ``not_open``, ``not_held``,
    ``hold_changed`` (held by another payment than ``holder``), ``not_releasable`` (held by
    something that is not an online payment waiting: the desk, a payment confirmed)."""
    now = now or utcnow()
    invoice = invoices.get_invoice(session, invoice_id)
    if invoice.held_by != holder:
        _refuse(invoice, holder)
    txn = _locked_transaction(session, invoice.id, holder)
    invoice = invoices.lock_invoice(session, invoice.id)
    if invoice.held_by != holder:  # performed, cancelled or taken over while this waited
        _refuse(invoice, holder)
    if txn is None or not _waiting(txn):
        raise _not_releasable(invoice, holder)
    held_at = invoice.held_at
    _withdraw(txn, payme_now, now)
    session.flush()
    invoices.release(session, invoice, holder)
    # A card payment that arrived while this hold stood is credited now, before the cashier
    # takes the money a second time.
    if webhooks.apply_waiting_payments(session, invoice.id):
        session.refresh(invoice)
    log.info("invoice %s: %s withdrawn by %s", invoice.number, holder, actor)
    provider, _, ref = holder.partition(":")
    return {"invoice": invoice, "provider": provider, "transaction": ref, "held_at": iso(held_at)}
