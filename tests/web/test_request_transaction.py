"""A request's database transaction ends before the browser's session is saved to Redis.

Under gevent a transaction kept open across that network call holds SQLite's write lock
(every transaction there is BEGIN IMMEDIATE) while its greenlet waits, and the next request's
BEGIN blocks the whole worker until SQLite's busy timeout: the load test's patients froze
`clinic run` for 30 s at a time that way.
"""

from __future__ import annotations

import pytest

from clinic.queue import tickets as q
from tests.queue.seeding import make_queue

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
