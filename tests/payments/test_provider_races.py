"""Races decided by the database, over real HTTP with real threads: eight simultaneous
PerformTransaction calls for one transaction, and a Payme payment racing a cash payment at
the desk for the same invoice; and, in process, a repeated first CreateTransaction meeting
its PerformTransaction."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select, text

from clinic.errors import DomainError
from clinic.models import Invoice, OutboxEvent, PaidEffect, Payment, PaymeTransaction
from clinic.payments import events as ev
from clinic.payments import invoices, payme
from tests.conftest import ONE_BACKEND
from tests.payments import provider_support as support
from tests.payments.fixtures import make_invoice
from tests.payments.provider_support import account, payme_auth
from tests.races import wait_for, waits_for_a_lock

# The provider settings (keys and secrets).
settings = support.settings

# Row locks under real concurrency: PostgreSQL, the production database (SQLite serialises
# every writer, so there is no race there to decide).
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])
PRICE = 12_000_000
CALLERS = 8


def rpc(base: str, method: str, params: dict, rpc_id: int = 1) -> dict:
    response = requests.post(
        f"{base}/payments/payme",
        json={"id": rpc_id, "method": method, "params": params},
        headers=payme_auth(),
        timeout=30,
    )
    assert response.status_code == 200
    return response.json()


def payments_recorded(runtime, invoice_id: int) -> int:
    with runtime.db.session() as s:
        data = s.scalars(
            select(OutboxEvent.data).where(OutboxEvent.type == ev.PAYMENT_RECORDED)
        ).all()
    return sum(1 for d in data if d["invoice"]["id"] == invoice_id)


def test_eight_simultaneous_performs_pay_once_with_one_perform_time_and_one_side_effect(
    runtime, live_server, worker
):
    invoice_id = make_invoice(runtime, (PRICE,))
    now = int(time.time() * 1000)
    created = rpc(
        live_server,
        "CreateTransaction",
        {"id": "race-1", "time": now, "amount": PRICE, "account": account(invoice_id)},
    )
    assert created["result"]["state"] == 1
    start = threading.Barrier(CALLERS)

    def perform(n: int) -> dict:
        start.wait(timeout=10)
        return rpc(live_server, "PerformTransaction", {"id": "race-1"}, rpc_id=n)

    with ThreadPoolExecutor(CALLERS) as pool:
        answers = list(pool.map(perform, range(CALLERS)))
    results = [a["result"] for a in answers]
    assert all(r["state"] == 2 for r in results), answers
    assert len({r["perform_time"] for r in results}) == 1
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Payment.id))) == 1
        assert s.get(Invoice, invoice_id).paid_amount == PRICE
        txn = s.scalar(select(PaymeTransaction))
        assert txn.perform_time == results[0]["perform_time"]
    assert payments_recorded(runtime, invoice_id) == 1

    def effects_done():
        with runtime.db.session() as s:
            return s.scalar(
                select(func.count(PaidEffect.id)).where(PaidEffect.invoice_id == invoice_id)
            )

    deadline = time.monotonic() + 15
    while effects_done() < 2 and time.monotonic() < deadline:  # receipt and notify
        time.sleep(0.05)
    with runtime.db.session() as s:
        kinds = s.scalars(select(PaidEffect.kind).where(PaidEffect.invoice_id == invoice_id)).all()
    assert sorted(kinds) == sorted(set(kinds)) and "receipt" in kinds


def test_eight_simultaneous_creates_of_one_transaction_get_the_identical_answer(
    runtime, live_server
):
    invoice_id = make_invoice(runtime, (PRICE,))
    params = {"id": "same-create", "time": int(time.time() * 1000), "amount": PRICE,
              "account": account(invoice_id)}  # fmt: skip
    start = threading.Barrier(CALLERS)

    def create(n: int) -> dict:
        start.wait(timeout=10)
        return rpc(live_server, "CreateTransaction", params, rpc_id=n)

    with ThreadPoolExecutor(CALLERS) as pool:
        answers = list(pool.map(create, range(CALLERS)))
    assert all("result" in a for a in answers), answers
    assert len({tuple(sorted(a["result"].items())) for a in answers}) == 1
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(PaymeTransaction.id))) == 1


def test_a_payme_payment_racing_a_cash_payment_at_the_desk_one_wins(runtime, live_server):
    for round_ in range(4):
        invoice_id = make_invoice(runtime, (PRICE,))
        start = threading.Barrier(2)
        payme_id = f"desk-race-{round_}"

        def by_payme() -> str:
            start.wait(timeout=10)
            now = int(time.time() * 1000)
            params = {"id": payme_id, "time": now, "amount": PRICE, "account": account(invoice_id)}
            created = rpc(live_server, "CreateTransaction", params)
            if "error" in created:
                return f"create {created['error']['code']}"
            performed = rpc(live_server, "PerformTransaction", {"id": payme_id})
            return "paid" if "result" in performed else f"perform {performed['error']['code']}"

        def at_the_desk() -> str:
            start.wait(timeout=10)
            try:
                with runtime.db.transaction() as s:
                    invoice = invoices.lock_invoice(s, invoice_id)
                    invoices.record_payment(
                        s, invoice, method="cash", amount=PRICE, actor="cashier", tendered=PRICE
                    )
                return "paid"
            except DomainError as exc:
                return f"refused {exc.code}"

        with ThreadPoolExecutor(2) as pool:
            payme_result, desk_result = pool.submit(by_payme), pool.submit(at_the_desk)
            outcome = (payme_result.result(), desk_result.result())
        assert sorted(outcome).count("paid") == 1, outcome
        with runtime.db.session() as s:
            payments = s.scalars(select(Payment).where(Payment.invoice_id == invoice_id)).all()
            invoice = s.get(Invoice, invoice_id)
        assert len(payments) == 1 and invoice.paid_amount == PRICE and invoice.status == "paid"
        assert payments_recorded(runtime, invoice_id) == 1
        winner = "payme" if outcome[0] == "paid" else "cash"
        assert payments[0].method == winner


def test_a_repeated_first_create_holding_the_invoice_never_deadlocks_with_its_perform(
    runtime, monkeypatch
):
    """Payme sends its first CreateTransaction twice: the repeat waits for the invoice while
    the first commits, and Payme's PerformTransaction (it locks the transaction, then the
    invoice) comes before the repeat is decided. The repeat gets the first answer and the
    perform pays, instead of one of them failing on a deadlock (-32400)."""
    invoice_id = make_invoice(runtime, (PRICE,))
    now = int(time.time() * 1000)
    params = {"id": "dup-first", "time": now, "amount": PRICE, "account": account(invoice_id)}
    pids = {"repeat": [], "perform": []}
    answers, failures = {}, []
    repeat_has_invoice, perform_waits = threading.Event(), threading.Event()
    payable = payme._payable_invoice

    def payable_then_pause(*args, **kwargs):
        try:
            return payable(*args, **kwargs)
        finally:  # the repeat holds the invoice now: the perform comes at this moment
            repeat_has_invoice.set()
            perform_waits.wait(30)

    def side(name, work):
        try:
            with runtime.db.transaction() as s:
                pids[name].append(s.scalar(text("SELECT pg_backend_pid()")))
                answers[name] = work(s)
        except Exception as exc:  # the deadlock: the test's failure
            failures.append((name, repr(exc)))

    repeat = threading.Thread(
        target=side, args=("repeat", lambda s: payme.create_transaction(s, params, now))
    )
    perform = threading.Thread(
        target=side,
        args=("perform", lambda s: payme.perform_transaction(s, {"id": "dup-first"}, now)),
    )
    with runtime.db.transaction() as s:
        first = payme.create_transaction(s, params, now)
        monkeypatch.setattr(payme, "_payable_invoice", payable_then_pause)
        repeat.start()
        wait_for(lambda: waits_for_a_lock(runtime, pids["repeat"]), what="the repeat")
    assert repeat_has_invoice.wait(30)
    perform.start()
    wait_for(lambda: failures or waits_for_a_lock(runtime, pids["perform"]), what="perform")
    perform_waits.set()
    repeat.join(30)
    perform.join(30)
    assert failures == []
    assert answers["repeat"] == first
    assert answers["perform"]["state"] == 2
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).status == "paid"
