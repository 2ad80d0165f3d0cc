"""A short run of the load test against the app on a real server (HTTP and WebSocket), with
Payme enabled: every kind of user works, nothing fails, and the locustfile's own thresholds
pass (locust's exit code). The full run is `make loadtest` and load-testing.yml."""

from __future__ import annotations

import csv
import os
import secrets
import subprocess  # nosec B404 - runs locust on our own locustfile
import sys
from pathlib import Path

import pytest

from tests.conftest import ONE_BACKEND
from tests.payments.provider_support import PAYME_KEY, settings  # noqa: F401 - Payme's secrets

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

# Requests that only one kind of user makes: each kind must have made some.
REQUESTS_OF = {
    "RegistrarUser": {
        "GET /api/v1/services?page_size=20",
        "GET /api/v1/services?q=",
        "GET /api/v1/patients?q=",
        "GET /api/v1/patients?page_size=20",
        "POST /api/v1/patients",
        "POST /api/v1/queues/[id]/tickets",
        "POST /api/v1/services/import",
    },
    "DoctorUser": {"POST /api/v1/queues/[id]/call-next"},
    "BoardUser": {"WS WS connect + subscribe"},
    "PatientUser": {"GET /t/[token]", "GET /api/v1/public/tickets/[token]"},
    "ProviderUser": {"POST /api/v1/payments/invoices"},
}


@pytest.fixture(params=[ONE_BACKEND])
def backend(request) -> str:
    """The load is the same on either database; their rules are tested elsewhere on both."""
    return request.param


def test_a_short_load_run_keeps_the_thresholds_with_every_kind_of_user(
    app, runtime, live_server, worker, tmp_path
):
    from clinic.accounts import users

    # As in production (the compose stack the workflow loads over plain HTTP): the session
    # cookie is Secure, and the locustfile's sign-in must still work.
    app.config["SESSION_COOKIE_SECURE"] = True
    password = "Load-" + secrets.token_urlsafe(18)
    with runtime.db.transaction() as s:
        users.create_user(s, username="load-admin", password=password, roles=["admin"])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LOAD_")},
        "LOAD_ADMIN_USER": "load-admin",
        "LOAD_ADMIN_PASSWORD": password,
        "LOAD_PAYME_KEY": PAYME_KEY,
        "LOAD_DOCTORS": "2",
        # The same rules as the full run, with a wider latency limit: here each request type
        # has a handful of samples, so its p95 is its slowest answer, on a shared 2-core
        # machine running other suites beside a threaded development server. The limit
        # catches a stall (a lock never released, a socket never served); the 1 s promise
        # is measured over hundreds of samples by `make loadtest` and load-testing.yml.
        "LOAD_P95_LIMIT_MS": "5000",
    }
    report = tmp_path / "load"
    # Six users: the locust dispatcher's first six by weight hold one of each kind.
    result = subprocess.run(  # nosec B603 - a fixed command line
        [sys.executable, "-m", "locust", "-f", "loadtests/locustfile.py", "--headless",
         "--users", "6", "--spawn-rate", "6", "--run-time", "8s", "--host", live_server,
         "--csv", str(report), "--only-summary"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "thresholds kept" in result.stdout  # the locustfile judged the run
    with open(f"{report}_stats.csv", newline="") as f:
        counts = {
            f"{row['Type']} {row['Name']}": int(row["Request Count"])
            for row in csv.DictReader(f)
            if row["Name"] != "Aggregated"
        }
    for kind, names in REQUESTS_OF.items():
        assert any(counts.get(name) for name in names), (kind, counts)
    # Payme's three calls, and a call seen on the board, all answered (no failure: exit 0).
    for name in ("CheckPerformTransaction", "CreateTransaction", "PerformTransaction"):
        assert counts.get(f"POST /payments/payme {name}"), counts
    assert counts.get("WS WS call-next -> board"), counts
