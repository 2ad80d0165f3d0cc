"""Payme Merchant API as Payme's sandbox tries it (developer.help.paycom.uz, "Песочница"):
the wrong key on every method, the wrong amount and the unknown invoice on CreateTransaction
as on CheckPerformTransaction, the documented ChangePassword, and a cancel after perform
decided by whether the patient was served, not merely called."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from clinic.models import Invoice, PaymeTransaction, Refund
from clinic.queue import calls
from tests.payments import provider_support as support
from tests.payments.fixtures import TZ, issue_ticket, make_invoice, make_patient, make_queue
from tests.payments.provider_support import Payme, account, payme_auth

clock = support.clock
settings = support.settings

PRICE = 15_000_000


@pytest.fixture
def payme(anon_client):
    return Payme(anon_client)


def invoice_of(runtime, invoice_id) -> Invoice:
    with runtime.db.session() as s:
        return s.get(Invoice, invoice_id)


def transactions(runtime) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count(PaymeTransaction.id)))


def test_every_method_with_a_wrong_key_is_32504_with_its_id_and_changes_nothing(
    runtime, payme, clock
):
    invoice_id = make_invoice(runtime, (PRICE,))
    params = {"id": "keyed", "time": clock.now, "amount": PRICE, "account": account(invoice_id)}
    wrong = payme_auth("not-the-cashbox-key")
    assert payme.call("CreateTransaction", params, headers=wrong)["error"]["code"] == -32504
    assert transactions(runtime) == 0 and invoice_of(runtime, invoice_id).held_by is None
    payme.result("CreateTransaction", params)
    for rpc_id, (method, method_params) in enumerate(
        [
            ("CheckPerformTransaction", {"amount": PRICE, "account": account(invoice_id)}),
            ("CreateTransaction", params),
            ("PerformTransaction", {"id": "keyed"}),
            ("CancelTransaction", {"id": "keyed", "reason": 3}),
            ("CheckTransaction", {"id": "keyed"}),
            ("GetStatement", {"from": 0, "to": clock.now}),
            ("SetFiscalData", {"id": "keyed", "type": "PERFORM", "fiscal_data": {}}),
            ("ChangePassword", {"password": "a-new-cashbox-key"}),
        ],
        start=9001,
    ):
        body = payme.call(method, method_params, headers=wrong, rpc_id=rpc_id)
        assert body["id"] == rpc_id and "result" not in body, method
        assert body["error"]["code"] == -32504, method
        assert set(body["error"]["message"]) == {"ru", "uz", "en"}, method
    check = payme.result("CheckTransaction", {"id": "keyed"})
    assert (check["state"], check["perform_time"], check["cancel_time"]) == (1, 0, 0)
    invoice = invoice_of(runtime, invoice_id)
    assert (invoice.status, invoice.paid_amount) == ("open", 0)
    with runtime.db.session() as s:
        txn = s.scalar(select(PaymeTransaction).where(PaymeTransaction.payme_id == "keyed"))
        assert txn.fiscal_perform is None


def test_create_refuses_a_wrong_amount_and_an_unknown_invoice_as_check_perform_does(
    runtime, payme, clock
):
    invoice_id = make_invoice(runtime, (PRICE,))
    for amount in (PRICE - 1, PRICE + 1, 1):
        params = {"id": f"amount-{amount}", "time": clock.now, "amount": amount,
                  "account": account(invoice_id)}  # fmt: skip
        assert payme.error("CreateTransaction", params) == -31001
    for bad_account in ({"invoice_id": "999999"}, {"invoice_id": "x"}, {}):
        params = {"id": "unknown-invoice", "time": clock.now, "amount": PRICE,
                  "account": bad_account}  # fmt: skip
        body = payme.call("CreateTransaction", params)
        assert (body["error"]["code"], body["error"]["data"]) == (-31050, "invoice_id")
    assert transactions(runtime) == 0
    assert invoice_of(runtime, invoice_id).held_by is None
    # Nothing was kept of the refusals: the right amount for the invoice is then created.
    params = {"id": "right", "time": clock.now, "amount": PRICE, "account": account(invoice_id)}
    assert payme.result("CreateTransaction", params)["state"] == 1


def test_change_password_is_answered_32601_naming_the_method(payme):
    body = payme.call("ChangePassword", {"password": "a-new-cashbox-key"})
    assert "result" not in body
    assert (body["error"]["code"], body["error"]["data"]) == (-32601, "ChangePassword")


def test_a_repeated_cancel_after_perform_answers_the_first_one_and_keeps_its_reason(
    runtime, payme, clock
):
    invoice_id = make_invoice(runtime, (PRICE,))
    params = {"id": "twice", "time": clock.now, "amount": PRICE, "account": account(invoice_id)}
    payme.result("CreateTransaction", params)
    clock.advance(1_000)
    performed = payme.result("PerformTransaction", {"id": "twice"})
    clock.advance(1_000)
    cancelled = payme.result("CancelTransaction", {"id": "twice", "reason": 5})
    clock.advance(60_000)
    assert payme.result("CancelTransaction", {"id": "twice", "reason": 10}) == cancelled
    check = payme.result("CheckTransaction", {"id": "twice"})
    assert check["perform_time"] == performed["perform_time"]
    assert (check["state"], check["reason"], check["cancel_time"]) == (
        -2,
        5,
        cancelled["cancel_time"],
    )
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Refund.id))) == 1


def test_cancel_after_perform_gives_the_money_back_while_the_patient_is_only_called(
    runtime, payme, clock
):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
        patient_id = make_patient(s)
        ticket_id = issue_ticket(s, queue_id, patient_id).id
    invoice_id = make_invoice(runtime, (PRICE,), ticket_id=ticket_id, patient_id=patient_id)
    params = {"id": "called", "time": clock.now, "amount": PRICE, "account": account(invoice_id)}
    payme.result("CreateTransaction", params)
    payme.result("PerformTransaction", {"id": "called"})
    with runtime.db.transaction() as s:
        assert calls.call_next(s, queue_id, tz=TZ).status == "called"
    # Called is not served: nothing was rendered yet, so Payme's refund goes through (-2).
    assert payme.result("CancelTransaction", {"id": "called", "reason": 5})["state"] == -2
    invoice = invoice_of(runtime, invoice_id)
    assert (invoice.status, invoice.refunded_amount) == ("refunded", PRICE)
