"""The free-slot bench runs end to end at a tiny size: every booking into a distinct free
slot is taken, none refused. No timing is asserted: the machine is shared."""

from __future__ import annotations

import pytest

from tests.bench.test_bench_smoke import run_bench

pytestmark = pytest.mark.slow


def test_free_slot_bench_searches_and_books_every_distinct_slot(backend, tmp_path):
    result = run_bench(
        "free_slots",
        ["--doctors", "2", "--days", "2", "--searches", "3", "--bookings", "5", "--clients", "2"],
        tmp_path,
        backend,
    )
    assert result["bench"] == "free_slots" and result["database"] == backend
    assert result["slots"] == 2 * 2 * 24  # 08:00-17:00 less the hour's break, 20 minutes
    assert result["search_in_process_ms"]["count"] == result["search_http_ms"]["count"] == 3
    assert result["booked"] == 5 and result["refused"] == 0
