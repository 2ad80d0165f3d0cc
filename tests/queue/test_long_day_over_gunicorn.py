"""A 10,000-ticket day reaches the desk whole over a real socket, under gunicorn's gevent
worker as production runs it: the staff snapshot as its bounded window with the day's counts,
and the whole day through the paged ticket list; and large snapshots reach a desk on a slow
link whole, frame by frame."""

from __future__ import annotations

import argparse
import fcntl
import json
import socket
import termios
import time

import pytest
import requests
import websocket
from sqlalchemy import update

from bench.support.harness import Stack
from clinic.queue.models import Ticket
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

    # A desk on a slow link: its socket's buffers fill while the window, each ticket with a
    # long note (about 240 KB), is sent to it again and again. Read off the TCP stream, every
    # frame is whole JSON: none cut short, none read as the remainder of another.
    with stack.runtime.db.transaction() as s:
        s.execute(update(Ticket).where(Ticket.number <= 100).values(comment="Примечание " * 90))
    slow = websocket.create_connection(
        stack.base_url.replace("http://", "ws://") + "/ws",
        header=[f"Authorization: Bearer {token}"],
        timeout=30,
        sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),),
    )
    try:
        assert json.loads(slow.recv())["op"] == "hello"
        for _ in range(ROUNDS):
            slow.send(json.dumps({"op": "subscribe", "channel": f"queue:{queue_id}"}))
        _until_the_server_stalls(slow.sock)  # nothing read meanwhile
        ops = _whole_frames(slow.sock, ROUNDS)
    finally:
        slow.close()
    assert ops.count("snapshot") == ROUNDS


ROUNDS = 12


def _until_the_server_stalls(sock, deadline: float = 15.0) -> None:
    """Until what waits unread on ``sock`` has stopped growing for half a second: both ends'
    buffers are full, and the server's next write to the socket writes only part of a frame."""
    ends, waiting, since = time.monotonic() + deadline, -1, time.monotonic()
    while time.monotonic() < ends:
        now = int.from_bytes(fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0" * 4), "little")
        if now != waiting:
            waiting, since = now, time.monotonic()
        elif waiting > 0 and time.monotonic() - since >= 0.5:
            return
        time.sleep(0.05)
    raise AssertionError(f"the server never stalled: {waiting} bytes waiting")


def _whole_frames(sock, subscribed: int) -> list[str]:
    """The ops of the text frames read off the stream (a server's frames are unmasked) until
    ``subscribed`` answers; each frame's payload must parse whole."""
    sock.settimeout(20)
    stream, ops = b"", []

    def take(n: int) -> bytes:
        nonlocal stream
        while len(stream) < n:
            chunk = sock.recv(1 << 16)  # a frame cut short waits here, and times out
            assert chunk, f"the stream ended after {ops.count('subscribed')} answers"
            stream += chunk
        taken, stream = stream[:n], stream[n:]
        return taken

    while ops.count("subscribed") < subscribed:
        head = take(2)
        length = head[1] & 0x7F
        if length >= 126:
            length = int.from_bytes(take(2 if length == 126 else 8), "big")
        payload = take(length)
        if head[0] & 0x0F == 1:
            ops.append(json.loads(payload.decode("utf-8"))["op"])
    return ops
