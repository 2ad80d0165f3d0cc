"""A provider's call leaves its audit row with the HTTP status it was answered with: Payme
and Click are answered 200 whatever their protocol says, a webhook 200 or its refusal's 4xx.
An auditor reads the status as the answer the caller got."""

from __future__ import annotations

import json

from sqlalchemy import select

from clinic.accounts.models import AuditEntry
from tests.payments import provider_support as support
from tests.payments.fixtures import make_invoice
from tests.payments.provider_support import (
    Payme,
    account,
    click_fields,
    click_post,
    webhook_headers,
)

clock = support.clock
settings = support.settings

PRICE = 5_000_000


def statuses(runtime, action: str) -> list[int | None]:
    with runtime.db.session() as s:
        query = select(AuditEntry.status).where(AuditEntry.action == action)
        return list(s.scalars(query.order_by(AuditEntry.id)))


def test_a_payme_call_that_changed_something_is_audited_with_http_200(runtime, anon_client, clock):
    payme = Payme(anon_client)
    invoice_id = make_invoice(runtime, (PRICE,))
    params = {"id": "audited", "time": clock.now, "amount": PRICE, "account": account(invoice_id)}
    payme.result("CreateTransaction", params)
    payme.result("PerformTransaction", {"id": "audited"})
    assert payme.error("PerformTransaction", {"id": "never-made"}) == -31003
    assert statuses(runtime, "payment_providers.payme_endpoint") == [200, 200, 200]


def test_a_click_call_is_audited_with_http_200(runtime, anon_client):
    invoice_id = make_invoice(runtime, (PRICE,))
    assert click_post(anon_client, click_fields(invoice_id, "50000"))["error"] == 0
    assert statuses(runtime, "payment_providers.click_prepare") == [200]


def test_a_webhook_is_audited_with_the_status_it_was_answered(runtime, anon_client):
    invoice_id = make_invoice(runtime, (PRICE,))
    good = {"invoice_id": str(invoice_id), "amount": PRICE, "reference": "acq-1"}
    bad = {"invoice_id": str(invoice_id), "amount": "5"}
    for name, data in (("good", good), ("bad", bad)):
        body = json.dumps({"type": "payment.succeeded", "data": data})
        anon_client.post(
            "/payments/webhooks/acq", data=body, headers=webhook_headers(body, f"msg-{name}")
        )
    assert statuses(runtime, "payment_providers.webhook") == [200, 422]
