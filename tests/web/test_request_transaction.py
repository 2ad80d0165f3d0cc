"""A request's database transaction ends before the browser's session is saved to Redis, and
before any other after-request hook talks to Redis (the rate limiter's headers).

Under gevent a transaction kept open across that network call holds SQLite's write lock
(every transaction there is BEGIN IMMEDIATE) while its greenlet waits, and the next request's
BEGIN blocks the whole worker until SQLite's busy timeout: the load test's patients froze
`clinic run` for 30 s at a time that way, and so did three phones joining a queue at once
(the join reads the patient's position after its commit).
"""

from __future__ import annotations

from datetime import time

import pytest

from clinic.queue import tickets as q
from tests.queue.seeding import make_queue
from tests.queue.test_api import make_queue as make_online_queue

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def saves(app):
    """For each session saved from now on: was the request's transaction still open?"""
    from flask import g

    seen: list[bool] = []
    inner = app.session_interface.save_session

    def save(app_, session, response):
        db = g.get("db_session")
        seen.append(db is not None and db.in_transaction())
        return inner(app_, session, response)

    app.session_interface.save_session = save
    return seen


@pytest.fixture
def ticket_token(runtime) -> str:
    queue_id = make_queue(runtime, "ther")
    with runtime.db.transaction() as s:
        return q.issue_ticket(s, queue_id, tz=runtime.settings.tz).token


def test_the_patient_page_ends_its_transaction_before_its_session_is_saved(
    anon_client, ticket_token, saves
):
    page = anon_client.get(f"/t/{ticket_token}", headers=HTML)
    assert page.status_code == 200
    assert "clinic_session=" in page.headers.get("Set-Cookie", "")  # a session was saved
    assert saves == [False]
    state = anon_client.get(f"/api/v1/public/tickets/{ticket_token}")
    assert state.status_code == 200
    assert saves == [False, False]


def test_a_signed_in_read_ends_its_transaction_before_its_session_is_saved(client, saves):
    assert client.get("/api/v1/services").status_code == 200
    assert saves == [False]


def test_an_online_join_ends_its_transaction_before_the_rate_limiter_talks_to_redis(
    anon_client, runtime, monkeypatch
):
    from flask import g

    from web.auth.limits import limiter

    open_then: list[bool] = []
    inner = limiter.limiter.get_window_stats

    def window(*args, **kwargs):
        db = g.get("db_session")
        open_then.append(db is not None and db.in_transaction())
        return inner(*args, **kwargs)

    monkeypatch.setattr(limiter.limiter, "get_window_stats", window)
    queue_id = make_online_queue(
        runtime, online_from=time(0, 0), online_until=time(23, 59, 59, 999999), online_daily_limit=5
    )
    joined = anon_client.post(
        f"/api/v1/public/queues/{queue_id}/join", json={"phone": "90 111 22 33"}
    )
    assert joined.status_code == 201, joined.get_json()
    assert joined.headers.get("X-RateLimit-Remaining") is not None  # the hook did run
    assert open_then and not any(open_then)
