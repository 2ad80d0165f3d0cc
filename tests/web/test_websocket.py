"""The WebSocket endpoint: snapshots, live events, resume without gaps or duplicates."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from clinic.base import utcnow
from clinic.events import flush_published_marks, prune_outbox, record_event, record_events
from clinic.models import OutboxEvent
from tests.conftest import ONE_BACKEND
from tests.wsclient import WSClient

# The socket protocol, not database rules: they run on one backend (see tests/conftest.py).
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])


def _emit(runtime, channel, n):
    with runtime.db.transaction() as s:
        for i in range(n):
            record_event(s, channel, "test.tick", {"i": i})


def test_live_events_reach_a_subscriber_in_order(runtime, live_server, admin_token):
    ws = WSClient(live_server, token=admin_token)
    ws.subscribe("job:live")
    _emit(runtime, "job:live", 5)
    events = ws.events("job:live", 5)
    assert [e["id"] for e in events] == [1, 2, 3, 4, 5]
    assert [e["data"]["i"] for e in events] == [0, 1, 2, 3, 4]
    ws.close()


def test_reconnect_with_last_id_gets_exactly_the_missed_events(runtime, live_server, admin_token):
    ws = WSClient(live_server, token=admin_token)
    ws.subscribe("job:resume")
    _emit(runtime, "job:resume", 3)
    seen = ws.events("job:resume", 3)
    last_id = seen[-1]["id"]
    ws.close()

    _emit(runtime, "job:resume", 4)  # missed while away: 4..7

    ws = WSClient(live_server, token=admin_token)
    replayed = ws.subscribe("job:resume", last_id=last_id)
    _emit(runtime, "job:resume", 2)  # live again: 8, 9
    live = ws.events("job:resume", 2)
    ids = [m["id"] for m in replayed if m["op"] == "event"] + [m["id"] for m in live]
    assert ids == [4, 5, 6, 7, 8, 9]
    assert ws.quiet(0.3) == []
    ws.close()


def test_subscribe_without_last_id_starts_from_a_snapshot(runtime, live_server, admin_token):
    _emit(runtime, "job:snap", 2)
    ws = WSClient(live_server, token=admin_token)
    got = ws.subscribe("job:snap")
    assert got[0]["op"] == "snapshot" and got[0]["last_id"] == 2
    _emit(runtime, "job:snap", 1)
    assert ws.events("job:snap", 1)[0]["id"] == 3
    ws.close()


def test_unknown_channel_kind_or_a_key_naming_nothing_is_closed_with_policy_violation(
    live_server, admin_token
):
    """``board:07`` would show board 7's snapshot and then nothing: its events go to
    ``board:7``."""
    for channel in (
        "secret:1",
        "board:07",
        "board:abc",
        "visits_doctor:007",
        "visits_department:x",
        "payments:desk2",
        "printers:al",
        "print_jobs:queue.x",
        "print_jobs:queue.012",
        "print_jobs:cashiers",
    ):
        ws = WSClient(live_server, token=admin_token)
        ws.send({"op": "subscribe", "channel": channel})
        assert ws.wait_closed() == 1008, channel


def test_a_channel_name_the_pattern_does_not_match_whole_is_closed_with_policy_violation(
    live_server, admin_token
):
    """A name followed by a line break (``job:<id>\\n``), or one past 150 characters, names
    no channel events go to: the socket would wait on a snapshot of nothing for ever."""
    for channel in ("job:" + "a" * 32 + "\n", "job:a\n", "job:" + "a" * 151, "job:a b"):
        ws = WSClient(live_server, token=admin_token)
        ws.send({"op": "subscribe", "channel": channel})
        assert ws.wait_closed() == 1008, repr(channel)


def test_a_reference_channel_is_one_of_the_reference_datas_kinds(live_server, admin_token):
    """``reference:service`` or ``reference:users`` hears nothing: the reference data's events
    go to its kinds' channels, ``reference:services`` and the rest."""
    for channel in ("reference:services", "reference:clinic", "reference:patients"):
        ws = WSClient(live_server, token=admin_token)
        assert ws.subscribe(channel)[-1]["op"] == "subscribed", channel
        ws.close()
    for channel in ("reference:service", "reference:users", "reference:Doctors", "reference:x"):
        ws = WSClient(live_server, token=admin_token)
        ws.send({"op": "subscribe", "channel": channel})
        assert ws.wait_closed() == 1008, channel


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
def test_bad_messages_get_an_error_and_the_socket_stays_open(
    live_server, admin_token, message, code
):
    ws = WSClient(live_server, token=admin_token)
    ws.ws.send(message)
    assert ws.next()["code"] == code
    ws.send({"op": "ping"})
    assert ws.next()["op"] == "pong"
    ws.close()


@pytest.mark.parametrize(
    "message, code, detail",
    [
        ('{"op": "subscribe", "channel": 5}', "bad_channel", "channel must be a string"),
        ('{"op": "subscribe", "channel": ""}', "bad_channel", "channel must not be empty"),
        ('{"op": "unsubscribe"}', "bad_channel", "channel is required"),
        (b'{"op": "ping"}', "bad_message", "a binary frame: send JSON text"),
    ],
)
def test_an_error_names_what_is_wrong_with_the_message(
    live_server, admin_token, message, code, detail
):
    """A script's author reads the detail: "channel is required" for ``"channel": 5`` sends
    him looking for a field he did send."""
    ws = WSClient(live_server, token=admin_token)
    ws.ws.send(message, opcode=2 if isinstance(message, bytes) else 1)
    assert ws.next() == {"op": "error", "code": code, "detail": detail}
    ws.close()


def test_a_socket_without_credentials_is_closed_with_1008(live_server):
    ws = WSClient(live_server, expect_hello=False)
    assert ws.wait_closed() == 1008


def test_a_revoked_token_is_closed_with_1008(live_server, runtime, client):
    token = client.post("/api/v1/tokens", json={"name": "board"}).get_json()
    client.post(f"/api/v1/tokens/{token['id']}/revoke")
    ws = WSClient(live_server, query=f"?token={token['token']}", expect_hello=False)
    assert ws.wait_closed() == 1008


def _token_of(runtime, role):
    from clinic.accounts import tokens, users
    from tests.conftest import _create_user

    user_id, _ = _create_user(runtime, role)
    with runtime.db.transaction() as s:
        return tokens.create_token(s, users.get_user(s, user_id), name="screen")[1]


def test_a_display_token_reads_board_channels_and_nothing_else(live_server, runtime):
    display = _token_of(runtime, "display")
    ws = WSClient(live_server, query=f"?token={display}")
    assert ws.subscribe("board:1")[-1]["op"] == "subscribed"
    ws.send({"op": "subscribe", "channel": "queue:1"})
    assert ws.wait_closed() == 1008
    for channel in ("job:" + "a" * 32, "ticket:1", "reference:services"):
        ws = WSClient(live_server, query=f"?token={display}")
        ws.send({"op": "subscribe", "channel": channel})
        assert ws.wait_closed() == 1008, channel


def test_a_patient_token_reads_only_its_own_ticket(live_server, runtime):
    from datetime import time

    from clinic.queue import admin as queue_admin
    from clinic.queue import joining
    from clinic.reference import directory as reference

    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {
                "code": "ped",
                "ticket_prefix": "P",
                "name_ru": "Педиатрия",
                "name_uz": "Pediatriya",
                "name_en": "Paediatrics",
            },
        )
        queue = queue_admin.create_queue(
            s,
            {
                "code": "ped",
                "department_id": department.id,
                "online_from": time(0, 0),
                "online_until": time(23, 59, 59, 999999),
                "closes_at": time(23, 59, 59, 999999),
                "online_daily_limit": 10,
            },
        )
        mine = joining.join_online(s, queue.id, "90 123 45 67", tz=runtime.settings.tz)
        other = joining.join_online(s, queue.id, "90 765 43 21", tz=runtime.settings.tz)
        secret, mine_id, other_id, queue_id = mine.token, mine.id, other.id, queue.id
    ws = WSClient(live_server, query=f"?ticket={secret}")
    snapshot = ws.subscribe(f"ticket:{mine_id}")[0]
    assert snapshot["op"] == "snapshot" and snapshot["data"]["code"] == "P-001"
    assert ws.subscribe(f"board:{queue_id}")[-1]["op"] == "subscribed"
    ws.send({"op": "subscribe", "channel": f"ticket:{other_id}"})
    assert ws.wait_closed() == 1008
    ws = WSClient(live_server, query="?ticket=" + "x" * 43, expect_hello=False)
    assert ws.wait_closed() == 1008


def test_a_client_that_stops_reading_is_dropped_without_delaying_the_others(
    runtime, live_server, admin_token, app, monkeypatch
):
    import socket

    from web.ws import connection as connection_module

    monkeypatch.setattr(connection_module, "SEND_QUEUE_SIZE", 20)
    stuck = WSClient(live_server, token=admin_token)
    stuck.ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.subscribe("job:flood")
    reader = WSClient(live_server, token=admin_token)
    reader.subscribe("job:flood")
    hub = app.extensions["clinic.ws"]["hub"]
    assert hub.subscriber_count() == 2

    blob = "x" * 60_000  # large events fill the stuck client's socket buffers quickly
    for batch in range(12):
        with runtime.db.transaction() as s:
            for i in range(10):
                record_event(s, "job:flood", "test.tick", {"i": batch * 10 + i, "blob": blob})
        # The reader keeps up the whole time: the stuck one holds nobody back.
        got = reader.events("job:flood", 10, timeout=10)
        assert [e["data"]["i"] for e in got] == list(range(batch * 10, batch * 10 + 10))

    deadline = time.monotonic() + 10
    while hub.subscriber_count() != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hub.subscriber_count() == 1  # the stuck client was dropped
    reader.close()


def test_a_client_far_behind_gets_every_missed_event_not_only_the_first_page(
    runtime, live_server, admin_token, monkeypatch
):
    # Redis keeps only the newest few: the outbox answers, a page of 1000 at a time.
    monkeypatch.setattr(runtime.bus, "history_size", 5)
    with runtime.db.transaction() as s:
        record_events(s, [("job:behind", "test.tick", {"i": i}) for i in range(1200)])
    ws = WSClient(live_server, token=admin_token)
    got = ws.subscribe("job:behind", last_id=0, timeout=20)
    assert [m["id"] for m in got if m["op"] == "event"] == list(range(1, 1201))
    assert got[-1] == {"op": "subscribed", "channel": "job:behind", "last_id": 1200}
    ws.close()


def test_a_live_event_after_a_long_gap_brings_every_missed_event_first(
    runtime, live_server, admin_token, monkeypatch
):
    ws = WSClient(live_server, token=admin_token)
    ws.subscribe("job:gap")

    def redis_away(messages):
        raise ConnectionError("Redis is away")

    with monkeypatch.context() as away:  # committed, never published: left in the outbox
        away.setattr(runtime.bus, "publish", redis_away)
        with runtime.db.transaction() as s:
            record_events(s, [("job:gap", "test.tick", {"i": i}) for i in range(1100)])
    _emit(runtime, "job:gap", 1)  # published: the server sees the gap before it
    events = ws.events("job:gap", 1101, timeout=20)
    assert [e["id"] for e in events] == list(range(1, 1102))
    assert ws.quiet(0.3) == []
    ws.close()


def test_a_last_id_above_the_newest_event_starts_again_from_a_snapshot(
    runtime, live_server, admin_token
):
    """A board that kept its number through a restore of the database to an older backup: the
    channel's numbers start again below it, and not one of them may be held back."""
    _emit(runtime, "job:restored", 2)
    ws = WSClient(live_server, token=admin_token)
    got = ws.subscribe("job:restored", last_id=50)
    assert [m["op"] for m in got] == ["snapshot", "subscribed"]
    assert got[0]["last_id"] == got[1]["last_id"] == 2
    _emit(runtime, "job:restored", 1)
    assert [e["id"] for e in ws.events("job:restored", 1)] == [3]
    # Its own newest number is no reason for a snapshot: nothing was missed.
    again = WSClient(live_server, token=admin_token)
    assert [m["op"] for m in again.subscribe("job:restored", last_id=3)] == ["subscribed"]
    ws.close()
    again.close()


def test_resuming_past_the_kept_history_starts_again_from_a_snapshot(
    runtime, live_server, admin_token
):
    _emit(runtime, "job:old", 3)
    # Weeks later: Redis no longer holds the channel's history and the outbox was pruned.
    flush_published_marks()
    runtime.redis.delete(runtime.bus.history_key("job:old"))
    with runtime.db.transaction() as s:
        s.execute(
            update(OutboxEvent)
            .where(OutboxEvent.channel == "job:old")
            .values(created_at=utcnow() - timedelta(days=30), published_at=utcnow())
        )
        prune_outbox(s, keep_days=7)
    ws = WSClient(live_server, token=admin_token)
    got = ws.subscribe("job:old", last_id=1)
    assert [m["op"] for m in got] == ["snapshot", "subscribed"]
    assert got[0]["last_id"] == got[1]["last_id"] == 3
    ws.close()


def test_a_long_message_is_an_error_and_a_huge_frame_closes_the_socket_with_1009(
    live_server, admin_token
):
    ws = WSClient(live_server, token=admin_token)
    ws.send({"op": "ping", "pad": "x" * 1_000_000})
    assert ws.next()["code"] == "bad_message"
    ws.send({"op": "ping"})
    assert ws.next() == {"op": "pong"}
    # Beyond 4 MiB the server stops reading: nothing that large is kept in its memory.
    ws.ws.send("x" * (5 * 1024 * 1024))
    assert ws.wait_closed() == 1009


def test_two_hundred_channels_a_socket_and_the_same_channel_twice_counts_once(
    runtime, live_server, admin_token
):
    """Enough for the reception desk of a large clinic (two channels a queue, one for all),
    and no more."""
    ws = WSClient(live_server, token=admin_token)
    for i in range(230):
        ws.send({"op": "subscribe", "channel": f"job:many{i}"})
    ws.send({"op": "subscribe", "channel": "job:many7"})  # already followed: starts over
    ws.send({"op": "ping"})
    got = ws.until(lambda m: m.get("op") == "pong", timeout=20)
    subscribed = [m["channel"] for m in got if m["op"] == "subscribed"]
    assert subscribed == [f"job:many{i}" for i in range(200)] + ["job:many7"]
    assert [m["code"] for m in got if m["op"] == "error"] == ["too_many_channels"] * 30
    _emit(runtime, "job:many199", 1)
    _emit(runtime, "job:many200", 1)
    assert [e["channel"] for e in ws.events("job:many199", 1)] == ["job:many199"]
    assert ws.quiet(0.3) == []
    ws.close()


class _QuietSocket:
    """A socket that takes whatever it is sent: the hub's side of a client, without a network."""

    def send(self, text) -> None:
        pass

    def close(self, reason=None, message=None) -> None:
        pass


def test_a_subscription_arriving_as_its_socket_is_dropped_leaves_nothing_in_the_hub(runtime):
    """The socket was dropped (too slow, or its rights revoked by the recheck) while its last
    subscribe was being checked: the hub must not hold it, and feed it, from then on."""
    from web.ws.connection import SLOW_CLIENT_CLOSE, Connection
    from web.ws.hub import Hub

    hub = Hub(runtime)
    conn = Connection(_QuietSocket(), hub)
    hub.attach(conn)
    conn.subscribe("job:held", None)
    conn.shutdown(SLOW_CLIENT_CLOSE, "too slow")
    conn.subscribe("job:late", None)
    conn.wait_closed(2.0)
    assert hub.subscriber_count() == 0


def test_a_socket_flooding_frames_is_closed_with_1008_and_others_keep_theirs(
    live_server, admin_token
):
    from web.ws import FRAME_BURST, FrameBudget

    calm = WSClient(live_server, token=admin_token)
    flood = WSClient(live_server, token=admin_token)
    for _ in range(FRAME_BURST * 3):
        try:
            flood.send({"op": "ping"})
        except Exception:  # closed while still sending: what the test expects
            break
    assert flood.wait_closed(10) == 1008
    calm.send({"op": "ping"})
    assert calm.next() == {"op": "pong"}
    calm.close()
    budget = FrameBudget(burst=3, rate=0.0)
    assert [budget.take() for _ in range(4)] == [True, True, True, False]
