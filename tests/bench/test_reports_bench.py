"""The reports bench runs end to end at a tiny size: the data it generates is all counted in
the month's reports. No timing is asserted: the machine is shared."""

from __future__ import annotations

import pytest

from tests.bench.test_bench_smoke import run_bench

pytestmark = pytest.mark.slow


def test_reports_bench_generates_the_month_and_builds_every_report(backend, tmp_path):
    result = run_bench(
        "reports", ["--rows", "400", "--only", "revenue/day,visits/doctor"], tmp_path, backend
    )
    assert result["bench"] == "reports" and result["database"] == "postgresql"
    assert result["visits"] == result["payments"] == 400
    builds = {b["report"]: b for b in result["builds"]}
    # Every payment falls in the month: the revenue by day counts all 400 of them.
    assert builds["revenue/day"]["totals"][1] == "400"
    assert builds["visits/doctor"]["totals"][1] == "400"
    assert builds["visits/doctor"]["rows"] == 50
    assert all(b["bytes"]["pdf"] > 0 and b["rss_peak_mib"] > 0 for b in builds.values())
