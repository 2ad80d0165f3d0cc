"""Display boards: from a doctor's "call next" over HTTP to every board showing it.

``--boards`` display boards (WebSocket clients with a display user's token in the URL, as
board screens connect) follow one queue's board channel on a real gunicorn server (gevent
worker). A doctor, with his own API token, calls the next patient ``--calls`` times at a
steady ``--rate`` (``POST /api/v1/queues/<id>/call-next``). For every call and every board
the bench measures the time from the start of the HTTP request to the board's receipt of
that ticket's ``ticket.called``. A call that fails, or a board that misses a call, fails
the run (exit code 1).
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import time

from support.harness import Stack, add_common_arguments, write_result
from support.measure import Fleet, deliveries, summary_ms

NAME = "board_delivery"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boards", type=int, default=200, help="display boards (200)")
    parser.add_argument("--calls", type=int, default=50, help="calls of the next patient (50)")
    parser.add_argument("--rate", type=float, default=5.0, help="calls a second (5)")
    add_common_arguments(parser)
    return parser.parse_args(argv)


def issue_tickets(stack: Stack, queue_id: int, count: int) -> None:
    from clinic.queue import tickets as q

    with stack.runtime.db.transaction() as s:
        for _ in range(count):
            q.issue_ticket(s, queue_id, tz=stack.runtime.settings.tz, actor="bench")


def call_next(conn: http.client.HTTPConnection, queue_id: int, token: str) -> tuple[int, dict]:
    conn.request(
        "POST",
        f"/api/v1/queues/{queue_id}/call-next",
        body=b"{}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    response = conn.getresponse()
    body = response.read()
    return response.status, (json.loads(body) if body else {})


def finish(conn: http.client.HTTPConnection, ticket_id: int, token: str) -> None:
    """The doctor's room holds one patient: he is seen before the next call."""
    conn.request(
        "POST",
        f"/api/v1/tickets/{ticket_id}/finish",
        headers={"Authorization": f"Bearer {token}"},
    )
    conn.getresponse().read()


def run(args: argparse.Namespace) -> dict:
    with Stack(args, connections=args.boards) as stack:
        queue = stack.queue(with_doctor=True)
        queue_id = queue["queue_id"]
        doctor_token = stack.user_token(["doctor"], doctor_id=queue["doctor_id"])
        display_token = stack.user_token(["display"])
        issue_tickets(stack, queue_id, args.calls)
        with Fleet(
            stack,
            clients=args.boards,
            token=display_token,
            channel=f"board:{queue_id}",
            expect=args.calls,
            type_="ticket.called",
            token_in_query=True,
            max_seconds=120 + args.calls / args.rate,
        ) as fleet:
            ready = fleet.ready()
            conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
            sent, http_times, failures = {}, [], []
            started = time.monotonic()
            for i in range(args.calls):
                pause = started + i / args.rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                before = time.monotonic()
                status, ticket = call_next(conn, queue_id, doctor_token)
                http_times.append(time.monotonic() - before)
                if status != 200:
                    failures.append({"status": status, "body": ticket})
                    continue
                sent[ticket["code"]] = before
                finish(conn, ticket["id"], doctor_token)
            conn.close()
            result = fleet.finish()
        usage = stack.server_usage()
        kind = stack.database_kind
    found = deliveries(result, sent, key=2)
    return {
        "database": kind,
        "parameters": {"boards": args.boards, "calls": args.calls, "rate": args.rate},
        "connected": ready["connected"],
        "connect_failures": ready["failed"],
        "connect_errors": ready["errors"],
        "calls_answered": len(sent),
        "call_failures": failures[:10],
        "expected": args.calls * args.boards,
        "received": found["received"],
        "lost": args.calls * args.boards - found["received"],
        "duplicates": found["duplicates"],
        "out_of_order": found["out_of_order"],
        "closed_early": result["closed_early"],
        "latency_ms": summary_ms(found["latencies"]),
        "http_call_next_ms": summary_ms(http_times),
        "server": usage,
    }


def report(result: dict, path) -> None:
    p = result["parameters"]
    print(
        f"{NAME}: {p['boards']} boards, {p['calls']} calls of the next patient at"
        f" {p['rate']:g}/s ({result['database']})"
    )
    print(
        f"  boards connected {result['connected']} of {p['boards']};"
        f" calls answered {result['calls_answered']} of {p['calls']}"
    )
    print(
        f"  ticket.called received {result['received']} of {result['expected']}"
        f"  lost {result['lost']}  duplicates {result['duplicates']}"
        f"  out of order {result['out_of_order']}"
    )
    lat, h = result["latency_ms"], result["http_call_next_ms"]
    print(
        f"  request start -> board receipt ms: p50 {lat['p50']}  p90 {lat['p90']}"
        f"  p99 {lat['p99']}  max {lat['max']}"
    )
    print(f"  the call-next request itself ms: p50 {h['p50']}  p99 {h['p99']}")
    print(f"  result: {path}")


def main(argv=None) -> int:
    args = parse_args(argv)
    result = run(args)
    path = write_result(args, NAME, result)
    report(result, path)
    complete = (
        result["lost"] == 0
        and result["duplicates"] == 0
        and result["connect_failures"] == 0
        and result["calls_answered"] == args.calls
    )
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
