"""The image smoke script CI runs (.ci/smoke.py) passes against a real server, and says so."""

from __future__ import annotations

import subprocess  # nosec B404 - runs the repository's own script
import sys
from pathlib import Path

import pytest

from tests.conftest import ONE_BACKEND, PASSWORD

SMOKE = Path(__file__).resolve().parents[2] / ".ci" / "smoke.py"


@pytest.fixture(params=[ONE_BACKEND])
def backend(request) -> str:
    return request.param


def test_the_smoke_script_sees_an_issued_ticket_on_the_board_socket(
    app, live_server, make_user, worker
):
    # As in production: the session cookie is Secure, and the script reaches the web
    # container over plain HTTP from inside it.
    app.config["SESSION_COOKIE_SECURE"] = True
    make_user("admin", "smoke-admin")
    result = subprocess.run(  # nosec B603
        [sys.executable, str(SMOKE), live_server, "smoke-admin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "/health/ready 200" in result.stdout
    assert "ticket.issued seen on board:" in result.stdout
