"""A body sent in chunks has no length to refuse it by before it is read: past 64 KiB it
is answered as one that declared its length, in the provider's protocol (Payme -32600 and
Click -8, both with HTTP 200), and nothing of it is acted on."""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from clinic.models import Invoice, PaymeTransaction, WebhookEvent
from tests.conftest import ONE_BACKEND
from tests.payments import provider_support as support
from tests.payments.fixtures import make_invoice
from tests.payments.provider_support import account, click_fields, payme_auth, webhook_headers

settings = support.settings

PRICE = 5_000_000


def post_chunked(base: str, path: str, body: bytes, headers: dict) -> tuple[int, dict]:
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    headers = {**headers, "Transfer-Encoding": "chunked"}
    connection.request("POST", path, body=chunks, headers=headers, encode_chunked=True)
    response = connection.getresponse()
    status, text = response.status, response.read()
    connection.close()
    return status, json.loads(text)


def padded_create(invoice_id: int, size: int) -> bytes:
    """A CreateTransaction made this big by a field nobody reads."""
    now = int(time.time() * 1000)
    params = {"id": "chunked-1", "time": now, "amount": PRICE, "account": account(invoice_id)}
    doc = {"id": 41, "method": "CreateTransaction", "params": {**params, "pad": ""}}
    doc["params"]["pad"] = "x" * (size - len(json.dumps(doc)))
    return json.dumps(doc).encode()


@pytest.mark.parametrize("backend", [ONE_BACKEND])
@pytest.mark.parametrize("size", [70_000, 6 * 1024 * 1024])
def test_a_chunked_payme_body_over_64_kib_is_32600_with_http_200_and_creates_nothing(
    runtime, live_server, size
):
    invoice_id = make_invoice(runtime, (PRICE,))
    headers = {**payme_auth(), "Content-Type": "application/json"}
    status, answer = post_chunked(
        live_server, "/payments/payme", padded_create(invoice_id, size), headers
    )
    assert status == 200, answer
    assert answer["id"] is None and answer["error"]["code"] == -32600, answer
    assert answer["error"]["data"] == "body"
    with runtime.db.session() as s:
        assert s.scalar(select(PaymeTransaction.id)) is None
        assert s.get(Invoice, invoice_id).held_by is None


@pytest.mark.parametrize("backend", [ONE_BACKEND])
@pytest.mark.parametrize("size", [70_000, 6 * 1024 * 1024])
def test_a_chunked_click_body_over_64_kib_is_minus_8_with_http_200_and_holds_nothing(
    runtime, live_server, size
):
    invoice_id = make_invoice(runtime, (PRICE,))
    form = "&".join(f"{k}={v}" for k, v in click_fields(invoice_id, "50000").items())
    body = (form + "&pad=" + "x" * (size - len(form))).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, answer = post_chunked(live_server, "/payments/click/prepare", body, headers)
    assert status == 200, answer
    assert answer["error"] == -8 and answer["merchant_prepare_id"] is None, answer
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).held_by is None


@pytest.mark.parametrize("backend", [ONE_BACKEND])
@pytest.mark.parametrize("size", [70_000, 6 * 1024 * 1024])
def test_a_chunked_webhook_over_64_kib_is_413_and_stores_nothing(runtime, live_server, size):
    invoice_id = make_invoice(runtime, (PRICE,))
    data = {"invoice_id": str(invoice_id), "amount": PRICE, "reference": "acq-big", "pad": ""}
    doc = {"type": "payment.succeeded", "data": data}
    data["pad"] = "x" * (size - len(json.dumps(doc)))
    text = json.dumps(doc)
    headers = webhook_headers(text, "msg-chunked")
    status, answer = post_chunked(live_server, "/payments/webhooks/acq", text.encode(), headers)
    assert status == 413, answer
    with runtime.db.session() as s:
        assert s.scalar(select(WebhookEvent.id)) is None
