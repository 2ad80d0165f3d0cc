"""Log lines carry the request id: in the web request, and in the task the request enqueued."""

from __future__ import annotations

import io
import json
import logging
import time

import pytest

from clinic.logs import bind_request_id, configure_logging, reset_request_id
from web.permissions import public


@pytest.fixture
def log_lines(settings):
    """The process configured for JSON lines into a buffer; the root logger restored after."""
    import dataclasses

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging(dataclasses.replace(settings, log_format="json"), stream=buffer)

    def lines() -> list[dict]:
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    yield lines
    root.handlers, root.level = saved[0], saved[1]


@pytest.mark.own_app  # adds a route of its own
def test_a_line_logged_while_serving_a_request_names_the_request(app, log_lines):
    def noisy():
        logging.getLogger("clinic.test").info("serving the test view")
        return "ok"

    app.add_url_rule("/test/noisy", view_func=public(noisy))
    response = app.test_client().get("/test/noisy", headers={"X-Request-ID": "req-0123456789"})
    assert response.headers["X-Request-ID"] == "req-0123456789"
    logging.getLogger("clinic.test").info("after the request")
    by_message = {line["message"]: line for line in log_lines()}
    assert by_message["serving the test view"]["request_id"] == "req-0123456789"
    assert by_message["serving the test view"]["level"] == "INFO"
    assert by_message["after the request"]["request_id"] == "-"


def test_a_task_logs_with_the_id_of_the_request_that_enqueued_it(celery_app, worker, log_lines):
    token = bind_request_id("req-task-0042")
    try:
        # An unknown job: the task says so in its log and stops.
        celery_app.send_task("imports.price_list", kwargs={"job_id": "no-such-job"})
    finally:
        reset_request_id(token)
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in log_lines() if "no-such-job" in line["message"]]
        if lines:
            break
        assert time.monotonic() < deadline, "the task logged nothing"
        time.sleep(0.05)
    assert lines[0]["request_id"] == "req-task-0042"
    assert lines[0]["name"] == "tasks.base"


@pytest.fixture
def saved_root_logger():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield root
    root.handlers, root.level = saved


def _load_gunicorn_conf():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "web" / "gunicorn_conf.py"
    spec = importlib.util.spec_from_file_location("clinic_gunicorn_conf", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("entry_point", ["gunicorn worker", "celery worker or beat"])
def test_each_process_entry_point_logs_json_lines_with_the_request_id(
    entry_point, saved_root_logger, monkeypatch, tmp_path, capfd
):
    from workers.observability import _configure_process_logging

    monkeypatch.setenv("CLINIC_LOG_FORMAT", "json")
    monkeypatch.setenv("CLINIC_INSTANCE", str(tmp_path))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prometheus"))
    if entry_point == "gunicorn worker":
        _load_gunicorn_conf().post_worker_init(worker=None)
    else:
        _configure_process_logging()
    token = bind_request_id("req-entry-0001")
    try:
        logging.getLogger("clinic.test").warning("from %s", entry_point)
    finally:
        reset_request_id(token)
    # At the file descriptor: a worker writes to the process's own stderr (sys.__stderr__).
    line = json.loads(capfd.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == f"from {entry_point}" and line["request_id"] == "req-entry-0001"
