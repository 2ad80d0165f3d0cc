"""Whatever reaches a provider endpoint is answered in that provider's protocol: an
``Authorization`` header that is not Payme's Basic key (a bearer token, ours or anyone's, a
malformed one) is Payme's -32504 with HTTP 200, never our 401; text no column can store and
JSON nested too deep are protocol errors, never the input boundary's 4xx or a 500; Click and
the webhooks ignore a foreign ``Authorization`` header altogether."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from clinic.models import Invoice, ProviderLogEntry
from tests.conftest import ONE_BACKEND
from tests.payments import provider_support as support
from tests.payments.fixtures import make_invoice
from tests.payments.provider_support import (
    PAYME_KEY,
    account,
    click_fields,
    payme_auth,
    webhook_headers,
)

settings = support.settings

PRICE = 5_000_000

MALFORMED_AUTHORIZATION = [
    "Bearer not-a-token",
    "Bearer ",
    "Bearer",
    "bearer " + "x" * 300,
    "Token abc",
    "Digest username=Paycom, realm=x",
    "Basic",
    "Basic ",
    "Basic !!!not base64!!!",
    "Basic " + "UGF5Y29tOg",  # "Paycom:" with its padding cut off
    "Basic UGF5Y29tOg==",  # "Paycom:" and an empty key
    "Basic " + "ÿÿÿÿ",  # not ASCII
    "Paycom:" + PAYME_KEY,  # the pair itself, not base64 and without the scheme
    PAYME_KEY,
    "Basic  " + payme_auth()["Authorization"][6:] + " extra",
    ", , ,",
]


def payme_post(client, doc, headers):
    return client.post(
        "/payments/payme", data=json.dumps(doc), content_type="application/json",
        headers=headers,
    )  # fmt: skip


# Whose key a header is, is decided before any query: one database shows it.
@pytest.mark.parametrize("backend", [ONE_BACKEND])
@pytest.mark.parametrize("header", MALFORMED_AUTHORIZATION)
def test_payme_answers_any_authorization_but_its_own_with_32504_and_http_200(
    runtime, anon_client, header
):
    invoice_id = make_invoice(runtime, (PRICE,))
    doc = {"id": 4711, "method": "CheckPerformTransaction",
           "params": {"amount": PRICE, "account": account(invoice_id)}}  # fmt: skip
    response = payme_post(anon_client, doc, {"Authorization": header})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["id"] == 4711 and body["error"]["code"] == -32504
    assert set(body["error"]["message"]) == {"ru", "uz", "en"}
    assert "WWW-Authenticate" not in response.headers


def test_a_staff_bearer_token_is_no_payme_key_and_acts_as_nobody(runtime, anon_client, admin_token):
    invoice_id = make_invoice(runtime, (PRICE,))
    doc = {"id": 1, "method": "CreateTransaction",
           "params": {"id": "t-bearer", "time": 1, "amount": PRICE,
                      "account": account(invoice_id)}}  # fmt: skip
    response = payme_post(anon_client, doc, {"Authorization": f"Bearer {admin_token}"})
    assert response.status_code == 200 and response.get_json()["error"]["code"] == -32504
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).held_by is None
    # The right key in lowercase scheme is still the right key.
    lower = {"Authorization": "basic " + payme_auth()["Authorization"][6:]}
    doc["method"], doc["params"] = "CheckPerformTransaction", {
        "amount": PRICE, "account": account(invoice_id)}  # fmt: skip
    assert payme_post(anon_client, doc, lower).get_json()["result"]["allow"] is True


UNSTORABLE_PAYME = [
    '{"id": 9, "method": "CheckTransaction", "params": {"id": "a\\u0000b"}}',
    '{"id": 9, "method": "CheckTransaction", "params": {"id": "\\ud800"}}',
    '{"id": 9, "method": "CheckPerformTransaction", "params": {"amount": 1, "account": '
    '{"invoice_id\\u0000": "1"}}}',
    '{"id": 9, "method": "GetStatement", "params": {"from": 1, "to": 2, "x": '
    + "[" * 40
    + "]" * 40
    + "}}",
]


@pytest.mark.parametrize("text", UNSTORABLE_PAYME)
def test_payme_refuses_unstorable_text_and_deep_nesting_as_32600_with_http_200(
    runtime, anon_client, text
):
    response = anon_client.post(
        "/payments/payme", data=text.encode(), content_type="application/json",
        headers=payme_auth(),
    )  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["id"] == 9 and body["error"]["code"] == -32600


@pytest.mark.parametrize(
    "data",
    [b"\x00", b'{"id": 1, "method": "CheckTransaction"\x00}', b"[" * 100_00, b"\xc3\x28"]
    # NaN and infinities are no JSON: PostgreSQL's jsonb refuses them where SQLite kept them.
    + [
        b'{"id": 1, "method": "SetFiscalData", "params": {"id": "t", "type": "PERFORM", '
        b'"fiscal_data": {"total": ' + number + b"}}}"
        for number in (b"NaN", b"-Infinity", b"1e400")
    ],
    ids=["nul", "nul-inside", "deep", "not-utf8", "nan", "infinity", "beyond-a-double"],
)
def test_payme_answers_raw_garbage_32700_and_logs_it(runtime, anon_client, data):
    response = anon_client.post(
        "/payments/payme", data=data, content_type="application/json", headers=payme_auth()
    )
    assert response.status_code == 200
    assert response.get_json() == {**response.get_json(), "id": None}
    assert response.get_json()["error"]["code"] == -32700
    with runtime.db.session() as s:
        logged = s.scalars(select(ProviderLogEntry)).all()
        assert [row.error_code for row in logged] == [-32700]


def test_payme_hears_a_body_declared_as_other_than_json_as_32600_and_reads_undeclared_json(
    runtime, anon_client
):
    invoice_id = make_invoice(runtime, (PRICE,))
    doc = {"id": 3, "method": "CheckPerformTransaction",
           "params": {"amount": PRICE, "account": account(invoice_id)}}  # fmt: skip
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = anon_client.post(
            "/payments/payme", data=json.dumps(doc), content_type=content_type,
            headers=payme_auth(),
        )  # fmt: skip
        assert response.status_code == 200
        assert response.get_json()["error"] == {
            **response.get_json()["error"], "code": -32600, "data": "Content-Type"}  # fmt: skip
        assert response.get_json()["id"] == 3
    response = anon_client.post(
        "/payments/payme", data=json.dumps(doc), headers=payme_auth()
    )  # no Content-Type at all
    assert response.status_code == 200 and response.get_json()["result"]["allow"] is True


def test_payme_reads_a_body_declared_as_text_json_as_its_protocol_page_sends_it(
    runtime, anon_client
):
    invoice_id = make_invoice(runtime, (PRICE,))
    doc = {"id": 4, "method": "CheckPerformTransaction",
           "params": {"amount": PRICE, "account": account(invoice_id)}}  # fmt: skip
    response = anon_client.post(
        "/payments/payme", data=json.dumps(doc), content_type="text/json; charset=UTF-8",
        headers=payme_auth(),
    )  # fmt: skip
    assert response.status_code == 200
    assert response.get_json()["id"] == 4 and response.get_json()["result"]["allow"] is True


@pytest.mark.parametrize("backend", [ONE_BACKEND])
@pytest.mark.parametrize("header", ["Bearer not-a-token", "Basic !!!", "Token x"])
def test_click_ignores_a_foreign_authorization_header(runtime, anon_client, header):
    invoice_id = make_invoice(runtime, (PRICE,))
    response = anon_client.post(
        "/payments/click/prepare", data=click_fields(invoice_id, "50000"),
        headers={"Authorization": header},
    )  # fmt: skip
    assert response.status_code == 200 and response.get_json()["error"] == 0


def test_click_answers_garbage_with_its_error_field_never_a_4xx(runtime, anon_client):
    invoice_id = make_invoice(runtime, (PRICE,))
    with_nul = click_fields(invoice_id, "50000", sign=False, click_trans_id="1\x002")
    with_nul["sign_string"] = "0" * 32
    cases = [
        (dict(data=with_nul), -8),
        (dict(data={**click_fields(invoice_id, "50000"), "extra\x00": "x\x00"}), 0),
        (dict(data=json.dumps(click_fields(invoice_id, "50000")),
              content_type="application/json"), -8),  # fmt: skip
        (dict(data=b"\x00\xff\xfe", content_type="text/plain"), -8),
        (dict(data=b"%%%&&&===", content_type="application/x-www-form-urlencoded"), -8),
        (dict(data=b""), -8),
    ]
    for kwargs, expected in cases:
        for path in ("/payments/click/prepare", "/payments/click/complete"):
            response = anon_client.post(path, **kwargs)
            assert response.status_code == 200, (path, kwargs, response.get_data(as_text=True))
            error = json.loads(response.data)["error"]  # it may echo a NUL, escaped
            # A complete without merchant_prepare_id lacks a field.
            assert error == (-8 if path.endswith("complete") else expected), (path, kwargs)


def test_click_answers_a_form_of_more_parts_than_are_read_with_its_error_field(
    runtime, anon_client
):
    """A multipart form within the size limit but of more parts than the form parser reads
    (werkzeug's 1,000) is still no Click request: -8 with HTTP 200, logged, as a body over
    the size limit is, never an HTTP 413."""
    invoice_id = make_invoice(runtime, (PRICE,))
    fields = {**click_fields(invoice_id, "50000"), **{f"x{i}": "1" for i in range(1100)}}
    parts = "".join(
        f'--b\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    )
    body = (parts + "--b--\r\n").encode()
    assert len(body) < 64 * 1024
    for path in ("/payments/click/prepare", "/payments/click/complete"):
        response = anon_client.post(path, data=body, content_type="multipart/form-data; boundary=b")
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json()["error"] == -8
    with runtime.db.session() as s:
        logged = s.scalars(select(ProviderLogEntry).order_by(ProviderLogEntry.id)).all()
        assert [(row.method, row.error_code) for row in logged] == [
            ("prepare", -8),
            ("complete", -8),
        ]
        assert s.get(Invoice, invoice_id).paid_amount == 0


def test_a_webhook_with_a_foreign_authorization_header_is_judged_by_its_signature(
    runtime, anon_client
):
    invoice_id = make_invoice(runtime, (PRICE,))
    body = json.dumps({"type": "payment.succeeded",
                       "data": {"invoice_id": str(invoice_id), "amount": PRICE,
                                "reference": "acq-1"}})  # fmt: skip
    headers = {**webhook_headers(body, "msg_auth"), "Authorization": "Bearer nonsense"}
    response = anon_client.post("/payments/webhooks/acq", data=body, headers=headers)
    assert response.status_code == 200
    unsigned = {"Authorization": "Bearer nonsense", "Content-Type": "application/json"}
    response = anon_client.post("/payments/webhooks/acq", data=body, headers=unsigned)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "body, status",
    [
        ('{"type": "payment.succeeded", "data": {"invoice_id": "1", "amount": 5, '
         '"reference": "a\\u0000b"}}', 422),  # fmt: skip
        ('{"type": "payment.succeeded", "data": {"invoice_id": "1", "amount": 5, '
         '"reference": "\\udfff"}}', 422),  # fmt: skip
        ("[" * 5000 + "]" * 5000, 400),
        ('{"type": "payment.succeeded"}\x00', 400),
        ('{"type": "payment.succeeded", "data": {"invoice_id": "\u00b2", "amount": 5, '
         '"reference": "a"}}', 422),  # fmt: skip
    ],
    ids=["nul", "surrogate", "deep", "raw-nul", "superscript-digit"],
)
def test_a_signed_webhook_with_unstorable_or_deep_content_is_a_4xx_never_500(
    runtime, anon_client, body, status
):
    response = anon_client.post(
        "/payments/webhooks/acq", data=body.encode(), headers=webhook_headers(body, "msg_x")
    )
    assert response.status_code == status, response.get_data(as_text=True)
