"""Who may read /metrics, and what a scrape says when a dependency cannot be read."""

from __future__ import annotations

import dataclasses
import types

import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.conftest import ONE_BACKEND
from web.metrics import SharedFigures


@pytest.fixture(params=[ONE_BACKEND])
def backend(request) -> str:
    """Access rules do not depend on the database."""
    return request.param


@pytest.fixture
def metrics_token(runtime, monkeypatch):
    token = "metrics-token-for-tests"
    replaced = dataclasses.replace(runtime.settings, metrics_token=token)
    monkeypatch.setattr(runtime, "settings", replaced)
    return token


def test_metrics_with_a_token_need_it_as_the_basic_auth_password(anon_client, metrics_token):
    assert anon_client.get("/metrics").status_code == 401
    wrong = anon_client.get("/metrics", auth=("metrics", "not-the-token"))
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Basic")
    bearer = anon_client.get("/metrics", headers={"Authorization": "Token " + metrics_token})
    assert bearer.status_code == 401
    # User ``metrics``, as docs/operations.md and its Prometheus example say: the token
    # under another name opens nothing.
    assert anon_client.get("/metrics", auth=("prometheus", metrics_token)).status_code == 401
    assert anon_client.get("/metrics", auth=("metrics", metrics_token)).status_code == 200


def test_metrics_without_a_token_answer_only_direct_local_callers(anon_client):
    assert anon_client.get("/metrics").status_code == 200
    proxied = anon_client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 401
    remote = anon_client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert remote.status_code == 401
    garbled = anon_client.get("/metrics", environ_base={"REMOTE_ADDR": "not-an-address"})
    assert garbled.status_code == 401


def _exposition(source) -> str:
    registry = CollectorRegistry()
    registry.register(SharedFigures(source))
    return generate_latest(registry).decode()


def test_a_scrape_reports_redis_it_cannot_read_instead_of_failing(runtime):
    dead = redis.Redis(port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    body = _exposition(types.SimpleNamespace(redis=dead, settings=runtime.settings, db=runtime.db))
    assert 'clinic_dependency_up{dependency="redis"} 0.0' in body
    assert 'clinic_dependency_up{dependency="database"} 1.0' in body
    assert "clinic_queue_depth" not in body and "clinic_outbox_unpublished 0.0" in body


def test_a_scrape_reports_a_database_it_cannot_read_instead_of_failing(runtime):
    broken = types.SimpleNamespace(session=lambda: (_ for _ in ()).throw(OSError("gone")))
    body = _exposition(
        types.SimpleNamespace(redis=runtime.redis, settings=runtime.settings, db=broken)
    )
    assert 'clinic_dependency_up{dependency="database"} 0.0' in body
    assert 'clinic_dependency_up{dependency="redis"} 1.0' in body
    assert "clinic_outbox_unpublished" not in body and "clinic_queue_depth{" in body
