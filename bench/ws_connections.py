"""Many open WebSockets on one gunicorn process: does one broadcast reach them all?

One gunicorn worker (the gevent worker, ``web/gunicorn_conf.py``) holds ``--connections``
WebSockets, all following one board channel with a display user's token. The bench commits
``--events`` events (one by default) and reports how many sockets received each, the time
from the start of the commit to the last receipt, the worker's memory (RSS) and CPU before
and while it holds the sockets, and whether the same worker still answers a plain HTTP
request (``/health/live``) while it holds them. A socket that failed to connect or an event
that did not reach every socket fails the run (exit code 1).
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.error
import urllib.request

from support.harness import Stack, add_common_arguments, write_result
from support.measure import Fleet, commit_event, deliveries, summary_ms

NAME = "ws_connections"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--connections", type=int, default=1000, help="WebSockets to hold open (1000)"
    )
    parser.add_argument("--events", type=int, default=1, help="broadcast events (1)")
    parser.add_argument(
        "--idle", type=float, default=5.0, help="seconds to hold the sockets idle (5)"
    )
    parser.add_argument(
        "--probe-timeout",
        type=float,
        default=3.0,
        help="how long the HTTP probe waits while the sockets are held (3 s)",
    )
    add_common_arguments(parser)
    return parser.parse_args(argv)


def probe(url: str, timeout: float) -> dict:
    """Does the server answer a plain HTTP request now, and how fast?"""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = response.status
    except (urllib.error.URLError, OSError) as exc:
        return {"answered": False, "error": f"{type(exc).__name__}: {exc}"[:200]}
    return {"answered": True, "status": status, "ms": round((time.monotonic() - started) * 1000)}


def _worker(usage: dict) -> dict:
    return usage["workers"][0] if usage["workers"] else {}


def run(args: argparse.Namespace) -> dict:
    with Stack(args, connections=args.connections) as stack:
        queue = stack.queue()
        channel = f"board:{queue['queue_id']}"
        token = stack.user_token(["display"])
        before = stack.server_usage()
        with Fleet(
            stack,
            clients=args.connections,
            token=token,
            channel=channel,
            expect=args.events,
            token_in_query=True,
            concurrency=100,
            max_seconds=240 + args.idle,
        ) as fleet:
            ready = fleet.ready()
            held = stack.server_usage()
            time.sleep(args.idle)
            idle = stack.server_usage()
            health = probe(f"{stack.base_url}/health/live", args.probe_timeout)
            sent = {}
            for i in range(args.events):
                seq, started, _ = commit_event(
                    stack.runtime, channel, "bench.broadcast", {"n": i, "code": f"B-{i:03d}"}
                )
                sent[seq] = started
                if i + 1 < args.events:
                    time.sleep(0.5)
            result = fleet.finish()
        after = stack.server_usage()
        kind = stack.database_kind
    found = deliveries(result, sent)
    per_event = {}
    for seq in sent:
        got = sum(1 for events in result["events"].values() if any(e[0] == seq for e in events))
        last = found["last_receipt"].get(seq)
        per_event[str(seq)] = {
            "received": got,
            "last_receipt_ms": None if last is None else round(last * 1000, 1),
        }
    w_before, w_held, w_idle = _worker(before), _worker(held), _worker(idle)
    rss_growth = (w_held.get("rss_mib") or 0) - (w_before.get("rss_mib") or 0)
    idle_cpu = (
        (w_idle.get("cpu_s", 0) - w_held.get("cpu_s", 0)) / args.idle if args.idle > 0 else None
    )
    return {
        "database": kind,
        "parameters": {"connections": args.connections, "events": args.events},
        "connected": ready["connected"],
        "connect_failures": ready["failed"],
        "connect_errors": ready["errors"],
        "connect_seconds": ready["connect_seconds"],
        "per_event": per_event,
        "expected": found["expected"] + ready["failed"] * len(sent),
        "received": found["received"],
        "lost": found["lost"] + ready["failed"] * len(sent),
        "duplicates": found["duplicates"],
        "latency_ms": summary_ms(found["latencies"]),
        "worker_rss_mib": {
            "before": w_before.get("rss_mib"),
            "holding": w_held.get("rss_mib"),
            "per_connection_kib": (
                round(rss_growth * 1024 / ready["connected"], 1) if ready["connected"] else None
            ),
        },
        "worker_open_files_holding": w_held.get("open_files"),
        "worker_idle_cpu_percent": None if idle_cpu is None else round(idle_cpu * 100, 1),
        "health_probe_while_holding": health,
        "closed_early": result["closed_early"],
        "server": {"before": before, "holding": held, "after": after},
    }


def report(result: dict, path) -> None:
    n = result["parameters"]["connections"]
    print(f"{NAME}: {n} WebSockets on one gunicorn gevent worker ({result['database']})")
    print(
        f"  connected {result['connected']} of {n} in {result['connect_seconds']} s"
        f"  (failures {result['connect_failures']}: {result['connect_errors'] or 'none'})"
    )
    for seq, event in result["per_event"].items():
        print(
            f"  event {seq}: received by {event['received']} of {n};"
            f" commit -> last receipt {event['last_receipt_ms']} ms"
        )
    lat = result["latency_ms"]
    print(f"  commit -> receipt ms: p50 {lat['p50']}  p99 {lat['p99']}  max {lat['max']}")
    rss = result["worker_rss_mib"]
    print(
        f"  worker RSS {rss['before']} MiB -> {rss['holding']} MiB holding them"
        f" ({rss['per_connection_kib']} KiB a socket); idle CPU"
        f" {result['worker_idle_cpu_percent']}%"
    )
    health = result["health_probe_while_holding"]
    answer = (
        f"answered {health['status']} in {health['ms']} ms"
        if health["answered"]
        else f"NOT answered ({health['error']})"
    )
    print(f"  GET /health/live while holding them: {answer}")
    print(f"  result: {path}")


def main(argv=None) -> int:
    args = parse_args(argv)
    result = run(args)
    path = write_result(args, NAME, result)
    report(result, path)
    complete = result["lost"] == 0 and result["connect_failures"] == 0
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
