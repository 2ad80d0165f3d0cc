"""Liveness and readiness: one JSON entry per check, 200 when all pass, 503 otherwise.

Anyone may ask (load balancers, monitoring) and sees ``{"ok": true|false}`` per check. Details
(timings, error texts naming hosts and ports, worker names, queue depths) are for operators:
a signed-in user with ``OPERATOR_PERMISSION``, or a caller sending ``X-Health-Token`` equal to
``CLINIC_HEALTH_TOKEN``. A caller who cannot be looked up (his bearer token or his account,
with the database down) still gets the checks, as one without the permission: never the bare
503 of other requests.
"""

from __future__ import annotations

import hmac
import time

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from clinic.events import outbox_backlog
from clinic.jobs.service import oldest_running_seconds
from web.auth.identity import current_identity
from web.db import runtime
from web.errors import UNAVAILABLE, unavailable_response
from web.permissions import public
from workers.config import QUEUES

bp = Blueprint("health", __name__, url_prefix="/health")

OUTBOX_MAX_AGE_SECONDS = 30
QUEUE_MAX_DEPTH = 10_000
OPERATOR_PERMISSION = "users.manage"
# The printing queue may be left to a worker inside the clinic (docs/printing.md), a machine
# that may be off at night: the system serves without it (tickets are still issued, the
# browser prints them), so a printing queue without a worker is reported, not a failure.
QUEUES_SERVED_ELSEWHERE = ("printing",)
# Where the request notes the database's failure to look up who asks (see _unidentified).
DATABASE_UNANSWERED = "health_database_unanswered"


@bp.get("/live")
@public
def live():
    """The process answers; nothing else is checked."""
    return jsonify(status="ok")


def _timed(check):
    started = time.perf_counter()
    try:
        entry = check()
    except Exception as exc:  # every failing dependency is a 503 entry, never a 500
        entry = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    entry["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return entry


def _database():
    unanswered = g.get(DATABASE_UNANSWERED)
    if unanswered is not None:
        # The database has just failed this request's look-up of who asks: asking again
        # would wait out a second connect timeout for the same answer.
        raise unanswered
    with runtime().db.session() as s:
        s.execute(text("SELECT 1"))
    return {"ok": True}


def _redis():
    """A write, not a PING: a Redis full under ``noeviction`` answers PING and refuses every
    session, lock and event it is asked to keep."""
    rt = runtime()
    return {"ok": bool(rt.redis.set(f"{rt.settings.redis_prefix}:health:ready", 1, ex=60))}


class _EveryQueueServed(Exception):
    """Raised from the reply callback: the answers so far cover every queue."""


def _workers():
    # Every queue needs a worker: one worker answering may be the printing worker inside the
    # clinic (docs/printing.md) while the server's are gone. Workers answer with the queues
    # they consume; the answer is given as soon as they cover every queue, or after a second
    # without a reply.
    names, served = set(), set()

    def collect(reply):
        for name, queues in reply.items():
            names.add(name)
            served.update(queue["name"] for queue in queues or ())
        if served.issuperset(QUEUES):
            raise _EveryQueueServed

    try:
        current_app.extensions["celery"].control.broadcast(
            "active_queues", reply=True, timeout=1.0, callback=collect
        )
    except _EveryQueueServed:
        pass
    missing = [name for name in QUEUES if name not in served]
    return {
        "ok": all(name in QUEUES_SERVED_ELSEWHERE for name in missing),
        "workers": sorted(names),
        "queues_without_worker": missing,
    }


def _outbox():
    with runtime().db.session() as s:
        count, oldest_age = outbox_backlog(s)
    ok = oldest_age is None or oldest_age < OUTBOX_MAX_AGE_SECONDS
    return {
        "ok": ok,
        "unpublished": count,
        "oldest_age_s": None if oldest_age is None else round(oldest_age, 1),
    }


def _queues():
    settings = runtime().settings
    prefix = f"{settings.redis_prefix}:celery:"
    r = runtime().redis
    depths = {name: r.llen(prefix + name) for name in QUEUES}
    return {"ok": all(d < QUEUE_MAX_DEPTH for d in depths.values()), "depths": depths}


def _jobs():
    # A job attempt past its time limit means a worker is stuck on it (or was killed and
    # nobody took over): the queue it holds moves no more.
    limit = runtime().settings.job_time_limit
    with runtime().db.session() as s:
        age = oldest_running_seconds(s)
    return {
        "ok": age is None or age < limit,
        "oldest_running_s": None if age is None else round(age, 1),
        "limit_s": limit,
    }


def _not_checked(dependency: str):
    # Workers are pinged and queues kept through Redis, the outbox and jobs are rows: without
    # their dependency none can pass, and asking anyway would hold the answer (the broker's
    # reconnection attempts, another connect timeout) past the probes' patience.
    return {"ok": False, "error": f"not checked: {dependency} does not answer", "ms": 0.0}


def _is_operator() -> bool:
    token = runtime().settings.health_token
    given = request.headers.get("X-Health-Token", "")
    if token and hmac.compare_digest(given.encode(), token.encode()):
        return True
    identity = current_identity()
    return identity is not None and identity.can(OPERATOR_PERMISSION)


def _unidentified(exc: Exception):
    """Who asks is looked up before any view runs (a bearer token's row, a signed-in user's
    account), and with the database down that look-up fails first. Liveness answers all the
    same, and readiness with its checks, as to a caller without details unless his
    ``X-Health-Token`` is right: the monitor that sends a token learns what is down."""
    if request.endpoint == "health.live":
        return live()
    if request.endpoint != "health.ready":
        return unavailable_response(exc)
    if isinstance(exc, SQLAlchemyError):
        g.setdefault(DATABASE_UNANSWERED, exc)
    return ready()


for _unavailable in UNAVAILABLE:
    bp.register_error_handler(_unavailable, _unidentified)


@bp.get("/ready")
@public
def ready():
    """Database, Redis, a worker on every queue, the outbox backlog, queue depths and jobs
    running past their limit. Details only for operators (see the module's docstring)."""
    database, redis = _timed(_database), _timed(_redis)
    checks = {
        "database": database,
        "redis": redis,
        "worker": _timed(_workers) if redis["ok"] else _not_checked("Redis"),
        "outbox": _timed(_outbox) if database["ok"] else _not_checked("the database"),
        "queues": _timed(_queues) if redis["ok"] else _not_checked("Redis"),
        "jobs": _timed(_jobs) if database["ok"] else _not_checked("the database"),
    }
    healthy = all(c["ok"] for c in checks.values())
    if not _is_operator():
        checks = {name: {"ok": check["ok"]} for name, check in checks.items()}
    response = jsonify(status="ok" if healthy else "unavailable", checks=checks)
    response.status_code = 200 if healthy else 503
    return response
