"""A card payment its sender reported, that no worker has applied yet (the worker is behind,
or down): the desk credits it before it takes money for the invoice, and so refuses to take
the money a second time."""

from __future__ import annotations

import json

from sqlalchemy import select

from clinic.models import Invoice, Payment, WebhookEvent
from tests.payments import provider_support as support
from tests.payments.fixtures import make_invoice
from tests.payments.provider_support import webhook_headers

# The provider settings (keys and secrets).
settings = support.settings

PRICE = 5_000_000  # 50 000 soums


def report_card_payment(anon_client, invoice_id: int, amount: int = PRICE) -> None:
    data = {"invoice_id": str(invoice_id), "amount": amount, "reference": f"acq-{invoice_id}"}
    body = json.dumps({"type": "payment.succeeded", "data": data})
    headers = webhook_headers(body, f"msg_{invoice_id}")
    answer = anon_client.post("/payments/webhooks/acq", data=body.encode(), headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)


def test_the_desk_credits_a_reported_card_payment_before_taking_cash_for_it(
    runtime, client_as, anon_client
):
    cashier = client_as("cashier")
    assert cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    invoice_id = make_invoice(runtime, (PRICE,))
    report_card_payment(anon_client, invoice_id)  # stored; no worker has applied it

    answer = cashier.post(
        f"/api/v1/payments/invoices/{invoice_id}/pay",
        json={"method": "cash", "tendered": PRICE, "idempotency_key": "k-desk-0001"},
    )
    assert answer.status_code == 409, answer.get_json()
    assert answer.get_json()["code"] == "already_paid"
    with runtime.db.session() as s:
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.status, invoice.paid_amount) == ("paid", PRICE)
        assert s.scalars(select(Payment.method)).all() == ["acq"]
        assert s.scalar(select(WebhookEvent.status)) == "applied"
    # The cashier's list shows it paid, and the drawer holds no cash for it.
    shift = cashier.get("/api/v1/payments/shifts/current").get_json()["shift"]
    assert shift["cash_in_drawer"] == 0


def test_a_reported_payment_the_money_rules_refuse_does_not_stop_the_desk(
    runtime, client_as, anon_client
):
    cashier = client_as("cashier")
    assert cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    invoice_id = make_invoice(runtime, (PRICE,))
    report_card_payment(anon_client, invoice_id, amount=PRICE // 2)  # not what is owed

    answer = cashier.post(
        f"/api/v1/payments/invoices/{invoice_id}/pay",
        json={"method": "cash", "idempotency_key": "k-desk-0002"},
    )
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["payment"]["amount"] == PRICE
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).status == "paid"
        assert s.scalars(select(Payment.method)).all() == ["cash"]
        # Left for reconciliation, with its reason.
        assert s.scalar(select(WebhookEvent.status)) == "rejected"
