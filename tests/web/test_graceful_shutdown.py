"""Stopping the web server (docker stop, a deploy) under gunicorn: open WebSockets are closed
at once with 1001 "going away", so the server stops in a moment instead of holding every
socket, and the port, for the whole graceful timeout."""

from __future__ import annotations

import os
import signal
import subprocess  # nosec B404 - starts our own web server
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ONE_BACKEND, free_port
from tests.wsclient import WSClient

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
GRACEFUL_TIMEOUT = 30
GOING_AWAY = 1001


@pytest.fixture(params=[ONE_BACKEND])
def backend(request) -> str:
    return request.param


def test_a_stopping_server_closes_its_websockets_and_exits_at_once(
    settings, runtime, admin_token, tmp_path
):
    port = free_port()
    log = tmp_path / "web.log"
    env = {
        **os.environ,
        "CLINIC_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "CLINIC_INSTANCE": str(settings.instance_path),
        "CLINIC_REDIS_PREFIX": settings.redis_prefix,
        "SECRET_KEY": settings.secret_key,
        "WEB_CONCURRENCY": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    argv = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "web/gunicorn_conf.py")]
    argv += ["--bind", f"127.0.0.1:{port}", "--graceful-timeout", str(GRACEFUL_TIMEOUT)]
    with log.open("wb") as out:
        process = subprocess.Popen(  # nosec B603
            [*argv, "web:create_app()"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-2000:]
            try:
                if requests.get(base + "/health/live", timeout=1).status_code == 200:
                    break
            except requests.RequestException:  # a worker still booting
                assert time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.1)
        client = WSClient(base, token=admin_token)
        stopped_at = time.monotonic()
        process.send_signal(signal.SIGTERM)  # what docker stop sends
        assert client.wait_closed(timeout=10) == GOING_AWAY
        process.wait(10)
        assert time.monotonic() - stopped_at < 10, log.read_text()[-2000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
