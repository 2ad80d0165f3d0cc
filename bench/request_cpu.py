"""The web process's CPU per request, in-process: the application served by Flask's test client,
one request after another, on a scratch PostgreSQL database and the local Redis.

No server, no load driver, no other process on the path: what remains is the CPU the
application spends on a request (Flask and its extensions, SQLAlchemy, psycopg, Redis), read
with ``time.process_time`` in batches; the least batch is the figure least disturbed by the
rest of the machine. Figures: issuing a ticket (``POST /api/v1/queues/<id>/tickets``) and the
queue list (``GET /api/v1/queues``), each with an administrator's bearer token, and the
statements each sends.
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import event
from support.harness import Stack, add_common_arguments, parse_on_postgres, write_result

NAME = "request_cpu"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="of each kind (400)")
    parser.add_argument("--batch", type=int, default=50, help="requests per batch (50)")
    add_common_arguments(parser)
    return parse_on_postgres(parser, argv)


class InProcessStack(Stack):
    """The bench's database, Redis prefix and credentials, without a web server."""

    def start_server(self) -> None:
        return None


def measure(send, *, requests: int, batch: int) -> dict:
    for _ in range(min(30, requests)):  # warm: compiled statements, prepared queries, pools
        send()
    per_batch = []
    for _ in range(max(1, requests // batch)):
        began = time.process_time()
        for _ in range(batch):
            send()
        per_batch.append(1000 * (time.process_time() - began) / batch)
    per_batch.sort()
    return {
        "cpu_ms_min_batch": round(per_batch[0], 2),
        "cpu_ms_median_batch": round(per_batch[len(per_batch) // 2], 2),
        "batches": len(per_batch),
    }


def statements_of(engine, send) -> list[str]:
    sent: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        sent.append(" ".join(statement.split())[:100])

    event.listen(engine, "before_cursor_execute", note)
    try:
        send()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return sent


def main(argv=None) -> int:
    args = parse_args(argv)
    with InProcessStack(args) as stack:
        from web import create_app

        app = create_app(runtime=stack.runtime)
        client = app.test_client()
        token = stack.user_token(["admin"])
        queue_id = stack.queue()["queue_id"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def issue():
            answer = client.post(f"/api/v1/queues/{queue_id}/tickets", data="{}", headers=headers)
            assert answer.status_code == 201, answer.get_data(as_text=True)

        def list_queues():
            answer = client.get("/api/v1/queues", headers=headers)
            assert answer.status_code == 200, answer.get_data(as_text=True)

        result = {}
        engine = stack.runtime.db.engine
        for name, send in (("issue a ticket", issue), ("GET /api/v1/queues", list_queues)):
            figures = measure(send, requests=args.requests, batch=args.batch)
            figures["statements"] = statements_of(engine, send)
            result[name] = figures
    print(f"{NAME}: in-process, PostgreSQL, {args.requests} requests of each kind")
    for name, figures in result.items():
        print(
            f"  {name:22s} CPU ms per request: least batch {figures['cpu_ms_min_batch']:6.2f},"
            f" median batch {figures['cpu_ms_median_batch']:6.2f},"
            f" {len(figures['statements'])} statements"
        )
    print(f"  result: {write_result(args, NAME, result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
