"""Payme Merchant API as Payme's sandbox tries it (developer.help.paycom.uz, "Песочница"):
the wrong key on every method, the wrong amount and the unknown invoice on CreateTransaction
as on CheckPerformTransaction, ChangePassword, and a cancel after perform
decided by whether the patient was served, not merely called."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from clinic.models import Invoice, PaymeTransaction, ProviderLogEntry, Refund
from clinic.payments import payme_key
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


def test_the_sandboxs_change_password_leaves_the_production_keys_change_as_it_was(runtime):
    """Production changed its key over the API; test mode switched on later (the sandbox's
    test cases run again) changed the sandbox's; off again, production's change stands."""
    with runtime.db.transaction() as s:
        payme_key.change_password(s, {"password": "Live-K2"}, configured="Live-K1")
    with runtime.db.transaction() as s:
        assert payme_key.key_in_force(s, "Sandbox-T1", sandbox=True) == payme_key.digest(
            "Sandbox-T1"
        )
        payme_key.change_password(s, {"password": "Sandbox-T2"}, configured="Sandbox-T1",
                                  sandbox=True)  # fmt: skip
    with runtime.db.session() as s:
        assert payme_key.key_in_force(s, "Live-K1") == payme_key.digest("Live-K2")
        in_force = payme_key.key_in_force(s, "Sandbox-T1", sandbox=True)
        assert in_force == payme_key.digest("Sandbox-T2")


def test_change_password_sets_the_key_every_later_call_must_carry_and_logs_none_of_it(
    runtime, payme, clock
):
    invoice_id = make_invoice(runtime, (PRICE,))
    check = {"amount": PRICE, "account": account(invoice_id)}
    new_key = "New-Cashbox-Key-#fedcba9876543210"
    assert payme.result("ChangePassword", {"password": new_key}) == {"success": True}
    # The old key is refused from now on, the new one is taken.
    assert payme.error("CheckPerformTransaction", check) == -32504
    taken = payme.call("CheckPerformTransaction", check, headers=payme_auth(new_key))
    assert taken["result"]["allow"] is True
    # Only with the key in force can the key be changed again.
    again = {"password": "Third-Key-0001"}
    assert payme.error("ChangePassword", again) == -32504
    body = payme.call("ChangePassword", again, headers=payme_auth(new_key))
    assert body["result"] == {"success": True}
    assert (
        payme.call("CheckTransaction", {"id": "x"}, headers=payme_auth(new_key))["error"]["code"]
        == -32504
    )
    with runtime.db.session() as s:
        logged = s.scalars(
            select(ProviderLogEntry.request).where(ProviderLogEntry.method == "ChangePassword")
        ).all()
    assert len(logged) == 3
    assert not any(new_key in text or "Third-Key" in text for text in logged)
    assert all('"password":"[hidden]"' in text for text in logged)


@pytest.mark.parametrize("password", [None, "", 42, ["k"], "line\nbreak", "k" * 257])
def test_change_password_without_a_usable_key_is_32600_naming_it_and_keeps_the_key(
    runtime, payme, password
):
    params = {} if password is None else {"password": password}
    body = payme.call("ChangePassword", params)
    assert (body["error"]["code"], body["error"]["data"]) == (-32600, "password")
    assert payme.call("CheckTransaction", {"id": "none"})["error"]["code"] == -31003


def test_a_key_put_in_the_settings_after_a_change_stands_instead_of_it(runtime, payme, monkeypatch):
    from dataclasses import replace

    changed = "Changed-Over-The-Api-0002"
    assert payme.result("ChangePassword", {"password": changed}) == {"success": True}
    # The operator copies the new key to the settings: it is the same key, and works.
    monkeypatch.setattr(runtime, "settings", replace(runtime.settings, payme_key=changed))
    unknown = {"id": "none"}
    assert (
        payme.call("CheckTransaction", unknown, headers=payme_auth(changed))["error"]["code"]
        == -31003
    )
    # A key rotated in the settings later is newer than the change, and alone stands.
    rotated = "Rotated-In-The-Settings-0003"
    monkeypatch.setattr(runtime, "settings", replace(runtime.settings, payme_key=rotated))
    assert (
        payme.call("CheckTransaction", unknown, headers=payme_auth(changed))["error"]["code"]
        == -32504
    )
    assert (
        payme.call("CheckTransaction", unknown, headers=payme_auth(rotated))["error"]["code"]
        == -31003
    )


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


# -- the sandbox's run, answer by answer, as Payme reads them over HTTP ---------------------

MESSAGE_LANGUAGES = {"ru", "uz", "en"}


def is_ms(value) -> bool:
    """Payme's time: an integer of milliseconds since the epoch (13 digits)."""
    return type(value) is int and len(str(value)) == 13


def refused(body: dict, rpc_id, code: int) -> dict:
    """An error answer exactly as JSON-RPC and Payme shape it; returns its ``error``."""
    assert set(body) == {"jsonrpc", "id", "error"} and body["jsonrpc"] == "2.0", body
    assert body["id"] == rpc_id, body
    error = body["error"]
    assert set(error) == {"code", "message", "data"}, error
    assert type(error["code"]) is int and error["code"] == code, error
    assert set(error["message"]) == MESSAGE_LANGUAGES, error
    assert all(isinstance(text, str) and text for text in error["message"].values()), error
    assert error["data"] is None or isinstance(error["data"], str), error
    return error


def answered(body: dict, rpc_id) -> dict:
    assert set(body) == {"jsonrpc", "id", "result"} and body["jsonrpc"] == "2.0", body
    assert body["id"] == rpc_id, body
    return body["result"]


def checked(payme, payme_id: str, rpc_id: int) -> dict:
    """CheckTransaction, with every field of the answer of the type Payme reads."""
    result = answered(payme.call("CheckTransaction", {"id": payme_id}, rpc_id=rpc_id), rpc_id)
    assert set(result) == {
        "create_time", "perform_time", "cancel_time", "transaction", "state", "reason"
    }  # fmt: skip
    assert is_ms(result["create_time"])
    for name in ("perform_time", "cancel_time"):
        assert result[name] == 0 or is_ms(result[name]), result
    assert type(result["transaction"]) is str and result["transaction"]
    assert type(result["state"]) is int
    assert result["reason"] is None or type(result["reason"]) is int
    return result


def test_the_sandbox_run_answers_every_step_in_the_shape_payme_reads(runtime, payme, clock):
    """The sandbox's cases in its order: a wrong amount and a wrong account, a Create made
    twice, a Check after each step, a cancel before and one after perform, the statement."""
    first, second = make_invoice(runtime, (PRICE,)), make_invoice(runtime, (PRICE,))
    start = clock.now
    rpc_ids = iter(range(501, 600))

    def ok(method: str, params: dict) -> dict:
        rpc_id = next(rpc_ids)
        return answered(payme.call(method, params, rpc_id=rpc_id), rpc_id)

    def no(method: str, params: dict, code: int) -> dict:
        rpc_id = next(rpc_ids)
        return refused(payme.call(method, params, rpc_id=rpc_id), rpc_id, code)

    def check(payme_id: str) -> dict:
        return checked(payme, payme_id, next(rpc_ids))

    wrong_amount = {"amount": PRICE - 100, "account": account(first)}
    assert no("CheckPerformTransaction", wrong_amount, -31001)["data"] == "amount"
    unknown = {"amount": PRICE, "account": {"invoice_id": "404404"}}
    assert no("CheckPerformTransaction", unknown, -31050)["data"] == "invoice_id"
    assert ok("CheckPerformTransaction", {"amount": PRICE, "account": account(first)})["allow"]

    # Created, then created again: the identical answer.
    params = {"id": "sandbox-cancelled", "time": clock.now, "amount": PRICE,
              "account": account(first)}  # fmt: skip
    created = ok("CreateTransaction", params)
    assert set(created) == {"create_time", "transaction", "state"}
    assert is_ms(created["create_time"]) and type(created["transaction"]) is str
    assert created["state"] == 1
    clock.advance(2_000)
    assert ok("CreateTransaction", params) == created
    assert check("sandbox-cancelled") == {
        "create_time": created["create_time"], "perform_time": 0, "cancel_time": 0,
        "transaction": created["transaction"], "state": 1, "reason": None,
    }  # fmt: skip

    # Cancelled before perform: -1; performing it is then refused.
    clock.advance(2_000)
    cancelled = ok("CancelTransaction", {"id": "sandbox-cancelled", "reason": 3})
    assert cancelled == {"transaction": created["transaction"], "cancel_time": clock.now,
                         "state": -1}  # fmt: skip
    after = check("sandbox-cancelled")
    assert (after["state"], after["reason"], after["perform_time"]) == (-1, 3, 0)
    assert after["cancel_time"] == clock.now
    no("PerformTransaction", {"id": "sandbox-cancelled"}, -31008)

    # Another transaction: performed, performed again, created again, cancelled after perform.
    params = {"id": "sandbox-refunded", "time": clock.now, "amount": PRICE,
              "account": account(second)}  # fmt: skip
    created = ok("CreateTransaction", params)
    assert created["transaction"] != cancelled["transaction"]
    clock.advance(3_000)
    performed = ok("PerformTransaction", {"id": "sandbox-refunded"})
    assert performed == {"transaction": created["transaction"], "perform_time": clock.now,
                         "state": 2}  # fmt: skip
    assert is_ms(performed["perform_time"])
    clock.advance(1_000)
    assert ok("PerformTransaction", {"id": "sandbox-refunded"}) == performed
    no("CreateTransaction", params, -31008)
    after = check("sandbox-refunded")
    assert (after["state"], after["perform_time"], after["cancel_time"], after["reason"]) == (
        2, performed["perform_time"], 0, None
    )  # fmt: skip
    clock.advance(1_000)
    refunded = ok("CancelTransaction", {"id": "sandbox-refunded", "reason": 5})
    assert refunded == {"transaction": created["transaction"], "cancel_time": clock.now,
                        "state": -2}  # fmt: skip
    after = check("sandbox-refunded")
    assert (after["state"], after["reason"]) == (-2, 5)
    assert (after["perform_time"], after["cancel_time"]) == (
        performed["perform_time"], refunded["cancel_time"]
    )  # fmt: skip

    # The statement over the period: both, oldest first, each field of its type.
    rows = ok("GetStatement", {"from": start, "to": clock.now})["transactions"]
    assert [(r["id"], r["state"], r["reason"]) for r in rows] == [
        ("sandbox-cancelled", -1, 3), ("sandbox-refunded", -2, 5)
    ]  # fmt: skip
    for row in rows:
        assert type(row["amount"]) is int and row["amount"] == PRICE
        assert all(is_ms(row[name]) for name in ("time", "create_time", "cancel_time"))
        assert type(row["transaction"]) is str and row["receivers"] is None
    assert rows[0]["account"] == account(first) and rows[1]["account"] == account(second)
    assert rows[0]["perform_time"] == 0 and is_ms(rows[1]["perform_time"])


def test_protocol_errors_have_the_full_error_object_and_a_parse_error_a_null_id(anon_client, payme):
    response = anon_client.post(
        "/payments/payme", data=b'{"id": 7, "method": ', content_type="application/json",
        headers=payme_auth(), skip_csrf=True,
    )  # fmt: skip
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert refused(response.get_json(), None, -32700)["data"] is None
    response = anon_client.get("/payments/payme", headers=payme_auth())
    assert response.status_code == 200
    refused(response.get_json(), None, -32300)
    assert refused(payme.call("NoSuchMethod", {}, rpc_id=8), 8, -32601)["data"] == "NoSuchMethod"
    body = payme.call("CheckTransaction", {"id": 5}, rpc_id="string-id")
    assert refused(body, "string-id", -32600)["data"] == "id"
    body = payme.call("CheckTransaction", {"id": "x"}, rpc_id=9, headers=payme_auth("wrong"))
    refused(body, 9, -32504)
    refused(payme.call("CheckTransaction", {"id": "never-made"}, rpc_id=10), 10, -31003)


def test_the_timeout_binds_only_created_transactions_and_the_statement_goes_by_paymes_time(
    runtime, payme, clock
):
    """Past twelve hours a performed transaction keeps its state and its Perform answer; a
    created one cancelled by the timeout keeps reason 4 when Payme cancels it afterwards; an
    invoice paid through Payme is -31008 to CheckPerformTransaction; GetStatement lists by
    Payme's ``time``, not by the order the transactions arrived in."""
    start = clock.now
    paid, lapsed = make_invoice(runtime, (PRICE,)), make_invoice(runtime, (PRICE,))
    later = {"id": "later", "time": start + 500, "amount": PRICE, "account": account(paid)}
    payme.result("CreateTransaction", later)
    earlier = {"id": "earlier", "time": start, "amount": PRICE, "account": account(lapsed)}
    created = payme.result("CreateTransaction", earlier)
    performed = payme.result("PerformTransaction", {"id": "later"})
    unpayable = {"amount": PRICE, "account": account(paid)}
    assert payme.error("CheckPerformTransaction", unpayable) == -31008

    clock.advance(43_200_001)
    assert payme.result("PerformTransaction", {"id": "later"}) == performed
    assert payme.error("PerformTransaction", {"id": "earlier"}) == -31008
    timed_out = clock.now
    clock.advance(1_000)
    cancelled = payme.result("CancelTransaction", {"id": "earlier", "reason": 3})
    assert cancelled == {"transaction": created["transaction"], "cancel_time": timed_out,
                         "state": -1}  # fmt: skip
    rows = payme.result("GetStatement", {"from": start, "to": start + 500})["transactions"]
    assert [(r["id"], r["state"], r["reason"], r["perform_time"]) for r in rows] == [
        ("earlier", -1, 4, 0), ("later", 2, None, performed["perform_time"])
    ]  # fmt: skip
    assert rows[1]["cancel_time"] == 0
