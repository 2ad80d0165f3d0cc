"""/metrics: Prometheus figures for requests, sockets, queues, tasks, the outbox and jobs."""

from __future__ import annotations

import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.wsclient import WSClient


def scrape(base_url: str, **kwargs) -> dict:
    """{(sample name, sorted labels): value} of one scrape."""
    response = requests.get(base_url + "/metrics", timeout=10, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(figures: dict, name: str, **labels) -> float | None:
    return figures.get((name, tuple(sorted(labels.items()))))


def sockets_open(base_url: str) -> float:
    return value(scrape(base_url), "clinic_websocket_connections")


def test_metrics_show_requests_queue_depths_sockets_outbox_and_jobs(
    live_server, celery_app, admin_token
):
    assert requests.get(live_server + "/health/live", timeout=5).status_code == 200
    # No worker runs in this test: the task waits in its queue.
    celery_app.send_task("events.republish", queue="reports")
    before = sockets_open(live_server)
    ws = WSClient(live_server, token=admin_token)
    try:
        figures = scrape(live_server)
        assert value(figures, "clinic_websocket_connections") == before + 1
    finally:
        ws.ws.close()
    route = {"endpoint": "/health/live", "method": "GET"}
    assert value(figures, "clinic_http_requests_total", status="200", **route) >= 1
    assert value(figures, "clinic_http_request_duration_seconds_count", **route) >= 1
    assert value(figures, "clinic_http_request_duration_seconds_bucket", le="1.0", **route) >= 1
    assert value(figures, "clinic_queue_depth", queue="reports") == 1
    assert value(figures, "clinic_queue_depth", queue="default") == 0
    assert value(figures, "clinic_outbox_unpublished") == 0
    assert value(figures, "clinic_outbox_lag_seconds") == 0
    assert value(figures, "clinic_jobs", status="running") == 0
    assert value(figures, "clinic_dependency_up", dependency="redis") == 1
    assert value(figures, "clinic_dependency_up", dependency="database") == 1
    # The socket is counted out once the server has let it go.
    deadline = time.monotonic() + 5
    while sockets_open(live_server) != before:
        assert time.monotonic() < deadline, "the closed socket is still counted"
        time.sleep(0.05)


def test_metrics_count_tasks_by_name_and_state(live_server, celery_app, worker):
    celery_app.send_task("events.republish")
    deadline = time.monotonic() + 10
    while True:
        figures = scrape(live_server)
        done = value(figures, "clinic_tasks_total", task="events.republish", state="succeeded")
        if done == 1:
            break
        assert time.monotonic() < deadline, "the task never showed as succeeded"
        time.sleep(0.05)
    assert value(figures, "clinic_tasks_total", task="events.republish", state="started") == 1


def test_a_made_up_http_method_adds_no_series_of_its_own(app):
    # Any token is a method to HTTP: counted under its own name, each caller could add
    # series without end to every scrape (and to the multiprocess files behind them).
    from web.metrics import LATENCY, REQUESTS

    client = app.test_client()
    for method in ("BREW", "PROPFIND-" + "x" * 40):
        assert client.open("/health/live", method=method).status_code in (404, 405)
    methods = {
        sample.labels["method"]
        for family in (*REQUESTS.collect(), *LATENCY.collect())
        for sample in family.samples
    }
    assert "BREW" not in methods and not any(m.startswith("PROPFIND") for m in methods)
    assert "other" in methods
