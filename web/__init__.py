"""The thin Flask layer: validation, permissions, routing, rendering and WebSocket fan-out."""

from __future__ import annotations

import logging
from inspect import CO_COROUTINE

from flask import Flask

from clinic.runtime import Runtime
from clinic.settings import Settings
from web.api.inputs import (
    AsciiIntegerConverter,
    ClinicJSONProvider,
    ClinicRequest,
    check_request,
)
from web.errors import register_error_handlers, requested
from web.permissions import enforce

log = logging.getLogger(__name__)


class ClinicFlask(Flask):
    """Flask, answering without ``inspect`` for a plain function that it is no coroutine, and
    logging an error no handler answered without the secret its path may carry.

    Flask asks it of every hook on every request (two dozen of them here), and ``inspect``
    unwraps each callable to ask. A plain function says it in its code's flags; anything
    else (a bound method, a partial, a function marked a coroutine) is asked as before."""

    def ensure_sync(self, func):
        code = getattr(func, "__code__", None)
        if (
            code is not None
            and not code.co_flags & CO_COROUTINE
            and not hasattr(func, "_is_coroutine_marker")
        ):
            return func
        return super().ensure_sync(func)

    def log_exception(self, exc_info) -> None:
        """Flask's line for an error that reached its own handler (one raised by an
        after-request hook, or by an error handler itself), with the path masked as in every
        other line about a failed request: a patient's page and its state carry his ticket's
        secret in their path."""
        self.logger.error("Exception on %s", requested(), exc_info=exc_info)


def _modules():
    """The modules, in the order their pages appear in the navigation. A new module adds its
    web package here (see docs/architecture.md).

    The order is also each person's start page (the first page his roles open): the day's
    work first, so a registrar starts at the reception desk, a doctor at his queue screen, a
    cashier at the cashier's desk, a manager at the appointments; the price list follows."""
    from web import accounts, payments, printing, queue, reference, reports, visits

    return (queue, payments, visits, reference, reports, printing, accounts)


def _warn_of_sandbox(settings: Settings) -> None:
    """Production may run Payme's sandbox test cases before going live; it must not stay so."""
    if (
        settings.is_production
        and settings.payme_test_mode
        and "payme" in settings.payment_providers
    ):
        log.warning(
            "PAYME_TEST_MODE is on: Payme's calls are checked against the sandbox key"
            " (PAYME_TEST_KEY) and real payments are refused; turn it off to go live"
        )


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    """The application factory. ``runtime`` may be shared (tests); otherwise one is built."""
    settings = settings or (runtime.settings if runtime else Settings.from_env())
    runtime = runtime or Runtime(settings)

    app = ClinicFlask(
        __name__, instance_path=str(settings.instance_path), instance_relative_config=False
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        SOCK_SERVER_OPTIONS={"ping_interval": 25},
    )
    app.extensions["clinic"] = runtime
    _warn_of_sandbox(settings)
    app.json = ClinicJSONProvider(app)
    app.request_class = ClinicRequest
    app.url_map.converters["int"] = AsciiIntegerConverter

    from workers.celery_app import create_celery

    app.extensions["celery"] = create_celery(settings)
    # Domain code sends tasks after commit through this (clinic.db.dispatch_after_commit).
    runtime.db.set_dispatcher(app.extensions["celery"].send_task)

    from web import auth, availability, db, i18n, metrics, request_log
    from web.api.blueprint import refuse_unread_query
    from web.api.bodies import require_json_bodies

    db.init_app(app)
    i18n.init_app(app)
    # Order matters: who is asking, then may they, then is the change really theirs (CSRF).
    auth.init_app(app)
    availability.init_app(app)
    # Input no layer below can store is refused before any view or service reads it (after
    # the identity only, so that the refusal's audit row names who sent it).
    app.before_request(check_request)
    app.before_request(enforce)
    app.before_request(require_json_bodies)
    app.before_request(refuse_unread_query)
    app.before_request(auth.check_csrf)
    app.before_request(i18n.remember_users_choice)

    from web.api import init_api

    api = init_api(app)
    for module in _modules():
        module.init_app(app, api)
    # After the API: flask-smorest installs an HTTPException handler that this one replaces.
    register_error_handlers(app)

    from web.auth.views import bp as auth_bp
    from web.health import bp as health_bp
    from web.pages import bp as pages_bp
    from web.ws import init_ws

    for blueprint in (health_bp, pages_bp, auth_bp):
        app.register_blueprint(blueprint)
    init_ws(app)
    # After the WebSocket routes: /metrics counts open sockets by wrapping their views.
    metrics.init_app(app)
    request_log.init_app(app)
    # Last, so that it runs first of the after-request hooks (Flask runs them in reverse).
    app.after_request(db.end_transaction)
    return app
