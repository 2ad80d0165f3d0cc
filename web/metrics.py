"""``/metrics`` in the Prometheus text format, and the request figures behind it.

Two kinds of figure:

- per web process, counted as requests pass: requests and their latency per endpoint, open
  WebSocket connections. Under gunicorn with several workers they are summed over the workers
  through prometheus_client's multiprocess directory (``PROMETHEUS_MULTIPROC_DIR``, set up by
  web/gunicorn_conf.py), so a scrape answered by any one worker sees them all;
- shared, read when scraped: tasks by name and state (kept in Redis by the workers), Celery
  queue depths, the outbox backlog and its age, jobs waiting and running. Every web process
  reads the same truth, so these are never summed.

Who may scrape: with ``CLINIC_METRICS_TOKEN`` set, a caller sending it as the password of
HTTP basic auth (user ``metrics``); without it, only callers on this machine that did not come
through a proxy (no ``X-Forwarded-For``).
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import os
import time

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    request,
    request_finished,
    request_started,
)
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from clinic import metrics
from clinic.events import outbox_backlog
from web.errors import problem
from web.permissions import public
from workers.config import QUEUES

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)

# Up to 1 s in fine steps: the promise is every answer under one second.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "<unmatched>"
# A method is any token a caller likes: the rest are counted as one, or each caller could add
# series without end.
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
OTHER_METHOD = "other"

REQUESTS = Counter(
    "clinic_http_requests",
    "HTTP requests answered, by route, method and status",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "clinic_http_request_duration_seconds",
    "Time to answer an HTTP request, by route and method",
    ["endpoint", "method"],
    buckets=LATENCY_BUCKETS,
)
OPEN_SOCKETS = Gauge(
    "clinic_websocket_connections",
    "WebSocket connections open now",
    multiprocess_mode="livesum",
)


def _route() -> str:
    # The route's pattern, not the path: /api/v1/queues/<int:queue_id> is one series.
    return request.url_rule.rule if request.url_rule is not None else UNMATCHED


def _is_websocket() -> bool:
    return request.environ.get("HTTP_UPGRADE", "").lower() == "websocket"


def _request_started(sender, **_extra) -> None:
    g.metrics_started = time.perf_counter()


def _request_finished(sender, response, **_extra) -> None:
    started = g.get("metrics_started")
    if started is None or _is_websocket():
        return  # a socket's "request" lasts as long as the socket: counted by OPEN_SOCKETS
    route = _route()
    method = request.method if request.method in METHODS else OTHER_METHOD
    LATENCY.labels(route, method).observe(time.perf_counter() - started)
    REQUESTS.labels(route, method, str(response.status_code)).inc()


def _counting_sockets(view):
    @functools.wraps(view)
    def counted(*args, **kwargs):
        OPEN_SOCKETS.inc()
        try:
            return view(*args, **kwargs)
        finally:
            OPEN_SOCKETS.dec()

    return counted


class SharedFigures:
    """A collector reading, at each scrape, the figures every process shares."""

    def __init__(self, runtime) -> None:
        self.runtime = runtime

    def collect(self):
        up = GaugeMetricFamily(
            "clinic_dependency_up",
            "1 when the figures from this dependency could be read at this scrape",
            labels=["dependency"],
        )
        yield from self._from_redis(up)
        yield from self._from_database(up)
        yield up

    def _from_redis(self, up):
        redis, prefix = self.runtime.redis, self.runtime.settings.redis_prefix
        try:
            depths = metrics.queue_depths(redis, prefix, QUEUES)
            counts = metrics.task_counts(redis, prefix)
        except Exception as exc:  # a scrape reports the outage rather than failing
            log.warning("metrics: Redis unreadable: %s", exc)
            up.add_metric(["redis"], 0)
            return
        up.add_metric(["redis"], 1)
        queue_depth = GaugeMetricFamily(
            "clinic_queue_depth", "Tasks waiting in each Celery queue", labels=["queue"]
        )
        for queue, depth in depths.items():
            queue_depth.add_metric([queue], depth)
        tasks = CounterMetricFamily(
            "clinic_tasks",
            "Tasks by name and state, counted by the workers",
            labels=["task", "state"],
        )
        for (task, state), count in sorted(counts.items()):
            tasks.add_metric([task, state], count)
        yield queue_depth
        yield tasks

    def _from_database(self, up):
        try:
            with self.runtime.db.session() as session:
                unpublished, oldest_age = outbox_backlog(session)
                jobs = metrics.jobs_by_status(session)
        except Exception as exc:
            log.warning("metrics: database unreadable: %s", exc)
            up.add_metric(["database"], 0)
            return
        up.add_metric(["database"], 1)
        yield GaugeMetricFamily(
            "clinic_outbox_unpublished", "Events not yet published to Redis", value=unpublished
        )
        yield GaugeMetricFamily(
            "clinic_outbox_lag_seconds",
            "Age of the oldest unpublished event (0 when none waits)",
            value=oldest_age or 0.0,
        )
        family = GaugeMetricFamily("clinic_jobs", "Jobs waiting and running", labels=["status"])
        for status, count in jobs.items():
            family.add_metric([status], count)
        yield family


def _process_registry():
    """This process's own figures, or every web worker's when gunicorn runs several."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _is_local_direct_call() -> bool:
    # ProxyFix may have replaced REMOTE_ADDR with the client's: keep the peer's own address.
    original = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR")
    try:
        peer = ipaddress.ip_address(original or request.remote_addr or "")
    except ValueError:
        return False
    return peer.is_loopback and "X-Forwarded-For" not in request.headers


METRICS_USER = "metrics"


def _may_scrape() -> bool:
    token = current_app.extensions["clinic"].settings.metrics_token
    if not token:
        return _is_local_direct_call()
    auth = request.authorization
    basic = auth is not None and auth.type == "basic"
    given = f"{auth.username or ''}:{auth.password or ''}" if basic else ""
    # User ``metrics`` (docs/operations.md), compared with the password in one constant-time
    # comparison.
    return hmac.compare_digest(given.encode(), f"{METRICS_USER}:{token}".encode())


@bp.get("/metrics")
@public  # guarded below: by the metrics token, or to direct calls from this machine
def scrape():
    """The Prometheus exposition of this system's figures."""
    if not _may_scrape():
        response = problem(401, "Unauthorized", "metrics need the metrics token")
        response.headers["WWW-Authenticate"] = 'Basic realm="metrics"'
        abort(response)
    shared = CollectorRegistry()
    shared.register(SharedFigures(current_app.extensions["clinic"]))
    body = generate_latest(_process_registry()) + generate_latest(shared)
    return Response(body, content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Count every request and every open socket of ``app``; serve ``/metrics``.

    Call after the WebSocket routes are registered: their views get wrapped to count sockets.
    """
    request_started.connect(_request_started, app)
    request_finished.connect(_request_finished, app)
    for rule in app.url_map.iter_rules():
        if getattr(rule, "websocket", False):
            app.view_functions[rule.endpoint] = _counting_sockets(app.view_functions[rule.endpoint])
    app.register_blueprint(bp)
