"""Each benchmark runs end to end at a tiny size and every event reaches every client.

The benches start their own gunicorn server, database and client processes; here they run
as a user would run them, as subprocesses. No timing is asserted: the machine is shared.
"""

from __future__ import annotations

import json
import runpy
import subprocess  # nosec B404 - runs our own scripts
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL, REDIS_URL

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]

TINY = {
    "ws_latency": ["--clients", "5", "--events", "5", "--rate", "50"],
    "ws_connections": ["--connections", "5", "--idle", "0.2"],
    "board_delivery": ["--boards", "5", "--calls", "5", "--rate", "50"],
}


def run_bench(name: str, args: list[str], tmp_path: Path, backend: str = "sqlite") -> dict:
    """Run ``bench/<name>.py``; its JSON result, after checking it exited 0."""
    out = tmp_path / f"{name}.json"
    argv = [sys.executable, str(REPO / "bench" / f"{name}.py"), *args]
    argv += ["--json", str(out), "--redis-url", REDIS_URL]
    if backend == "postgresql":
        argv += ["--postgres", PG_ADMIN_URL]
    done = subprocess.run(  # nosec B603 - our own script
        argv, cwd=REPO, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, f"{name} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    assert name in done.stdout and str(out) in done.stdout, done.stdout
    return json.loads(out.read_text())


def check_every_client_received_every_event(result: dict, name: str, backend: str) -> None:
    assert result["bench"] == name
    assert result["database"] == backend
    assert result["connect_failures"] == 0
    assert result["expected"] > 0
    assert result["received"] == result["expected"]
    assert result["lost"] == 0 and result["duplicates"] == 0
    assert result["latency_ms"]["count"] == result["expected"]


# ws_connections runs at its full size, with these checks, in test_web_capacity.py.
@pytest.mark.parametrize("name", sorted(set(TINY) - {"ws_connections"}))
def test_bench_runs_and_every_client_receives_every_event(name, backend, tmp_path):
    result = run_bench(name, TINY[name], tmp_path, backend)
    check_every_client_received_every_event(result, name, backend)


def test_bench_help_names_the_database_and_redis_options(monkeypatch, capsys):
    # Each script as ``python bench/<name>.py --help`` runs it, in this process: a process
    # of its own would spend its time importing what this one has imported already.
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    for name in TINY:
        monkeypatch.setattr(sys, "argv", [f"bench/{name}.py", "--help"])
        with pytest.raises(SystemExit) as exited:
            runpy.run_path(str(REPO / "bench" / f"{name}.py"), run_name="__main__")
        shown = capsys.readouterr().out
        assert exited.value.code == 0, shown
        assert "--database-url" in shown and "--redis-url" in shown, shown
