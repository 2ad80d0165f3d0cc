"""Payment flows through a real web server (gunicorn, as ``clinic web`` runs it) and real
worker processes, with duplicated and reordered provider calls, a worker SIGKILLed mid-run
and Redis restarted: every invoice is paid exactly once, every side effect happens exactly
once, and the cash and provider ledgers balance.

``FAULT_PAYMENT_FLOWS`` sets the number of flows (default 500, a quarter each through Payme,
Click, a signed webhook and cash at the desk). The flows run concurrently: callers are
threads of HTTP clients, the server and the workers are processes of their own, so the run
is bounded by the machine rather than by round trips one after another.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess  # nosec B404 - starts our own Celery workers
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from clinic.accounts import tokens, users
from clinic.base import utcnow
from clinic.events import record_events
from clinic.models import (
    CashierShift,
    ClickTransaction,
    Invoice,
    InvoiceStatus,
    OutboxEvent,
    PaidEffect,
    Payment,
    PaymeTransaction,
    WebhookEvent,
)
from clinic.payments import events as ev
from clinic.payments import shifts
from clinic.payments.amounts import lines_from_price_list
from clinic.payments.views import invoice_as_dict, services_of
from tests.conftest import ONE_BACKEND, _create_user, free_port, make_settings
from tests.fault.test_import_worker_killed import Workers
from tests.payments.fixtures import make_patient, make_service
from tests.payments.provider_support import (
    PROVIDER_ENV,
    account,
    click_fields,
    payme_auth,
    webhook_headers,
)
from tests.races import wait_for
from web.cli.processes import web_argv

FLOWS = int(os.environ.get("FAULT_PAYMENT_FLOWS", "500"))
CALLERS = 24
WEB_WORKERS = 2
# Generous for a busy machine; a healthy run is far quicker. Every wait is for a condition.
PATIENCE = 60 + FLOWS // 2
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
    """Worker processes consuming the payments queue, and the web server."""

    queues = "payments"
    options = ("--pool=threads", "-c", "4")
    loglevel = "WARNING"

    def __init__(self, settings, logs) -> None:
        super().__init__(settings, logs)
        self.env.update(PROVIDER_ENV)
        self.web: subprocess.Popen | None = None

    def start_web(self) -> str:
        """gunicorn with the gevent worker, as ``clinic web`` starts it; returns its address."""
        port = free_port()
        self.web = self.spawn("web", web_argv("127.0.0.1", port, WEB_WORKERS))
        return f"http://127.0.0.1:{port}"

    def wait_for_web(self, base: str) -> None:
        def live() -> bool:
            assert self.web.poll() is None, self.log("web")
            try:
                return requests.get(base + "/health/live", timeout=5).status_code == 200
            except requests.RequestException:  # not listening yet, or its workers still boot
                return False

        wait_for(live, 60, "the web server", lambda: self.log("web"))


@pytest.fixture
def workers(settings, tmp_path):
    pool = PaymentWorkers(settings, tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()


class Flows:
    """Each flow pays one invoice the way its payer would, with repeats and reorderings."""

    def __init__(self, base: str, cashier_token: str) -> None:
        self.base = base
        self.cashier = {"Authorization": f"Bearer {cashier_token}"}
        self.http = threading.local()
        self.rpc_ids = itertools.count(1)
        self.answers: Counter = Counter()
        self.lock = threading.Lock()

    def _count(self, key) -> None:
        with self.lock:
            self.answers[key] += 1

    def _session(self) -> requests.Session:
        if not hasattr(self.http, "session"):
            self.http.session = requests.Session()
        return self.http.session

    def _post(self, path: str, **kwargs) -> requests.Response:
        # A call that meets the server mid-restart of Redis is retried, as a provider does.
        for attempt in range(50):
            try:
                response = self._session().post(self.base + path, timeout=30, **kwargs)
            except requests.ConnectionError:
                time.sleep(0.1)
                continue
            if response.status_code not in (429, 503):
                assert response.status_code < 500, response.text
                return response
            time.sleep(0.1)
        raise AssertionError(f"{path} never answered")

    def payme(self, method: str, params: dict):
        body = {"id": next(self.rpc_ids), "method": method, "params": params}
        answer = self._post("/payments/payme", json=body, headers=payme_auth()).json()
        outcome = answer["error"]["code"] if "error" in answer else "ok"
        self._count((method, outcome))
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
        if not n % 2:  # a late repeat of the create, after the perform
            assert self.payme("CreateTransaction", txn)["error"]["code"] == -31008

    def click(self, fields: dict) -> dict:
        path = (
            "/payments/click/complete"
            if "merchant_prepare_id" in fields
            else "/payments/click/prepare"
        )
        answer = self._post(path, data=fields).json()
        self._count((path, answer["error"]))
        return answer

    def by_click(self, invoice_id: int, amount: int, n: int) -> None:
        # Whole soums are written both ways Click writes them ("50000" and "50000.00").
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
        if n % 2:  # the failed attempt's "successful" retry comes late: never a payment
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
            self._count(("webhook", response.json()["repeated"]))

    def by_desk(self, invoice_id: int, amount: int, n: int) -> None:
        """Cash at the desk; the cashier's click is sent twice (a retry after a lost answer)."""
        data = {"method": "cash", "tendered": amount + 100_000 * (n % 3),
                "idempotency_key": uuid.uuid4().hex}  # fmt: skip
        path = f"/api/v1/payments/invoices/{invoice_id}/pay"
        answers = [self._post(path, json=data, headers=self.cashier) for _ in range(2)]
        assert [a.status_code for a in answers] == [201, 201], answers[1].text
        first, again = (a.json()["payment"] for a in answers)
        assert first["id"] == again["id"] and first["change"] == 100_000 * (n % 3)
        self._count(("desk", "paid"))


def make_invoices(runtime, count: int) -> dict[int, int]:
    """``count`` open invoices, made in one transaction; returns their totals by id.

    Each as ``create_invoice`` makes one (lines from the price list, the year's number, the
    desk told of it), but all together: a few batched statements instead of some eight an
    invoice, which took the test seconds while the server started. The invoicing itself is
    tested in tests/payments; here the invoices are what the flows pay."""
    now = utcnow()
    with runtime.db.transaction() as s:
        services = [make_service(s, price) for price in PRICES]
        patients = [make_patient(s) for _ in range(max(1, count // 20))]
        made = []
        for i in range(count):
            lines = lines_from_price_list(s, [{"service_id": services[i % len(PRICES)]}])
            subtotal = sum(line.amount for line in lines)
            made.append(
                Invoice(patient_id=patients[i % len(patients)], status=InvoiceStatus.OPEN,
                        subtotal=subtotal, discount=0, discount_reason="", total=subtotal,
                        paid_amount=0, refunded_amount=0, created_at=now,
                        created_by="registrar", lines=lines)
            )  # fmt: skip
        s.add_all(made)
        s.flush()
        year = now.astimezone(runtime.settings.tz).year
        for invoice in made:
            invoice.number = f"{year % 100:02d}-{invoice.id:07d}"
        s.flush()
        named = services_of(s, made)
        record_events(
            s,
            [(ev.DESK_CHANNEL, ev.INVOICE_CREATED, {"invoice": invoice_as_dict(i, named)})
             for i in made],
        )  # fmt: skip
        return {invoice.id: invoice.total for invoice in made}


def open_cashier_shift(runtime) -> tuple[str, int]:
    """A cashier with a bearer token and an open shift (no cash in the drawer)."""
    cashier_id, _ = _create_user(runtime, "cashier")
    with runtime.db.transaction() as s:
        _, token = tokens.create_token(s, users.get_user(s, cashier_id), name="fault test")
        shift = shifts.open_shift(s, cashier_id=cashier_id, opening_cash=0)
        return token, shift.id


def test_payment_flows_survive_a_killed_worker_and_a_redis_restart_paying_each_invoice_once(
    runtime, workers, private_redis, celery_app
):
    started = time.monotonic()

    def mark(what: str) -> None:
        """When each stage was reached (shown with the output of a failed run)."""
        print(f"{time.monotonic() - started:6.1f}s {what}", flush=True)

    base = workers.start_web()
    first = workers.start("first")
    totals = make_invoices(runtime, FLOWS)
    invoice_ids = sorted(totals)
    cashier_token, shift_id = open_cashier_shift(runtime)
    mark("invoices made")
    workers.wait_for_web(base)
    mark("web up")
    flows = Flows(base, cashier_token)
    kinds = (flows.by_payme, flows.by_click, flows.by_webhook, flows.by_desk)
    done = Counter()
    replacement = []  # the worker started after the first is killed
    lock = threading.Lock()

    def run(n: int) -> None:
        invoice_id = invoice_ids[n]
        kinds[n % len(kinds)](invoice_id, totals[invoice_id], n)
        with lock:
            done["flows"] += 1

    def chaos() -> None:
        wait_for(lambda: done["flows"] >= FLOWS // 3, PATIENCE, "a third of the flows")
        workers.kill(first)  # SIGKILL: no ack, no cleanup, tasks in hand are lost
        mark("killed")
        replacement.append(workers.start("second"))
        wait_for(lambda: done["flows"] >= 2 * FLOWS // 3, PATIENCE, "two thirds of the flows")
        private_redis.stop()  # queued task messages and events in flight are lost
        time.sleep(0.3)
        private_redis.start()
        mark("redis restarted")
        done["chaos"] = 1

    saboteur = threading.Thread(target=chaos, daemon=True)
    saboteur.start()
    with ThreadPoolExecutor(CALLERS) as pool:
        list(pool.map(run, range(FLOWS)))
    mark("flows done")
    saboteur.join(timeout=PATIENCE)
    assert done["chaos"] == 1, "the worker was not killed or Redis not restarted mid-run"

    # Beat sends the sweepers every 30-60 s; here they are sent by hand, as beat would, each
    # time the work stops moving.
    progress = {"seen": -1}

    def settled() -> bool:
        second = replacement[-1]
        # A worker that has gone will settle nothing: say so now, with how it ended.
        assert (
            second.poll() is None
        ), f"the second worker exited with {second.returncode}\n{workers.log('second')}"
        with runtime.db.session() as s:
            effects = s.scalar(select(func.count(PaidEffect.id)))
            waiting = s.scalar(
                select(func.count(WebhookEvent.id)).where(WebhookEvent.status == "received")
            )
        if effects == 3 * FLOWS and waiting == 0:
            return True
        if effects == progress["seen"]:
            try:
                celery_app.send_task("payments.sweep_paid", queue="payments")
                celery_app.send_task(
                    "payments.sweep_webhook_events", kwargs={"after_seconds": 1},
                    queue="payments",
                )  # fmt: skip
            except Exception:  # Redis still coming back: the next round sends them
                pass
        progress["seen"] = effects
        time.sleep(0.5)
        return False

    wait_for(
        settled, PATIENCE, "every invoice paid with its effects", lambda: workers.log("second")
    )

    mark("settled")
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
        shift = s.get(CashierShift, shift_id)
        drawer = shifts.cash_in_drawer(s, shift)

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
    # The providers' ledgers and ours balance, provider by provider, and the drawer holds
    # exactly the cash taken (the change handed back is not in it).
    ours = Counter()
    for p in payments:
        ours[p.method] += p.amount
    assert ours["payme"] == (payme_paid or 0)
    assert ours["click"] == (click_paid or 0)
    assert ours["acq"] == (hooks_paid or 0)
    desk_paid = sum(p.amount for p in payments if p.method == "cash")
    assert ours["cash"] == desk_paid == drawer
    assert all(p.shift_id == shift_id for p in payments if p.method == "cash")
    assert sum(ours.values()) == sum(invoices[i].total for i in invoice_ids)
    # Each way of paying carried its share, and the repeats were answered as repeats.
    share = [len(range(k, FLOWS, len(kinds))) for k in range(len(kinds))]
    assert flows.answers[("webhook", True)] == flows.answers[("webhook", False)] == share[2]
    assert flows.answers[("desk", "paid")] == share[3]
    assert flows.answers[("PerformTransaction", "ok")] == 2 * share[0]
