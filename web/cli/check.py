"""``clinic check URL``: is the system at URL serving, from the outside, the way cron or CI sees it.

It probes ``/health/ready`` (database, Redis, a worker on every queue, ...), reads queue depths and
the outbox lag from ``/metrics``, and times the key endpoints. Every failure is printed and,
when a webhook is configured, posted to it as JSON (``{"text": ..., "failures": [...]}``,
which Slack- and Mattermost-style incoming webhooks display as is).

Exit codes: 0 every check passed; 1 at least one failed; 3 the server could not be reached (or
what answers does not speak HTTP); 2 a malformed URL or option.
It needs nothing but the URL: no database, no settings of the system it watches.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import click
from prometheus_client.parser import text_string_to_metric_families

EXIT_OK, EXIT_FAILED, EXIT_UNREACHABLE = 0, 1, 3
KEY_ENDPOINTS = ("/health/live", "/login", "/api/openapi.json")
USER_AGENT = "clinic-check"
# http.client refuses these anywhere in a URL; refused there, a typo would read as an outage.
_UNSENDABLE = re.compile(r"[\x00-\x20\x7f]")


class Unreachable(Exception):
    """No HTTP answer at all: refused, timed out, or no such host."""


@dataclass
class Report:
    url: str
    passed: list[str] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    unreachable: bool = False

    def ok(self, check: str, detail: str = "") -> None:
        self.passed.append(f"{check}: {detail}" if detail else check)

    def fail(self, check: str, detail: str) -> None:
        self.failures.append({"check": check, "detail": detail})

    @property
    def exit_code(self) -> int:
        if self.unreachable:
            return EXIT_UNREACHABLE
        return EXIT_FAILED if self.failures else EXIT_OK

    def summary(self) -> str:
        lines = [f"{f['check']}: {f['detail']}" for f in self.failures]
        return f"clinic check {self.url}: {len(self.failures)} failing\n" + "\n".join(lines)


@dataclass
class Answer:
    status: int
    body: bytes
    seconds: float


def _check_url(url: str) -> None:
    if _UNSENDABLE.search(url):
        raise click.BadParameter(f"not a valid URL: {url!r} (a space or control character)")
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # a port that is not a number raises here, not deep inside urlopen
    except ValueError as exc:
        raise click.BadParameter(f"not a valid URL: {url} ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"not an http(s) URL: {url}")


def _fetch(url: str, timeout: float, headers: dict | None = None) -> Answer:
    _check_url(url)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    started = time.perf_counter()
    try:
        # The scheme is checked above: no file:// or other handler can be reached.
        with urllib.request.urlopen(request, timeout=timeout) as response:  # nosec B310
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:  # an answer all the same (4xx, 5xx)
        body, status = exc.read(), exc.code
    except (urllib.error.URLError, OSError) as exc:
        raise Unreachable(f"{url}: {getattr(exc, 'reason', exc)}") from exc
    except http.client.HTTPException as exc:  # something answered, but not in HTTP
        raise Unreachable(f"{url}: no HTTP answer ({type(exc).__name__}: {exc})"[:300]) from exc
    return Answer(status, body, time.perf_counter() - started)


def _check_passes(entry) -> bool:
    """A readiness entry says ok as ``{"ok": true}``, ``{"status": "ok"}`` or ``"ok"`` (the
    public answer may carry only a status per check)."""
    if isinstance(entry, dict):
        if "ok" in entry:
            return entry["ok"] is True
        entry = entry.get("status")
    return entry in ("ok", "pass", "up", True)


def check_ready(report: Report, base: str, timeout: float) -> None:
    answer = _fetch(base + "/health/ready", timeout)
    try:
        checks = json.loads(answer.body).get("checks") or {}
    except (ValueError, AttributeError):
        checks = {}
    failing = sorted(name for name, entry in checks.items() if not _check_passes(entry))
    if answer.status == 200 and not failing:
        report.ok("ready", ", ".join(sorted(checks)) or "200")
    else:
        report.fail("ready", f"HTTP {answer.status}; failing: {', '.join(failing) or 'unknown'}")
    if "worker" not in checks:
        report.fail("workers", "/health/ready does not report the workers")
    elif _check_passes(checks["worker"]):
        report.ok("workers")
    else:
        # Operators' details name the queues nobody consumes; the public answer only fails.
        missing = (
            checks["worker"].get("queues_without_worker")
            if isinstance(checks["worker"], dict)
            else None
        )
        if missing:
            report.fail("workers", f"no Celery worker consumes {', '.join(missing)}")
        else:
            report.fail("workers", "no Celery worker answered for every queue")


def _metric_values(text: str, name: str) -> dict[tuple, float]:
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def check_metrics(
    report: Report, base: str, timeout: float, token: str, max_depth: int, max_lag: float
) -> None:
    headers = {}
    if token:
        pair = base64.b64encode(f"metrics:{token}".encode()).decode()
        headers["Authorization"] = f"Basic {pair}"
    answer = _fetch(base + "/metrics", timeout, headers)
    if answer.status != 200:
        report.fail("metrics", f"/metrics answered HTTP {answer.status} (token?)")
        return
    text = answer.body.decode("utf-8", "replace")
    try:
        depths = {
            dict(k)["queue"]: v for k, v in _metric_values(text, "clinic_queue_depth").items()
        }
        lag = _metric_values(text, "clinic_outbox_lag_seconds").get(())
    except (ValueError, KeyError):  # a proxy's page, say, not the Prometheus text format
        report.fail("metrics", "/metrics did not answer in the Prometheus text format")
        return
    deep = {queue: int(depth) for queue, depth in sorted(depths.items()) if depth > max_depth}
    if not depths:
        report.fail("queues", "no queue depths in /metrics (Redis unreadable?)")
    elif deep:
        listed = ", ".join(f"{queue} {depth}" for queue, depth in deep.items())
        report.fail("queues", f"deeper than {max_depth}: {listed}")
    else:
        report.ok("queues", f"deepest {int(max(depths.values()))}")
    if lag is None:
        report.fail("outbox", "no outbox lag in /metrics (database unreadable?)")
    elif lag > max_lag:
        report.fail("outbox", f"oldest unpublished event is {lag:.0f} s old (limit {max_lag:g} s)")
    else:
        report.ok("outbox", f"lag {lag:.1f} s")


def check_latency(report: Report, base: str, timeout: float, paths, max_seconds: float) -> None:
    for path in paths:
        path = path if path.startswith("/") else "/" + path  # never glued to the host name
        answer = _fetch(base + path, timeout)
        name = f"latency {path}"
        if answer.status >= 400:
            report.fail(name, f"HTTP {answer.status}")
        elif answer.seconds > max_seconds:
            report.fail(name, f"{answer.seconds:.3f} s (limit {max_seconds:g} s)")
        else:
            report.ok(name, f"{answer.seconds:.3f} s")


def run_checks(base: str, *, timeout, token, max_depth, max_lag, max_latency, paths) -> Report:
    base = base.rstrip("/")
    report = Report(base)
    try:
        check_ready(report, base, timeout)
        check_metrics(report, base, timeout, token, max_depth, max_lag)
        check_latency(report, base, timeout, paths, max_latency)
    except Unreachable as exc:
        report.unreachable = True
        report.fail("reachable", str(exc))
    return report


def notify(webhook: str, report: Report, timeout: float) -> str | None:
    """Post the failures to ``webhook``; the reason it could not, or None."""
    body = json.dumps(
        {"text": report.summary(), "url": report.url, "failures": report.failures}
    ).encode()
    if not webhook.startswith(("http://", "https://")):
        return "not an http(s) URL"  # the URL itself is a secret: never printed
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    try:
        request = urllib.request.Request(webhook, data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=timeout) as response:  # nosec B310
            response.read()
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        return str(getattr(exc, "reason", exc))
    return None


@click.command("check")
@click.argument("url")
@click.option(
    "--metrics-token",
    envvar="CLINIC_METRICS_TOKEN",
    default="",
    show_envvar=True,
    help="The metrics token of the system watched (basic auth to /metrics).",
)
@click.option(
    "--webhook",
    envvar="CLINIC_ALERT_WEBHOOK",
    default="",
    show_envvar=True,
    help="URL that gets the failures as a JSON POST.",
)
@click.option("--max-queue-depth", default=100, show_default=True, type=click.IntRange(0))
@click.option(
    "--max-outbox-lag",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds the oldest unpublished event may wait.",
)
@click.option(
    "--max-latency",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds a key endpoint may take to answer.",
)
@click.option(
    "--endpoint",
    "paths",
    multiple=True,
    metavar="PATH",
    help=f"A key endpoint to time (repeatable; default {', '.join(KEY_ENDPOINTS)}).",
)
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(0.1))
def check_command(url, metrics_token, webhook, max_queue_depth, max_outbox_lag, max_latency,
                  paths, timeout) -> None:  # fmt: skip
    """Probe the system at URL: readiness, workers, queues, outbox, latency."""
    paths = tuple(p if p.startswith("/") else "/" + p for p in paths or KEY_ENDPOINTS)
    # Every URL checked before the first probe: a malformed one is a usage error (exit 2),
    # never an alert, whatever answers before it.
    for path in ("", *paths):
        _check_url(url.rstrip("/") + path)
    report = run_checks(
        url,
        timeout=timeout,
        token=metrics_token,
        max_depth=max_queue_depth,
        max_lag=max_outbox_lag,
        max_latency=max_latency,
        paths=paths,
    )
    for line in report.passed:
        click.echo(f"ok    {line}")
    for failure in report.failures:
        click.echo(f"FAIL  {failure['check']}: {failure['detail']}")
    if report.failures and webhook:
        problem = notify(webhook, report, timeout)
        if problem:
            click.echo(f"could not notify the webhook: {problem}", err=True)
    raise SystemExit(report.exit_code)
