"""An HTTP load driver in a process of its own: ``connections`` keep-alive connections (gevent
greenlets) each sending one request after another for a fixed time; prints one JSON line.

``python bench/support/load.py CONFIG_JSON`` where the config holds ``host``, ``port``,
``method``, ``path``, ``body`` (text), ``headers``, ``connections``, ``seconds``, ``warmup``
and ``expect`` (the status every answer must have). Requests answered during the warm-up
are not counted. Talks only to the given loopback address.
"""

from gevent import monkey

monkey.patch_all()

import http.client  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402


def percentile(values, pct):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


def main() -> None:
    config = json.loads(sys.argv[1])
    if config["host"] not in ("127.0.0.1", "localhost"):
        raise SystemExit("the load driver talks to loopback only")
    body = config.get("body")
    body = body.encode() if body is not None else None
    start = time.monotonic() + config.get("warmup", 1.0)
    stop = start + config["seconds"]
    latencies, errors, statuses, sent = [], [], {}, [0]

    def client():
        conn = http.client.HTTPConnection(config["host"], config["port"], timeout=30)
        while time.monotonic() < stop:
            began = time.monotonic()
            try:
                conn.request(config["method"], config["path"], body=body, headers=config["headers"])
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                errors.append(str(exc)[:200])
                conn.close()
                conn = http.client.HTTPConnection(config["host"], config["port"], timeout=30)
                continue
            ended = time.monotonic()
            sent[0] += 1
            # Throughput counts the answers that arrive within the window, whenever asked.
            if start <= ended <= stop:
                latencies.append(ended - began)
                statuses[status] = statuses.get(status, 0) + 1
                if status != config.get("expect", 200):
                    errors.append(f"status {status}")
        conn.close()

    gevent.joinall(
        [gevent.spawn(client) for _ in range(config["connections"])],
        timeout=stop - time.monotonic() + 60,
    )
    ms = [v * 1000 for v in latencies]
    print(
        json.dumps(
            {
                "requests": len(ms),
                "all_requests": sent[0],
                "per_second": round(len(ms) / config["seconds"], 1),
                "p50_ms": round(percentile(ms, 50) or 0, 1),
                "p99_ms": round(percentile(ms, 99) or 0, 1),
                "statuses": {str(k): v for k, v in statuses.items()},
                "errors": len(errors),
                "first_errors": errors[:5],
            }
        )
    )


if __name__ == "__main__":
    main()
