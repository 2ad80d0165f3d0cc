"""``clinic check URL``: healthy, each failing check, and a server that does not answer."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from clinic.events import record_event
from clinic.models import OutboxEvent, utcnow
from tests.conftest import ONE_BACKEND, free_port
from web.cli.check import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, _check_passes, check_command


@pytest.fixture(params=[ONE_BACKEND])
def backend(request) -> str:
    """The command watches HTTP answers; the database behind them does not matter here."""
    return request.param


@pytest.fixture
def webhook():
    """A tiny HTTP server standing in for the alert webhook; keeps every JSON body posted."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    server.received = received
    server.url = f"http://127.0.0.1:{server.server_port}/hook"
    yield server
    server.shutdown()
    thread.join(5)


def check(url: str, *options: str):
    # The latency limit is the latency test's subject; elsewhere a loaded machine must not
    # turn a slow answer into a failure the test is not about (a later option wins).
    result = CliRunner().invoke(check_command, [url, "--max-latency", "60", *options])
    failing = {
        line[6:].split(":", 1)[0] for line in result.output.splitlines() if line.startswith("FAIL")
    }
    return result, failing


def test_a_healthy_system_passes_every_check_and_alerts_nobody(live_server, worker, webhook):
    result, failing = check(live_server, "--webhook", webhook.url)
    assert result.exit_code == EXIT_OK, result.output
    assert failing == set()
    for name in ("ready", "workers", "queues", "outbox", "latency /health/live"):
        assert f"ok    {name}" in result.output
    assert webhook.received == []


def test_no_worker_fails_readiness_and_workers_and_tells_the_webhook(live_server, webhook):
    result, failing = check(live_server, "--webhook", webhook.url)
    assert result.exit_code == EXIT_FAILED
    assert failing == {"ready", "workers"}
    assert "failing: worker" in result.output
    [alert] = webhook.received
    assert {f["check"] for f in alert["failures"]} == {"ready", "workers"}
    assert alert["url"] == live_server and "2 failing" in alert["text"]


def test_a_deep_queue_fails_the_queue_check(live_server, celery_app):
    for _ in range(3):
        celery_app.send_task("events.republish", queue="reports")
    result, failing = check(live_server, "--max-queue-depth", "2")
    assert "queues" in failing and "deeper than 2: reports 3" in result.output


def test_an_old_unpublished_event_fails_the_outbox_check(live_server, runtime):
    s = runtime.db.session()
    s.info["clinic.bus"] = None  # committed but never published
    record_event(s, "job:stuck", "test.tick", {})
    s.commit()
    s.execute(update(OutboxEvent).values(created_at=utcnow() - timedelta(minutes=5)))
    s.commit()
    s.close()
    result, failing = check(live_server)
    assert "outbox" in failing and "(limit 30 s)" in result.output


def test_a_slow_or_failing_endpoint_fails_its_latency_check(live_server):
    result, failing = check(
        live_server, "--max-latency", "0", "--endpoint", "/health/live", "--endpoint", "/nowhere"
    )
    assert {"latency /health/live", "latency /nowhere"} <= failing
    assert "latency /nowhere: HTTP 404" in result.output


def test_metrics_refused_without_the_token_fail_the_metrics_check(
    live_server, runtime, monkeypatch
):
    secured = dataclasses.replace(runtime.settings, metrics_token="the-metrics-token")
    monkeypatch.setattr(runtime, "settings", secured)
    result, failing = check(live_server, "--metrics-token", "wrong")
    assert "metrics" in failing and "HTTP 401" in result.output
    result, failing = check(live_server, "--metrics-token", "the-metrics-token")
    assert "metrics" not in failing and "queues" not in failing


def test_an_unreachable_server_exits_3_and_tells_the_webhook(webhook):
    result, failing = check(f"http://127.0.0.1:{free_port()}", "--webhook", webhook.url)
    assert result.exit_code == EXIT_UNREACHABLE
    assert failing == {"reachable"}
    assert webhook.received[0]["failures"][0]["check"] == "reachable"


def test_an_unreachable_webhook_is_reported_but_the_failure_stands():
    dead = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(check_command, [dead, "--webhook", dead + "/hook"])
    assert result.exit_code == EXIT_UNREACHABLE
    assert "could not notify the webhook" in result.output


@pytest.mark.parametrize(
    "entry, passes",
    [
        ({"ok": True, "ms": 1.0}, True),
        ({"ok": False, "error": "down"}, False),
        ({"status": "ok"}, True),
        ({"status": "fail"}, False),
        ("ok", True),
        ("unavailable", False),
    ],
)
def test_readiness_entries_are_read_in_full_or_as_a_bare_status(entry, passes):
    assert _check_passes(entry) is passes


@pytest.fixture
def fake_system():
    """A server answering every GET with a body chosen per path (200), HTML by default."""
    bodies: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = bodies.get(self.path, b"<html><body>{maintenance}</body></html>")
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    server.bodies = bodies
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    thread.join(5)


def test_metrics_not_in_the_prometheus_format_fail_the_metrics_check_and_alert(
    fake_system, webhook
):
    fake_system.bodies["/health/ready"] = b'{"status": "ok", "checks": {"worker": {"ok": true}}}'
    result, failing = check(fake_system.url, "--webhook", webhook.url)
    assert result.exit_code == EXIT_FAILED, result.output
    assert failing == {"metrics"}
    assert "did not answer in the Prometheus text format" in result.output
    assert [f["check"] for f in webhook.received[0]["failures"]] == ["metrics"]


def test_a_port_that_does_not_speak_http_counts_as_unreachable(webhook):
    listener = socket.create_server(("127.0.0.1", 0))

    def answer_garbage():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                conn.sendall(b"-ERR unknown command\r\n")

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    try:
        result, failing = check(
            f"http://127.0.0.1:{listener.getsockname()[1]}", "--webhook", webhook.url
        )
    finally:
        listener.close()
    assert result.exit_code == EXIT_UNREACHABLE, result.output
    assert failing == {"reachable"} and "no HTTP answer" in result.output
    assert webhook.received[0]["failures"][0]["check"] == "reachable"


@pytest.mark.parametrize(
    "url", ["http://[::1", "http://127.0.0.1:port/", "ftp://clinic.uz", "http://clinic .uz"]
)
def test_a_malformed_url_is_a_usage_error_not_a_crash(url):
    result = CliRunner().invoke(check_command, [url])
    assert result.exit_code == 2, (result.output, result.exception)
    assert "URL" in result.output


def test_a_malformed_endpoint_is_a_usage_error_before_any_probe(webhook):
    """Not exit 3 and an alert that the system is down: the system was never asked."""
    dead = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(
        check_command,
        [dead, "--endpoint", "/health/live", "--endpoint", "/log in", "--webhook", webhook.url],
    )
    assert result.exit_code == 2, (result.output, result.exception)
    assert "/log in" in result.output and webhook.received == []


@pytest.mark.parametrize(
    "hook", ["hooks.example.uz/services/the-webhook-secret", "http://[::1/the-webhook-secret"]
)
def test_a_webhook_that_cannot_be_used_is_reported_without_its_secret_address(hook):
    dead = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(check_command, [dead, "--webhook", hook])
    assert result.exit_code == EXIT_UNREACHABLE, (result.output, result.exception)
    assert "could not notify the webhook" in result.output
    assert "the-webhook-secret" not in result.output


def test_an_endpoint_given_without_its_leading_slash_is_timed_on_the_same_host(fake_system):
    fake_system.bodies["/health/live"] = b'{"status": "ok"}'
    result, failing = check(
        fake_system.url.replace("127.0.0.1", "localhost"), "--endpoint", "health/live"
    )
    assert "ok    latency /health/live" in result.output, result.output
    assert "latency /health/live" not in failing and "reachable" not in failing


def test_a_queue_without_a_worker_is_named_by_the_workers_check(fake_system):
    fake_system.bodies["/health/ready"] = json.dumps(
        {"status": "unavailable", "checks": {"worker": {
            "ok": False, "workers": ["celery@server"], "queues_without_worker": ["printing"]
        }}}
    ).encode()  # fmt: skip
    result, failing = check(fake_system.url)
    assert result.exit_code == EXIT_FAILED, result.output
    assert {"ready", "workers"} <= failing
    assert "no Celery worker consumes printing" in result.output
