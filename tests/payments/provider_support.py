"""What the provider tests share: settings with provider secrets, signed calls, a clock.

Test modules import the fixtures they use by name (``from tests.payments.provider_support
import settings, ...``): pytest then uses this ``settings`` instead of the plain one.
"""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import datetime, timezone

import pytest
from standardwebhooks.webhooks import Webhook

PAYME_MERCHANT_ID = "5e730e8e0b852a417aa49ceb"
PAYME_KEY = "Sandbox-Key-#0123456789abcdef"
CLICK_SERVICE_ID = "12713"
CLICK_MERCHANT_ID = "9876"
CLICK_SECRET_KEY = "Click-Secret-0123456789"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_" + base64.b64encode(b"another sender's secret!").decode()
FORM = "application/x-www-form-urlencoded"
PROVIDER_ENV = {
    "PAYME_MERCHANT_ID": PAYME_MERCHANT_ID,
    "PAYME_KEY": PAYME_KEY,
    "CLICK_SERVICE_ID": CLICK_SERVICE_ID,
    "CLICK_MERCHANT_ID": CLICK_MERCHANT_ID,
    "CLICK_SECRET_KEY": CLICK_SECRET_KEY,
    "CLINIC_WEBHOOK_SECRETS": f"acq={WEBHOOK_SECRET},other={OTHER_SECRET}",
    "CLINIC_PROVIDER_RATE_LIMIT": "100000 per minute",
}


@pytest.fixture
def settings(shared, database_urls, backend):
    return shared.settings(database_urls, backend, **PROVIDER_ENV)


class Clock:
    """Payme's milliseconds, moved by the test."""

    def __init__(self) -> None:
        self.now = int(time.time() * 1000)

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


@pytest.fixture
def clock(app):
    from web.payments.providers import CLOCK_KEY

    made = Clock()
    app.extensions[CLOCK_KEY] = made
    return made


def payme_auth(key: str = PAYME_KEY, login: str = "Paycom") -> dict:
    token = base64.b64encode(f"{login}:{key}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


_ids = iter(range(1, 10**9))


class Payme:
    """Calls the Payme endpoint the way Payme does."""

    def __init__(self, client) -> None:
        self.client = client

    def call(self, method: str, params: dict, *, headers=None, rpc_id=None) -> dict:
        rpc_id = rpc_id if rpc_id is not None else next(_ids)
        response = self.client.post(
            "/payments/payme",
            json={"id": rpc_id, "method": method, "params": params},
            headers=headers if headers is not None else payme_auth(),
            skip_csrf=True,  # Payme has no session and sends no CSRF token
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert body["id"] == rpc_id and body["jsonrpc"] == "2.0"
        return body

    def result(self, method: str, params: dict) -> dict:
        body = self.call(method, params)
        assert "error" not in body, body
        return body["result"]

    def error(self, method: str, params: dict) -> int:
        body = self.call(method, params)
        assert "result" not in body, body
        error = body["error"]
        assert set(error["message"]) == {"ru", "uz", "en"}
        return error["code"]


def account(invoice_id: int) -> dict:
    return {"invoice_id": str(invoice_id)}


def click_sign(fields: dict, secret: str = CLICK_SECRET_KEY) -> str:
    parts = [fields["click_trans_id"], fields["service_id"], secret, fields["merchant_trans_id"]]
    if "merchant_prepare_id" in fields:
        parts.append(fields["merchant_prepare_id"])
    parts += [fields["amount"], fields["action"], fields["sign_time"]]
    return hashlib.md5("".join(parts).encode(), usedforsecurity=False).hexdigest()


def click_fields(invoice_id, amount: str, *, trans_id="1001", prepare_id=None, error="0",
                 sign=True, **overrides) -> dict:  # fmt: skip
    fields = {
        "click_trans_id": str(trans_id),
        "service_id": CLICK_SERVICE_ID,
        "click_paydoc_id": "77" + str(trans_id),
        "merchant_trans_id": str(invoice_id),
        "amount": amount,
        "action": "0" if prepare_id is None else "1",
        "error": error,
        "error_note": "Success" if error == "0" else "Failed",
        "sign_time": "2026-12-01 10:00:00",
    }
    if prepare_id is not None:
        fields["merchant_prepare_id"] = str(prepare_id)
    fields.update(overrides)
    if sign:
        fields["sign_string"] = click_sign(fields)
    return fields


def click_post(client, fields: dict) -> dict:
    path = (
        "/payments/click/complete" if "merchant_prepare_id" in fields else "/payments/click/prepare"
    )
    response = client.post(path, data=fields, skip_csrf=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def webhook_headers(body: str, msg_id: str, *, secret=WEBHOOK_SECRET, at: float | None = None):
    at = time.time() if at is None else at
    stamp = datetime.fromtimestamp(int(at), tz=timezone.utc)
    signature = Webhook(secret).sign(msg_id, stamp, body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at)),
        "webhook-signature": signature,
        "Content-Type": "application/json",
    }
