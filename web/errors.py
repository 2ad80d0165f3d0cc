"""Errors are data: JSON problem details (RFC 9457) with per-field messages."""

from __future__ import annotations

import logging

import redis
from flask import Flask, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from kombu.exceptions import OperationalError as BrokerUnavailable
from sqlalchemy import exc as sa
from werkzeug.exceptions import HTTPException

from clinic.errors import DomainError
from web.gunicorn_conf import redact_secrets

log = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"
RETRY_AFTER_SECONDS = 5
# A dependency that is down or out of connections: the request may succeed later.
UNAVAILABLE = (
    sa.OperationalError,
    sa.InterfaceError,
    sa.DisconnectionError,
    sa.TimeoutError,
    redis.ConnectionError,
    redis.TimeoutError,
    BrokerUnavailable,
)


def requested() -> str:
    """The method and path of the request being served, as a log line may show them: a
    patient's ticket secret in the path is masked."""
    return f"{request.method} {redact_secrets(request.path)}"


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    errors: dict | None = None,
    code: str | None = None,
    *,
    reasons: dict | None = None,
    values: dict | None = None,
):
    """A problem body; ``reasons`` (each field's stable codes, in the order of its messages in
    ``errors``) is added beside ``errors``, so a client reading only ``errors`` is served as
    before."""
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if code:
        body["code"] = code
    if errors:
        body["errors"] = errors
        if reasons:
            body["reasons"] = reasons
    if values:
        body["values"] = values
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_TYPE
    return response


def wants_html() -> bool:
    """A page request: not the API or the socket, from a client that prefers HTML to JSON."""
    if request.path in ("/api", "/ws") or request.path.startswith(("/api/", "/ws/")):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"


def error_page(status: int, title: str, detail: str | None = None, *, expired_form=False):
    """The HTML error page; falls back to problem details if the page itself cannot render.
    ``expired_form``: a form refused by the CSRF check, said in the page's language (a page
    left open past its session's end, most often)."""
    try:
        body = render_template(
            "errors/error.html",
            status=status,
            title=title,
            detail=detail,
            expired_form=expired_form,
        )
    except Exception:  # the page must never turn one error into another
        log.exception("rendering the %d error page failed", status)
        return problem(status, title, detail)
    return body, status


def flatten_messages(messages, prefix: str = "") -> dict[str, list[str]]:
    """``{"json": {"address": {"city": ["Missing"]}}}`` -> ``{"address.city": ["Missing"]}``.

    The location level (json, query, form, files, path) is dropped: field names are unique
    enough within one request, and clients read one flat map.
    """
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            key = str(key)
            if not prefix and key in ("json", "query", "form", "files", "path", "headers"):
                flat.update(flatten_messages(value, ""))
                continue
            name = f"{prefix}.{key}" if prefix else key
            flat.update(flatten_messages(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "_schema"] = list(messages)
    elif isinstance(messages, list):
        for i, value in enumerate(messages):
            flat.update(flatten_messages(value, f"{prefix}.{i}" if prefix else str(i)))
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


def _describe(errors: dict[str, list[str]]) -> str:
    parts = [f"{field}: {msgs[0]}" for field, msgs in list(errors.items())[:5]]
    more = len(errors) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def unavailable_response(exc: Exception | None = None):
    """503 with ``Retry-After``: the database, Redis or the broker does not answer."""
    log.error("a dependency is unavailable on %s: %r", requested(), exc)
    if wants_html():
        page = error_page(503, "Service unavailable", "please try again in a moment")
        response = current_app.make_response(page)
    else:
        response = problem(
            503, "Service unavailable", "a service the clinic depends on does not answer; retry"
        )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        # Failures before dispatch (opening the session in Redis) reach Flask as a 500.
        if isinstance(getattr(exc, "original_exception", None), UNAVAILABLE):
            return unavailable_response(exc.original_exception)
        if exc.response is not None:  # the answer was made where the error was raised
            return exc.response
        data = getattr(exc, "data", None) or {}
        messages = data.get("messages")
        if messages:
            errors = flatten_messages(messages)
            return problem(exc.code or 400, "Validation failed", _describe(errors), errors)
        # abort(403, message=...) of flask-smorest says why in the data, not the description.
        detail = data.get("message") or exc.description
        if wants_html():
            # The server library's own sentence (a URL too long, a body too large) is English:
            # the page explains the status in its language instead.
            said = None if detail == type(exc).description else detail
            page = error_page(
                exc.code or 500, exc.name, said, expired_form=isinstance(exc, CSRFError)
            )
            response = current_app.make_response(page)
        elif isinstance(exc, CSRFError):
            # Named as any other bad input: the token the change came without, or a stale one.
            response = problem(exc.code, exc.name, detail, {"csrf_token": [detail]}, "csrf_failed")
        else:
            response = problem(exc.code or 500, exc.name, detail)
        # The exception's own headers belong to the answer: Allow on a 405, and the like.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        if wants_html():
            return error_page(exc.status, exc.title, exc.detail)
        return problem(
            exc.status,
            exc.title,
            exc.detail,
            exc.errors or None,
            exc.code,
            reasons=exc.reasons,
            values=exc.values or None,
        )

    @app.errorhandler(sa.IntegrityError)
    def _integrity(exc: sa.IntegrityError):
        # A rule the services should have checked first (they name the field); the database
        # still decides, and its refusal is the caller's conflict, not a server error.
        log.warning("integrity error on %s: %s", requested(), exc.orig)
        return problem(409, "Conflict", "the change conflicts with existing data")

    @app.errorhandler(sa.DataError)
    def _data(exc: sa.DataError):
        log.warning("data error on %s: %s", requested(), exc.orig)
        return problem(
            422, "Validation failed", "the database refused a value (out of range or not storable)"
        )

    for unavailable in UNAVAILABLE:
        app.register_error_handler(unavailable, unavailable_response)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s", requested())
        if wants_html():
            return error_page(500, "Internal server error")
        return problem(500, "Internal server error", "the error has been logged")
