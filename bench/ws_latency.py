"""WebSocket delivery latency: commit -> receipt, for many clients on one channel.

``--clients`` display-board clients (a display user's token, as the boards send it) follow
one board channel on a real gunicorn server (gevent worker). The bench commits ``--events``
events at a steady ``--rate``, each with ``record_event`` in a transaction of its own, and
measures, for every client and every event, the time from the start of the commit to the
client's receipt. Every event must reach every client exactly once: losses, duplicates and
disorder are reported, and any of them fails the run (exit code 1).
"""

from __future__ import annotations

import argparse
import sys
import time

from support.harness import Stack, add_common_arguments, write_result
from support.measure import Fleet, commit_event, deliveries, summary_ms

NAME = "ws_latency"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100, help="WebSocket clients (100)")
    parser.add_argument("--events", type=int, default=200, help="events to commit (200)")
    parser.add_argument("--rate", type=float, default=20.0, help="events a second (20)")
    add_common_arguments(parser)
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict:
    with Stack(args, connections=args.clients) as stack:
        queue = stack.queue()
        channel = f"board:{queue['queue_id']}"
        token = stack.user_token(["display"])
        with Fleet(
            stack,
            clients=args.clients,
            token=token,
            channel=channel,
            expect=args.events,
            type_="bench.tick",
            token_in_query=True,
            max_seconds=120 + args.events / args.rate,
        ) as fleet:
            ready = fleet.ready()
            sent, commit_times = {}, []
            started = time.monotonic()
            for i in range(args.events):
                pause = started + i / args.rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                seq, before, after = commit_event(
                    stack.runtime, channel, "bench.tick", {"n": i, "code": f"T-{i:03d}"}
                )
                sent[seq] = before
                commit_times.append(after - before)
            publishing = time.monotonic() - started
            usage = stack.server_usage()
            result = fleet.finish()
        kind = stack.database_kind
    found = deliveries(result, sent)
    return {
        "database": kind,
        "parameters": {"clients": args.clients, "events": args.events, "rate": args.rate},
        "connected": ready["connected"],
        "connect_failures": ready["failed"],
        "connect_errors": ready["errors"],
        "connect_seconds": ready["connect_seconds"],
        "publishing_seconds": round(publishing, 2),
        "expected": found["expected"],
        "received": found["received"],
        "lost": found["lost"] + ready["failed"] * len(sent),
        "duplicates": found["duplicates"],
        "out_of_order": found["out_of_order"],
        "closed_early": result["closed_early"],
        "latency_ms": summary_ms(found["latencies"]),
        "commit_ms": summary_ms(commit_times),
        "server": usage,
    }


def report(result: dict, path) -> None:
    lat = result["latency_ms"]
    print(
        f"{NAME}: {result['connected']} clients on one channel, "
        f"{result['parameters']['events']} events at {result['parameters']['rate']:g}/s "
        f"({result['database']})"
    )
    print(
        f"  received {result['received']} of {result['expected']}"
        f"  lost {result['lost']}  duplicates {result['duplicates']}"
        f"  out of order {result['out_of_order']}  connect failures {result['connect_failures']}"
    )
    print(
        f"  commit -> receipt ms: p50 {lat['p50']}  p90 {lat['p90']}  p99 {lat['p99']}"
        f"  max {lat['max']}   (commit itself p50 {result['commit_ms']['p50']} ms)"
    )
    print(f"  result: {path}")


def main(argv=None) -> int:
    args = parse_args(argv)
    result = run(args)
    path = write_result(args, NAME, result)
    report(result, path)
    complete = (
        result["lost"] == 0
        and result["duplicates"] == 0
        and result["out_of_order"] == 0
        and result["connect_failures"] == 0
    )
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
