"""The process's event subscription to Redis drops and comes back (a Redis restart, a
``CLIENT KILL``, a proxy cutting the link): the sockets get what was published meanwhile,
and nothing Redis holds that the database does not."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import delete

from clinic.events import BUS_KEY, flush_published_marks, record_event
from clinic.models import EventChannel, OutboxEvent
from tests.conftest import ONE_BACKEND, make_settings
from tests.wsclient import WSClient

# The hub's Redis subscription, not database rules: one backend (see tests/conftest.py).
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])


@pytest.fixture
def settings(database_urls, backend, tmp_path, redis_prefix, private_redis):
    return make_settings(
        database_urls[backend], tmp_path / "instance", redis_prefix, REDIS_URL=private_redis.url
    )


def _drop_subscriptions(private_redis) -> None:
    admin = redis.Redis.from_url(private_redis.url)
    assert admin.client_kill_filter(_type="pubsub") >= 1
    admin.close()


def _record(runtime, channel, *values, publish=True):
    with runtime.db.transaction() as s:
        if not publish:
            s.info.pop(BUS_KEY, None)  # committed, but its publish never reached anyone
        for i in values:
            record_event(s, channel, "test.tick", {"i": i})


def test_a_dropped_subscription_delivers_what_was_published_while_it_was_down(
    runtime, app, live_server, private_redis, admin_token
):
    ws = WSClient(live_server, token=admin_token)
    ws.subscribe("job:dropped")
    _record(runtime, "job:dropped", 1, publish=False)
    assert ws.quiet(0.3) == []
    _drop_subscriptions(private_redis)
    assert [(e["id"], e["data"]["i"]) for e in ws.events("job:dropped", 1)] == [(1, 1)]
    _record(runtime, "job:dropped", 2)
    assert [e["id"] for e in ws.events("job:dropped", 1)] == [2]
    assert ws.quiet(0.3) == []
    ws.close()


def test_catching_up_sends_nothing_the_database_has_not_numbered(
    runtime, app, live_server, private_redis, admin_token
):
    """After a restore to an older backup Redis still holds the history of events the
    database no longer has; their numbers are given out again. Catching up after a dropped
    subscription must not send those, nor hold back the new events of the same numbers."""
    _record(runtime, "job:restored", 0, 1, 2)
    flush_published_marks()
    with runtime.db.transaction() as s:  # the restore: back to before those three
        s.execute(delete(OutboxEvent).where(OutboxEvent.channel == "job:restored"))
        s.execute(delete(EventChannel).where(EventChannel.name == "job:restored"))
    ws = WSClient(live_server, token=admin_token)
    assert ws.subscribe("job:restored")[0]["last_id"] == 0
    _drop_subscriptions(private_redis)
    assert ws.quiet(2.0) == []
    _record(runtime, "job:restored", 10, 11)
    events = ws.events("job:restored", 2)
    assert [(e["id"], e["data"]["i"]) for e in events] == [(1, 10), (2, 11)]
    ws.close()


def test_a_subscription_redis_stops_answering_is_replaced_and_delivers_again(
    runtime, private_redis
):
    """The link stays open but nothing comes back (here: Redis stopped, as a host gone
    behind a firewall that drops rather than refuses): the hub's unanswered health-check
    pings make it subscribe again, instead of waiting on a dead link for good."""
    import copy
    import os
    import signal
    import time

    from clinic.runtime import redis_client
    from web.ws.hub import Hub

    watched = copy.copy(runtime)  # the hub's client pings after a second of silence
    watched.redis = redis_client(private_redis.url, health_check_interval=1)
    hub = Hub(watched)
    hub.pong_within = 2.0
    got = []
    hub.dispatch = got.append
    hub.start()
    try:
        assert hub.connected.wait(10)
        os.kill(private_redis.process.pid, signal.SIGSTOP)
        try:
            deadline = time.monotonic() + 20
            while hub.connected.is_set() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not hub.connected.is_set(), "the hub still trusts a link that answers nothing"
        finally:
            os.kill(private_redis.process.pid, signal.SIGCONT)
        assert hub.connected.wait(30)
        _record(runtime, "job:answering", 1)
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [(e["channel"], e["data"]["i"]) for e in got] == [("job:answering", 1)]
    finally:
        hub.stop()
        watched.redis.close()
