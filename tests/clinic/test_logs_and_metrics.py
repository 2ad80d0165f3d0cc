"""The log format of each environment, and the shared figures behind /metrics."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from clinic import jobs, metrics
from clinic.logs import (
    bind_request_id,
    configure_logging,
    current_request_id,
    log_format,
    reset_request_id,
)
from clinic.settings import ConfigError, Settings


@pytest.fixture
def restore_root_logger():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    root.handlers, root.level = saved


def _settings(tmp_path, **env) -> Settings:
    base = {"CLINIC_INSTANCE": str(tmp_path), "SECRET_KEY": "x" * 40}
    return Settings.from_env({**base, **env})


def test_production_logs_json_and_development_readable_lines(tmp_path):
    assert log_format(_settings(tmp_path, CLINIC_ENV="test")) == "text"
    production = {
        "CLINIC_ENV": "production",
        "DATABASE_URL": "postgresql://db/clinic",
        "REDIS_URL": "redis://redis:6379/0",
        "FLOWER_BASIC_AUTH": "admin:long-flower-password",
        "CLINIC_PUBLIC_URL": "https://clinic.example.uz",
    }
    assert log_format(_settings(tmp_path, **production)) == "json"
    assert log_format(_settings(tmp_path, CLINIC_ENV="test", CLINIC_LOG_FORMAT="JSON")) == "json"
    with pytest.raises(ConfigError, match="CLINIC_LOG_FORMAT"):
        _settings(tmp_path, CLINIC_LOG_FORMAT="xml")


def test_a_readable_line_names_the_request(tmp_path, restore_root_logger):
    buffer = io.StringIO()
    configure_logging(_settings(tmp_path, CLINIC_ENV="test"), stream=buffer)
    token = bind_request_id("req-abcdef12")
    try:
        assert current_request_id() == "req-abcdef12"
        logging.getLogger("clinic.test").warning("one line")
        logging.getLogger("clinic.test").warning("own id", extra={"request_id": "req-given"})
    finally:
        reset_request_id(token)
    assert current_request_id() == "-"
    first, second = buffer.getvalue().splitlines()
    assert first.endswith("WARNING clinic.test [req-abcdef12] one line")
    assert "[req-given] own id" in second


def test_without_a_stream_lines_go_to_the_stderr_of_the_moment(
    tmp_path, restore_root_logger, monkeypatch
):
    handler = configure_logging(_settings(tmp_path, CLINIC_LOG_FORMAT="json"))
    handler.stream = io.StringIO()  # ignored: always the current stderr
    later = io.StringIO()
    monkeypatch.setattr(sys, "stderr", later)
    logging.getLogger("clinic.test").info("to stderr")
    assert json.loads(later.getvalue())["message"] == "to stderr"


class FakeRedisHash:
    """Only for the decoding rule: a real Redis answers bytes, a decoding client str."""

    def __init__(self, fields) -> None:
        self.fields = fields

    def hgetall(self, key):
        return self.fields


def test_task_counts_read_back_by_name_and_state(runtime):
    prefix = runtime.settings.redis_prefix
    metrics.record_task_state(runtime.redis, prefix, "imports.price_list", "started")
    metrics.record_task_state(runtime.redis, prefix, "imports.price_list", "started")
    metrics.record_task_state(runtime.redis, prefix, "imports.price_list", "failed")
    assert metrics.task_counts(runtime.redis, prefix) == {
        ("imports.price_list", "started"): 2,
        ("imports.price_list", "failed"): 1,
    }
    decoded = FakeRedisHash({"events.republish|succeeded": "3"})
    assert metrics.task_counts(decoded, prefix) == {("events.republish", "succeeded"): 3}


def test_queue_depths_are_the_lengths_of_the_celery_lists(runtime):
    prefix = runtime.settings.redis_prefix
    runtime.redis.rpush(metrics.celery_queue_key(prefix, "reports"), "a", "b")
    assert metrics.queue_depths(runtime.redis, prefix, ("default", "reports")) == {
        "default": 0,
        "reports": 2,
    }


def test_jobs_by_status_counts_waiting_and_running_only(runtime):
    with runtime.db.transaction() as s:
        assert metrics.jobs_by_status(s) == {"queued": 0, "running": 0}
        for _ in range(2):
            jobs.create_job(s, kind="test", task_name="t.none", queue="default")
    with runtime.db.transaction() as s:
        assert metrics.jobs_by_status(s) == {"queued": 2, "running": 0}
