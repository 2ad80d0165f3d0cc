"""Numbers as Payme's JSON may write them: JSON has one kind of number, so ``15000000.0`` is
the amount 15000000 and ``1764000000000.0`` that millisecond, read and kept as whole
numbers; a fraction of a tiyin or of a millisecond is no Amount or Timestamp (-32600)."""

from __future__ import annotations

import json

from sqlalchemy import select

from clinic.models import Invoice, PaymeTransaction
from tests.payments import provider_support as support
from tests.payments.fixtures import make_invoice
from tests.payments.provider_support import Payme, account, payme_auth

clock = support.clock
settings = support.settings

PRICE = 15_000_000


def call_raw(client, text: str) -> dict:
    """A body written by hand: its numbers arrive exactly as they stand in it."""
    response = client.post(
        "/payments/payme", data=text, content_type="application/json", headers=payme_auth(),
        skip_csrf=True,
    )  # fmt: skip
    assert response.status_code == 200
    return response.get_json()


def test_whole_numbers_written_with_a_fraction_are_the_same_amount_and_time(
    runtime, anon_client, clock
):
    payme = Payme(anon_client)
    invoice_id = make_invoice(runtime, (PRICE,))
    ac = json.dumps(account(invoice_id))
    check = (
        f'{{"id": 1, "method": "CheckPerformTransaction", "params": {{"amount": {PRICE}.0, '
        f'"account": {ac}}}}}'
    )
    assert call_raw(anon_client, check)["result"]["allow"] is True
    create = (
        f'{{"id": 2, "method": "CreateTransaction", "params": {{"id": "float-1", '
        f'"time": {clock.now}.0, "amount": 1.5e7, "account": {ac}}}}}'
    )
    created = call_raw(anon_client, create)
    assert "error" not in created, created
    again = {"id": "float-1", "time": clock.now, "amount": PRICE, "account": account(invoice_id)}
    assert payme.result("CreateTransaction", again) == created["result"]
    assert payme.result("PerformTransaction", {"id": "float-1"})["state"] == 2
    statement = (
        f'{{"id": 3, "method": "GetStatement", "params": {{"from": {clock.now}.0, '
        f'"to": {clock.now}.00}}}}'
    )
    (row,) = call_raw(anon_client, statement)["result"]["transactions"]
    assert (row["amount"], row["time"]) == (PRICE, clock.now)
    assert type(row["amount"]) is int and type(row["time"]) is int
    with runtime.db.session() as s:
        txn = s.scalar(select(PaymeTransaction))
        assert (txn.amount, txn.payme_time) == (PRICE, clock.now)
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.status, invoice.paid_amount) == ("paid", PRICE)


def test_a_fraction_of_a_tiyin_or_a_millisecond_is_still_32600_naming_the_field(
    runtime, anon_client, clock
):
    payme = Payme(anon_client)
    invoice_id = make_invoice(runtime, (PRICE,))
    check = {"amount": PRICE + 0.5, "account": account(invoice_id)}
    body = payme.call("CheckPerformTransaction", check)
    assert (body["error"]["code"], body["error"]["data"]) == (-32600, "amount")
    params = {"id": "f", "time": clock.now + 0.5, "amount": PRICE, "account": account(invoice_id)}
    body = payme.call("CreateTransaction", params)
    assert (body["error"]["code"], body["error"]["data"]) == (-32600, "time")
    body = payme.call("GetStatement", {"from": 0.25, "to": clock.now})
    assert (body["error"]["code"], body["error"]["data"]) == (-32600, "from")
    with runtime.db.session() as s:
        assert s.scalar(select(PaymeTransaction.id)) is None


def test_a_request_id_written_with_a_fraction_is_echoed_as_written(runtime, anon_client, clock):
    """JSON-RPC's ``id`` is a string or a number, and the answer carries the same value."""
    invoice_id = make_invoice(runtime, (PRICE,))
    ac = json.dumps(account(invoice_id))
    for rpc_id in ("3.0", "7.5", "-2.25", "1e3"):
        check = (
            f'{{"id": {rpc_id}, "method": "CheckPerformTransaction", "params": {{"amount": '
            f'{PRICE}, "account": {ac}}}}}'
        )
        body = call_raw(anon_client, check)
        assert body["id"] == float(rpc_id) and body["result"]["allow"] is True, body
    refused = call_raw(anon_client, '{"id": 4.5, "method": "CheckTransaction", "params": {}}')
    assert (refused["id"], refused["error"]["code"]) == (4.5, -32600)
