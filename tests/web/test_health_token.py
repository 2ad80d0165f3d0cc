"""Readiness details go to operators: a monitor holding the health token sees them without
signing in; anyone else sees only which checks pass."""

from __future__ import annotations

import pytest

from tests.conftest import make_settings

TOKEN = "monitor-" + "t" * 32


@pytest.fixture
def settings(database_urls, backend, tmp_path, redis_prefix):
    if backend not in database_urls:
        pytest.skip(f"{backend} is not in TEST_DATABASES")
    return make_settings(
        database_urls[backend], tmp_path / "instance", redis_prefix, CLINIC_HEALTH_TOKEN=TOKEN
    )


def test_the_health_token_shows_the_details_and_a_wrong_one_does_not(app):
    anonymous = app.test_client()
    with_token = anonymous.get("/health/ready", headers={"X-Health-Token": TOKEN}).get_json()
    assert "depths" in with_token["checks"]["queues"]
    assert "unpublished" in with_token["checks"]["outbox"]
    for headers in ({}, {"X-Health-Token": TOKEN[:-1] + "x"}):
        body = anonymous.get("/health/ready", headers=headers).get_json()
        assert body["checks"] == {name: {"ok": c["ok"]} for name, c in with_token["checks"].items()}
