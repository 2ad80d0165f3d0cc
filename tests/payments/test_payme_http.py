"""Payme's protocol has one HTTP answer: whatever method a request to the endpoint uses
other than POST is Payme's -32300 (JSON-RPC, HTTP 200, ``id`` null), never an HTTP error
or an empty answer."""

from __future__ import annotations

import pytest

from tests.conftest import ONE_BACKEND
from tests.payments import provider_support as support
from tests.payments.provider_support import payme_auth

settings = support.settings


@pytest.mark.parametrize("backend", [ONE_BACKEND])
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"])
def test_every_request_method_but_post_is_32300_with_http_200(anon_client, method):
    response = anon_client.open("/payments/payme", method=method, headers=payme_auth())
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body is not None and body["jsonrpc"] == "2.0" and body["id"] is None, method
    assert body["error"]["code"] == -32300 and set(body["error"]["message"]) == {"ru", "uz", "en"}
