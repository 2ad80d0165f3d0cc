"""Security headers on every answer, and CORS for the configured origins only."""

from __future__ import annotations

import logging

from flask import Flask, request
from flask_cors import CORS

from web.auth.identity import current_identity
from web.db import runtime
from web.gunicorn_conf import redact_secrets

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self' ws: wss:; media-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors {ancestors}"
)
# Swagger UI starts itself with an inline script; only its page is allowed one.
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
EMBEDDABLE_PREFIXES = ("/board",)
# Addresses that carry a secret (a patient's ticket, a board's token, an unsubscribe link):
# every answer to them, redirects and refusals included, sends no Referer onwards.
SECRET_ADDRESS_PREFIXES = (
    "/t/",
    "/board",
    "/api/v1/public/tickets/",
    "/payments/checkout/",
    "/reports/unsubscribe/",
)


class RedactSecrets(logging.Filter):
    """Masks tokens and ticket secrets in the development server's access lines (werkzeug
    logs the request line, ``?token=`` of boards and sockets included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_secrets(record.getMessage())
        record.args = ()
        return True


def _redact_werkzeug_log() -> None:
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactSecrets) for f in logger.filters):
        logger.addFilter(RedactSecrets())


def init_app(app: Flask) -> None:
    settings = app.extensions["clinic"].settings
    _redact_werkzeug_log()
    if settings.allowed_origins:
        CORS(
            app,
            resources={r"/api/*": {"origins": list(settings.allowed_origins)}},
            supports_credentials=False,
            expose_headers=["Location", "X-Request-ID"],
        )

    @app.after_request
    def _headers(response):
        asked = request._get_current_object()  # one context look-up, not one a use
        path = asked.path
        settings = runtime().settings
        embeddable = path.startswith(EMBEDDABLE_PREFIXES)
        ancestors = settings.board_frame_ancestors if embeddable else ""
        template = DOCS_CSP if path == "/api/docs" else CSP
        secret_address = path.startswith(SECRET_ADDRESS_PREFIXES) or "token" in asked.args
        ours = [
            ("Content-Security-Policy", template.format(ancestors=ancestors or "'none'")),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer" if secret_address else "same-origin"),
            ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
        ]
        if not (embeddable and ancestors):
            ours.append(("X-Frame-Options", "DENY"))
        if current_identity() is not None and asked.endpoint != "static":
            # What a signed-in user was shown is his: a browser at a shared desk keeps none of
            # it, so Back after his sign-out does not show the next person his pages again.
            ours.append(("Cache-Control", "no-store"))
        if settings.is_production:
            ours.append(("Strict-Transport-Security", "max-age=31536000"))
        # Each only where the view set none of its own (one pass over the answer's headers).
        headers = response.headers
        present = {name.lower() for name in headers.keys()}
        for name, value in ours:
            if name.lower() not in present:
                headers.add(name, value)
        return response
