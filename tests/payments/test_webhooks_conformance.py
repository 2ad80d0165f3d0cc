"""Standard Webhooks verification against the specification's own test vector, signed by the
sender rather than by the package the receiver verifies with."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from clinic.models import WebhookEvent
from tests.payments import provider_support as support

# The provider settings (keys and secrets); "acq" has the specification's secret.
settings = support.settings

VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.fixture
def vector_clock(monkeypatch):
    """The verifier's clock (the standardwebhooks package's ``datetime.now``) a minute after
    the vector was signed."""
    import standardwebhooks.webhooks as verifier

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.fromtimestamp(VECTOR_TIMESTAMP + 60, tz=tz)

    monkeypatch.setattr(verifier, "datetime", Frozen)


def vector_headers(**changes) -> dict:
    headers = {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": VECTOR_SIGNATURE,
        "Content-Type": "application/json",
    }
    headers.update(changes)
    return headers


def test_the_specifications_test_vector_passes_verification_and_a_changed_one_does_not(
    runtime, anon_client, vector_clock
):
    url = "/payments/webhooks/acq"
    # Rotation: the old secret's signature first, then the current one.
    rotated = vector_headers(**{"webhook-signature": f"v1,{'A' * 44} {VECTOR_SIGNATURE}"})
    for headers in (vector_headers(), rotated):
        response = anon_client.post(url, data=VECTOR_BODY.encode(), headers=headers)
        # Signed rightly, but not a payment event: kept once, refused naming the field.
        assert response.status_code == 422, response.get_data(as_text=True)
        assert "type" in response.get_json()["errors"]
    refused = [
        (VECTOR_BODY.replace("2432232314", "2432232315"), vector_headers()),
        (VECTOR_BODY, vector_headers(**{"webhook-id": VECTOR_ID + "x"})),
        (VECTOR_BODY, vector_headers(**{"webhook-timestamp": str(VECTOR_TIMESTAMP + 1)})),
    ]
    for body, headers in refused:
        response = anon_client.post(url, data=body.encode(), headers=headers)
        assert response.status_code == 401, (body, headers)
    with runtime.db.session() as s:
        events = s.scalars(select(WebhookEvent)).all()
        assert [(e.webhook_id, e.status, e.body) for e in events] == [
            (VECTOR_ID, "rejected", VECTOR_BODY)
        ]
