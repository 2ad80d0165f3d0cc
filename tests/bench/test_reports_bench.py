"""The reports bench runs end to end at a tiny size: the data it generates is all counted in
the month's reports. No timing is asserted: the machine is shared."""

from __future__ import annotations

import pytest

from tests.bench.test_bench_smoke import run_bench

pytestmark = pytest.mark.slow


def test_reports_bench_generates_the_month_and_a_report_counts_all_of_it(backend, tmp_path):
    # One report, built as the bench builds each (a process of its own, every format): the
    # reports themselves are tested in tests/reports.
    result = run_bench("reports", ["--rows", "400", "--only", "visits/doctor"], tmp_path, backend)
    assert result["bench"] == "reports" and result["database"] == "postgresql"
    assert result["visits"] == result["payments"] == 400
    [build] = result["builds"]
    # Every visit falls in the month, with one of the 50 doctors: all 400 are counted.
    assert build["report"] == "visits/doctor"
    assert build["totals"][1] == "400"
    assert build["rows"] == 50
    assert build["bytes"]["pdf"] > 0 and build["rss_peak_mib"] > 0
