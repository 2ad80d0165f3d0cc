"""A Payme transaction that holds an invoice and is cancelled before it is performed: a card
payment that a signed sender reported meanwhile is credited as the hold ends, before the
desk can take the money a second time."""

from __future__ import annotations

from sqlalchemy import select

from clinic.models import Invoice, Payment, PaymeTransaction, WebhookEvent
from tests.payments import provider_support as support
from tests.payments.fixtures import make_invoice
from tests.payments.provider_support import Payme, account
from tests.payments.test_click_holds import PRICE, card_payment_waiting_for_the_hold

# The provider settings (keys and secrets), and Payme's clock.
settings = support.settings
clock = support.clock

TWELVE_HOURS = 43_200_000


def held_by_payme(runtime, anon_client, clock) -> tuple[Payme, int, int]:
    payme = Payme(anon_client)
    invoice_id = make_invoice(runtime, (PRICE,))
    params = {"id": "h1", "time": clock.now, "amount": PRICE, "account": account(invoice_id)}
    assert payme.result("CreateTransaction", params)["state"] == 1
    return payme, invoice_id, card_payment_waiting_for_the_hold(runtime, anon_client, invoice_id)


def assert_paid_by_the_card(runtime, invoice_id: int, event_id: int, reason: int) -> None:
    with runtime.db.session() as s:
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.status, invoice.held_by, invoice.paid_amount) == ("paid", None, PRICE)
        assert s.scalars(select(Payment.method)).all() == ["acq"]
        assert s.get(WebhookEvent, event_id).status == "applied"
        txn = s.scalar(select(PaymeTransaction))
        assert (txn.state, txn.reason) == (-1, reason)


def test_a_cancelled_transaction_credits_the_card_payment_that_waited_for_its_hold(
    runtime, anon_client, clock
):
    payme, invoice_id, event_id = held_by_payme(runtime, anon_client, clock)
    assert payme.result("CancelTransaction", {"id": "h1", "reason": 3})["state"] == -1
    assert_paid_by_the_card(runtime, invoice_id, event_id, reason=3)


def test_a_transaction_timed_out_credits_the_card_payment_that_waited_for_its_hold(
    runtime, anon_client, clock
):
    payme, invoice_id, event_id = held_by_payme(runtime, anon_client, clock)
    clock.advance(TWELVE_HOURS + 1)
    assert payme.result("CheckTransaction", {"id": "h1"})["state"] == -1
    assert_paid_by_the_card(runtime, invoice_id, event_id, reason=4)


def test_a_transaction_swept_credits_the_card_payment_that_waited_for_its_hold(
    runtime, anon_client, clock
):
    from tasks.payments_providers import cancel_expired_payme

    _payme, invoice_id, event_id = held_by_payme(runtime, anon_client, clock)
    assert cancel_expired_payme.run(now_ms=clock.now + TWELVE_HOURS + 1) == 1
    assert_paid_by_the_card(runtime, invoice_id, event_id, reason=4)
