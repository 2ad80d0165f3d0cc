"""Click SHOP API conformance, from PROTOCOLS.md: the signature vectors, every error code in
the order of checks, "50000" against "50000.00", and a failed Complete followed by a
"successful" retry."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_network
from urllib.parse import urlencode

from sqlalchemy import func, select

from clinic.models import ClickTransaction, Invoice, Payment
from clinic.payments import click, invoices
from tests.payments import provider_support as support
from tests.payments.fixtures import make_invoice
from tests.payments.provider_support import click_fields, click_post

# The provider settings (keys and secrets).
settings = support.settings

PRICE = 5_000_000  # 50 000 soums


def test_the_protocol_signature_vectors():
    fields = {
        "click_trans_id": "1234567",
        "service_id": "12713",
        "merchant_trans_id": "order-42",
        "amount": "50000.00",
        "action": "0",
        "sign_time": "2024-01-01 10:00:00",
    }
    assert click.signature(fields, "SECRET", complete=False) == "b905212880401016ceb0b5ebbb7c9020"
    fields["amount"] = "50000"
    assert click.signature(fields, "SECRET", complete=False) == "51c20d05c0f4c9b3bba5cc27ae6773a9"
    fields.update(amount="50000.00", action="1", sign_time="2024-01-01 10:00:05")
    fields["merchant_prepare_id"] = "555"
    assert click.signature(fields, "SECRET", complete=True) == "3b82941eed1b4d2d79930b9e6a219cc2"


def prepared(client, invoice_id, amount="50000", trans_id="1001") -> dict:
    answer = click_post(client, click_fields(invoice_id, amount, trans_id=trans_id))
    assert answer["error"] == 0, answer
    return answer


def test_prepare_then_complete_pays_the_invoice_once(runtime, anon_client):
    invoice_id = make_invoice(runtime, (PRICE,))
    answer = prepared(anon_client, invoice_id, "50000.00")
    assert answer["click_trans_id"] == 1001 and answer["merchant_trans_id"] == str(invoice_id)
    assert isinstance(answer["merchant_prepare_id"], int)
    # A repeated Prepare gets the same prepare id.
    assert prepared(anon_client, invoice_id, "50000.00") == answer
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).held_by == "click:1001"
    done = click_post(
        anon_client,
        click_fields(invoice_id, "50000", prepare_id=answer["merchant_prepare_id"]),
    )
    assert done["error"] == 0 and isinstance(done["merchant_confirm_id"], int)
    again = click_post(
        anon_client,
        click_fields(invoice_id, "50000", prepare_id=answer["merchant_prepare_id"]),
    )
    assert again["error"] == -4
    with runtime.db.session() as s:
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.status, invoice.paid_amount, invoice.held_by) == ("paid", PRICE, None)
        assert s.scalar(select(func.count(Payment.id))) == 1


def test_50000_and_50000_00_are_signed_differently(runtime, anon_client):
    invoice_id = make_invoice(runtime, (PRICE,))
    fields = click_fields(invoice_id, "50000")
    fields["amount"] = "50000.00"  # the same money, but not the string that was signed
    assert click_post(anon_client, fields)["error"] == -1
    assert click_post(anon_client, click_fields(invoice_id, "50000.00"))["error"] == 0


def test_every_error_code_in_the_order_of_the_checks(runtime, anon_client):
    invoice_id = make_invoice(runtime, (PRICE,))
    post = lambda fields: click_post(anon_client, fields)["error"]  # noqa: E731

    # -8 missing fields come before everything, even a bad signature.
    missing = click_fields(invoice_id, "50000", sign=False)
    del missing["sign_time"]
    assert post({**missing, "sign_string": "bad"}) == -8
    assert post(click_fields(invoice_id, "50000", click_trans_id="abc")) == -8
    # -1 signature, before the action and the invoice are looked at.
    assert post({**click_fields(99999999, "1", action="7"), "sign_string": "0" * 32}) == -1
    assert post(click_fields(invoice_id, "50000", sign=False, sign_string="")) == -8
    # Signed with another secret.
    forged = click_fields(invoice_id, "50000", sign=False)
    forged["sign_string"] = support.click_sign(forged, "not-the-secret")
    assert post(forged) == -1
    # -3 action, before the invoice.
    assert post(click_fields(99999999, "1", action="7")) == -3
    # -5 invoice, before the amount.
    assert post(click_fields(99999999, "1")) == -5
    assert post(click_fields("not-an-invoice", "1")) == -5
    assert post(click_fields("²", "1")) == -5  # a digit to str.isdigit, not to int()
    # -2 amount.
    for amount in ("49999.99", "50000.001", "abc", "-50000", "NaN", "1e5"):
        assert post(click_fields(invoice_id, amount)) == -2, amount
    # -6 an unknown prepare id on Complete.
    assert post(click_fields(invoice_id, "50000", prepare_id=424242)) == -6
    # -4 already paid comes before the prepare id.
    answer = prepared(anon_client, invoice_id)
    complete = click_fields(invoice_id, "50000", prepare_id=answer["merchant_prepare_id"])
    assert post(complete) == 0
    assert post(click_fields(invoice_id, "50000", prepare_id=424242)) == -4
    assert post(click_fields(invoice_id, "50000", trans_id="2002")) == -4


def test_a_failed_complete_cancels_and_a_later_successful_one_still_gets_minus_9(
    runtime, anon_client
):
    invoice_id = make_invoice(runtime, (PRICE,))
    answer = prepared(anon_client, invoice_id)
    prepare_id = answer["merchant_prepare_id"]
    failed = click_fields(invoice_id, "50000", prepare_id=prepare_id, error="-5017")
    assert click_post(anon_client, failed)["error"] == -9
    retry = click_fields(invoice_id, "50000", prepare_id=prepare_id)
    assert click_post(anon_client, retry)["error"] == -9
    assert click_post(anon_client, click_fields(invoice_id, "50000"))["error"] == -9
    with runtime.db.session() as s:
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.status, invoice.paid_amount, invoice.held_by) == ("open", 0, None)
        txn = s.scalar(select(ClickTransaction))
        assert (txn.status, txn.click_error) == ("cancelled", -5017)
    # The invoice can still be paid by a new Click payment.
    again = prepared(anon_client, invoice_id, trans_id="3003")
    done = click_fields(
        invoice_id, "50000", trans_id="3003", prepare_id=again["merchant_prepare_id"]
    )
    assert click_post(anon_client, done)["error"] == 0


def test_a_failed_complete_with_an_error_code_past_the_integer_range_still_cancels(
    runtime, anon_client
):
    invoice_id = make_invoice(runtime, (PRICE,))
    prepare_id = prepared(anon_client, invoice_id)["merchant_prepare_id"]
    failed = click_fields(invoice_id, "50000", prepare_id=prepare_id, error="-99999999999")
    assert click_post(anon_client, failed)["error"] == -9
    retry = click_fields(invoice_id, "50000", prepare_id=prepare_id)
    assert click_post(anon_client, retry)["error"] == -9
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).paid_amount == 0
        txn = s.scalar(select(ClickTransaction))
        assert (txn.status, txn.click_error) == ("cancelled", -(2**31))


def test_a_repeated_prepare_reporting_a_failure_is_minus_9_and_cancels_the_payment(
    runtime, anon_client
):
    """Click: on a negative error code the supplier cancels the payment and answers -9."""
    invoice_id = make_invoice(runtime, (PRICE,))
    answer = prepared(anon_client, invoice_id)
    failed = click_post(anon_client, click_fields(invoice_id, "50000", error="-5017"))
    assert (failed["error"], failed["merchant_prepare_id"]) == (-9, None)
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).held_by is None
        txn = s.scalar(select(ClickTransaction))
        assert (txn.status, txn.click_error) == ("cancelled", -5017)
    # Cancelled stays cancelled: a Prepare or Complete of it again is -9, never success.
    assert click_post(anon_client, click_fields(invoice_id, "50000"))["error"] == -9
    assert click_post(anon_client, click_fields(invoice_id, "50000", error="-1"))["error"] == -9
    late = click_fields(invoice_id, "50000", prepare_id=answer["merchant_prepare_id"])
    assert click_post(anon_client, late)["error"] == -9
    with runtime.db.session() as s:
        assert s.scalar(select(ClickTransaction.click_error)) == -5017  # the first failure's
    # The invoice is free at once for the patient's next attempt.
    assert prepared(anon_client, invoice_id, trans_id="1002")["merchant_prepare_id"] != (
        answer["merchant_prepare_id"]
    )


def test_a_complete_naming_a_prepare_id_past_any_row_is_minus_6(runtime, anon_client):
    invoice_id = make_invoice(runtime, (PRICE,))
    prepared(anon_client, invoice_id)
    for prepare_id in (2**31, 999_999_999_999_999_999, -(2**31) - 1):
        answer = click_post(anon_client, click_fields(invoice_id, "50000", prepare_id=prepare_id))
        assert answer["error"] == -6, prepare_id
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).held_by == "click:1001"


def test_a_prepare_never_completed_is_cancelled_after_the_timeout_and_lets_the_invoice_go(
    runtime, anon_client
):
    from tasks.payments_providers import cancel_stale_click

    invoice_id = make_invoice(runtime, (PRICE,))
    prepare_id = prepared(anon_client, invoice_id)["merchant_prepare_id"]
    assert cancel_stale_click.run() == 0  # younger than 30 minutes
    assert cancel_stale_click.run(older_than_minutes=-1) == 1
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).held_by is None
    late = click_fields(invoice_id, "50000", prepare_id=prepare_id)
    assert click_post(anon_client, late)["error"] == -9


def test_an_invoice_another_provider_holds_is_refused(runtime, anon_client):
    invoice_id = make_invoice(runtime, (PRICE,))
    with runtime.db.transaction() as s:
        invoices.hold(s, invoices.get_invoice(s, invoice_id), "payme:abc")
    assert click_post(anon_client, click_fields(invoice_id, "50000"))["error"] == -7


def test_bad_requests_never_get_a_500(runtime, anon_client):
    for path in ("/payments/click/prepare", "/payments/click/complete"):
        for data in ({}, {"click_trans_id": "x" * 300}, {"amount": ["1", "2"]}, {"error": "é"}):
            response = anon_client.post(
                path, data=urlencode(data, doseq=True), content_type=support.FORM
            )
            assert response.status_code == 200 and response.get_json()["error"] == -8
        # A body that is not a form has none of the fields: Click's -8, not an HTTP error.
        response = anon_client.post(path, json={"a": 1})
        assert response.status_code == 200 and response.get_json()["error"] == -8
        response = anon_client.post(
            path, data=b"x" * 70_000, content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 200 and response.get_json()["error"] == -8


def test_a_provider_allow_list_and_the_rate_limit_are_enforced(runtime, anon_client, monkeypatch):
    invoice_id = make_invoice(runtime, (PRICE,))
    limited = replace(
        runtime.settings,
        provider_allowed_ips={"click": (ip_network("10.20.0.0/16"),)},
        provider_rate_limit="3 per minute",
    )
    monkeypatch.setattr(runtime, "settings", limited)
    refused = anon_client.post("/payments/click/prepare", data=click_fields(invoice_id, "50000"))
    assert refused.status_code == 403
    allowed = {"REMOTE_ADDR": "10.20.3.4"}
    fields = click_fields(invoice_id, "50000")
    for _ in range(3):  # counted per calling address
        response = anon_client.post("/payments/click/prepare", data=fields, environ_base=allowed)
        assert response.status_code == 200 and response.get_json()["error"] == 0
    response = anon_client.post("/payments/click/prepare", data=fields, environ_base=allowed)
    assert response.status_code == 429
