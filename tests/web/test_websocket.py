"""The WebSocket endpoint: snapshots, live events, resume without gaps or duplicates."""

from __future__ import annotations

import pytest

from clinic.events import record_event
from tests.wsclient import WSClient


def _emit(runtime, channel, n):
    with runtime.db.transaction() as s:
        for i in range(n):
            record_event(s, channel, "test.tick", {"i": i})


def test_live_events_reach_a_subscriber_in_order(runtime, live_server):
    ws = WSClient(live_server)
    ws.subscribe("job:live")
    _emit(runtime, "job:live", 5)
    events = ws.events("job:live", 5)
    assert [e["id"] for e in events] == [1, 2, 3, 4, 5]
    assert [e["data"]["i"] for e in events] == [0, 1, 2, 3, 4]
    ws.close()


def test_reconnect_with_last_id_gets_exactly_the_missed_events(runtime, live_server):
    ws = WSClient(live_server)
    ws.subscribe("job:resume")
    _emit(runtime, "job:resume", 3)
    seen = ws.events("job:resume", 3)
    last_id = seen[-1]["id"]
    ws.close()

    _emit(runtime, "job:resume", 4)  # missed while away: 4..7

    ws = WSClient(live_server)
    replayed = ws.subscribe("job:resume", last_id=last_id)
    _emit(runtime, "job:resume", 2)  # live again: 8, 9
    live = ws.events("job:resume", 2)
    ids = [m["id"] for m in replayed if m["op"] == "event"] + [m["id"] for m in live]
    assert ids == [4, 5, 6, 7, 8, 9]
    assert ws.quiet(0.3) == []
    ws.close()


def test_subscribe_without_last_id_starts_from_a_snapshot(runtime, live_server):
    _emit(runtime, "job:snap", 2)
    ws = WSClient(live_server)
    got = ws.subscribe("job:snap")
    assert got[0]["op"] == "snapshot" and got[0]["last_id"] == 2
    _emit(runtime, "job:snap", 1)
    assert ws.events("job:snap", 1)[0]["id"] == 3
    ws.close()


def test_unknown_channel_kind_is_closed_with_policy_violation(live_server):
    ws = WSClient(live_server)
    ws.send({"op": "subscribe", "channel": "secret:1"})
    assert ws.wait_closed() == 1008


@pytest.mark.parametrize(
    "message, code",
    [
        ("not json", "bad_message"),
        ('{"op": "dance"}', "bad_op"),
        ('{"op": "subscribe"}', "bad_channel"),
        ('{"op": "subscribe", "channel": "job:a", "last_id": -1}', "bad_last_id"),
        ('{"op": "subscribe", "channel": "job:a", "last_id": "x"}', "bad_last_id"),
        ("[1, 2]", "bad_message"),
    ],
)
def test_bad_messages_get_an_error_and_the_socket_stays_open(live_server, message, code):
    ws = WSClient(live_server)
    ws.ws.send(message)
    assert ws.next()["code"] == code
    ws.send({"op": "ping"})
    assert ws.next()["op"] == "pong"
    ws.close()
