"""Redis goes away and comes back: committed events still reach every subscriber, once."""

from __future__ import annotations

import time

import pytest
import redis
from sqlalchemy import select

from clinic.events import record_event
from clinic.models import OutboxEvent
from tests.conftest import make_settings
from tests.wsclient import WSClient


@pytest.fixture
def settings(database_urls, backend, tmp_path, redis_prefix, private_redis):
    return make_settings(
        database_urls[backend], tmp_path / "instance", redis_prefix, REDIS_URL=private_redis.url
    )


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _published(runtime, channel):
    with runtime.db.session() as s:
        return s.scalars(
            select(OutboxEvent.published_at).where(OutboxEvent.channel == channel)
        ).all()


def test_event_committed_while_redis_is_down_reaches_subscribers_after_it_returns(
    runtime, app, live_server, private_redis, celery_app, admin_token, request
):
    ws = WSClient(live_server, token=admin_token)
    ws.subscribe("job:outage")
    hub = app.extensions["clinic.ws"]["hub"]

    private_redis.stop()
    with runtime.db.transaction() as s:  # the commit succeeds; only the publish fails
        record_event(s, "job:outage", "test.tick", {"n": 1})
    assert _published(runtime, "job:outage") == [None]

    private_redis.start()
    _wait(hub.connected.is_set, 15, "the web process to resubscribe")
    listener = redis.Redis.from_url(private_redis.url).pubsub(ignore_subscribe_messages=True)
    listener.psubscribe(runtime.bus.pubsub_pattern)

    # A worker started now (one that lived through the outage reconnects on its own, with a
    # backoff that only slows the test down) runs what beat sends every few seconds; the
    # re-publisher leaves events younger than two seconds to their own publish.
    request.getfixturevalue("worker")
    deadline = time.monotonic() + 30
    while _published(runtime, "job:outage") == [None]:
        assert time.monotonic() < deadline, "the re-publisher did not publish the event"
        celery_app.send_task("events.republish")
        time.sleep(0.5)

    message = None
    deadline = time.monotonic() + 5
    while message is None and time.monotonic() < deadline:
        message = listener.get_message(timeout=0.5)
    assert message is not None and b'"id":1' in message["data"]
    assert [e["id"] for e in runtime.bus.history_after("job:outage", 0)] == [1]

    with runtime.db.transaction() as s:
        record_event(s, "job:outage", "test.tick", {"n": 2})
    events = ws.events("job:outage", 2, timeout=10)
    assert [(e["id"], e["data"]["n"]) for e in events] == [(1, 1), (2, 2)]
    assert ws.quiet(0.5) == []  # the re-publish did not deliver event 1 a second time
    listener.close()
    ws.close()
