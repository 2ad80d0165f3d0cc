"""Authentication and authorization for every door: pages, JSON API and WebSocket.

Requests are authenticated by a server-side session (Flask-Login over Flask-Session in
Redis) or by ``Authorization: Bearer <token>``. The declared permission of the endpoint
(web/permissions.py) is then checked against the identity's roles. Session-authenticated
state changes need a CSRF token; bearer-token calls do not (no ambient credential).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_login import LoginManager, current_user
from flask_session import Session as ServerSessions
from flask_wtf.csrf import CSRFError, CSRFProtect, validate_csrf
from werkzeug.middleware.proxy_fix import ProxyFix
from wtforms import ValidationError

from clinic.accounts import holders, tokens
from web.auth import audit, limits, security
from web.auth.identity import Identity, current_identity
from web.db import close_session, runtime, session
from web.errors import problem, wants_html
from web.permissions import OWN_PROTOCOL_ATTRIBUTE, SIGNED_IN, speaks_own_protocol, view_attribute

log = logging.getLogger(__name__)

csrf = CSRFProtect()
login_manager = LoginManager()
CSRF_EXEMPT_ATTRIBUTE = "_clinic_csrf_exempt"
CSRF_TOKEN_ONLY_ATTRIBUTE = "_clinic_csrf_token_only"  # nosec B105 - a name, not a token
# Pages that also accept an API token as ``?token=`` (display boards).
BOARD_PAGES = "/board/"


def csrf_exempt(view):
    """For endpoints called by other systems with their own signatures (payment providers),
    and public changes that act as nobody (a patient joining a queue online)."""
    setattr(view, CSRF_EXEMPT_ATTRIBUTE, True)
    return view


def csrf_token_only(view):
    """For a form every page carries (Sign out), pages whose address is a secret included:
    they send no Referer (``Referrer-Policy: no-referrer``), and over HTTPS the CSRF check
    refuses a form without one. Sent without a Referer, its token alone is checked; sent with
    one, the whole check runs, so a Referer from another site is still refused."""
    setattr(view, CSRF_TOKEN_ONLY_ATTRIBUTE, True)
    return view


def own_protocol(view):
    """For endpoints other systems call in a protocol of their own (the payment providers).
    Their ``Authorization`` header belongs to that protocol (Payme's ``Basic`` key), so it is
    never read as a bearer token and no identity is loaded: a malformed or foreign header is
    the protocol's error to answer, not our 401. Their bad input (a NUL character, JSON
    nested too deep) is answered in the protocol too, not by the input boundary's 4xx. They
    carry no ambient credential, so they are CSRF-exempt as well."""
    setattr(view, OWN_PROTOCOL_ATTRIBUTE, True)
    return csrf_exempt(view)


@login_manager.user_loader
def _load_user(user_key: str):
    try:
        user_id, version = (int(part) for part in user_key.split(":"))
    except ValueError:
        return None
    db = session()
    holder = holders.holder_by_id(db, user_id)
    _release_sqlite(db)
    if holder is None or not holder.active or holder.session_version != version:
        return None
    return Identity.of(holder, "session")


def _release_sqlite(db) -> None:
    """On SQLite every transaction holds the write lock from its first statement: end the
    identity's read at once, or a view that reads in a session of its own (the readiness
    check) would wait for the request's own lock."""
    if db.get_bind().dialect.name == "sqlite":
        db.rollback()


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def load_identity() -> None:
    """``before_request``: who is asking, from a bearer token or the session."""
    g.identity = None
    if speaks_own_protocol(current_app, request.endpoint):
        return
    token = _bearer_token()
    if token is None and request.method == "GET" and request.path.startswith(BOARD_PAGES):
        # A display screen opens its board by URL and cannot send headers.
        token = request.args.get("token") or None
    if token is not None:
        # Read in the request's own session: one connection and transaction per request.
        db = session()
        holder = tokens.holder_for_token(db, token, note_use=False)
        _release_sqlite(db)
        if holder is None:
            response = problem(401, "Unauthorized", "the token is invalid, revoked or expired")
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            abort(response)
        g.identity = Identity.of(holder, "token")
        g.token_id = holder.token_id  # named in the audit row of what the token does
        if holder.use_due:
            g.token_use_due = holder.token_id
        return
    if current_user.is_authenticated:
        g.identity = current_user._get_current_object()


def _note_token_use(_exc) -> None:
    """``teardown_request``: note a token's use once the request's transaction is over (on
    SQLite a second writer inside it would wait for the request's own lock)."""
    token_id = g.pop("token_use_due", None)
    if token_id is None:
        return
    close_session()
    try:
        tokens.note_use(runtime().db.engine, token_id)
    except Exception:  # a missed note costs only the "last used" figure
        log.exception("could not note the use of token %s", token_id)


def policy(permission: str) -> None:
    """The installed policy of web/permissions.py: 401 anonymous, 403 without the permission."""
    identity = current_identity()
    if identity is None:
        if request.method == "GET" and wants_html():
            abort(redirect(url_for("auth.login_page", next=request.full_path.rstrip("?"))))
        response = problem(401, "Unauthorized", "sign in or send a bearer token")
        response.headers["WWW-Authenticate"] = 'Bearer realm="clinic"'
        abort(response)
    if permission != SIGNED_IN and not identity.can(permission):
        abort(403, description=f"your role does not allow {permission}")


def check_csrf() -> None:
    """``before_request``: session-authenticated (and anonymous form) changes need a token."""
    if request.method not in audit.UNSAFE or _bearer_token() is not None:
        return
    if view_attribute(current_app, request.endpoint, CSRF_EXEMPT_ATTRIBUTE):
        return
    if not request.referrer and view_attribute(
        current_app, request.endpoint, CSRF_TOKEN_ONLY_ATTRIBUTE
    ):
        _check_token()
        return
    csrf.protect()


def _check_token() -> None:
    """The session's CSRF token, from the form or a header, as ``csrf.protect`` finds it."""
    sent = request.form.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    for header in current_app.config["WTF_CSRF_HEADERS"]:
        sent = sent or request.headers.get(header)
    try:
        validate_csrf(sent)
    except ValidationError as exc:
        raise CSRFError(exc.args[0]) from None


def init_app(app: Flask) -> None:
    """Install sessions, sign-in, identity, CSRF, rate limits, audit and security headers.

    Must run before the permission check is registered: the check needs the identity.
    """
    settings = app.extensions["clinic"].settings
    if settings.proxy_count:
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=settings.proxy_count, x_proto=settings.proxy_count
        )
    app.config.update(
        SESSION_TYPE="redis",
        SESSION_REDIS=app.extensions["clinic"].redis,
        SESSION_KEY_PREFIX=f"{settings.redis_prefix}:session:",
        # No "remember me": the cookie is the browser session's, so whoever opens a shared
        # computer's browser after it was closed is not signed in as the one before; the
        # stored session still ends after the idle time, refreshed by every request.
        SESSION_PERMANENT=False,
        SESSION_REFRESH_EACH_REQUEST=True,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_idle_minutes),
        SESSION_COOKIE_NAME="clinic_session",
        REMEMBER_COOKIE_DURATION=timedelta(seconds=0),
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_HEADERS=["X-CSRFToken", "X-CSRF-Token"],
    )
    ServerSessions(app)
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    limits.init_app(app)
    audit.init_app(app)
    security.init_app(app)
    app.before_request(load_identity)
    app.teardown_request(_note_token_use)
    app.extensions["clinic.policy"] = policy
