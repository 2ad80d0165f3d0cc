"""Liveness and readiness: one JSON entry per check, 200 when all pass, 503 otherwise."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from clinic.events import outbox_backlog
from web.db import runtime
from web.permissions import public
from workers.config import QUEUES

bp = Blueprint("health", __name__, url_prefix="/health")

OUTBOX_MAX_AGE_SECONDS = 30
QUEUE_MAX_DEPTH = 10_000


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
    with runtime().db.session() as s:
        s.execute(text("SELECT 1"))
    return {"ok": True}


def _redis():
    return {"ok": bool(runtime().redis.ping())}


def _workers():
    # One answer is enough to be ready: do not wait out the timeout collecting the others.
    replies = current_app.extensions["celery"].control.ping(timeout=1.0, limit=1) or []
    names = sorted(name for reply in replies for name in reply)
    return {"ok": bool(names), "workers": names}


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


@bp.get("/ready")
@public
def ready():
    """Database, Redis, a worker answering ping, the outbox backlog and queue depths."""
    checks = {
        "database": _timed(_database),
        "redis": _timed(_redis),
        "worker": _timed(_workers),
        "outbox": _timed(_outbox),
        "queues": _timed(_queues),
    }
    healthy = all(c["ok"] for c in checks.values())
    response = jsonify(status="ok" if healthy else "unavailable", checks=checks)
    response.status_code = 200 if healthy else 503
    return response
