"""Sessions when Redis is down: a 503 the client can retry, never a 500.

Sessions live in Redis (Flask-Session). Opening one happens before Flask's error handlers
are in play, so a Redis failure there would be a bare 500, and a session that cannot be saved
would hand out a CSRF token nobody can check. This wrapper notes the failure and lets the
first ``before_request`` hook raise it, where the error handlers answer 503 with
``Retry-After`` (web/errors.py). Requests that need no session (bearer tokens, health
checks) go on working without Redis where their endpoint can.
"""

from __future__ import annotations

import logging

import redis
from flask import Flask, current_app, g, request
from flask.sessions import SessionInterface

from web.auth import kiosk_session
from web.errors import requested

log = logging.getLogger(__name__)

# Paths whose callers never hold a session: health checks, static files, the scraper, and the
# payment providers (their calls are authenticated by signature or key, and must be answered
# in their own protocol while Redis restarts: the database is what they change).
NEEDS_NO_SESSION = (
    "/health/",
    "/static/",
    "/api/swagger-ui/",
    "/metrics",
    "/payments/payme",
    "/payments/click/",
    "/payments/webhooks/",
)


def _needs_session() -> bool:
    if request.path.startswith(NEEDS_NO_SESSION):
        return False
    if request.path == "/ws" and current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        # A socket opened with a token or a ticket secret in its address: it reads no session
        # and never writes one (a display holds a thousand of these on one worker).
        return False
    return not request.headers.get("Authorization", "").lower().startswith("bearer ")


# The id a session was read from the store under, noted on the session itself.
STORED_AS = "clinic_stored_as"


class RedisSessions(SessionInterface):
    """Flask-Session's interface, with Redis failures turned into a 503 for the request."""

    def __init__(self, inner: SessionInterface, client: redis.Redis) -> None:
        self.inner = inner
        self.client = client
        # Flask-Session writes every session back with a plain SET: a request that read a
        # session before its sign-out and answers after it would store the ended session
        # again, under the id the sign-out dropped. Ours updates a stored session only while
        # it is still stored (SET XX); a new one, or one given a new id, is written as before.
        inner._upsert_session = self._upsert_session

    def _upsert_session(self, lifetime, session, store_id: str) -> None:
        stored = getattr(session, STORED_AS, None) == session.sid
        self.client.set(
            name=store_id,
            value=self.inner.serializer.encode(session),
            ex=int(kiosk_session.lifetime(session, lifetime).total_seconds()),
            xx=stored,
        )

    def open_session(self, app, request):
        try:
            session = self.inner.open_session(app, request)
            if session:  # read from the store (a new session is empty)
                setattr(session, STORED_AS, session.sid)
            if _needs_session() and session.sid and not session:
                # A new session is about to be written (a CSRF token, a sign-in): find out now
                # whether it can be, rather than answering with one that is lost (a write: a
                # Redis full under ``noeviction`` answers a PING).
                self.client.set(f"{self.inner.key_prefix}writable", 1, ex=60)
            return session
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            g.session_store_down = exc
            return self.inner.session_class(sid="", permanent=True)
        except redis.RedisError as exc:  # it answers, and refuses (full): as good as down
            g.session_store_down = redis.ConnectionError(f"the session store refused: {exc}")
            return self.inner.session_class(sid="", permanent=True)

    def save_session(self, app, session, response):
        if g.get("session_store_down") is not None:
            return
        try:
            self.inner.save_session(app, session, response)
        except redis.RedisError:
            log.exception("the session of %s could not be saved", requested())

    def __getattr__(self, name):
        return getattr(self.inner, name)


def refuse_without_sessions() -> None:
    """``before_request``, first of all: a request that needs its session, when Redis is down."""
    down = g.get("session_store_down")
    if down is not None and _needs_session():
        raise down


def init_app(app: Flask) -> None:
    """Wrap the installed session interface (after Flask-Session is set up)."""
    app.session_interface = RedisSessions(app.session_interface, app.config["SESSION_REDIS"])
    # First in line: the identity, the limiter and CSRF all read the session.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_without_sessions)
