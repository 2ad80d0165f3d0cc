"""The locustfile's thresholds: any failure, or a p95 over 1 s (board events included), fails.

Run in a subprocess: importing locust monkey-patches the standard library with gevent.
"""

from __future__ import annotations

import json
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

fast = [("GET", "/api/v1/services", 40)] * 100 + [("WS", "WS board event", 120)] * 100
slow_board = [("GET", "/api/v1/services", 40)] * 100 + [("WS", "WS board event", 1500)] * 10
slow_import = fast + [("JOB", "import: upload -> job finished", 9000)] * 5
print(json.dumps({
    "fast": verdict(fast),
    "slow_board": verdict(slow_board),
    "failed": verdict(fast, failures=1),
    "slow_import": verdict(slow_import),
    "no_board": verdict([("GET", "/api/v1/services", 40)]),
}))
"""


def test_the_load_thresholds_fail_slow_or_failing_runs_only():
    result = subprocess.run(  # nosec B603
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    verdicts = json.loads(result.stdout.strip().splitlines()[-1])
    assert verdicts["fast"] == [] and verdicts["slow_import"] == []
    assert verdicts["slow_board"] == ["WS WS board event: p95 1500 ms over 1000 ms"]
    assert verdicts["failed"] == ["1 requests failed"]
    assert verdicts["no_board"] == ["no board event was measured: call-next to board is unknown"]
