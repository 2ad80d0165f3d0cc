"""The patient search bench runs end to end at a tiny size: on PostgreSQL it finds the
trigram indexes the migrations made and measures with and without them, finding the same
patients both times. No timing is asserted: the machine is shared."""

from __future__ import annotations

import pytest

from clinic.migrate import DATABASE_ONLY_INDEXES
from tests.bench.test_bench_smoke import run_bench

pytestmark = pytest.mark.slow


def test_patient_search_bench_measures_with_and_without_the_trigram_indexes(tmp_path):
    result = run_bench(
        "patient_search", ["--patients", "300", "--repeat", "1"], tmp_path, "postgresql"
    )
    assert result["database"] == "postgresql" and result["patients"] == 300
    assert set(result["trigram_indexes"]) == DATABASE_ONLY_INDEXES
    with_them, without = result["runs"]["as_migrated"], result["runs"]["without_trigram_indexes"]
    assert [f["found"] for f in with_them] == [f["found"] for f in without]
    assert any(f["found"] > 0 for f in with_them)
