"""A 10,000-ticket day reaches the desk whole over a real socket, under gunicorn's gevent
worker as production runs it: the staff snapshot as its bounded window with the day's counts,
and the whole day through the paged ticket list."""

from __future__ import annotations

import argparse

import pytest
import requests

from bench.support.harness import Stack
from tests.conftest import ONE_BACKEND, REDIS_URL
from tests.queue.seeding import seed_waiting
from tests.wsclient import WSClient

# What the desk is sent is the web's; the paged query runs on both databases elsewhere.
pytestmark = [pytest.mark.parametrize("backend", [ONE_BACKEND]), pytest.mark.slow]

TICKETS = 10_000


@pytest.fixture
def stack(runtime, tmp_path):
    """The server on this test process's migrated database, emptied for the test (``runtime``),
    not on a database of its own created and migrated for the one test."""
    args = argparse.Namespace(
        database_url=runtime.settings.database_url,
        postgres=None,
        redis_url=REDIS_URL,
        workers=1,
        server_open_files=None,
        server_log=None,
        results_dir=tmp_path,
        json=None,
    )
    with Stack(args) as running:
        yield running


def test_a_ten_thousand_ticket_day_arrives_whole_at_the_desk(stack):
    token = stack.user_token(["admin"])
    queue_id = stack.queue()["queue_id"]
    seed_waiting(stack.runtime, queue_id, TICKETS)

    ws = WSClient(stack.base_url, token=token, timeout=15)
    try:
        messages = ws.subscribe(f"queue:{queue_id}", timeout=15)
    finally:
        ws.ws.close()
    snapshot = next(m for m in messages if m["op"] == "snapshot")["data"]
    assert messages[-1]["op"] == "subscribed"
    assert snapshot["waiting"] == TICKETS
    assert snapshot["counts"]["waiting"] == TICKETS
    assert [t["number"] for t in snapshot["tickets"]] == list(range(1, 101))

    numbers, headers = [], {"Authorization": f"Bearer {token}"}
    for offset in range(0, TICKETS, 500):
        page = requests.get(
            f"{stack.base_url}/api/v1/queues/{queue_id}/tickets",
            params={"limit": 500, "offset": offset},
            headers=headers,
            timeout=15,
        )
        assert page.status_code == 200, page.text
        numbers += [t["number"] for t in page.json()]
    assert numbers == list(range(1, TICKETS + 1))
