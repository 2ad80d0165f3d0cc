"""Redis or the database down: every answer is a 503 problem with ``Retry-After``, never a 500;
and public readiness says which check failed, not where or why (that is for operators)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from clinic.accounts.tokens import TOKEN_PREFIX
from clinic.base import utcnow
from clinic.runtime import Runtime
from tests.conftest import ClinicClient, _create_user, free_port, make_settings, wipe

PROBLEM = "application/problem+json"


def _app(settings):
    from web import create_app

    runtime = Runtime(settings)
    application = create_app(runtime=runtime)
    application.config["TESTING"] = True
    application.test_client_class = ClinicClient
    return runtime, application


def _unavailable(response) -> None:
    assert response.status_code == 503, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == PROBLEM
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["status"] == 503


@pytest.fixture
def redis_down_app(database_urls, backend, tmp_path, redis_prefix, private_redis):
    settings = make_settings(
        database_urls[backend], tmp_path / "instance", redis_prefix, REDIS_URL=private_redis.url
    )
    runtime, application = _app(settings)
    wipe(runtime)
    _, name = _create_user(runtime, "registrar")
    yield runtime, application, name, private_redis
    runtime.close()


def test_with_redis_down_the_api_answers_503_with_retry_after(redis_down_app):
    runtime, application, name, server = redis_down_app
    client = application.test_client()
    client.sign_in(name)
    server.stop()

    _unavailable(client.get("/api/v1/session/csrf"))
    _unavailable(client.get("/api/v1/queues"))
    response = client.post(
        "/api/v1/session", json={"username": name, "password": "x"}, headers={"X-CSRFToken": "x"}
    )
    _unavailable(response)
    page = client.get("/login", headers={"Accept": "text/html"})
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert client.get("/health/live").status_code == 200


def test_with_the_database_down_every_api_call_answers_503(tmp_path, redis_prefix):
    # A PostgreSQL URL on a port nobody listens on: every connection is refused.
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/clinic?connect_timeout=2"
    settings = make_settings(url, tmp_path / "instance", redis_prefix)
    runtime, application = _app(settings)
    client = application.test_client()
    assert client.get("/api/v1/session/csrf").status_code == 200  # needs no database
    _unavailable(client.post("/api/v1/session", json={"username": "amina", "password": "x"}))
    bearer = {"Authorization": f"Bearer {TOKEN_PREFIX}{'a' * 40}"}
    _unavailable(client.get("/api/v1/queues", headers=bearer))
    _unavailable(client.get("/api/v1/public/tickets/" + "t" * 43))
    runtime.close()


def test_public_readiness_shows_a_status_per_check_and_no_details(tmp_path, redis_prefix):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/clinic?connect_timeout=2"
    runtime, application = _app(make_settings(url, tmp_path / "instance", redis_prefix))
    response = application.test_client().get("/health/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["database"] == {"ok": False}
    assert set(body["checks"]) >= {"database", "redis", "worker", "outbox", "queues", "jobs"}
    for check in body["checks"].values():
        assert set(check) == {"ok"}, check
    assert "127.0.0.1" not in response.get_data(as_text=True)
    runtime.close()


def test_with_the_database_down_a_bearer_caller_still_gets_the_readiness_checks(
    tmp_path, redis_prefix
):
    # Who sends a token is looked up in the database before the view runs: that look-up
    # failing must not take the checks away, nor make the answer wait for a second attempt.
    url = "postgresql+psycopg://postgres@127.0.0.1:1/clinic?connect_timeout=2"
    monitor = "monitor-" + "t" * 32
    settings = make_settings(url, tmp_path / "instance", redis_prefix, CLINIC_HEALTH_TOKEN=monitor)
    runtime, application = _app(settings)
    attempts = []
    event.listen(runtime.db.engine, "do_connect", lambda *_args: attempts.append(1))
    client = application.test_client()
    bearer = {"Authorization": f"Bearer {TOKEN_PREFIX}{'a' * 40}"}

    response = client.get("/health/ready", headers=bearer)
    assert response.status_code == 503, response.get_data(as_text=True)
    checks = response.get_json()["checks"]
    assert checks["database"] == {"ok": False}
    assert set(checks) == {"database", "redis", "worker", "outbox", "queues", "jobs"}
    assert len(attempts) == 1

    detailed = client.get("/health/ready", headers={**bearer, "X-Health-Token": monitor})
    assert "127.0.0.1" in detailed.get_json()["checks"]["database"]["error"]
    assert client.get("/health/live", headers=bearer).status_code == 200
    runtime.close()


def test_operators_see_readiness_details(app, client, role_tokens):
    detailed = client.get("/health/ready").get_json()
    assert "ms" in detailed["checks"]["database"]
    assert "depths" in detailed["checks"]["queues"]
    registrar = {"Authorization": f"Bearer {role_tokens['registrar']}"}
    plain = client.application.test_client().get("/health/ready", headers=registrar).get_json()
    assert set(plain["checks"]["queues"]) == {"ok"}


def test_readiness_reports_a_job_running_past_its_limit(runtime, app, client):
    from clinic.jobs.service import claim_job, create_job

    with runtime.db.transaction() as s:
        job = create_job(s, kind="test", task_name="tests.stuck")
        claim_job(s, job.id, stale_seconds=60)
        job.started_at = utcnow() - timedelta(seconds=runtime.settings.job_time_limit + 5)
    public = client.application.test_client().get("/health/ready")
    assert public.status_code == 503
    assert public.get_json()["checks"]["jobs"] == {"ok": False}
    detailed = client.get("/health/ready").get_json()["checks"]["jobs"]
    assert detailed["oldest_running_s"] > runtime.settings.job_time_limit


def test_the_outage_log_lines_do_not_show_a_patients_ticket_secret(redis_down_app, caplog):
    runtime, application, _name, server = redis_down_app
    secret = "PatientTicketSecret0123456789"
    client = application.test_client()
    server.stop()
    for path in (f"/t/{secret}", f"/api/v1/public/tickets/{secret}"):
        assert client.get(path).status_code == 503
    assert "a dependency is unavailable on GET /t/[redacted]" in caplog.text
    assert secret not in caplog.text
