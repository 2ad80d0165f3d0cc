"""Health: liveness always; readiness checks every dependency and says which one failed."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

from sqlalchemy import update

from clinic.events import record_event
from clinic.models import OutboxEvent, utcnow
from clinic.runtime import Runtime
from tests.conftest import make_settings
from tests.races import wait_for


def test_live_answers_without_dependencies(client):
    response = client.get("/health/live")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_ready_is_200_with_a_worker_answering(client, worker):
    response = client.get("/health/ready")
    body = response.get_json()
    assert response.status_code == 200, body
    assert set(body["checks"]) == {"database", "redis", "worker", "outbox", "queues", "jobs"}
    assert body["checks"]["worker"]["workers"]
    assert set(body["checks"]["queues"]["depths"]) == {
        "default",
        "payments",
        "printing",
        "reports",
        "visits",
    }


def test_ready_is_503_and_names_the_worker_when_none_answers(client):
    response = client.get("/health/ready")
    body = response.get_json()
    assert response.status_code == 503
    assert body["checks"]["worker"]["ok"] is False
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]


def _ready_with_a_worker_on(client, celery_app, runtime, queues):
    from tasks.base import configure_runtime
    from tests.embedded_worker import embedded_worker

    configure_runtime(runtime)
    with embedded_worker(
        celery_app, runtime.redis, pool="threads", concurrency=1, perform_ping_check=False,
        queues=queues, loglevel="WARNING",
    ):  # fmt: skip
        # Started is not yet listening for broadcasts: the probe asks once it answers one
        # (the first answer ends the ping, which would otherwise wait out its timeout).
        ping = celery_app.control.ping
        wait_for(lambda: ping(timeout=0.5, limit=1), what="the worker's answer")
        response = client.get("/health/ready")
    return response.status_code, response.get_json()["checks"]["worker"]


def test_ready_is_503_and_names_the_queues_no_worker_consumes(client, celery_app, runtime):
    """A worker answering is not enough: the one answering may be the printing worker inside
    the clinic (docs/printing.md), with the server's workers gone and nothing paid, mailed or
    built."""
    status, worker = _ready_with_a_worker_on(client, celery_app, runtime, ["printing"])
    assert status == 503, worker
    assert worker["ok"] is False and worker["workers"]
    assert worker["queues_without_worker"] == ["default", "payments", "reports", "visits"]


def test_ready_names_the_printing_queue_without_a_worker_and_stays_200(client, celery_app, runtime):
    """The clinic's printing machine switched off for the night: the system still serves (the
    browser prints the tickets), so a deploy's gate does not roll back for it."""
    others = ["default", "payments", "reports", "visits"]
    status, worker = _ready_with_a_worker_on(client, celery_app, runtime, others)
    assert status == 200, worker
    assert worker["ok"] is True and worker["queues_without_worker"] == ["printing"]


def test_ready_reports_an_old_unpublished_event(runtime, client, worker):
    s = runtime.db.session()
    s.info["clinic.bus"] = None  # committed but never published
    record_event(s, "job:stuck", "test.tick", {})
    s.commit()
    s.execute(update(OutboxEvent).values(created_at=utcnow() - timedelta(minutes=5)))
    s.commit()
    s.close()
    body = client.get("/health/ready").get_json()
    assert body["checks"]["outbox"]["ok"] is False
    assert body["checks"]["outbox"]["unpublished"] == 1
    assert body["checks"]["outbox"]["oldest_age_s"] >= 299


def _ready(client):
    """``/health/ready``: its status, its checks and how long it took to answer."""
    started = time.monotonic()
    response = client.get("/health/ready")
    return response.status_code, response.get_json()["checks"], time.monotonic() - started


def test_with_redis_down_ready_answers_503_at_once_naming_redis_and_live_stays_200(
    database_urls, backend, tmp_path, redis_prefix, private_redis
):
    # Nothing can reach a worker without the broker: asking would only hold the answer for
    # the broker's reconnection attempts (six seconds, longer than the deploy's probe waits).
    from web import create_app

    settings = make_settings(
        database_urls[backend], tmp_path / "instance", redis_prefix, REDIS_URL=private_redis.url
    )
    runtime = Runtime(settings)
    client = create_app(runtime=runtime).test_client()
    private_redis.stop()
    status, checks, elapsed = _ready(client)
    assert status == 503
    assert checks["redis"] == {"ok": False} and checks["worker"] == {"ok": False}
    assert checks["database"] == {"ok": True}
    # Not a speed figure: within the deploy's 5 s probe, where asking the workers took 6 s.
    assert elapsed < 5, elapsed
    assert client.get("/health/live").status_code == 200
    runtime.close()


def test_with_postgresql_silent_ready_answers_503_in_time_naming_the_database(
    tmp_path, redis_prefix
):
    # A server that takes the connection and never answers (a paused container, a host whose
    # packets are dropped): without a connect timeout each check would wait for good.
    from web import create_app

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    try:
        url = f"postgresql+psycopg://clinic@127.0.0.1:{port}/clinic"
        runtime = Runtime(make_settings(url, tmp_path / "instance", redis_prefix))
        client = create_app(runtime=runtime).test_client()
        status, checks, elapsed = _ready(client)
        assert status == 503
        assert checks["database"] == {"ok": False} and checks["redis"] == {"ok": True}
        assert elapsed < 9, elapsed  # within the deploy's and `clinic check`'s probes
        assert client.get("/health/live").status_code == 200
        runtime.close()
    finally:
        silent.close()
