"""The locustfile's thresholds: any failure, a p95 over 1 s (board events included), or a run
without a call seen on a board, fails.

Run in a subprocess: importing locust monkey-patches the standard library with gevent.
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404 - runs our own locustfile's function
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
from locust.stats import RequestStats
sys.path.insert(0, "loadtests")
import locustfile

def verdict(samples, failures=0):
    stats = RequestStats()
    for method, name, ms in samples:
        stats.log_request(method, name, ms, 10)
    for _ in range(failures):
        stats.log_error("POST", "/api/v1/queues/[id]/tickets", "boom")
    return locustfile.threshold_failures(stats)

calls = [("WS", "WS call-next -> board", 120)] * 100
fast = [("GET", "/api/v1/services", 40)] * 100 + calls + [("WS", "WS board event", 90)] * 50
slow_call = [("GET", "/api/v1/services", 40)] * 100 + [("WS", "WS call-next -> board", 1500)] * 10
slow_other_event = fast + [("WS", "WS board event", 1200)] * 60
slow_payme = fast + [("POST", "/payments/payme PerformTransaction", 1100)] * 20
slow_import = fast + [("JOB", "import: upload -> job finished", 9000)] * 5
print(json.dumps({
    "fast": verdict(fast),
    "slow_call": verdict(slow_call),
    "slow_other_event": verdict(slow_other_event),
    "slow_payme": verdict(slow_payme),
    "failed": verdict(fast, failures=1),
    "slow_import": verdict(slow_import),
    "no_call": verdict([("GET", "/api/v1/services", 40), ("WS", "WS board event", 30)]),
}))
"""


def test_the_load_thresholds_fail_slow_or_failing_runs_only():
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOAD_")}  # the defaults
    result = subprocess.run(  # nosec B603
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    verdicts = json.loads(result.stdout.strip().splitlines()[-1])
    assert verdicts["fast"] == [] and verdicts["slow_import"] == []
    assert verdicts["slow_call"] == ["WS WS call-next -> board: p95 1500 ms over 1000 ms"]
    assert verdicts["slow_other_event"] == ["WS WS board event: p95 1200 ms over 1000 ms"]
    assert verdicts["slow_payme"] == [
        "POST /payments/payme PerformTransaction: p95 1100 ms over 1000 ms"
    ]
    assert verdicts["failed"] == ["1 requests failed"]
    assert verdicts["no_call"] == ["no call reached a board: call-next to board is unknown"]
