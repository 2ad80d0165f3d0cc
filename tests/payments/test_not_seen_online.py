"""A patient who paid online and left unseen: of what he is owed, the desk says what it gives
back itself (``to_give_back_at_desk``: cash, its card terminal, Click's) and what only the
provider that took it can (``owed_through``: Payme's, refunded in its cabinet), and its page
types in only the desk's part, naming the provider for the rest. Through the HTTP API, Payme
called as Payme calls; the page's script run by the Node.js that comes with Playwright."""

from __future__ import annotations

import json

from tests.payments import provider_support as support
from tests.payments.fixtures import issue_ticket, make_invoice, make_patient, make_queue
from tests.payments.provider_support import Payme, account, click_fields, click_post
from tests.web.page_scripts import run
from tests.web.test_cashier_rows_script import DESK, SCRIPT

settings = support.settings
clock = support.clock

PRICE = 15_000_000
CASH = 5_000_000


def _ticket_invoice(runtime) -> tuple[int, int]:
    """A waiting ticket of a new patient and its invoice of :data:`PRICE`: (ticket, invoice)."""
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
        patient_id = make_patient(s)
        ticket_id = issue_ticket(s, queue_id, patient_id).id
    return ticket_id, make_invoice(runtime, (PRICE,), ticket_id=ticket_id, patient_id=patient_id)


def _pay_with_payme(anon_client, clock, invoice_id: int, amount: int, payme_id: str) -> None:
    payme = Payme(anon_client)
    params = {"id": payme_id, "time": clock.now, "amount": amount, "account": account(invoice_id)}
    payme.result("CreateTransaction", params)
    assert payme.result("PerformTransaction", {"id": payme_id})["state"] == 2


def _left_unseen(client_as, ticket_id: int) -> None:
    registrar = client_as("registrar")
    answer = registrar.post(f"/api/v1/tickets/{ticket_id}/cancel", json={"reason": "ушёл"})
    assert answer.status_code == 200, answer.get_json()


def _owed(client, invoice_id: int) -> tuple:
    """What the invoice read alone, and as the desk's list shows it, says is owed."""
    alone = client.get(f"/api/v1/payments/invoices/{invoice_id}").get_json()
    listed = client.get("/api/v1/payments/invoices").get_json()
    [row] = [i for i in listed if i["id"] == invoice_id]
    fields = ("not_seen", "to_give_back", "to_give_back_at_desk", "owed_through")
    said = tuple(alone[f] for f in fields)
    assert tuple(row[f] for f in fields) == said
    return said


def _refund(cashier, invoice_id: int, amount: int):
    return cashier.post(
        f"/api/v1/payments/invoices/{invoice_id}/refunds",
        json={"amount": amount, "reason": "не принят"},
    )


def _open_shift(cashier) -> None:
    answer = cashier.post("/api/v1/payments/shifts", json={"opening_cash": 10_000_000})
    assert answer.status_code in (200, 201), answer.get_json()


def test_a_payme_payment_of_a_patient_never_seen_is_owed_through_payme_not_at_the_desk(
    runtime, anon_client, client_as, clock
):
    ticket_id, invoice_id = _ticket_invoice(runtime)
    _pay_with_payme(anon_client, clock, invoice_id, PRICE, "unseen-1")
    _left_unseen(client_as, ticket_id)
    cashier = client_as("cashier")
    _open_shift(cashier)
    # Owed all of it, none of it at the desk: the desk's refund of it is refused.
    assert _owed(cashier, invoice_id) == ("cancelled", PRICE, 0, {"payme": PRICE})
    refused = _refund(cashier, invoice_id, PRICE)
    assert refused.status_code == 409 and refused.get_json()["code"] == "refund_at_provider"
    # Refunded in Payme's cabinet: the refund reaches the invoice, and nothing is owed.
    cancelled = Payme(anon_client).result("CancelTransaction", {"id": "unseen-1", "reason": 5})
    assert cancelled["state"] == -2
    assert _owed(cashier, invoice_id) == (None, 0, 0, {})


def test_cash_and_payme_on_one_invoice_the_desk_gives_back_the_cash_payme_the_rest(
    runtime, anon_client, client_as, clock
):
    ticket_id, invoice_id = _ticket_invoice(runtime)
    cashier = client_as("cashier")
    _open_shift(cashier)
    paid = cashier.post(
        f"/api/v1/payments/invoices/{invoice_id}/pay", json={"method": "cash", "amount": CASH}
    )
    assert paid.status_code == 201, paid.get_json()
    _pay_with_payme(anon_client, clock, invoice_id, PRICE - CASH, "unseen-2")
    _left_unseen(client_as, ticket_id)
    owed = ("cancelled", PRICE, CASH, {"payme": PRICE - CASH})
    assert _owed(cashier, invoice_id) == owed
    # The desk's part, given back as the page offers it; the rest is still owed, by Payme.
    given = _refund(cashier, invoice_id, CASH)
    assert given.status_code == 201, given.get_json()
    owed = ("cancelled", PRICE - CASH, 0, {"payme": PRICE - CASH})
    assert _owed(cashier, invoice_id) == owed


def test_a_click_payment_of_a_patient_never_seen_is_given_back_at_the_desk(
    runtime, anon_client, client_as
):
    ticket_id, invoice_id = _ticket_invoice(runtime)
    amount = f"{PRICE // 100}.00"
    prepared = click_post(anon_client, click_fields(invoice_id, amount, trans_id="7301"))
    assert prepared["error"] == 0, prepared
    prepare_id = prepared["merchant_prepare_id"]
    fields = click_fields(invoice_id, amount, trans_id="7301", prepare_id=prepare_id)
    assert click_post(anon_client, fields)["error"] == 0
    _left_unseen(client_as, ticket_id)
    cashier = client_as("cashier")
    _open_shift(cashier)
    # Click reports no refund: given back in Click's cabinet, it is recorded at the desk.
    assert _owed(cashier, invoice_id) == ("cancelled", PRICE, PRICE, {})
    given = _refund(cashier, invoice_id, PRICE)
    assert given.status_code == 201, given.get_json()
    assert _owed(cashier, invoice_id) == (None, 0, 0, {})


# -- the cashier's page ---------------------------------------------------------------------

# Invoice 5: 150 000 сум, paid, its patient's ticket cancelled.
UNSEEN = {
    "id": 5,
    "number": "26-0000005",
    "status": "paid",
    "lines": [{"service_id": 1, "title": "УЗИ", "quantity": 1}],
    "subtotal": PRICE,
    "discount": 0,
    "discount_reason": None,
    "total": PRICE,
    "paid_amount": PRICE,
    "refunded_amount": 0,
    "amount_due": 0,
    "held": False,
    "not_seen": "cancelled",
    "to_give_back": PRICE,
}
WORDS = {
    "unseen": {"cancelled": "not seen"},
    "unseenReason": {"cancelled": "ticket cancelled"},
    "unseenAmount": "give back {amount}",
    "unseenAtProvider": "refund {amount} through {provider} in its cabinet",
}


def _page(invoice: dict) -> dict:
    """Invoice 5's row on the desk: its mark, and what its refund fields were typed with."""
    fields = (
        "function typed(name) { var found = null; (function walk(at) {"
        " at.children.forEach(function (c) { if (c.tag === 'input' && c.name === name)"
        " found = found || c.value; walk(c); }); })(row(5)); return found; }"
    )
    program = (
        DESK
        + f"\nObject.assign(words, {json.dumps(WORDS)});"
        + SCRIPT
        + f"\nhandlers.onSnapshot({{invoices: [{json.dumps(invoice)}]}});\n"
        + fields
        + "\nprocess.stdout.write(JSON.stringify({mark: part(5, 'cashier-invoices__unseen'),"
        " amount: typed('refund_amount'), reason: typed('refund_reason'),"
        " buttons: buttons(5)}));"
    )
    return run(program)


def test_the_page_types_in_only_what_the_desk_gives_back_and_names_payme_for_the_rest():
    mixed = {**UNSEEN, "to_give_back_at_desk": CASH, "owed_through": {"payme": PRICE - CASH}}
    shown = _page(mixed)
    assert shown["mark"] == (
        "not seen\u00a0· give back 50 000 сум"
        "\u00a0· refund 100 000 сум through Payme in its cabinet"
    ), shown["mark"]
    assert (shown["amount"], shown["reason"]) == ("50 000", "ticket cancelled")
    # All of it Payme's: the row keeps its mark, and nothing is typed in for the desk.
    payme = {**UNSEEN, "to_give_back_at_desk": 0, "owed_through": {"payme": PRICE}}
    shown = _page(payme)
    assert shown["mark"] == "not seen\u00a0· refund 150 000 сум through Payme in its cabinet"
    assert (shown["amount"], shown["reason"]) == ("", "")
    # Paid at the desk: all of it typed in, as before.
    cash = {**UNSEEN, "to_give_back_at_desk": PRICE, "owed_through": {}}
    shown = _page(cash)
    assert shown["mark"] == "not seen\u00a0· give back 150 000 сум"
    assert (shown["amount"], shown["reason"]) == ("150 000", "ticket cancelled")
