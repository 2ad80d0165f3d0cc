"""A database session per request, and the way views enqueue work after commit."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from clinic.db import on_commit
from clinic.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["clinic"]


def session() -> Session:
    """The request's session; committed by the view, closed (and rolled back) at teardown."""
    made = g.get("db_session")  # asked several times a request: one look-up each
    if made is None:
        made = g.db_session = runtime().db.session()
        for hook in current_app.extensions.get("clinic.session_hooks", ()):
            hook(made)
    return made


def enqueue_after_commit(db: Session, task_name: str, *, queue: str, **kwargs) -> None:
    """Send a task by name once ``db``'s transaction commits (never from inside it)."""
    celery = current_app.extensions["celery"]
    on_commit(db, lambda: celery.send_task(task_name, kwargs=kwargs, queue=queue))


def close_session() -> None:
    """End the request's transaction (rolled back unless the view committed) and session."""
    db = g.pop("db_session", None)
    if db is not None:
        db.close()


def end_transaction(response):
    """``after_request``, the first to run (:func:`web.create_app` registers it last): the
    answer is made, and the request's transaction ends before any other hook talks to Redis
    (the rate limiter's headers) and before Flask saves the browser's session there. Under
    gevent a transaction kept open across such a network call holds SQLite's write lock
    (every transaction there is BEGIN IMMEDIATE, a read after the view's commit included)
    while its greenlet waits; another request's BEGIN then blocks the worker's one thread in
    SQLite's busy wait, and the whole worker stands still until the busy timeout (30 s). A
    hook that still writes (the audit row of a refused request) opens a session of its own."""
    close_session()
    return response


def init_app(app: Flask) -> None:
    @app.teardown_appcontext
    def _close_session(_exc):
        close_session()
