"""The request path beside its floors: every figure next to the least a program can do for the
same raw work on this machine, measured in the same run, and their ratio.

Floors (minimal programs in ``bench/support/``): a hot counter row taken by ``UPDATE ...
RETURNING`` from 50 clients, each statement its own transaction and, again, inside a
transaction (``BEGIN``, the ``UPDATE``, ``COMMIT``); a Flask app under the same gunicorn
gevent worker taking a counter's numbers from 50 HTTP connections (1 and 2 workers), in a
transaction and in one round trip, and reading one row; a naive fan-out of one message to 200
sockets. Figures: issuing tickets from 50 connections on one queue (1 and 2 web workers),
``GET /api/v1/queues`` from 16 connections, call next -> 200 boards (``board_delivery``), and
call next, the board snapshot and a patient's position at 100 and at 10,000 waiting tickets.
PostgreSQL only (the production database); everything on 127.0.0.1; every step bounded in
time.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess  # nosec B404 # our own server and client processes
import sys
import threading
import time

import board_delivery
from support.harness import (
    REPO,
    Stack,
    add_common_arguments,
    free_port,
    parse_on_postgres,
    write_result,
)
from support.measure import summary_ms

NAME = "request_path"
SUPPORT = REPO / "bench" / "support"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="each load run (6 s)")
    parser.add_argument("--clients", type=int, default=50, help="issuing connections (50)")
    parser.add_argument("--readers", type=int, default=16, help="reading connections (16)")
    parser.add_argument("--boards", type=int, default=200, help="boards and fan-out sockets")
    parser.add_argument("--long-day", type=int, default=10_000, help="the long day's tickets")
    parser.add_argument(
        "--shared-pool",
        type=int,
        default=5,
        help="CLINIC_DB_POOL_SIZE of each of two workers in their second run (5: together the"
        " one worker's 10 connections)",
    )
    add_common_arguments(parser)
    return parse_on_postgres(parser, argv)


# -- load and floors ------------------------------------------------------------------------


def load(port: int, method: str, path: str, *, connections: int, seconds: float, **extra) -> dict:
    """Run the load driver (a process of its own) against 127.0.0.1:port."""
    config = {
        "host": "127.0.0.1",
        "port": port,
        "method": method,
        "path": path,
        "body": extra.get("body"),
        "headers": extra.get("headers", {}),
        "connections": connections,
        "seconds": seconds,
        "warmup": 1.0,
        "expect": extra.get("expect", 200),
    }
    out = subprocess.run(  # nosec B603 # our own driver script
        [sys.executable, str(SUPPORT / "load.py"), json.dumps(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the load driver failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def hot_counter(database_url: str, clients: int, seconds: float, *, in_transaction=False) -> dict:
    """The floor of issuing: ``clients`` connections taking numbers from one counter row, each
    ``UPDATE`` its own statement (autocommit) or, ``in_transaction``, inside a transaction
    (``BEGIN``, the ``UPDATE``, ``COMMIT``: the row stays locked for a round trip, as it must
    while anything is written with the number)."""
    import psycopg

    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    table = "bench_counter_tx" if in_transaction else "bench_counter"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, n bigint NOT NULL)")  # nosec B608
        conn.execute(f"INSERT INTO {table} VALUES (1, 0)")  # nosec B608 - the bench's own name
    take = f"UPDATE {table} SET n = n + 1 WHERE id = 1 RETURNING n"  # nosec B608 - ours
    start = time.monotonic() + 1.0
    stop = start + seconds
    latencies: list[float] = []
    lock = threading.Lock()

    def client():
        with psycopg.connect(url, autocommit=not in_transaction) as conn:
            mine = []
            while time.monotonic() < stop:
                began = time.monotonic()
                conn.execute(take).fetchone()
                if in_transaction:
                    conn.commit()
                ended = time.monotonic()
                if start <= ended <= stop:
                    mine.append(ended - began)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)
    s = summary_ms(latencies)
    return {
        "per_second": round(len(latencies) / seconds, 1),
        "p50_ms": s["p50"],
        "p99_ms": s["p99"],
    }


def web_counters(floor: "FloorServer", args, *, suffix: str) -> dict:
    """The Flask counter, in a transaction and in one round trip, from the issuing clients."""
    return {
        f"{name}{suffix}": load(
            floor.port, "POST", path, connections=args.clients, seconds=args.seconds, expect=201
        )
        for name, path in (
            ("floor_counter", "/counter"),
            ("floor_counter_at_once", "/counter-at-once"),
        )
    }


def make_web_counter(database_url: str) -> None:
    """The counter row of the floor app's ``POST /counter``."""
    import psycopg

    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_web_counter (id int PRIMARY KEY, n bigint NOT NULL)")
        conn.execute("INSERT INTO bench_web_counter VALUES (1, 0)")


class FloorServer:
    """bench/support/floor_app.py under gunicorn's gevent worker, on a free loopback port."""

    def __init__(self, stack: Stack, workers: int) -> None:
        self.port = free_port()
        env = {**os.environ, "FLOOR_DATABASE_URL": stack.database_url, "PYTHONPATH": str(REPO)}
        self.process = subprocess.Popen(  # nosec B603 # our own fixed command line
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-k",
                "gevent",
                "--workers",
                str(workers),
                "--worker-connections",
                "2000",
                "--bind",
                f"127.0.0.1:{self.port}",
                "bench.support.floor_app:create_app()",
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(stack.log_path.with_name("floor.log"), "ab"),
            start_new_session=True,
        )
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/row", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the floor server did not answer")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def naive_fanout(port: int, clients: int, messages: int = 30, rate: float = 5.0) -> dict:
    """The floor of call next -> boards: one message to ``clients`` sockets, one by one."""
    import http.client

    config = {"url": f"ws://127.0.0.1:{port}/ws", "clients": clients, "expect": messages}
    config["max_seconds"] = messages / rate + 30
    fleet = subprocess.Popen(  # nosec B603 # our own client script
        [sys.executable, str(SUPPORT / "fanout_client.py"), json.dumps(config)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ready = json.loads(fleet.stdout.readline())
        time.sleep(0.5)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        started = time.monotonic()
        for i in range(messages):
            pause = started + i / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            conn.request("POST", "/fanout")
            conn.getresponse().read()
        conn.close()
        result = json.loads(fleet.stdout.readline())
    finally:
        if fleet.poll() is None:
            fleet.wait(config["max_seconds"] + 15)
    s = summary_ms(result["delays"])
    return {
        "connected": ready["connected"],
        "received": len(result["delays"]),
        "expected": clients * messages,
        "p50_ms": s["p50"],
        "p99_ms": s["p99"],
    }


# -- the system -----------------------------------------------------------------------------


def issue_run(stack: Stack, queue_id: int, token: str, args) -> dict:
    before = sum(w["cpu_s"] for w in stack.server_usage()["workers"])
    result = load(
        stack.port,
        "POST",
        f"/api/v1/queues/{queue_id}/tickets",
        connections=args.clients,
        seconds=args.seconds,
        body="{}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        expect=201,
    )
    after = sum(w["cpu_s"] for w in stack.server_usage()["workers"])
    result["web_cpu_ms_per_request"] = round(1000 * (after - before) / result["all_requests"], 2)
    return result


def numbers_are_consecutive(stack: Stack, queue_id: int) -> bool:
    from sqlalchemy import select

    from clinic.queue.models import Ticket

    with stack.runtime.db.session() as s:
        numbers = s.scalars(
            select(Ticket.number).where(Ticket.queue_id == queue_id).order_by(Ticket.number)
        ).all()
    return numbers == list(range(1, len(numbers) + 1))


def size_costs(stack: Stack, waiting: int, repeat: int = 30) -> dict:
    """Call next, the board snapshot and a patient's position (ms, p50 of ``repeat``) with
    ``waiting`` tickets waiting in the queue's day."""
    from sqlalchemy import func, insert, select, update

    from clinic import channels
    from clinic.base import utcnow
    from clinic.queue import snapshots  # noqa: F401 # registers the queue's snapshots
    from clinic.queue import calls
    from clinic.queue import days as queue_days
    from clinic.queue import tickets as q
    from clinic.queue.models import QueueDay, Ticket

    tz = stack.runtime.settings.tz
    queue_id = stack.queue()["queue_id"]
    db = stack.runtime.db
    with db.transaction() as s:
        first = q.issue_ticket(s, queue_id, tz=tz, actor="bench")
        day_id, prefix = first.queue_day_id, first.code.split("-")[0]
    base = {k: getattr(first, k) for k in ("queue_day_id", "queue_id", "source", "priority")}
    rows = [
        {
            **base,
            "number": n,
            "code": f"{prefix}-{n}",
            "status": "waiting",
            "comment": "",
            "token": secrets.token_urlsafe(24),
            "queued_at": utcnow(),
            "created_at": utcnow(),
            "recalls": 0,
        }
        for n in range(2, waiting + repeat + 1)
    ]
    with db.transaction() as s:
        s.execute(insert(Ticket), rows)
        last = len(rows) + 1
        s.execute(
            update(QueueDay).where(QueueDay.id == day_id).values(last_number=last, waiting=last)
        )
    # What autovacuum does to a day that grew over hours: a visibility map for index-only
    # counts, fresh statistics for the planner.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE tickets")
    times = {"call next": [], "board snapshot": [], "position": []}
    last = None
    for _ in range(repeat):
        began = time.monotonic()
        with db.transaction() as s:
            called = calls.call_next(s, queue_id, tz=tz, actor="bench")
        times["call next"].append(time.monotonic() - began)
        began = time.monotonic()
        with db.session() as s:
            board, _last = channels.snapshot(s, f"board:{queue_id}", tz)
        assert board is not None and board["last_calls"], "the board snapshot showed nothing"
        times["board snapshot"].append(time.monotonic() - began)
        with db.session() as s:
            if last is None:
                last = s.scalar(select(func.max(Ticket.id)).where(Ticket.queue_day_id == day_id))
            began = time.monotonic()
            queue_days.position(s, s.get(Ticket, last))
            times["position"].append(time.monotonic() - began)
        with db.transaction() as s:  # the room holds one patient: seen, it takes the next
            calls.finish_service(s, s.get(Ticket, called.id), tz=tz, actor="bench")
    return {name: summary_ms(values)["p50"] for name, values in times.items()}


def run(args: argparse.Namespace) -> dict:
    plain = (int, float, str, type(None))
    out: dict = {
        "parameters": {k: v if isinstance(v, plain) else str(v) for k, v in vars(args).items()}
    }
    with Stack(args) as stack:
        token = stack.user_token(["admin"])
        queue_id = stack.queue()["queue_id"]  # also the floor's one row
        out["hot_counter"] = hot_counter(stack.database_url, args.clients, args.seconds)
        out["hot_counter_tx"] = hot_counter(
            stack.database_url, args.clients, args.seconds, in_transaction=True
        )
        make_web_counter(stack.database_url)
        floor = FloorServer(stack, 1)
        try:
            out.update(web_counters(floor, args, suffix="_1"))
            out["floor_read_1"] = load(
                floor.port, "GET", "/row", connections=args.readers, seconds=args.seconds
            )
            out["floor_issue_shape_1"] = load(
                floor.port, "GET", "/row", connections=args.clients, seconds=args.seconds
            )
            out["floor_fanout"] = naive_fanout(floor.port, args.boards)
        finally:
            floor.stop()
        out["issue_1"] = issue_run(stack, queue_id, token, args)
        out["queues_1"] = load(
            stack.port,
            "GET",
            "/api/v1/queues",
            connections=args.readers,
            seconds=args.seconds,
            headers={"Authorization": f"Bearer {token}"},
        )
        out["sizes"] = {str(n): size_costs(stack, n) for n in (100, args.long_day)}
        stack.stop_server()
        stack.args.workers = 2
        stack.start_server()
        out["issue_2"] = issue_run(stack, queue_id, token, args)
        # The same two workers holding as many connections together as one worker does.
        stack.stop_server()
        stack.env["CLINIC_DB_POOL_SIZE"] = str(args.shared_pool)
        stack.start_server()
        out["issue_2_shared"] = issue_run(stack, queue_id, token, args)
        out["numbers_consecutive"] = numbers_are_consecutive(stack, queue_id)
        floor = FloorServer(stack, 2)
        try:
            out.update(web_counters(floor, args, suffix="_2"))
            out["floor_read_2"] = load(
                floor.port, "GET", "/row", connections=args.clients, seconds=args.seconds
            )
        finally:
            floor.stop()
    boards = board_delivery.parse_args(
        ["--boards", str(args.boards), "--calls", "30", "--rate", "5", "--postgres", args.postgres]
        if args.postgres
        else ["--boards", str(args.boards), "--calls", "30", "--database-url", args.database_url]
    )
    delivered = board_delivery.run(boards)
    out["boards"] = {
        "received": delivered["received"],
        "expected": delivered["expected"],
        "p50_ms": delivered["latency_ms"]["p50"],
        "p99_ms": delivered["latency_ms"]["p99"],
    }
    return out


def versus(figure: str, ours: dict, floor: dict, key: str, target: str) -> tuple:
    """A report row: our figure, the floor's, and their ratio."""
    return (figure, ours[key], floor[key], ours[key] / floor[key], target)


def rows(r: dict) -> list[tuple]:
    """(figure, ours, floor, ratio, target) for the report."""
    counter, i1, i2 = r["hot_counter"], r["issue_1"], r["issue_2"]
    in_tx, shared = r["hot_counter_tx"], r["issue_2_shared"]
    web1, web2 = r["floor_counter_1"], r["floor_counter_2"]
    sizes = r["sizes"]
    long_day = [k for k in sizes if k != "100"][0]
    table = [
        versus("issue a ticket, 50 conn, 1 worker: req/s", i1, counter, "per_second", ">= 25%"),
        versus(
            "  the same (floor: the counter in a transaction)", i1, in_tx, "per_second", ">= 25%"
        ),
        versus("  its p99 ms (floor: the counter's)", i1, counter, "p99_ms", "< 3x"),
        versus("  the same (floor: Flask counter, 1 worker)", i1, web1, "per_second", ">= 25%"),
        versus("  its p99 ms (floor: the Flask counter's)", i1, web1, "p99_ms", "< 3x"),
        versus(
            "issue a ticket, 50 conn, 2 workers: req/s", i2, counter, "per_second", "> 1 worker"
        ),
        ("  its p99 ms", i2["p99_ms"], counter["p99_ms"], i2["p99_ms"] / counter["p99_ms"], "< 3x"),
        versus("  the same (floor: Flask counter, 2 workers)", i2, web2, "per_second", ">= 25%"),
        versus(
            f"  the same, {r['parameters']['shared_pool']} connections per worker: req/s",
            r["issue_2_shared"],
            counter,
            "per_second",
            "> 1 worker",
        ),
        versus("    (floor: the counter in a transaction)", shared, in_tx, "per_second", ">= 25%"),
        versus("    its p99 ms", r["issue_2_shared"], counter, "p99_ms", "< 3x"),
        ("  web CPU ms per ticket, 1 worker", i1["web_cpu_ms_per_request"], None, None, "halved"),
        versus(
            "GET /api/v1/queues, 16 conn: req/s",
            r["queues_1"],
            r["floor_read_1"],
            "per_second",
            ">= 30%",
        ),
        versus("call next -> 200 boards p50 ms", r["boards"], r["floor_fanout"], "p50_ms", ""),
        versus("call next -> 200 boards p99 ms", r["boards"], r["floor_fanout"], "p99_ms", ""),
    ]
    for name in ("call next", "board snapshot", "position"):
        short, long = sizes["100"][name], sizes[long_day][name]
        table.append(
            (f"{name} ms at {long_day} (floor: at 100)", long, short, long / short, "<= 1.2x")
        )
    table.append(
        (
            "the counter in a transaction: p99 ms",
            in_tx["p99_ms"],
            counter["p99_ms"],
            in_tx["p99_ms"] / counter["p99_ms"],
            "floor",
        )
    )
    table.append(
        (
            "Flask counter, 50 conn, 1 / 2 workers: req/s",
            web1["per_second"],
            web2["per_second"],
            None,
            "floor",
        )
    )
    once1, once2 = r["floor_counter_at_once_1"], r["floor_counter_at_once_2"]
    table.append(
        (
            "  the same in one round trip: req/s",
            once1["per_second"],
            once2["per_second"],
            None,
            "floor",
        )
    )
    table.append(
        (
            "  p99 ms in a transaction / in one round trip, 2 workers",
            web2["p99_ms"],
            once2["p99_ms"],
            None,
            "floor",
        )
    )
    table.append(
        (
            "Flask one-row read, 50 conn, 1 / 2 workers: req/s",
            r["floor_issue_shape_1"]["per_second"],
            r["floor_read_2"]["per_second"],
            None,
            "floor",
        )
    )
    return table


def report(result: dict, path) -> None:
    print(f"{NAME}: PostgreSQL, gunicorn gevent, load average {result['machine_load']}")
    print(f"  {'figure':52} {'ours':>9} {'floor':>9} {'ratio':>7}  target")
    for figure, ours, floor, ratio, target in rows(result):
        ratio_text = "" if ratio is None else (f"{ratio:.0%}" if "%" in target else f"{ratio:.2f}x")
        floor_text = "" if floor is None else f"{floor:g}"
        print(f"  {figure:52} {ours:>9g} {floor_text:>9} {ratio_text:>7}  {target}")
    print(f"  numbers gap-free and consecutive: {result['numbers_consecutive']}")
    boards, fanout = result["boards"], result["floor_fanout"]
    print(
        f"  boards: {boards['received']} of {boards['expected']} calls received;"
        f" fan-out floor: {fanout['received']} of {fanout['expected']}"
    )
    print(f"  result: {path}")


def main(argv=None) -> int:
    args = parse_args(argv)
    result = run(args)
    result["machine_load"] = [round(x, 2) for x in os.getloadavg()]
    path = write_result(args, NAME, result)
    report(result, path)
    complete = (
        result["numbers_consecutive"]
        and result["boards"]["received"] == result["boards"]["expected"]
        and result["issue_1"]["errors"] == 0
        and result["issue_2"]["errors"] == 0
    )
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
