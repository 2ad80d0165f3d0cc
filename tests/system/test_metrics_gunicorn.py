"""Under gunicorn with several workers, /metrics counts the requests of all of them (the
multiprocess folder set up by web/gunicorn_conf.py), whichever worker answers the scrape;
access lines carry the request id."""

from __future__ import annotations

import os
import re
import subprocess  # nosec B404 - starts our own web server
import sys
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ONE_BACKEND, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
REQUESTS_MADE = 20


@pytest.fixture(params=[ONE_BACKEND])
def backend(request) -> str:
    return request.param


@pytest.fixture
def gunicorn(settings, runtime, tmp_path):
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
        "WEB_CONCURRENCY": "2",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    argv = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "web/gunicorn_conf.py")]
    argv += ["--bind", f"127.0.0.1:{port}", "--graceful-timeout", "2", "web:create_app()"]
    with log.open("wb") as out:
        process = subprocess.Popen(  # nosec B603
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        # Generous: two workers booting on a loaded 2-core machine.
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-2000:]
            try:
                if requests.get(base + "/health/live", timeout=1).status_code == 200:
                    break
            except requests.RequestException:  # refused, or a worker still booting
                assert time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.1)
        yield base, log
    finally:
        process.terminate()
        process.wait(15)


def live_requests_counted(base: str) -> float:
    text = requests.get(base + "/metrics", timeout=5).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "clinic_http_requests_total"
        and sample.labels["endpoint"] == "/health/live"
    )


def test_every_worker_counts_into_one_total(gunicorn):
    base, log = gunicorn
    # The readiness probes of the fixture; one that timed out while a worker was booting is
    # still answered (and counted) a moment later: wait until the count stands still.
    already, deadline = None, time.monotonic() + 10
    while (counted := live_requests_counted(base)) != already and time.monotonic() < deadline:
        already = counted
        time.sleep(0.5)
    for _ in range(REQUESTS_MADE):
        # A new connection each time: both workers take some of them.
        assert requests.get(base + "/health/live", timeout=5).status_code == 200
    for _ in range(6):  # whichever worker answers the scrape
        assert live_requests_counted(base) == already + REQUESTS_MADE
    pids = set(re.findall(r"Booting worker with pid: (\d+)", log.read_text()))
    assert len(pids) == 2
    assert re.search(r'"GET /health/live HTTP/1.1" 200 .* request_id=[0-9a-f]{32}', log.read_text())
