"""PostgreSQL ends a connection in the middle of a statement (a restart, a failover, an
administrator ending a stuck query): a request answers 503 with ``Retry-After``, never a 500,
and a task's transaction lets out the OperationalError its task is retried on."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tasks.base import TRANSIENT_ERRORS
from tests.conftest import PG_ADMIN_URL
from tests.queue.test_api import make_queue

# Ending a backend is PostgreSQL's; SQLite has no server to lose.
pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

PROBLEM = "application/problem+json"


def _ended_while_waiting(runtime, table: str, work):
    """Run ``work`` in a thread while ``table`` is locked by another connection, and end the
    backend that waits on the lock, as the server does to every backend when it restarts.
    Returns what ``work`` returned, or the exception it raised."""
    dbname = runtime.db.engine.url.database
    admin_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{dbname}"
    outcome = []

    def run():
        try:
            outcome.append(work())
        except Exception as exc:  # the outcome the test looks at
            outcome.append(exc)

    with psycopg.connect(admin_url) as locker:
        locker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        worker = threading.Thread(target=run)
        worker.start()
        with psycopg.connect(admin_url, autocommit=True) as ender:
            waiting = []
            for _ in range(200):
                waiting = ender.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s"
                    " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
                    (dbname,),
                ).fetchall()
                if waiting:
                    break
                time.sleep(0.05)
            assert waiting, "the work never waited on the lock"
            for (pid,) in waiting:
                ender.execute("SELECT pg_terminate_backend(%s)", (pid,))
        worker.join(10)
        locker.rollback()
    assert not worker.is_alive() and len(outcome) == 1, outcome
    return outcome[0]


@pytest.fixture
def ticket_state(app, runtime, client_as):
    """The address of a patient's ticket state (its secret in the path), answered by an
    application that turns errors into answers, as in production."""
    app.config["TESTING"] = False
    queue_id = make_queue(runtime)
    ticket = client_as("registrar").post(f"/api/v1/queues/{queue_id}/tickets", json={})
    secret = ticket.get_json()["patient_url"].removeprefix("/t/")
    return f"/api/v1/public/tickets/{secret}", secret


def test_a_request_whose_connection_the_server_ends_answers_503_with_retry_after(
    ticket_state, runtime, anon_client, caplog
):
    path, secret = ticket_state
    assert anon_client.get(path).status_code == 200

    answer = _ended_while_waiting(runtime, "tickets", lambda: anon_client.get(path))

    assert not isinstance(answer, Exception), answer
    assert answer.status_code == 503, (answer.status_code, answer.get_data(as_text=True))
    assert answer.headers["Retry-After"] == "5"
    assert answer.mimetype == PROBLEM
    body = answer.get_json()
    assert body["status"] == 503 and body["title"] == "Service unavailable"
    assert "a dependency is unavailable on GET /api/v1/public/tickets/[redacted]" in caplog.text
    assert secret not in caplog.text


def test_the_request_after_an_ended_connection_answers_normally(ticket_state, runtime, anon_client):
    path, _secret = ticket_state
    assert (
        _ended_while_waiting(runtime, "tickets", lambda: anon_client.get(path)).status_code == 503
    )

    again = anon_client.get(path)
    assert again.status_code == 200, again.get_data(as_text=True)
    assert runtime.db.engine.pool.checkedout() == 0


def test_a_transaction_whose_connection_the_server_ends_lets_out_an_error_tasks_retry(runtime):
    def count_tickets():
        with runtime.db.transaction() as s:
            return s.scalar(text("SELECT count(*) FROM tickets"))

    escaped = _ended_while_waiting(runtime, "tickets", count_tickets)

    assert isinstance(escaped, DBAPIError) and escaped.connection_invalidated, repr(escaped)
    assert isinstance(escaped, TRANSIENT_ERRORS), repr(escaped)
    assert count_tickets() == 0  # the pool connected anew
