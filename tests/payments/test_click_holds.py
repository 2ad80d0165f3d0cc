"""A Click payment that holds an invoice and ends without paying it: a card payment that a
signed sender reported meanwhile (the patient paid another way while Click's page was open)
is credited as the hold ends, before the desk can take the money a second time."""

from __future__ import annotations

import json

from sqlalchemy import select

from clinic.models import ClickTransaction, Invoice, Payment, WebhookEvent
from tests.payments import provider_support as support
from tests.payments.fixtures import make_invoice
from tests.payments.provider_support import click_fields, click_post, webhook_headers

# The provider settings (keys and secrets).
settings = support.settings

PRICE = 5_000_000  # 50 000 soums


def card_payment_waiting_for_the_hold(runtime, client, invoice_id: int) -> int:
    from tasks.payments_providers import apply_webhook_event

    data = {"invoice_id": str(invoice_id), "amount": PRICE, "reference": "acq-77"}
    body = json.dumps({"type": "payment.succeeded", "data": data})
    response = client.post(
        "/payments/webhooks/acq", data=body.encode(), headers=webhook_headers(body, "msg_77")
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    with runtime.db.session() as s:
        event_id = s.scalar(select(WebhookEvent.id))
    assert apply_webhook_event.run(event_id=event_id) == "received"
    return event_id


def assert_paid_by_the_card(runtime, invoice_id: int, event_id: int) -> None:
    with runtime.db.session() as s:
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.status, invoice.held_by, invoice.paid_amount) == ("paid", None, PRICE)
        assert s.scalars(select(Payment.method)).all() == ["acq"]
        assert s.get(WebhookEvent, event_id).status == "applied"
        assert s.scalar(select(ClickTransaction.status)) == "cancelled"


def test_a_failed_complete_credits_the_card_payment_that_waited_for_its_hold(runtime, anon_client):
    invoice_id = make_invoice(runtime, (PRICE,))
    prepared = click_post(anon_client, click_fields(invoice_id, "50000"))
    assert prepared["error"] == 0, prepared
    event_id = card_payment_waiting_for_the_hold(runtime, anon_client, invoice_id)
    failed = click_fields(
        invoice_id, "50000", prepare_id=prepared["merchant_prepare_id"], error="-5017"
    )
    answer = click_post(anon_client, failed)
    assert (answer["error"], answer["merchant_confirm_id"]) == (-9, None), answer
    assert_paid_by_the_card(runtime, invoice_id, event_id)


def test_a_prepare_repeated_as_failed_credits_the_card_payment_that_waited_for_its_hold(
    runtime, anon_client
):
    invoice_id = make_invoice(runtime, (PRICE,))
    assert click_post(anon_client, click_fields(invoice_id, "50000"))["error"] == 0
    event_id = card_payment_waiting_for_the_hold(runtime, anon_client, invoice_id)
    answer = click_post(anon_client, click_fields(invoice_id, "50000", error="-5017"))
    assert answer["error"] == -9, answer
    assert_paid_by_the_card(runtime, invoice_id, event_id)


def test_an_abandoned_prepare_swept_credits_the_card_payment_that_waited_for_its_hold(
    runtime, anon_client
):
    from tasks.payments_providers import cancel_stale_click

    invoice_id = make_invoice(runtime, (PRICE,))
    assert click_post(anon_client, click_fields(invoice_id, "50000"))["error"] == 0
    event_id = card_payment_waiting_for_the_hold(runtime, anon_client, invoice_id)
    assert cancel_stale_click.run(older_than_minutes=-1) == 1
    assert_paid_by_the_card(runtime, invoice_id, event_id)
