"""Every status an operation really answers is listed for it in /api/openapi.json, by its own
number: ``default`` covers any status, so a fuzzer checking statuses against the document
never notices one missing. Each answer here is provoked, then looked up."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from ipaddress import ip_network

import pytest

from tests.conftest import ONE_BACKEND
from tests.payments.provider_support import WEBHOOK_SECRET, webhook_headers
from web.cli import cli

# The API document, not database rules: they run on one backend (see tests/conftest.py).
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])

# Changes that read no body, under each kind of path: (method, path in the document, URL).
BODYLESS = [
    ("post", "/api/v1/tickets/{ticket_id}/finish", "/api/v1/tickets/1/finish"),
    ("post", "/api/v1/departments/{department_id}/deactivate", "/api/v1/departments/1/deactivate"),
    ("post", "/api/v1/payments/invoices/{invoice_id}/cancel", "/api/v1/payments/invoices/1/cancel"),
    ("post", "/api/v1/users/{user_id}/unlock", "/api/v1/users/1/unlock"),
    ("delete", "/api/v1/printing/printers/{printer_id}", "/api/v1/printing/printers/1"),
    ("delete", "/api/v1/session", "/api/v1/session"),
    ("post", "/api/v1/public/tickets/{token}/leave", "/api/v1/public/tickets/abc/leave"),
]
# Operations that read no query string, each asked with a parameter.
QUERYLESS = [
    ("get", "/api/v1/queues", "/api/v1/queues?active=true"),
    ("get", "/api/v1/me", "/api/v1/me?verbose=1"),
    ("get", "/api/v1/public/tickets/{token}", "/api/v1/public/tickets/abc?x=1"),
    ("post", "/api/v1/tickets/{ticket_id}/finish", "/api/v1/tickets/1/finish?note=x"),
    ("delete", "/api/v1/printing/printers/{printer_id}", "/api/v1/printing/printers/1?force=1"),
]
WEBHOOK = "/payments/webhooks/{provider}"


@pytest.fixture
def spec(anon_client):
    return anon_client.get("/api/openapi.json").get_json()


def listed(spec, method: str, path: str) -> set[str]:
    return set(spec["paths"][path][method]["responses"]) - {"default"}


def assert_listed(spec, method: str, path: str, response, status: int) -> None:
    assert response.status_code == status, (method, path, response.get_json(silent=True))
    assert str(status) in listed(spec, method, path), (method, path, status)


@pytest.fixture
def providers(runtime, monkeypatch):
    """Webhooks from one sender, ``acq``; Click and Payme as each test sets them."""

    def configure(**changes):
        configured = replace(runtime.settings, webhook_secrets={"acq": WEBHOOK_SECRET}, **changes)
        monkeypatch.setattr(runtime, "settings", configured)

    configure()
    return configure


def test_a_change_that_reads_no_body_lists_its_refusals_of_one(client, anon_client, runtime, spec):
    too_large = b"{" + b" " * runtime.settings.max_upload_bytes + b"}"
    for method, path, url in BODYLESS:
        caller = anon_client if "/public/" in url else client
        send = getattr(caller, method)
        assert_listed(spec, method, path, send(url, json={"note": "x"}), 422)
        assert_listed(spec, method, path, send(url, data="x", content_type="text/plain"), 415)
        sent = send(url, data=too_large, content_type="application/json")
        assert_listed(spec, method, path, sent, 413)


def test_an_operation_that_reads_no_query_lists_its_refusal_of_a_parameter(
    client, anon_client, spec
):
    for method, path, url in QUERYLESS:
        caller = anon_client if "/public/" in url else client
        response = getattr(caller, method)(url)
        assert_listed(spec, method, path, response, 422)
        assert "Unknown field." in next(iter(response.get_json()["errors"].values()))


def test_listing_another_users_tokens_without_tokens_manage_is_a_listed_403(
    client_as, make_user, spec
):
    other = make_user("cashier")
    response = client_as("registrar").get(f"/api/v1/tokens?user_id={other}")
    assert_listed(spec, "get", "/api/v1/tokens", response, 403)


def test_subscribing_an_address_twice_is_a_listed_409_naming_its_code(client_as, spec):
    manager = client_as("manager")
    body = {"report": "revenue", "frequency": "daily", "email": "boss@example.test"}
    assert manager.post("/api/v1/reports/subscriptions", json=body).status_code == 201
    again = manager.post("/api/v1/reports/subscriptions", json=body)
    assert_listed(spec, "post", "/api/v1/reports/subscriptions", again, 409)
    assert again.get_json()["code"] == "already_subscribed"
    described = spec["paths"]["/api/v1/reports/subscriptions"]["post"]["responses"]["409"]
    assert "already_subscribed" in described["description"]


def test_a_webhooks_refusals_are_listed(anon_client, providers, spec):
    url = "/payments/webhooks/acq"
    body = json.dumps({"type": "payment.succeeded", "data": {"invoice_id": "1", "amount": "5"}})
    signed = webhook_headers(body, "msg-1")
    unreadable = anon_client.post(url, data=body, headers=signed)
    assert_listed(spec, "post", WEBHOOK, unreadable, 422)
    forged = {**signed, "webhook-signature": "v1,AAAA"}
    assert_listed(spec, "post", WEBHOOK, anon_client.post(url, data=body, headers=forged), 401)
    plain = {**signed, "Content-Type": "text/plain"}
    assert_listed(spec, "post", WEBHOOK, anon_client.post(url, data=body, headers=plain), 415)
    huge = json.dumps({"pad": "x" * 70_000})
    sent = anon_client.post(url, data=huge, headers=webhook_headers(huge, "msg-2"))
    assert_listed(spec, "post", WEBHOOK, sent, 413)
    providers(provider_allowed_ips={"acq": (ip_network("10.20.0.0/16"),)})
    refused = anon_client.post(url, data=body, headers=webhook_headers(body, "msg-3"))
    assert_listed(spec, "post", WEBHOOK, refused, 403)


def test_click_refuses_before_its_protocol_with_listed_statuses(anon_client, providers, spec):
    prepare, complete = "/payments/click/prepare", "/payments/click/complete"
    providers(provider_allowed_ips={"click": (ip_network("10.20.0.0/16"),)})
    for path in (prepare, complete):
        assert_listed(spec, "post", path, anon_client.post(path, data={"action": "0"}), 403)
    providers(payment_providers=("payme", "webhooks"))
    for path in (prepare, complete):
        assert_listed(spec, "post", path, anon_client.post(path, data={"action": "0"}), 404)
    answer = spec["paths"][prepare]["post"]["responses"]["200"]["description"]
    assert "always HTTP 200" not in answer and "403" in answer and "404" in answer


def test_payme_not_enabled_is_a_listed_404(anon_client, providers, spec):
    providers(payment_providers=("click", "webhooks"))
    response = anon_client.post("/payments/payme", json={"id": 1, "method": "CheckTransaction"})
    assert_listed(spec, "post", "/payments/payme", response, 404)
    assert (
        "always HTTP 200"
        not in spec["paths"]["/payments/payme"]["post"]["responses"]["200"]["description"]
    )


def test_an_audit_page_is_described_as_the_page_it_is(client, spec):
    response = client.get("/api/v1/audit?page_size=2")
    assert response.status_code == 200 and response.get_json()["items"]  # the sign-in's
    content = spec["paths"]["/api/v1/audit"]["get"]["responses"]["200"]["content"]
    name = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    page = spec["components"]["schemas"][name]
    assert (
        set(page["required"])
        == set(response.get_json())
        == {
            "items",
            "page",
            "page_size",
            "total",
        }
    )
    entry = page["properties"]["items"]["items"]["$ref"].rsplit("/", 1)[-1]
    for item in response.get_json()["items"]:
        assert set(item) <= set(spec["components"]["schemas"][entry]["properties"])


def test_every_clinic_command_the_document_names_exists(client):
    """A reader of the document is sent to commands that are there (not `clinic tokens`)."""
    document = client.get("/api/openapi.json").get_data(as_text=True)
    named = set(re.findall(r"`clinic ([a-z][a-z-]*)", document))
    assert named <= set(cli.commands), named - set(cli.commands)
    assert "made at /account/tokens" in document
