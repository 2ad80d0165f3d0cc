"""One gunicorn worker, configured as production runs it, holds a thousand WebSockets and
still answers plain requests, even when started with a limit of open files well below them
(512: a thousand sockets and the worker's other files fit in the usual 1024, just, so that
limit would not show whether the worker lifts it); every socket receives the event broadcast
to them all (the bench's own SQLite database)."""

from __future__ import annotations

import pytest

from tests.bench.test_bench_smoke import check_every_client_received_every_event, run_bench

pytestmark = pytest.mark.slow


def test_one_worker_holds_a_thousand_sockets_and_still_answers_http(tmp_path):
    result = run_bench(
        "ws_connections",
        ["--connections", "1000", "--idle", "0", "--server-open-files", "512"],
        tmp_path,
    )
    check_every_client_received_every_event(result, "ws_connections", "sqlite")

    assert result["connected"] == 1000, result["connect_errors"]
    assert result["per_event"]["1"]["received"] == 1000
    probe = result["health_probe_while_holding"]
    assert probe["answered"] and probe["status"] == 200, probe
