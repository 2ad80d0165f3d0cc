"""The online join's rate limit is the configured one (CLINIC_ONLINE_JOIN_RATE_LIMIT), counted
per calling address by the Redis-backed limiter every web process shares."""

from __future__ import annotations

from datetime import time

import pytest

from tests.queue.test_api import make_queue


@pytest.fixture
def settings(shared, database_urls, backend):
    return shared.settings(
        database_urls, backend, CLINIC_ONLINE_JOIN_RATE_LIMIT="3 per minute;50 per hour"
    )


def test_the_online_join_applies_the_configured_rate_limit_per_address(anon_client, runtime):
    queue_id = make_queue(
        runtime,
        online_from=time(0, 0),
        online_until=time(23, 59, 59, 999999),
        online_daily_limit=50,
    )
    url = f"/api/v1/public/queues/{queue_id}/join"
    here = {"REMOTE_ADDR": "10.1.2.3"}
    answers = [
        anon_client.post(url, json={"phone": f"90 111 22 {n:02d}"}, environ_base=here)
        for n in range(4)
    ]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert answers[-1].headers["X-RateLimit-Limit"] == "3"
    # Counted per address: another one still joins.
    other = anon_client.post(
        url, json={"phone": "90 111 22 99"}, environ_base={"REMOTE_ADDR": "10.1.2.4"}
    )
    assert other.status_code == 201
