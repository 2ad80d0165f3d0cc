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


def test_an_invoice_paid_by_card_meanwhile_is_not_cancelled_nor_discounted_at_the_desk(
    runtime, client_as, anon_client
):
    """The patient paid from his phone while the workers were behind: the cashier who cancels
    the invoice, or the manager who discounts it, is told it is paid, and the card payment is
    credited, not left rejected for reconciliation with the invoice cancelled."""
    cashier, manager = client_as("cashier"), client_as("manager")
    cancelled_id, discounted_id = make_invoice(runtime, (PRICE,)), make_invoice(runtime, (PRICE,))
    report_card_payment(anon_client, cancelled_id)
    report_card_payment(anon_client, discounted_id)

    cancel = cashier.post(f"/api/v1/payments/invoices/{cancelled_id}/cancel")
    discount = manager.post(
        f"/api/v1/payments/invoices/{discounted_id}/discount",
        json={"amount": PRICE // 10, "reason": "ветеран"},
    )
    for answer in (cancel, discount):
        assert answer.status_code == 409, answer.get_json()
        assert answer.get_json()["code"] == "not_open"
    with runtime.db.session() as s:
        for invoice_id in (cancelled_id, discounted_id):
            invoice = s.get(Invoice, invoice_id)
            assert (invoice.status, invoice.paid_amount, invoice.discount) == ("paid", PRICE, 0)
        assert s.scalars(select(WebhookEvent.status)).all() == ["applied", "applied"]
        assert s.scalars(select(Payment.method)).all() == ["acq", "acq"]


def test_a_part_given_back_while_a_card_payment_of_the_rest_waits_leaves_both_counted(
    runtime, client_as, anon_client
):
    """Part paid in cash, the rest by card from the phone (reported, not applied yet); the
    cash part given back then is given back from a paid invoice: the card payment of the rest
    is credited first instead of being refused for an amount no longer due."""
    cashier = client_as("cashier")
    assert cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    invoice_id = make_invoice(runtime, (PRICE,))
    cash = cashier.post(
        f"/api/v1/payments/invoices/{invoice_id}/pay",
        json={"method": "cash", "amount": PRICE // 5, "idempotency_key": "k-part-0001"},
    )
    assert cash.status_code == 201, cash.get_json()
    report_card_payment(anon_client, invoice_id, amount=PRICE - PRICE // 5)

    given = cashier.post(
        f"/api/v1/payments/invoices/{invoice_id}/refunds",
        json={"amount": PRICE // 5, "reason": "передумал", "method": "cash"},
    )
    assert given.status_code == 201, given.get_json()
    assert given.get_json()["invoice"]["status"] == "partly_refunded"
    with runtime.db.session() as s:
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.paid_amount, invoice.refunded_amount) == (PRICE, PRICE // 5)
        assert s.scalar(select(WebhookEvent.status)) == "applied"


def test_payme_and_click_credit_a_reported_card_payment_before_taking_the_invoice_again(
    runtime, anon_client
):
    """The worker is behind; the patient, thinking his card payment failed, pays again by
    Payme or Click. The card payment is credited first, and each answers as for an invoice
    paid already: he is not charged twice."""
    from tests.payments.provider_support import Payme, account, click_fields, click_post

    paid_by_payme = make_invoice(runtime, (PRICE,))
    report_card_payment(anon_client, paid_by_payme)
    check = Payme(anon_client).call(
        "CheckPerformTransaction", {"amount": PRICE, "account": account(paid_by_payme)}
    )
    assert check["error"]["code"] == -31051, check  # not payable: paid already
    paid_by_click = make_invoice(runtime, (PRICE,))
    report_card_payment(anon_client, paid_by_click)
    prepared = click_post(anon_client, click_fields(paid_by_click, "50000", trans_id="7001"))
    assert prepared["error"] == -4, prepared  # already paid
    with runtime.db.session() as s:
        for invoice_id in (paid_by_payme, paid_by_click):
            invoice = s.get(Invoice, invoice_id)
            assert (invoice.status, invoice.paid_amount) == ("paid", PRICE)
        assert s.scalars(select(Payment.method)).all() == ["acq", "acq"]
        assert s.scalars(select(WebhookEvent.status)).all() == ["applied", "applied"]
