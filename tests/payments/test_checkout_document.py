"""The patient's "Pay online" card asks ``GET /payments/checkout/<token>``: the OpenAPI
document lists what it answers (the links, or 409 when nothing can be paid online), and its
real answers are the ones listed."""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import ONE_BACKEND
from tests.payments import provider_support as support
from tests.payments.fixtures import issue_ticket, make_invoice, make_patient, make_queue

# The API document, not database rules: one backend (see tests/conftest.py).
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])

PATH = "/payments/checkout/{token}"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
PRICE = 12_345_67


@pytest.fixture
def providers() -> dict:
    """The provider settings: none, as a clinic has them before it signs with Payme or Click."""
    return {}


@pytest.fixture
def settings(shared, database_urls, backend, providers):
    return shared.settings(database_urls, backend, **providers)


@pytest.fixture
def spec(anon_client):
    return anon_client.get("/api/openapi.json").get_json()


def _schema(spec, node: dict) -> dict:
    """The schema a node names (a reference, or one described: ``allOf`` of a reference)."""
    while "$ref" in node or "allOf" in node:
        if "allOf" in node:
            node = node["allOf"][0]
            continue
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _answer_schema(spec) -> dict:
    ok = spec["paths"][PATH]["get"]["responses"]["200"]
    return _schema(spec, ok["content"]["application/json"]["schema"])


def _ticket_with_open_invoice(runtime) -> str:
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
        patient_id = make_patient(s)
        ticket = issue_ticket(s, queue_id, patient_id)
        token, ticket_id = ticket.token, ticket.id
    make_invoice(runtime, (PRICE,), ticket_id=ticket_id, patient_id=patient_id)
    return token


def _as_documented(app, token: str) -> None:
    """The answer to the patient's page, held to the document by the schema fuzzer's checks."""
    operation = schemathesis.openapi.from_wsgi("/api/openapi.json", app)[PATH]["GET"]
    operation.Case(path_parameters={"token": token}).call_and_validate(checks=CHECKS)


def test_the_document_lists_the_checkout_links_and_the_409_of_nothing_to_pay_online(spec):
    responses = spec["paths"][PATH]["get"]["responses"]
    assert {"200", "404", "409"} <= set(responses)
    assert set(responses["409"]["content"]) == {"application/problem+json"}
    assert "no_provider" in responses["409"]["description"]
    assert "nothing_due" in responses["409"]["description"]
    answer = _answer_schema(spec)
    assert set(answer["properties"]) == {"invoice_id", "number", "amount", "links"}
    links = _schema(spec, answer["properties"]["links"])
    assert set(links["properties"]) == {"payme", "click"}
    link = _schema(spec, links["properties"]["payme"])
    assert set(link["properties"]) == {"url", "qr_svg", "qr_data_uri"}


def test_a_clinic_without_a_provider_answers_the_documented_409_no_provider(
    app, runtime, anon_client, spec
):
    token = _ticket_with_open_invoice(runtime)
    response = anon_client.get(f"/payments/checkout/{token}")
    assert response.status_code == 409
    assert response.get_json()["code"] == "no_provider"
    assert "409" in spec["paths"][PATH]["get"]["responses"]
    _as_documented(app, token)


@pytest.mark.parametrize("providers", [support.PROVIDER_ENV])
def test_a_clinic_with_payme_and_click_answers_the_documented_links(
    app, runtime, anon_client, spec
):
    token = _ticket_with_open_invoice(runtime)
    response = anon_client.get(f"/payments/checkout/{token}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    answer = _answer_schema(spec)
    assert set(body) == set(answer["properties"])
    assert body["amount"] == PRICE and body["number"]
    links = _schema(spec, answer["properties"]["links"])
    assert set(body["links"]) == set(links["properties"]) == {"payme", "click"}
    for name, link in body["links"].items():
        assert set(link) == set(_schema(spec, links["properties"][name])["properties"])
    _as_documented(app, token)
