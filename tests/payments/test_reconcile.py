"""Reconciliation: a job (started by the button, run by a real worker) lists every provider
transaction that disagrees with our payments, with a downloadable CSV."""

from __future__ import annotations

import csv
import io
import json
import time

from clinic.models import PaymeTransaction, WebhookEvent
from clinic.payments import invoices
from tests.payments import provider_support as support
from tests.payments.fixtures import make_invoice
from tests.payments.provider_support import Payme, account

# The provider settings (keys and secrets).
settings = support.settings

PRICE = 3_000_000


def provider_row(runtime, invoice_id, payme_id, amount, state, *, payment=None):
    """A Payme transaction as the provider's statement shows it (made directly: these are
    the disagreements no endpoint lets happen)."""
    with runtime.db.transaction() as s:
        if payment is not None:
            invoice = invoices.get_invoice(s, invoice_id)
            invoices.record_payment(
                s, invoice, method="payme", amount=payment, provider="payme",
                provider_ref=payme_id, actor="payme",
            )  # fmt: skip
        now = int(time.time() * 1000)
        s.add(
            PaymeTransaction(
                payme_id=payme_id, invoice_id=invoice_id, amount=amount,
                account=account(invoice_id), payme_time=now, create_time=now,
                perform_time=now, cancel_time=now if state < 0 else 0, state=state,
                reason=5 if state < 0 else None,
            )
        )  # fmt: skip


def test_the_reconciliation_job_lists_each_disagreement_in_its_csv(
    runtime, client, anon_client, worker
):
    # In agreement: paid through the endpoint.
    fine = make_invoice(runtime, (PRICE,))
    payme = Payme(anon_client)
    params = {"id": "ok-1", "time": int(time.time() * 1000), "amount": PRICE,
              "account": account(fine)}  # fmt: skip
    payme.result("CreateTransaction", params)
    payme.result("PerformTransaction", {"id": "ok-1"})
    # Paid at Payme, nothing here.
    provider_row(runtime, make_invoice(runtime, (PRICE,)), "lost-1", PRICE, 2)
    # Both sides have it, for different amounts.
    partial = make_invoice(runtime, (PRICE,))
    provider_row(runtime, partial, "diff-1", PRICE, 2, payment=PRICE - 100)
    # Refunded at Payme, not here.
    refunded = make_invoice(runtime, (PRICE,))
    provider_row(runtime, refunded, "refund-1", PRICE, -2, payment=PRICE)
    # A webhook whose amount we refused.
    with runtime.db.transaction() as s:
        odd = make_invoice(runtime, (PRICE,))
        s.add(
            WebhookEvent(
                provider="acq", webhook_id="w-1", type="payment.succeeded", body="{}",
                invoice_id=odd, reference="acq-9", amount=PRICE + 1, status="rejected",
                outcome="only 3000000 tiyin are due",
            )
        )  # fmt: skip

    started = client.post("/api/v1/payments/reconciliations")
    assert started.status_code == 202
    job_id = started.get_json()["id"]
    assert started.headers["Location"] == f"/api/v1/jobs/{job_id}"
    deadline = time.monotonic() + 15
    while (job := client.get(f"/api/v1/jobs/{job_id}").get_json())["status"] != "succeeded":
        assert job["status"] != "failed", job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    assert job["progress"] == 100 and job["result"]["disagreements"] == 4

    report = client.get(f"/api/v1/payments/reconciliations/{job_id}/report.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(report.get_data(as_text=True))))
    found = sorted((r["kind"], r["provider_ref"]) for r in rows)
    assert found == [
        ("amount_differs", "diff-1"),
        ("paid_at_provider_not_here", "lost-1"),
        ("refund_not_applied", "refund-1"),
        ("webhook_rejected", "acq-9"),
    ]
    differs = next(r for r in rows if r["kind"] == "amount_differs")
    assert (differs["provider_amount"], differs["our_amount"]) == (str(PRICE), str(PRICE - 100))


def test_only_managers_and_admins_reconcile(client_as):
    cashier = client_as("cashier")
    assert cashier.post("/api/v1/payments/reconciliations").status_code == 403
    assert cashier.get("/api/v1/payments/provider-log").status_code == 403
    assert cashier.get("/api/v1/payments/reconciliations/x/report.csv").status_code == 403
    manager = client_as("manager")
    assert manager.get("/api/v1/payments/reconciliations/nope/report.csv").status_code == 404


def test_one_sender_event_delivered_under_two_webhook_ids_is_one_line(runtime):
    from clinic.payments import reconcile

    invoice_id = make_invoice(runtime, (PRICE,))

    def event(webhook_id, kind, status, refund_ref=None):
        data = {"invoice_id": str(invoice_id), "amount": PRICE, "reference": "acq-7"}
        if refund_ref:
            data["refund_reference"] = refund_ref
        body = json.dumps({"type": kind, "data": data})
        return WebhookEvent(provider="acq", webhook_id=webhook_id, type=kind, body=body,
                            invoice_id=invoice_id, reference="acq-7", amount=PRICE,
                            status=status, outcome="invoice is cancelled")  # fmt: skip

    with runtime.db.transaction() as s:
        s.add_all([
            event("w-1", "payment.succeeded", "rejected"),
            event("w-1-again", "payment.succeeded", "rejected"),
            event("w-2", "payment.refunded", "waiting", "r-1"),
            event("w-2-again", "payment.refunded", "waiting", "r-1"),
            event("w-3", "payment.refunded", "waiting", "r-2"),
        ])  # fmt: skip
        job_id = reconcile.start(s, created_by=None).id
    result = reconcile.reconcile(runtime.db.session, job_id)
    assert result["by_kind"] == {"webhook_rejected": 1, "refund_not_applied": 2}


def test_a_payment_refused_once_and_credited_when_sent_again_is_no_line(runtime):
    """The sender's payment was refused (part of the invoice paid in cash then), the cash
    given back, and the same payment sent again under a new webhook-id credited: it is in
    our books, and a line telling someone to settle it would have it refunded at the sender."""
    from clinic.models import Payment
    from clinic.payments import reconcile

    invoice_id = make_invoice(runtime, (PRICE,))
    body = json.dumps({"type": "payment.succeeded", "data": {
        "invoice_id": str(invoice_id), "amount": PRICE, "reference": "acq-R"}})  # fmt: skip
    with runtime.db.transaction() as s:
        told = {"provider": "acq", "type": "payment.succeeded", "body": body, "amount": PRICE,
                "invoice_id": invoice_id, "reference": "acq-R", "outcome": "not due"}  # fmt: skip
        for webhook_id, status in (("w-1", "rejected"), ("w-2", "applied")):
            s.add(WebhookEvent(webhook_id=webhook_id, status=status, **told))
        s.add(Payment(invoice_id=invoice_id, method="acq", amount=PRICE, provider="acq",
                      provider_ref="acq-R", actor="acq"))  # fmt: skip
        job_id = reconcile.start(s, created_by=None).id
    assert reconcile.reconcile(runtime.db.session, job_id)["by_kind"] == {}
