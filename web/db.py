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
    if "db_session" not in g:
        g.db_session = runtime().db.session()
        for hook in current_app.extensions.get("clinic.session_hooks", ()):
            hook(g.db_session)
    return g.db_session


def enqueue_after_commit(db: Session, task_name: str, *, queue: str, **kwargs) -> None:
    """Send a task by name once ``db``'s transaction commits (never from inside it)."""
    celery = current_app.extensions["celery"]
    on_commit(db, lambda: celery.send_task(task_name, kwargs=kwargs, queue=queue))


def close_session() -> None:
    """End the request's transaction (rolled back unless the view committed) and session."""
    db = g.pop("db_session", None)
    if db is not None:
        db.close()


def init_app(app: Flask) -> None:
    # The answer is made: its transaction ends before Flask saves the browser's session to
    # Redis. Registered first, this runs after every other ``after_request`` (Flask calls them
    # in reverse). Under gevent a transaction kept open across that network call holds
    # SQLite's write lock (every transaction there is BEGIN IMMEDIATE) while its greenlet
    # waits; another request's BEGIN then blocks the worker's one thread in SQLite's busy
    # wait, and the whole worker stands still until the busy timeout (30 s).
    @app.after_request
    def _end_transaction(response):
        close_session()
        return response

    @app.teardown_appcontext
    def _close_session(_exc):
        close_session()
