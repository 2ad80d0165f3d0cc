"""A Complete posted to Click's Prepare URL is signed as Click signs a Complete (with its
``merchant_prepare_id``): a genuine request for an action that URL does not take, so -3
"Action not found", not a failed signature (-1), and nothing changes."""

from __future__ import annotations

from sqlalchemy import func, select

from clinic.models import ClickTransaction, Invoice, Payment
from tests.payments import provider_support as support
from tests.payments.fixtures import make_invoice
from tests.payments.provider_support import click_fields

# The provider settings (keys and secrets).
settings = support.settings

PRICE = 5_000_000  # 50 000 soums


def post(client, path: str, fields: dict) -> dict:
    response = client.post(f"/payments/click/{path}", data=fields, skip_csrf=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_a_complete_at_the_prepare_url_is_action_not_found_and_changes_nothing(
    runtime, anon_client
):
    invoice_id = make_invoice(runtime, (PRICE,))
    prepared = post(anon_client, "prepare", click_fields(invoice_id, "50000", trans_id="71"))
    assert prepared["error"] == 0, prepared
    prepare_id = prepared["merchant_prepare_id"]
    complete = click_fields(invoice_id, "50000", trans_id="71", prepare_id=prepare_id)

    # A Complete, signed with its merchant_prepare_id as Click signs a Complete, at Prepare.
    answer = post(anon_client, "prepare", complete)
    assert (answer["error"], answer["error_note"]) == (-3, "Action not found"), answer
    assert answer["merchant_prepare_id"] is None
    # Signed with another secret it is still a failed signature.
    forged = {**complete, "sign_string": support.click_sign(complete, "not-the-secret")}
    assert post(anon_client, "prepare", forged)["error"] == -1

    with runtime.db.session() as s:
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.status, invoice.paid_amount) == ("open", 0)
        assert invoice.held_by == "click:71"
        assert s.scalar(select(func.count(Payment.id))) == 0
        assert s.scalars(select(ClickTransaction.status)).all() == ["prepared"]
    # The Complete at its own URL still pays the invoice.
    assert post(anon_client, "complete", complete)["error"] == 0
