"""Payme's protocol has one HTTP answer: whatever method a request to the endpoint uses
other than POST is Payme's -32300 (JSON-RPC, HTTP 200, ``id`` null), never an HTTP error
or an empty answer; a call from an address off Payme's allow-list, or past the rate limit,
is answered in the protocol too."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_network

import pytest
from sqlalchemy import func, select

from clinic.payments.providers import PaymeTransaction, ProviderLogEntry
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


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_the_allow_list_and_the_rate_limit_answer_in_the_protocol(
    runtime, anon_client, monkeypatch
):
    limited = replace(
        runtime.settings,
        provider_allowed_ips={"payme": (ip_network("10.20.0.0/16"),)},
        provider_rate_limit="2 per minute",
    )
    monkeypatch.setattr(runtime, "settings", limited)
    call = {"id": 41, "method": "CheckTransaction", "params": {"id": "a" * 24}}

    def payme(address: str):
        response = anon_client.post(
            "/payments/payme",
            json=call,
            headers=payme_auth(),
            environ_base={"REMOTE_ADDR": address},
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert body["jsonrpc"] == "2.0" and body["id"] == 41, body
        return body["error"]

    refused = payme("192.0.2.9")  # off the allow-list: no privilege for any method
    assert refused["code"] == -32504 and set(refused["message"]) == {"ru", "uz", "en"}
    for _ in range(2):  # read, and answered for what it asks (an unknown transaction)
        assert payme("10.20.3.4")["code"] == -31003
    past = payme("10.20.3.4")  # a system error, which Payme calls again later
    assert past["code"] == -32400 and set(past["message"]) == {"ru", "uz", "en"}
    with runtime.db.session() as session:
        # The two calls read are logged; those refused before reading are not.
        assert session.scalar(select(func.count()).select_from(ProviderLogEntry)) == 2
        assert session.scalar(select(func.count()).select_from(PaymeTransaction)) == 0
