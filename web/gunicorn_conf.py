"""gunicorn settings: ``gunicorn --config web/gunicorn_conf.py 'web:create_app()'``.

The gevent worker holds each WebSocket as a greenlet, not a thread: one worker process keeps
a thousand sockets open, where a threaded worker silently stops completing handshakes once
its threads are taken. Command-line options (``--bind``, ``--workers``) override these.
"""

import functools
import importlib
import os
import re
import resource
import shutil
from pathlib import Path

from gunicorn.glogging import Logger


def _whole_number(name: str, default: int) -> int:
    """A count of at least 1 from the environment, empty meaning ``default`` (as ``KEY=`` in
    .env leaves it), as clinic/settings.py reads it. ``clinic web`` and ``clinic run`` hand
    gunicorn the value the settings checked; started by hand, a bad value stops gunicorn
    with the variable named rather than a config traceback."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return max(1, int(raw))
    except ValueError:
        # SystemExit passes gunicorn's config loader, which prints any other error as a trace.
        raise SystemExit(f"Error: {name} must be a whole number, got {raw!r}") from None


bind = "127.0.0.1:5000"
# One process by default: a gevent worker already serves many connections at once. More
# processes add CPU; each gets the events through its own Redis subscription.
workers = _whole_number("WEB_CONCURRENCY", 1)
worker_class = "gevent"
# A WebSocket holds its connection slot for as long as it is open, and plain requests share
# the same slots: a worker whose slots are all taken by sockets answers nothing else (not even
# /health/live) and leaves further handshakes waiting, silently. The default keeps room for
# requests above the thousand sockets a worker is meant to hold.
worker_connections = _whole_number("CLINIC_WEB_CONNECTIONS", 2000)
# Files a worker has open besides its connections: the database, Redis, logs, the listener.
OTHER_OPEN_FILES = 256
# The gevent worker answers the arbiter from its own loop: long-lived sockets do not count
# against this; a request blocking the loop for this long gets its worker restarted.
timeout = 30
# Open WebSockets keep a worker busy until they close; clients reconnect and resume.
graceful_timeout = 10
keepalive = 5
# gunicorn's largest request line: the app answers a URI over web.api.inputs.MAX_URI_BYTES
# with a 414 problem before gunicorn's bare HTML 414 comes into play.
limit_request_line = 8190
accesslog = "-"
# The request id (the X-Request-ID answer header) ties an access line to the app's own lines.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
errorlog = "-"
loglevel = "info"
# X-Forwarded-* are trusted only from FORWARDED_ALLOW_IPS (gunicorn's own variable, loopback by
# default); the application's CLINIC_PROXY_COUNT decides how many hops it believes.
proc_name = "clinic-web"
# gunicorn's control socket would sit in $HOME, shared by every instance; nothing uses it.
control_socket_disable = True


def post_fork(server, worker):
    """Let the worker open a socket for every connection slot it has.

    The usual soft limit of open files (1024 under systemd and recent Docker) would stop a
    worker at about a thousand sockets with "Too many open files", refusing everything else.
    """
    needed = server.cfg.worker_connections + OTHER_OPEN_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        needed = min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


# The secrets that travel in addresses: query parameters by name, API tokens by their prefix
# (in a Referer too), and a patient's ticket secret in his page's path.
_SECRET_PARAMETER = re.compile(
    r"(?i)((?:^|[?&;\s])(?:token|ticket|access_token|secret|password|pairing_code)=)[^&;#\s\"]*"
)
# API tokens (clk_) and board screens' device secrets (clb_).
_API_TOKEN = re.compile(r"(cl[kb]_)[A-Za-z0-9_-]+")
# A patient's ticket page, its state in the public API (the page polls it) and the Payme and
# Click links of its invoice (the page asks for them by the same secret), and the link in a
# report e-mail that ends its subscription.
_TICKET_PAGE = re.compile(
    r"(/t/|/public/tickets/|/payments/checkout/|/reports/unsubscribe/)[^/?#\s\"]+"
)
_SECRET_HEADERS = {"authorization", "cookie", "x-csrftoken", "x-csrf-token"}
REDACTED = "[redacted]"


def redact_secrets(text: str) -> str:
    """``text`` (a request line, a URL, a log message) with every secret it carries masked."""
    if not isinstance(text, str) or not text:
        return text
    text = _SECRET_PARAMETER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _API_TOKEN.sub(lambda m: m.group(1) + REDACTED, text)
    return _TICKET_PAGE.sub(lambda m: m.group(1) + REDACTED, text)


def _json_lines() -> bool:
    """As clinic.logs.log_format decides for the application's own lines (from the same
    variables: the settings are not read in gunicorn's master)."""
    kind = os.environ.get("CLINIC_LOG_FORMAT", "").strip().lower()
    return kind == "json" or (
        not kind and os.environ.get("CLINIC_ENV", "").strip().lower() == "production"
    )


class RedactingLogger(Logger):
    """gunicorn's logger, whose access lines never show a token, a ticket secret or a
    credential header, whatever ``access_log_format`` asks for; its own lines (start, stop,
    a worker's timeout, each access) are JSON objects where the application's are."""

    def setup(self, cfg):
        super().setup(cfg)
        if _json_lines():
            from clinic.logs import make_formatter

            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(make_formatter("json"))

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        # Only what the line shows is read (not every header and environ entry, each time).
        for key in _shown(self.cfg.access_log_format):
            value = atoms.get(key)
            name = key[1:-2] if key.startswith("{") else ""
            if name in _SECRET_HEADERS or name in ("http_authorization", "http_cookie"):
                atoms[key] = REDACTED
            elif isinstance(value, str):
                atoms[key] = redact_secrets(value)
        return atoms


@functools.lru_cache(maxsize=8)
def _shown(access_log_format: str) -> tuple[str, ...]:
    """The atoms ``access_log_format`` shows, as gunicorn looks them up (headers and environ
    entries in lower case)."""
    keys = re.findall(r"%\(([^)]*)\)", access_log_format)
    return tuple(dict.fromkeys(k.lower() if k.startswith("{") else k for k in keys))


# Display boards and sockets carry their token in the address (``?token=``) and a patient's
# page its ticket's secret (``/t/<secret>``, ``/api/v1/public/tickets/<secret>``): none of
# them may reach a log file. (The class, not its dotted name: importing the web package in
# the master is what this file avoids.)
logger_class = RedactingLogger


def on_starting(server):
    """/metrics sums the request and socket figures of every worker through
    prometheus_client's multiprocess directory (see web/metrics.py). Set in the master, before
    any worker imports prometheus_client, and emptied at each start so a dead worker's figures
    do not linger. Only here: other processes import this file for its log redaction, and
    must not be switched to a multiprocess directory they never made."""
    directory = Path(
        os.environ.setdefault(
            "PROMETHEUS_MULTIPROC_DIR",
            str(Path(os.environ.get("CLINIC_INSTANCE", "instance")).resolve() / "prometheus"),
        )
    )
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)


def post_worker_init(worker):
    """The worker's log lines: JSON in production, each with its request id (clinic/logs.py);
    its WebSockets closed as soon as it is asked to exit.

    Configured here, in the process gunicorn runs, not in the application factory: a factory
    also builds apps inside other processes (tests, shells) whose logging is not its to set.
    """
    from clinic.logs import configure_logging
    from clinic.settings import Settings

    configure_logging(Settings.from_env())
    # Asked to exit, the worker closes its WebSockets instead of waiting on them for the whole
    # graceful timeout (web/ws/stopping.py). By name: this file is gunicorn's configuration,
    # loaded by path, and the web modules import its redaction, not it theirs.
    importlib.import_module("web.ws.stopping").watch_worker(worker)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
