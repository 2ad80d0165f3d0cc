"""Log lines for people and for machines, each carrying the request it belongs to.

A process entry point (the web server, a worker, beat) calls :func:`configure_logging` once:
JSON lines in production (one object a line, for a log collector), readable lines elsewhere.
Every line carries ``request_id``: the web sets it for the request it serves, a task takes
it from the message headers of the request that enqueued it, and lines outside either say
``-``.
"""

from __future__ import annotations

import contextvars
import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from clinic.settings import Settings

NO_REQUEST = "-"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = ("asctime", "levelname", "name", "request_id", "message")

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "clinic_request_id", default=NO_REQUEST
)


def current_request_id() -> str:
    """The request id of the work this thread (or greenlet) is doing, or ``-``."""
    return _request_id.get()


def bind_request_id(value: str | None) -> contextvars.Token:
    """Make ``value`` the current request id; give the token to :func:`reset_request_id`."""
    return _request_id.set(value or NO_REQUEST)


def reset_request_id(token: contextvars.Token) -> None:
    _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Stamps every record with the current request id (a record may bring its own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id()
        return True


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each line, not at setup."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        """The stream is always the current stderr."""


def log_format(settings: Settings) -> str:
    """``json`` or ``text``: CLINIC_LOG_FORMAT when set, otherwise JSON in production only."""
    return settings.log_format or ("json" if settings.is_production else "text")


def make_formatter(kind: str) -> logging.Formatter:
    if kind == "json":
        return JsonFormatter(list(JSON_FIELDS), rename_fields={"levelname": "level"})
    return logging.Formatter(TEXT_FORMAT)


def configure_logging(settings: Settings, stream=None, level: int = logging.INFO):
    """Send this process's log lines through one handler on the root logger, replacing any
    handler there: the process is configured once, at its entry point. Returns the handler."""
    handler = logging.StreamHandler(stream) if stream is not None else _CurrentStderr()
    handler.setFormatter(make_formatter(log_format(settings)))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    return handler
