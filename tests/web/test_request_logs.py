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
