"""Reconciliation: the providers' transactions against our invoices and payments.

Lists every disagreement, as a job with progress and a CSV report (kept with the job):

- ``paid_at_provider_not_here``: a performed Payme, completed Click or received "succeeded"
  webhook with no payment here;
- ``amount_differs``: both sides have the payment, for different amounts;
- ``refund_not_applied``: the provider refunded (Payme -2, a "refunded" webhook) and no
  refund is recorded here;
- ``paid_here_not_at_provider``: a payment here naming a provider transaction the provider
  does not show as paid.
- ``webhook_rejected``: a signed event the money rules refused (the amount is not what is
  due, the invoice was paid another way), with the reason; its only line.

It reads only; a person settles each line with the provider.
"""

from __future__ import annotations

import csv
import io
from typing import Callable, Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clinic import jobs
from clinic.jobs.models import Job, JobFile
from clinic.payments.models import Payment, Refund
from clinic.payments.providers import (
    ClickStatus,
    ClickTransaction,
    PaymeState,
    PaymeTransaction,
    WebhookEvent,
    WebhookStatus,
)
from clinic.text import spreadsheet_safe, whole_number

JOB_KIND = "payments_reconciliation"
# Every provider's payments of the day: for those who may start one.
jobs.followed_with(JOB_KIND, "reports.read")
TASK_NAME = "payments.reconcile"
QUEUE = "payments"
REPORT_NAME = "reconciliation.csv"
BATCH = 200
COLUMNS = (
    "kind",
    "provider",
    "provider_ref",
    "invoice_id",
    "provider_amount",
    "our_amount",
    "provider_state",
    "detail",
)


def start(session: Session, *, created_by: str | None) -> Job:
    """A queued reconciliation job, in the caller's transaction (dispatch after commit)."""
    return jobs.create_job(
        session, kind=JOB_KIND, task_name=TASK_NAME, queue=QUEUE, created_by=created_by
    )


def _row(kind, provider, ref, invoice_id, provider_amount, our_amount, state, detail) -> dict:
    return dict(zip(COLUMNS, (kind, provider, ref, invoice_id, provider_amount, our_amount,
                              state, detail)))  # fmt: skip


def _payment(session: Session, provider: str, ref: str) -> Payment | None:
    return session.scalar(
        select(Payment).where(Payment.provider == provider, Payment.provider_ref == ref)
    )


def _paid(session, provider, ref, invoice_id, amount, state) -> Iterator[dict]:
    payment = _payment(session, provider, ref)
    if payment is None:
        yield _row("paid_at_provider_not_here", provider, ref, invoice_id, amount, None, state,
                   "the provider shows it paid; no payment here")  # fmt: skip
    elif payment.amount != amount or payment.invoice_id != invoice_id:
        yield _row("amount_differs", provider, ref, invoice_id, amount, payment.amount, state,
                   f"payment {payment.id} on invoice {payment.invoice_id}")  # fmt: skip


def _refunded(session, provider, ref, refund_ref, invoice_id, amount, state) -> Iterator[dict]:
    payment = _payment(session, provider, ref)
    refunded = None
    if payment is not None:
        refunded = session.scalar(
            select(Refund.amount).where(
                Refund.payment_id == payment.id, Refund.provider_ref == refund_ref
            )
        )
    if refunded is None:
        yield _row("refund_not_applied", provider, ref, invoice_id, amount, None, state,
                   "the provider refunded; no refund here")  # fmt: skip
    elif refunded != amount:
        yield _row("amount_differs", provider, ref, invoice_id, amount, refunded, state,
                   "refund amounts differ")  # fmt: skip


def _payme(session: Session, txn: PaymeTransaction) -> Iterator[dict]:
    if txn.state == PaymeState.PERFORMED:
        yield from _paid(session, "payme", txn.payme_id, txn.invoice_id, txn.amount, txn.state)
    elif txn.state == PaymeState.CANCELLED_AFTER_PERFORM:
        yield from _refunded(session, "payme", txn.payme_id, txn.payme_id, txn.invoice_id,
                             txn.amount, txn.state)  # fmt: skip


def _click(session: Session, txn: ClickTransaction) -> Iterator[dict]:
    if txn.status == ClickStatus.COMPLETED:
        yield from _paid(
            session, "click", str(txn.click_trans_id), txn.invoice_id, txn.amount, txn.status
        )


def _webhook(session: Session, event: WebhookEvent) -> Iterator[dict]:
    if event.reference is None:
        return  # a body we could not read: it names nothing to compare
    if _told_before(session, event):
        return  # the sender's same payment or refund again under a new webhook-id: one line
    if event.status == WebhookStatus.REJECTED:
        if event.type == "payment.succeeded":
            credited = _payment(session, event.provider, event.reference)
            if credited is not None and (credited.invoice_id, credited.amount) == (
                event.invoice_id,
                event.amount,
            ):
                # Refused once (the cash part not given back yet), then credited when the
                # sender sent the same payment again: it is in our books, nothing to settle.
                return
        # One line, with the reason: the sender's money and our books disagree by this event.
        yield _row("webhook_rejected", event.provider, event.reference, event.invoice_id,
                   event.amount, None, event.status, event.outcome[:300])  # fmt: skip
        return
    if event.type == "payment.succeeded":
        yield from _paid(session, event.provider, event.reference, event.invoice_id,
                         event.amount, event.status)  # fmt: skip
    elif event.type == "payment.refunded":
        refund_ref = _refund_reference(event)
        yield from _refunded(session, event.provider, event.reference, refund_ref,
                             event.invoice_id, event.amount, event.status)  # fmt: skip


def _told_before(session: Session, event: WebhookEvent) -> bool:
    """Whether an earlier event of the sender tells the same: the same payment (or the same
    refund of it) of the same amount on the same invoice."""
    earlier = session.scalars(
        select(WebhookEvent)
        .where(
            WebhookEvent.provider == event.provider,
            WebhookEvent.reference == event.reference,
            WebhookEvent.type == event.type,
            WebhookEvent.invoice_id == event.invoice_id,
            WebhookEvent.amount == event.amount,
            WebhookEvent.id < event.id,
        )
        .order_by(WebhookEvent.id)
    ).all()
    if event.type != "payment.refunded":
        return bool(earlier)
    refund_ref = _refund_reference(event)
    return any(_refund_reference(other) == refund_ref for other in earlier)


def _refund_reference(event: WebhookEvent) -> str | None:
    from clinic.payments.webhooks import Rejected, parse_body

    try:
        return parse_body(event.body.encode()).get("refund_reference")
    except Rejected:
        return None


def _ours(session: Session, payment: Payment) -> Iterator[dict]:
    """A payment naming a provider transaction the provider does not show as paid."""
    if payment.provider == "payme":
        state = session.scalar(
            select(PaymeTransaction.state).where(PaymeTransaction.payme_id == payment.provider_ref)
        )
        shown = state in (PaymeState.PERFORMED, PaymeState.CANCELLED_AFTER_PERFORM)
    elif payment.provider == "click":
        ref = payment.provider_ref
        state = session.scalar(
            select(ClickTransaction.status).where(
                ClickTransaction.click_trans_id == (whole_number(ref, most_digits=18) or -1)
            )
        )
        shown = state == ClickStatus.COMPLETED
    else:
        return  # webhook senders are compared from their events above
    if not shown:
        yield _row("paid_here_not_at_provider", payment.provider, payment.provider_ref,
                   payment.invoice_id, None, payment.amount, state,
                   f"payment {payment.id}")  # fmt: skip


SOURCES = (
    (PaymeTransaction, _payme),
    (ClickTransaction, _click),
    (WebhookEvent, _webhook),
    (Payment, _ours),
)


def _total(session: Session) -> int:
    total = 0
    for model, _check in SOURCES:
        query = select(func.count(model.id))
        if model is Payment:
            query = query.where(Payment.provider.is_not(None))
        total += session.scalar(query) or 0
    return total


def reconcile(sessionmaker: Callable[[], Session], job_id: str) -> dict:
    """Compare everything, saving progress every batch; the last transaction stores the
    CSV with the job. Returns the job's result: counts by kind and the number of lines."""
    with sessionmaker() as session:
        total = _total(session)
    found: list[dict] = []
    done = 0
    for model, check in SOURCES:
        after = 0
        while True:
            with sessionmaker() as session, session.begin():
                query = select(model).where(model.id > after).order_by(model.id).limit(BATCH)
                if model is Payment:
                    query = query.where(Payment.provider.is_not(None))
                rows = session.scalars(query).all()
                for row in rows:
                    found.extend(check(session, row))
                done += len(rows)
                job = session.get(Job, job_id)
                jobs.save_progress(session, job, done=min(done, total), total=total)
            if len(rows) < BATCH:
                break
            after = rows[-1].id
    report = to_csv(found)
    with sessionmaker() as session, session.begin():
        session.add(
            JobFile(
                job_id=job_id,
                filename=REPORT_NAME,
                content_type="text/csv",
                size=len(report),
                data=report,
            )
        )
    counts: dict[str, int] = {}
    for row in found:
        counts[row["kind"]] = counts.get(row["kind"], 0) + 1
    return {"checked": done, "disagreements": len(found), "by_kind": counts,
            "report": REPORT_NAME}  # fmt: skip


def to_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue().encode("utf-8")


def _cell(value):
    """A provider's reference is text from outside: never a formula."""
    return "" if value is None else spreadsheet_safe(value)


def report_of(session: Session, job_id: str) -> bytes | None:
    """The CSV of a finished reconciliation job, or None when it has none (yet)."""
    job = jobs.get_job(session, job_id)
    if job.kind != JOB_KIND:
        return None
    return session.scalar(
        select(JobFile.data)
        .where(JobFile.job_id == job_id, JobFile.filename == REPORT_NAME)
        .order_by(JobFile.id.desc())
        .limit(1)
    )
