"""Payment flows through a real web server and a real worker process, with duplicated and
reordered provider calls, the worker SIGKILLed mid-run and Redis restarted: every invoice is
paid exactly once, every side effect happens exactly once and the ledgers balance.

``FAULT_PAYMENT_FLOWS`` sets the number of flows (default 30, a third each through Payme,
Click and a signed webhook, to stay within the suite's time); the documented run uses 500
(docs/PERFORMANCE.md).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess  # nosec B404 - starts our own Celery workers
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from clinic.models import (
    ClickTransaction,
    Invoice,
    OutboxEvent,
    PaidEffect,
    Payment,
    PaymeTransaction,
    WebhookEvent,
)
from clinic.payments import events as ev
from tests.conftest import ONE_BACKEND, make_settings
from tests.fault.test_import_worker_killed import ROOT, Workers
from tests.payments.fixtures import make_invoice
from tests.payments.provider_support import (
    PROVIDER_ENV,
    account,
    click_fields,
    payme_auth,
    webhook_headers,
)

FLOWS = int(os.environ.get("FAULT_PAYMENT_FLOWS", "30"))
CALLERS = 8
# Generous for the documented 500 flows on a busy machine; a healthy run is far quicker.
PATIENCE = 60 + FLOWS
PRICES = (5_000_000, 12_345_600, 990_000)
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", [ONE_BACKEND])]


@pytest.fixture
def settings(database_urls, backend, tmp_path, redis_prefix, private_redis):
    """The provider settings on a Redis of the test's own, which it restarts."""
    return make_settings(
        database_urls[backend],
        tmp_path / "instance",
        redis_prefix,
        **{**PROVIDER_ENV, "REDIS_URL": private_redis.url},
    )


class PaymentWorkers(Workers):
    """Worker processes consuming the payments queue."""

    def start(self, name: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the worker
        command = [
            sys.executable, "-m", "celery", "-A", "workers.main", "worker",
            "--pool=threads", "-c", "4", "-Q", "payments", "-n", f"{name}@%h",
            "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        process = subprocess.Popen(  # nosec B603 - a fixed command line
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        return process


@pytest.fixture
def workers(settings, tmp_path):
    pool = PaymentWorkers(settings, tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()


class Flows:
    """Each flow pays one invoice the way its provider would, with repeats and reorderings."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = threading.local()
        self.rpc_ids = itertools.count(1)
        self.answers: Counter = Counter()

    def _session(self) -> requests.Session:
        if not hasattr(self.http, "session"):
            self.http.session = requests.Session()
        return self.http.session

    def _post(self, path: str, **kwargs) -> requests.Response:
        # A call that meets the server mid-restart of Redis is retried, as a provider does.
        for attempt in range(20):
            try:
                response = self._session().post(self.base + path, timeout=30, **kwargs)
            except requests.ConnectionError:
                time.sleep(0.1)
                continue
            assert response.status_code < 500, response.text
            if response.status_code != 429:
                return response
            time.sleep(0.1)
        raise AssertionError(f"{path} never answered")

    def payme(self, method: str, params: dict):
        body = {"id": next(self.rpc_ids), "method": method, "params": params}
        answer = self._post("/payments/payme", json=body, headers=payme_auth()).json()
        outcome = answer["error"]["code"] if "error" in answer else "ok"
        self.answers[(method, outcome)] += 1
        return answer

    def by_payme(self, invoice_id: int, amount: int, n: int) -> None:
        txn = {"id": f"pm-{n}", "time": int(time.time() * 1000), "amount": amount,
               "account": account(invoice_id)}  # fmt: skip
        if n % 2:  # out of order: the provider asks about a transaction before creating it
            assert self.payme("PerformTransaction", {"id": txn["id"]})["error"]["code"] == -31003
        self.payme("CheckPerformTransaction", {"amount": amount, "account": account(invoice_id)})
        first = self.payme("CreateTransaction", txn)["result"]
        assert self.payme("CreateTransaction", txn)["result"] == first
        performed = self.payme("PerformTransaction", {"id": txn["id"]})["result"]
        assert self.payme("PerformTransaction", {"id": txn["id"]})["result"] == performed
        assert self.payme("CreateTransaction", txn)["error"]["code"] == -31008

    def click(self, fields: dict) -> dict:
        path = (
            "/payments/click/complete"
            if "merchant_prepare_id" in fields
            else "/payments/click/prepare"
        )
        answer = self._post(path, data=fields).json()
        self.answers[(path, answer["error"])] += 1
        return answer

    def by_click(self, invoice_id: int, amount: int, n: int) -> None:
        soums = f"{amount // 100}.{amount % 100:02d}" if n % 2 else str(amount // 100)
        if amount % 100:
            soums = f"{amount // 100}.{amount % 100:02d}"
        if n % 2:  # a first attempt that fails at Click, then a new payment
            failed = click_fields(invoice_id, soums, trans_id=f"{n}0")
            prepare_id = self.click(failed)["merchant_prepare_id"]
            cancel = click_fields(invoice_id, soums, trans_id=f"{n}0", prepare_id=prepare_id,
                                  error="-5017")  # fmt: skip
            assert self.click(cancel)["error"] == -9
        trans_id = f"{n}1"
        prepare = click_fields(invoice_id, soums, trans_id=trans_id)
        prepare_id = self.click(prepare)["merchant_prepare_id"]
        assert self.click(prepare)["merchant_prepare_id"] == prepare_id
        complete = click_fields(invoice_id, soums, trans_id=trans_id, prepare_id=prepare_id)
        assert self.click(complete)["error"] == 0
        assert self.click(complete)["error"] == -4
        if n % 2:
            late = click_fields(invoice_id, soums, trans_id=f"{n}0", prepare_id=prepare_id - 1)
            assert self.click(late)["error"] in (-4, -6, -9)

    def by_webhook(self, invoice_id: int, amount: int, n: int) -> None:
        body = json.dumps({"type": "payment.succeeded",
                           "data": {"invoice_id": str(invoice_id), "amount": amount,
                                    "reference": f"acq-{n}"}})  # fmt: skip
        for attempt in range(2):  # delivered twice: a retry after a lost answer
            response = self._post(
                "/payments/webhooks/acq",
                data=body.encode(),
                headers=webhook_headers(body, f"msg-{n}", at=time.time() + attempt),
            )
            assert response.status_code == 200, response.text
            self.answers[("webhook", response.json()["repeated"])] += 1


def wait_until(predicate, timeout: float, what: str, on_timeout=lambda: ""):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {timeout}s\n{on_timeout()}")
        time.sleep(0.05)
    return value


def test_payment_flows_survive_a_killed_worker_and_a_redis_restart_paying_each_invoice_once(
    runtime, live_server, workers, private_redis, celery_app
):
    invoice_ids = [make_invoice(runtime, (PRICES[i % 3],)) for i in range(FLOWS)]
    with runtime.db.session() as s:
        totals = dict(s.execute(select(Invoice.id, Invoice.total)).all())
    flows = Flows(live_server)
    kinds = (flows.by_payme, flows.by_click, flows.by_webhook)
    first = workers.start("first")
    done = Counter()
    lock = threading.Lock()

    def run(n: int) -> None:
        invoice_id = invoice_ids[n]
        kinds[n % 3](invoice_id, totals[invoice_id], n)
        with lock:
            done["flows"] += 1

    def chaos() -> None:
        wait_until(lambda: done["flows"] >= FLOWS // 3, PATIENCE, "a third of the flows")
        workers.kill(first)  # SIGKILL: no ack, no cleanup, tasks in hand are lost
        workers.start("second")
        wait_until(lambda: done["flows"] >= 2 * FLOWS // 3, PATIENCE, "two thirds of the flows")
        private_redis.stop()  # queued task messages and events in flight are lost
        time.sleep(0.3)
        private_redis.start()
        done["chaos"] = 1

    saboteur = threading.Thread(target=chaos, daemon=True)
    saboteur.start()
    with ThreadPoolExecutor(CALLERS) as pool:
        list(pool.map(run, range(FLOWS)))
    saboteur.join(timeout=PATIENCE)
    assert done["chaos"] == 1, "the worker was not killed or Redis not restarted mid-run"

    # Beat sends the sweepers every 30-60 s; here they are sent by hand, as beat would.
    def settled() -> bool:
        with runtime.db.session() as s:
            effects = s.scalar(select(func.count(PaidEffect.id)))
            applied = s.scalar(
                select(func.count(WebhookEvent.id)).where(WebhookEvent.status == "received")
            )
        if effects == 3 * FLOWS and applied == 0:
            return True
        try:
            celery_app.send_task("payments.sweep_paid", queue="payments")
            celery_app.send_task(
                "payments.sweep_webhook_events", kwargs={"after_seconds": 1}, queue="payments"
            )
        except Exception:  # Redis still coming back: the next round sends them
            pass
        time.sleep(0.5)
        return False

    wait_until(
        settled, PATIENCE, "every invoice paid with its effects", lambda: workers.log("second")
    )

    with runtime.db.session() as s:
        invoices = {i.id: i for i in s.scalars(select(Invoice))}
        payments = s.scalars(select(Payment)).all()
        by_invoice = Counter(p.invoice_id for p in payments)
        effects = Counter((e.invoice_id, e.kind) for e in s.scalars(select(PaidEffect)).all())
        events = s.execute(select(OutboxEvent.type, OutboxEvent.channel, OutboxEvent.data)).all()
        payme_paid = s.scalar(
            select(func.sum(PaymeTransaction.amount)).where(PaymeTransaction.state == 2)
        )
        click_paid = s.scalar(
            select(func.sum(ClickTransaction.amount)).where(ClickTransaction.status == "completed")
        )
        hooks_paid = s.scalar(
            select(func.sum(WebhookEvent.amount)).where(WebhookEvent.status == "applied")
        )
        live_payme = s.scalar(
            select(func.count(PaymeTransaction.id)).where(PaymeTransaction.state == 1)
        )

    # Every invoice paid exactly once, in full.
    assert all(by_invoice[i] == 1 for i in invoice_ids), by_invoice
    assert all(invoices[i].status == "paid" for i in invoice_ids)
    assert all(invoices[i].paid_amount == invoices[i].total for i in invoice_ids)
    assert all(invoices[i].held_by is None for i in invoice_ids)
    assert live_payme == 0
    # Every side effect exactly once.
    assert set(effects.values()) == {1} and len(effects) == 3 * FLOWS
    receipts = Counter(d["invoice_id"] for t, c, d in events if t == ev.RECEIPT_PRINT_REQUESTED)
    paid = Counter(
        d["invoice"]["id"] for t, c, d in events if t == ev.INVOICE_PAID and c == ev.DESK_CHANNEL
    )
    assert receipts == Counter(invoice_ids) and paid == Counter(invoice_ids)
    # The providers' ledgers and ours balance, provider by provider.
    ours = Counter()
    for p in payments:
        ours[p.provider] += p.amount
    assert ours["payme"] == (payme_paid or 0)
    assert ours["click"] == (click_paid or 0)
    assert ours["acq"] == (hooks_paid or 0)
    assert sum(ours.values()) == sum(invoices[i].total for i in invoice_ids)
    # And the repeats were answered as repeats.
    assert flows.answers[("webhook", True)] == flows.answers[("webhook", False)] == FLOWS // 3
