"""Payme flows: CheckPerformTransaction -> CreateTransaction -> PerformTransaction per invoice.

Flows a second and flow latency (p50/p99/max) at ``--levels`` concurrent connections (8 and
64), for our endpoint on a real gunicorn server (gevent worker, production settings) and,
side by side in the same run and on the same database, for a minimal Flask handler doing the
same writes without our guarantees (bench/support/payme_baseline.py: no locks, no
idempotency, no provider log, no audit row, no outbox). Every flow of ours must end paid,
and the server must not stall: an error, a flow of more than a minute, or flows a second at
the highest level below half those at the lowest, fails the run (exit code 1). Latency at a
level is mostly queueing: about connections / (flows a second).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess  # nosec B404 # our own server process
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from support.harness import REPO, Stack, add_common_arguments, free_port, write_result
from support.measure import summary_ms

NAME = "payme_flow"
KEY = "bench-payme-key-0123456789"
MERCHANT = "5e730e8e0b852a417aa49ceb"
PRICE = 15_000_000
STALL_SECONDS = 60


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=300, help="flows per run (300)")
    parser.add_argument(
        "--levels", default="8,64", help="concurrent connections, comma-separated (8,64)"
    )
    add_common_arguments(parser)
    return parser.parse_args(argv)


class PaymeStack(Stack):
    """The stack with Payme enabled and a rate limit no bench reaches."""

    def start_server(self) -> None:
        self.env.update(
            CLINIC_PAYMENT_PROVIDERS="payme",
            PAYME_MERCHANT_ID=MERCHANT,
            PAYME_KEY=KEY,
            CLINIC_PROVIDER_RATE_LIMIT="1000000 per minute",
        )
        super().start_server()


class Baseline:
    """The minimal handler under the same gunicorn settings, on the same database."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Baseline":
        env = {**os.environ, "DATABASE_URL": self.stack.database_url, "PYTHONPATH": str(REPO)}
        workers = str(self.stack.args.workers)
        argv = [sys.executable, "-m", "gunicorn", "-k", "gevent", "-w", workers,
                "--worker-connections", "2000", "--bind", f"127.0.0.1:{self.port}",
                "bench.support.payme_baseline:app"]  # fmt: skip
        self.process = subprocess.Popen(  # nosec B603 # a fixed command line
            argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.base_url}/health/live", timeout=2).raise_for_status()
                return self
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("the baseline server did not start")

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGQUIT)  # quick shutdown, as the stack's server
            self.process.wait(20)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def make_invoices(stack: Stack, count: int) -> list[int]:
    from clinic.payments import invoices
    from clinic.reference import patients, price_list

    made = []
    with stack.runtime.db.transaction() as s:
        code = "b-" + uuid.uuid4().hex[:8]
        service = price_list.create_service(
            s, {"code": code, "name_ru": "Приём", "name_uz": "Qabul", "name_en": "Visit",
                "price": PRICE, "ikpu_code": "10302001001000000"},
        )  # fmt: skip
        patient = patients.create_patient(s, {"full_name": "Каримов Алишер", "sex": "M"})
        for _ in range(count):
            invoice = invoices.create_invoice(
                s, patient_id=patient.id, lines=[{"service_id": service.id}], actor="bench"
            )
            made.append(invoice.id)
    return made


def run_flows(base_url: str, invoice_ids: list[int], connections: int) -> dict:
    local = threading.local()
    auth = requests.auth.HTTPBasicAuth("Paycom", KEY)
    errors: list[str] = []

    def rpc(method: str, params: dict) -> dict:
        if not hasattr(local, "http"):
            local.http = requests.Session()
        response = local.http.post(
            f"{base_url}/payments/payme",
            json={"id": 1, "method": method, "params": params},
            auth=auth,
            timeout=60,
        )
        body = response.json() if response.status_code == 200 else {"error": response.status_code}
        if "error" in body:
            errors.append(f"{method}: {body['error']}")
        return body

    def flow(invoice_id: int) -> float:
        started = time.perf_counter()
        account = {"invoice_id": str(invoice_id)}
        payme_id = uuid.uuid4().hex[:24]
        rpc("CheckPerformTransaction", {"amount": PRICE, "account": account})
        rpc("CreateTransaction", {"id": payme_id, "time": int(time.time() * 1000),
                                  "amount": PRICE, "account": account})  # fmt: skip
        rpc("PerformTransaction", {"id": payme_id})
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        durations = list(pool.map(flow, invoice_ids))
    elapsed = time.perf_counter() - started
    return {
        "connections": connections,
        "flows": len(durations),
        "seconds": round(elapsed, 3),
        "flows_per_second": round(len(durations) / elapsed, 1),
        "latency_ms": summary_ms(durations),
        "errors": len(errors),
        "first_errors": errors[:5],
        "stalls": sum(1 for d in durations if d > STALL_SECONDS),
    }


def run(args: argparse.Namespace) -> dict:
    levels = [int(level) for level in args.levels.split(",") if level.strip()]
    with PaymeStack(args, connections=max(levels)) as stack, Baseline(stack) as baseline:
        runs = []
        for connections in levels:
            for name, url in (("ours", stack.base_url), ("baseline", baseline.base_url)):
                invoice_ids = make_invoices(stack, args.flows)
                runs.append({"server": name, **run_flows(url, invoice_ids, connections)})
        usage = stack.server_usage()
        database = stack.database_kind
    return {"database": database, "flows": args.flows, "runs": runs, "server": usage}


def main(argv=None) -> int:
    args = parse_args(argv)
    result = run(args)
    path = write_result(args, NAME, result)
    print(f"{NAME} on {result['database']}: {args.flows} flows per run")
    print(f"{'server':9} {'conns':>5} {'flows/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} err")
    failed = False
    ours = [r for r in result["runs"] if r["server"] == "ours"]
    if len(ours) > 1 and ours[-1]["flows_per_second"] < ours[0]["flows_per_second"] / 2:
        print("stalled: flows a second fell by more than half at the highest level")
        failed = True
    for r in result["runs"]:
        lat = r["latency_ms"]
        print(f"{r['server']:9} {r['connections']:>5} {r['flows_per_second']:>8} "
              f"{lat['p50']:>8} {lat['p99']:>8} {lat['max']:>8} {r['errors']}")  # fmt: skip
        failed |= r["server"] == "ours" and (r["errors"] > 0 or r["stalls"] > 0)
    print(f"result: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
