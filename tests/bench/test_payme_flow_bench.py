"""The Payme flow bench runs end to end at a tiny size: both servers, every flow of ours paid.

No timing is asserted: the machine is shared.
"""

from __future__ import annotations

import pytest

from tests.bench.test_bench_smoke import run_bench

pytestmark = pytest.mark.slow


def test_the_payme_flow_bench_runs_ours_beside_the_minimal_handler(backend, tmp_path):
    result = run_bench("payme_flow", ["--flows", "4", "--levels", "2"], tmp_path, backend)

    assert result["database"] == backend
    runs = {r["server"]: r for r in result["runs"]}
    assert set(runs) == {"ours", "baseline"}
    for run in runs.values():
        assert run["connections"] == 2 and run["flows"] == 4
        assert run["errors"] == 0 and run["stalls"] == 0
        assert run["latency_ms"]["count"] == 4
