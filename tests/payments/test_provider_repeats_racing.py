"""Repeats that arrive at the same moment, over real HTTP with real threads on PostgreSQL:
one webhook delivered eight times at once, one Click Complete sent eight times at once, and
Payme cancelling a performed transaction eight times at once. Each credits or gives back once,
and every answer is the protocol's answer to a repeat."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from clinic.models import Invoice, Payment, Refund, WebhookEvent
from tests.conftest import ONE_BACKEND
from tests.payments import provider_support as support
from tests.payments.fixtures import make_invoice
from tests.payments.provider_support import account, click_fields, payme_auth, webhook_headers

# The provider settings (keys and secrets).
settings = support.settings

# Row locks and unique keys under real concurrency: PostgreSQL (SQLite serialises writers).
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])
PRICE = 12_000_000
CALLERS = 8


def _at_once(call) -> list:
    start = threading.Barrier(CALLERS)

    def one(n: int):
        start.wait(timeout=10)
        return call(n)

    with ThreadPoolExecutor(CALLERS) as pool:
        return list(pool.map(one, range(CALLERS)))


def test_one_webhook_delivered_eight_times_at_once_is_stored_and_applied_once(runtime, live_server):
    from tasks.payments_providers import apply_webhook_event

    invoice_id = make_invoice(runtime, (PRICE,))
    data = {"invoice_id": str(invoice_id), "amount": PRICE, "reference": "acq-race"}
    body = json.dumps({"type": "payment.succeeded", "data": data})

    def deliver(n: int):
        headers = webhook_headers(body, "msg_race")
        answer = requests.post(
            f"{live_server}/payments/webhooks/acq", data=body.encode(), headers=headers, timeout=30
        )
        return answer.status_code, answer.json()

    answers = _at_once(deliver)
    assert {status for status, _ in answers} == {200}, answers
    assert sorted(a["repeated"] for _, a in answers) == [False] + [True] * (CALLERS - 1)
    with runtime.db.session() as s:
        event_id = s.scalar(select(WebhookEvent.id))
        assert s.scalar(select(func.count(WebhookEvent.id))) == 1
    # Its task delivered eight times at once (a redelivery racing the first): applied once.
    _at_once(lambda n: apply_webhook_event.run(event_id=event_id))
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Payment.id))) == 1
        assert s.get(Invoice, invoice_id).paid_amount == PRICE


def test_one_click_complete_sent_eight_times_at_once_pays_once(runtime, live_server):
    invoice_id = make_invoice(runtime, (PRICE,))
    prepare = click_fields(invoice_id, "120000.00", trans_id="8801")
    prepared = requests.post(f"{live_server}/payments/click/prepare", data=prepare, timeout=30)
    complete = click_fields(
        invoice_id, "120000.00", trans_id="8801", prepare_id=prepared.json()["merchant_prepare_id"]
    )
    answers = _at_once(
        lambda n: requests.post(
            f"{live_server}/payments/click/complete", data=complete, timeout=30
        ).json()
    )
    # The first confirms; the others are told it was confirmed already (-4).
    assert sorted(a["error"] for a in answers) == [-4] * (CALLERS - 1) + [0], answers
    with runtime.db.session() as s:
        payment = s.scalar(select(Payment))
        assert s.scalar(select(func.count(Payment.id))) == 1 and payment.amount == PRICE
    confirmed = [a for a in answers if a["error"] == 0]
    assert confirmed[0]["merchant_confirm_id"] == payment.id


def test_payme_cancelling_a_performed_transaction_eight_times_at_once_gives_back_once(
    runtime, live_server
):
    invoice_id = make_invoice(runtime, (PRICE,))

    def rpc(method: str, params: dict, rpc_id: int = 1) -> dict:
        answer = requests.post(
            f"{live_server}/payments/payme",
            json={"id": rpc_id, "method": method, "params": params},
            headers=payme_auth(),
            timeout=30,
        )
        return answer.json()

    params = {"id": "cancel-race", "time": int(time.time() * 1000), "amount": PRICE}
    assert "result" in rpc("CreateTransaction", {**params, "account": account(invoice_id)})
    assert rpc("PerformTransaction", {"id": "cancel-race"})["result"]["state"] == 2
    answers = _at_once(lambda n: rpc("CancelTransaction", {"id": "cancel-race", "reason": 5}, n))
    results = [a.get("result") for a in answers]
    assert all(r is not None and r["state"] == -2 for r in results), answers
    assert len({r["cancel_time"] for r in results}) == 1
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Refund.id))) == 1
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.status, invoice.refunded_amount) == ("refunded", PRICE)
