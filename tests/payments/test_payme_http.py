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


@pytest.mark.parametrize(
    "body",
    [
        '{"id": "\\ud800", "method": "CheckTransaction", "params": {"id": "x"}}',
        '{"id": 3, "method": "ChangePassword", "params": {"password": "k", "x": "\\ud800"}}',
    ],
    ids=["surrogate-id", "surrogate-beside-a-new-key"],
)
def test_a_lone_surrogate_anywhere_is_answered_in_the_protocol(runtime, anon_client, body):
    """A lone surrogate in the ``id`` was echoed into an answer no UTF-8 body can hold, and
    one beside a ChangePassword's key broke the provider log's copy: HTTP 500 both times."""
    answer = anon_client.post(
        "/payments/payme", data=body.encode(), content_type="application/json",
        headers=payme_auth(),
    )  # fmt: skip
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["code"] == -32600, answer.get_json()
    # The key is as it was: a call with it is read (no -32504).
    again = anon_client.post(
        "/payments/payme",
        json={"id": 4, "method": "CheckTransaction", "params": {"id": "x"}},
        headers=payme_auth(),
    )
    assert again.get_json()["error"]["code"] != -32504, again.get_json()


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": 1, "id": 2, "method": "ChangePassword", "params": {"password": "NEW-KEY-1"}}',
        b'{"id": 1, "method": "ChangePassword", "params": {"password": "NEW-KEY-1", "n": NaN}}',
        b'{"id": 1, "method": "ChangePassword", "params": {"password": "NEW-\\"KEY-1"}, "n": NaN}',
    ],
    ids=["repeated-id", "nan", "escaped-quote"],
)
def test_an_unreadable_change_of_key_keeps_no_key_in_the_provider_log(runtime, anon_client, body):
    """A ChangePassword that is not one JSON document (-32700) was kept as it came, its new
    key in plain text for whoever reads the provider log."""
    answer = anon_client.post(
        "/payments/payme", data=body, content_type="application/json", headers=payme_auth()
    )
    assert answer.get_json()["error"]["code"] == -32700
    with runtime.db.session() as session:
        kept = session.scalars(select(ProviderLogEntry.request)).all()
    assert kept and not [text for text in kept if "KEY-1" in text], kept
    assert all('"password":"[hidden]"' in text.replace(" ", "") for text in kept), kept
