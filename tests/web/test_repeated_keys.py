"""A JSON object naming a key twice (``{"amount": 1, "amount": 2}``) is no one request:
Python's parser would keep the last value without a word. The API refuses it with a 400
naming the key by its path, at any depth, and changes nothing; Payme hears -32700, Click -8
for a form field given twice, a webhook a 400 naming the key."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from clinic.jsonkeys import repeated_key, unique_keys
from clinic.models import Patient, Payment, ProviderLogEntry, WebhookEvent
from tests.conftest import ONE_BACKEND
from tests.payments import provider_support as support
from tests.payments.fixtures import make_invoice
from tests.payments.provider_support import click_fields, payme_auth, webhook_headers

settings = support.settings
PRICE = 5_000_000


def _patients(runtime) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(Patient))


@pytest.mark.parametrize(
    "text, key",
    [
        ('{"full_name": "Karimov Anvar", "sex": "M", "sex": "F"}', "sex"),
        ('{"full_name": "A", "full_name": "B", "sex": "M"}', "full_name"),
        ('{"full_name": "Karimov Anvar", "sex": "M", "notes": {"a": 1, "a": 2}}', "notes.a"),
        ('{"full_name": "Karimov Anvar", "sex": "M", "notes": [{}, {"x": 1, "x": 1}]}',
         "notes.1.x"),  # fmt: skip
    ],
    ids=["top", "same-first", "nested", "in-a-list"],
)
def test_a_key_given_twice_is_a_400_naming_it_and_nothing_is_registered(runtime, client, text, key):
    response = client.post("/api/v1/patients", data=text, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    problem = response.get_json()
    assert list(problem["errors"]) == [key] and "more than once" in problem["detail"]
    assert _patients(runtime) == 0


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_the_same_body_with_each_key_once_is_registered(runtime, client):
    text = '{"full_name": "Karimov Anvar", "sex": "M", "notes": "a"}'
    response = client.post("/api/v1/patients", data=text, content_type="application/json")
    assert response.status_code == 201 and _patients(runtime) == 1


def test_the_parser_marks_only_objects_that_repeat_a_key():
    assert (
        repeated_key(
            json.loads('{"a": [{"b": 1}, {"c": {"d": 2}}]}', object_pairs_hook=unique_keys)
        )
        is None
    )
    assert (
        repeated_key(json.loads('{"a": {"b": 1, "b": 1}}', object_pairs_hook=unique_keys)) == "a.b"
    )
    assert (
        repeated_key(json.loads('[{"b": 1}, {"b": 1, "b": 2}]', object_pairs_hook=unique_keys))
        == "1.b"
    )


def test_payme_hears_a_key_given_twice_as_a_parse_error_and_nothing_is_held(runtime, anon_client):
    invoice_id = make_invoice(runtime, (PRICE,))
    text = (
        '{"id": 7, "method": "CreateTransaction", "params": {"id": "t-twice", "time": 1, '
        f'"amount": 1, "amount": {PRICE}, "account": {{"invoice_id": "{invoice_id}"}}}}}}'
    )
    response = anon_client.post(
        "/payments/payme", data=text, content_type="application/json", headers=payme_auth()
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["id"] is None and answer["error"]["code"] == -32700
    assert answer["error"]["data"] == "params.amount"
    with runtime.db.session() as s:
        assert [row.error_code for row in s.scalars(select(ProviderLogEntry))] == [-32700]
        assert s.scalar(select(func.count()).select_from(Payment)) == 0


def test_click_hears_a_field_given_twice_as_an_error_in_the_request(runtime, anon_client):
    invoice_id = make_invoice(runtime, (PRICE,))
    fields = click_fields(invoice_id, "50000")
    body = "&".join(f"{k}={v}" for k, v in fields.items()) + "&amount=1"
    response = anon_client.post(
        "/payments/click/prepare", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200 and response.get_json()["error"] == -8
    # The same fields once each are prepared.
    response = anon_client.post("/payments/click/prepare", data=fields)
    assert response.get_json()["error"] == 0


def test_a_signed_webhook_naming_a_key_twice_is_a_400_naming_it(runtime, anon_client):
    invoice_id = make_invoice(runtime, (PRICE,))
    body = (
        '{"type": "payment.succeeded", "data": {"invoice_id": "%d", "amount": 1, '
        '"amount": %d, "reference": "acq-twice"}}' % (invoice_id, PRICE)
    )
    response = anon_client.post(
        "/payments/webhooks/acq", data=body.encode(), headers=webhook_headers(body, "msg_twice")
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    assert list(response.get_json()["errors"]) == ["data.amount"]
    with runtime.db.session() as s:
        event = s.scalars(select(WebhookEvent)).one()
        assert event.status == "rejected" and event.amount is None
        assert s.scalar(select(func.count()).select_from(Payment)) == 0
