"""What Payme may send beside the fields a method reads: more ``account`` fields than the
clinic's one (a cashbox may define several), parameters and top-level keys a later version of
the protocol adds, and the invoice id written as a JSON number. Each is read past, as
JSON-RPC asks, and the statement gives the ``account`` back as Payme sent it."""

from __future__ import annotations

from tests.payments import provider_support as support
from tests.payments.fixtures import make_invoice
from tests.payments.provider_support import Payme, account, payme_auth

clock = support.clock
settings = support.settings

PRICE = 15_000_000


def test_fields_payme_adds_are_read_past_and_the_statement_keeps_the_account_as_sent(
    runtime, anon_client, clock
):
    payme = Payme(anon_client)
    invoice_id = make_invoice(runtime, (PRICE,))
    sent = {**account(invoice_id), "phone": "998901234567"}
    more = {"receiver": {"id": "x"}, "note": None}
    start = clock.now

    check = payme.result("CheckPerformTransaction", {"amount": PRICE, "account": sent, **more})
    assert check["allow"] is True
    as_number = {"amount": PRICE, "account": {"invoice_id": invoice_id}}
    assert payme.result("CheckPerformTransaction", as_number)["allow"] is True

    params = {"id": "with-more", "time": clock.now, "amount": PRICE, "account": sent, **more}
    created = payme.result("CreateTransaction", params)
    assert created["state"] == 1
    clock.advance(1_000)
    performed = payme.result("PerformTransaction", {"id": "with-more", **more})
    assert (performed["state"], performed["perform_time"]) == (2, clock.now)
    checked = payme.result("CheckTransaction", {"id": "with-more", **more})
    assert (checked["state"], checked["transaction"]) == (2, created["transaction"])

    rows = payme.result("GetStatement", {"from": start, "to": clock.now, **more})
    assert [(r["id"], r["account"], r["state"]) for r in rows["transactions"]] == [
        ("with-more", sent, 2)
    ]  # fmt: skip

    # Keys beside id, method and params in the JSON-RPC object itself.
    response = anon_client.post(
        "/payments/payme",
        json={"jsonrpc": "2.0", "id": 31, "method": "CheckTransaction",
              "params": {"id": "with-more"}, "meta": {"retry": 1}},  # fmt: skip
        headers=payme_auth(),
        skip_csrf=True,
    )
    body = response.get_json()
    assert (response.status_code, body["id"], body["result"]["state"]) == (200, 31, 2)
