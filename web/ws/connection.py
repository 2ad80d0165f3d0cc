"""One WebSocket: its own bounded queue and its own sender thread, so a slow or dead client
fills only its own queue (and is then dropped) while every other socket keeps receiving.

Subscribing is itself an item in that queue: the socket is registered for live events first
(in the hub), then the snapshot or the replay is read and sent, and every live event already
queued behind it with a number the client has is skipped. A live event that arrives with a
gap before it makes the sender read the missing ones first.
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading

from simple_websocket import ConnectionClosed

from web.ws.access import may_read, recheck, view_of

log = logging.getLogger(__name__)

SEND_QUEUE_SIZE = 1000
SLOW_CLIENT_CLOSE = 1013  # "try again later": the client fell too far behind
POLICY_CLOSE = 1008
# The server met an error (the database failed a read): the client retries, as after any
# close but 1008, and tells this from a normal end (1000).
SERVER_ERROR = 1011


class WholeSends:
    """The socket under a WebSocket, each frame written whole and alone. The WebSocket library
    writes a frame with one ``send`` and takes it as sent: under gevent, to a client reading
    slowly, a send writes only what the socket's buffer takes, and the rest of a large
    snapshot was lost, the frames after it read as its remainder. Written whole, a frame may
    take several writes: the lock keeps the library's pings and pongs, and its close, from
    falling between them."""

    def __init__(self, sock) -> None:
        self._sock = sock
        self._lock = threading.Lock()

    def send(self, data) -> int:
        with self._lock:
            self._sock.sendall(data)
        return len(data)

    def __getattr__(self, name):
        return getattr(self._sock, name)


class Connection:
    """One WebSocket and the channels it follows."""

    def __init__(self, ws, hub, identity=None, credential=None) -> None:
        self.ws = ws
        self.hub = hub
        self.identity = identity
        self.credential = credential
        self.channels: set[str] = set()
        self.last_sent: dict[str, int] = {}
        self.queue: queue.Queue = queue.Queue(maxsize=SEND_QUEUE_SIZE)
        self.alive = True
        self.close_code: int | None = None
        self._sender = threading.Thread(target=self._send_loop, daemon=True, name="ws-sender")
        self._sender.start()

    # -- called from other threads -------------------------------------------------------

    def offer(self, item) -> None:
        """Queue an item without ever blocking the caller; a full queue drops the client."""
        if not self.alive:
            return
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            log.warning("dropping a slow WebSocket client (%d messages behind)", SEND_QUEUE_SIZE)
            self.shutdown(SLOW_CLIENT_CLOSE, "too slow")

    def subscribe(self, channel: str, last_id: int | None) -> None:
        self.channels.add(channel)
        self.hub.add(self, channel)
        if not self.alive:
            # Dropped meanwhile (too slow, or its rights revoked by another thread): its
            # shutdown has taken it out of the hub already, and nothing would take it out
            # again, so the hub would hold (and feed) a closed socket for good.
            self.hub.remove(self, channel)
            return
        self.offer(("subscribe", channel, last_id))

    def unsubscribe(self, channel: str) -> None:
        self.channels.discard(channel)
        self.hub.remove(self, channel)
        self.offer(("unsubscribe", channel, None))

    def send_json(self, message: dict) -> None:
        self.offer(("raw", message, None))

    # Whom an access notice names when it concerns this socket: its user and the doctor he
    # is, or the screen, its board and the account that paired it by itself.
    _HELD_UNDER = (
        ("user", "user_id"),
        ("user", "paired_by_user_id"),
        ("doctor", "doctor_id"),
        ("screen", "screen_id"),
        ("board", "board_id"),
    )

    @property
    def holders(self) -> set[tuple[str, int]]:
        """The holders whose access notices concern this socket: ``{("user", 7)}``."""
        found = set()
        for kind, attribute in self._HELD_UNDER:
            value = getattr(self.identity, attribute, None)
            if value is not None:
                found.add((kind, value))
        return found

    def recheck(self, session, redis) -> bool:
        """Prove the credentials again and apply the rights they give now; False when the
        socket was closed because they prove nothing any more."""
        if not self.alive:
            return False
        identity = recheck(self.credential, self.identity, session, redis)
        if identity is None:
            log.info("closing a WebSocket whose access was revoked")
            self.shutdown(POLICY_CLOSE, "access revoked")
            return False
        self.identity = identity
        for channel in sorted(self.channels):
            if not may_read(identity, channel, session):
                self.unsubscribe(channel)
                self.send_json({"op": "revoked", "channel": channel})
        return True

    def shutdown(self, code: int | None = None, reason: str | None = None) -> None:
        if not self.alive:
            return
        self.alive = False
        self.close_code = code
        self.hub.remove_all(self)
        self.hub.detach(self)
        try:
            self.queue.put_nowait(("close", code, reason))
        except queue.Full:
            # The sender is stuck writing to a client that does not read. A close frame would
            # block this thread (the hub's) the same way, so cut the connection instead: the
            # stuck write fails at once and the sender ends.
            self._abort_socket()

    def wait_closed(self, timeout: float) -> None:
        """Let the sender finish (it sends the close code) before the socket is released."""
        self._sender.join(timeout)

    # -- the sender thread ----------------------------------------------------------------

    def _send_loop(self) -> None:
        try:
            while True:
                kind, a, b = self.queue.get()
                if kind == "close":
                    self._close_socket(a, b)
                    return
                if kind == "event":
                    self._deliver(a)
                elif kind == "subscribe":
                    self._start_channel(a, b)
                elif kind == "unsubscribe":
                    self.last_sent.pop(a, None)
                elif kind == "raw":
                    self._write(a)
        except (ConnectionClosed, OSError) as exc:  # the socket broke: this client is gone
            log.info("WebSocket sender stopped: %s", exc)
            self._drop()
        except Exception as exc:
            self._drop()
            if not getattr(self.ws, "connected", True):
                # Closed under a write (its close frame read meanwhile): the client is gone.
                log.info("WebSocket sender stopped: %s", exc)
                return
            # The server's own failure (a snapshot the database failed): not a normal end.
            log.exception("a WebSocket's sender failed; closing it with %s", SERVER_ERROR)
            self.close_code = SERVER_ERROR
            self._close_socket(SERVER_ERROR, "server error")

    def _drop(self) -> None:
        self.alive = False
        self.hub.remove_all(self)
        self.hub.detach(self)

    def _write(self, message: dict) -> None:
        self.ws.send(json.dumps(message, separators=(",", ":"), ensure_ascii=False))

    def _send_event(self, event: dict) -> None:
        view = view_of(event["channel"])
        if view is None:
            self._write({"op": "event", **event})
        else:
            data = self.hub.shown(view, self.identity, event["type"], event["data"])
            if data is not None:  # None: not this reader's to see; its number is passed over
                self._write({"op": "event", **event, "data": data})
        self.last_sent[event["channel"]] = event["id"]

    def _deliver(self, event: dict) -> None:
        channel = event["channel"]
        if channel not in self.last_sent:
            return  # not (or no longer) subscribed
        last = self.last_sent[channel]
        if event["id"] <= last:
            return  # already sent: by the replay, or published twice
        if event["id"] > last + 1:
            for missed in self.hub.replay(channel, last, until=event["id"] - 1):
                if missed["id"] < event["id"] and missed["id"] > self.last_sent[channel]:
                    self._send_event(missed)
        self._send_event(event)

    def _start_channel(self, channel: str, last_id: int | None) -> None:
        if channel not in self.channels:
            return
        if last_id is not None:
            newest = self.hub.last_seq(channel)
            # Nothing missed, or every missed event still there from ``last_id + 1`` on. A
            # number above the newest was never given out by this database (one restored from
            # a backup, say): trusting it would hold back every event up to it, so the client
            # starts again from a snapshot.
            missed = self.hub.replay(channel, last_id, until=newest) if newest > last_id else []
            if newest == last_id or (missed and missed[0]["id"] == last_id + 1):
                self.last_sent[channel] = last_id
                for event in missed:
                    self._send_event(event)
                self._write(
                    {"op": "subscribed", "channel": channel, "last_id": self.last_sent[channel]}
                )
                return
            # The history no longer reaches back that far: start again from a snapshot.
        data, last = self.hub.snapshot(channel, self.identity)
        self.last_sent[channel] = last
        self._write({"op": "snapshot", "channel": channel, "last_id": last, "data": data})
        self._write({"op": "subscribed", "channel": channel, "last_id": last})

    def _abort_socket(self) -> None:
        raw = getattr(self.ws, "sock", None)
        try:
            if raw is not None:
                raw.shutdown(socket.SHUT_RDWR)
        except OSError as exc:  # already gone
            log.debug("aborting WebSocket: %s", exc)

    def _close_socket(self, code, reason) -> None:
        try:
            self.ws.close(reason=code, message=reason)
        except Exception as exc:  # already closed by the other side
            log.debug("closing WebSocket: %s", exc)
