"""One Redis subscriber per web process, fanning events out to the local sockets.

Each socket has its own bounded queue and its own sender, so a slow or dead client fills
only its own queue (and is then dropped) while everyone else keeps receiving. Subscribing is
itself an item in that queue: the socket is registered for live events first, then the
snapshot or the replay is read and sent, and every live event already queued behind it with
a number the client has is skipped. A live event that arrives with a gap before it (an event
published late, or lost while Redis was away) makes the sender read the missing ones first.

Rights are not fixed at the handshake. An access notice (clinic/accounts/access.py) for a user
(a token revoked, a user disabled, locked, given other roles or a new password, a sign-out),
a board screen (revoked), a board (switched off, given other queues) or a doctor (a queue
given to him or taken from him), and a doctor's record changed in the reference data (moved
to another department), make the hub check the sockets opened under that holder again at
once; every socket is checked again every ``RECHECK_EVERY`` seconds whatever happened (a
notice lost with Redis, a session that timed out). A socket whose credentials prove nothing
any more is closed with 1008; one that may no longer read a channel is unsubscribed from it
with a ``revoked`` message.
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
import time

from clinic import channels
from clinic.accounts.access import notice_channel, read_notice
from clinic.events import channel_last_seq, replay
from clinic.runtime import Runtime
from web.ws.access import SNAPSHOT, holder_changed_by, may_read, recheck, view_of

log = logging.getLogger(__name__)

SEND_QUEUE_SIZE = 1000
SLOW_CLIENT_CLOSE = 1013  # "try again later": the client fell too far behind
POLICY_CLOSE = 1008
# The safety net under the access notices: every socket's rights are checked this often.
RECHECK_EVERY = 30.0
# The subscription's client pings Redis when it has read nothing for its health-check
# interval (30 s, clinic/runtime.py). A link that dies without being closed (a firewall or NAT
# dropping it, a Redis host gone) answers nothing and raises nothing: deliveries would stop
# unnoticed until the kernel gives up on it, a quarter of an hour later. A ping unanswered
# for this long makes the hub subscribe again (and catch up).
PONG_WITHIN = 10.0


class Connection:
    """One WebSocket and the channels it follows."""

    def __init__(self, ws, hub: "Hub", identity=None, credential=None) -> None:
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
        except Exception as exc:  # the socket broke: this client is gone
            log.info("WebSocket sender stopped: %s", exc)
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


class Hub:
    """The process's subscriber: a thread reading Redis pub/sub and feeding connections."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._subs: dict[str, set[Connection]] = {}
        self._conns: set[Connection] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.connected = threading.Event()
        self.pong_within = PONG_WITHIN

    # -- registry ---------------------------------------------------------------------------

    def attach(self, conn: Connection) -> None:
        """Hold ``conn`` for the rechecks of its rights (until it closes)."""
        with self._lock:
            self._conns.add(conn)

    def detach(self, conn: Connection) -> None:
        with self._lock:
            self._conns.discard(conn)

    def add(self, conn: Connection, channel: str) -> None:
        with self._lock:
            self._subs.setdefault(channel, set()).add(conn)

    def remove(self, conn: Connection, channel: str) -> None:
        with self._lock:
            subs = self._subs.get(channel)
            if subs is not None:
                subs.discard(conn)
                if not subs:
                    del self._subs[channel]

    def remove_all(self, conn: Connection) -> None:
        for channel in list(conn.channels):
            self.remove(conn, channel)

    def subscriber_count(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._subs.values())

    # -- reading state ----------------------------------------------------------------------

    def replay(self, channel: str, after: int, until: int | None = None) -> list[dict]:
        """Every event of ``channel`` after number ``after`` (up to ``until``), in order.

        The outbox answers a page at a time: a client further behind than one page gets the
        rest too, not a silent gap. A history that no longer starts at ``after + 1`` is
        answered as it is, for the caller to see."""
        events: list[dict] = []
        while until is None or after < until:
            page = replay(self.runtime.db.sessionmaker, self.runtime.bus, channel, after)
            if until is not None:
                page = [e for e in page if e["id"] <= until]
            if not page or page[0]["id"] != after + 1:
                return events or page
            events.extend(page)
            after = page[-1]["id"]
        return events

    def last_seq(self, channel: str) -> int:
        with self.runtime.db.session() as session:
            return channel_last_seq(session, channel)

    def snapshot(self, channel: str, identity=None):
        """The channel's snapshot as ``identity`` is shown it, and its last event's number."""
        with self.runtime.db.session() as session:
            data, last = channels.snapshot(session, channel, self.runtime.settings.tz)
            view = view_of(channel)
            if view is not None and data is not None:
                data = view(identity, SNAPSHOT, data, session)
            return data, last

    def shown(self, view, identity, type_: str, data):
        """What ``identity`` is shown of an event's data: the data, or None for nothing."""
        with self.runtime.db.session() as session:
            return view(identity, type_, data, session)

    # -- rechecking rights ------------------------------------------------------------------

    # A user's access changed but the database could not be asked (away, or SQLite's write
    # lock held by a long task): asked again after these pauses, not only at the next
    # periodic round, since his sockets keep receiving meanwhile.
    RECHECK_RETRIES = (1.0, 2.0, 4.0, 8.0)

    def recheck(self, holder: tuple[str, int] | None = None, attempt: int = 0) -> None:
        """Check again the sockets opened under ``holder`` (``("user", 7)``, ``("screen",
        3)``, ``("board", 2)``; every socket when None)."""
        with self._lock:
            conns = [c for c in self._conns if holder is None or holder in c.holders]
        if not conns:
            return
        with self.runtime.db.session() as session:
            for conn in conns:
                try:
                    conn.recheck(session, self.runtime.redis)
                except Exception as exc:  # the database is away: try again (see above)
                    log.warning("rechecking a WebSocket failed: %s", exc)
                    break
            else:
                return
        if holder is not None and attempt < len(self.RECHECK_RETRIES):
            again = threading.Timer(
                self.RECHECK_RETRIES[attempt], self.recheck, args=(holder, attempt + 1)
            )
            again.daemon = True
            again.start()

    def _recheck_soon(self, holder: tuple[str, int] | None) -> None:
        # Off the listener's thread: events keep flowing while the database is asked.
        threading.Thread(
            target=self.recheck, args=(holder,), daemon=True, name="ws-recheck"
        ).start()

    def _access_notice(self, data) -> None:
        holder = read_notice(data)
        if holder is None:
            log.warning("ignoring a malformed access notice")
            return
        self._recheck_soon(holder)

    # -- the listener -----------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._listen, daemon=True, name="ws-hub")
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def dispatch(self, event: dict) -> None:
        with self._lock:
            targets = list(self._subs.get(event["channel"], ()))
        for conn in targets:
            conn.offer(("event", event, None))

    def _listen(self) -> None:
        backoff = 0.2
        bus = self.runtime.bus
        while not self._stopping.is_set():
            pubsub = None
            try:
                pubsub = self.runtime.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(bus.pubsub_pattern)
                pubsub.subscribe(notice_channel(bus.prefix))
                self.connected.set()
                backoff = 0.2
                self._catch_up()
                # Notices sent while we were away are lost: check everyone once now.
                self._recheck_soon(None)
                next_round = time.monotonic() + RECHECK_EVERY
                unanswered_since = None
                while not self._stopping.is_set():
                    if time.monotonic() >= next_round:
                        self._recheck_soon(None)
                        next_round = time.monotonic() + RECHECK_EVERY
                    message = pubsub.get_message(timeout=min(1.0, RECHECK_EVERY))
                    if not pubsub.health_check_response_counter:
                        unanswered_since = None
                    elif unanswered_since is None:
                        unanswered_since = time.monotonic()
                    elif time.monotonic() - unanswered_since > self.pong_within:
                        raise ConnectionError(
                            f"Redis answered no ping for {self.pong_within:.0f} s"
                        )
                    if message is not None and message.get("type") == "message":
                        self._access_notice(message["data"])
                        continue
                    if message is None or message.get("type") != "pmessage":
                        continue
                    try:
                        event = json.loads(message["data"])
                    except (TypeError, ValueError):
                        log.warning("ignoring a malformed event on %s", message.get("channel"))
                        continue
                    self.dispatch(event)
                    if (holder := holder_changed_by(event)) is not None:
                        self._recheck_soon(holder)
            except Exception as exc:  # Redis went away: reconnect with backoff
                self.connected.clear()
                log.warning("event subscriber lost Redis (%s); retrying in %.1fs", exc, backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception as exc:
                        log.debug("closing pubsub: %s", exc)

    def _catch_up(self) -> None:
        """After (re)subscribing, send each connection what was published while we were away."""
        with self._lock:
            snapshot = {channel: list(conns) for channel, conns in self._subs.items()}
        for channel, conns in snapshot.items():
            floors = [c.last_sent[channel] for c in conns if channel in c.last_sent]
            if not floors:
                continue  # still subscribing: their own replay covers them
            floor = min(floors)
            try:
                # Up to the database's newest number: Redis may hold higher ones the database
                # does not have (restored to an older backup), which would hold back the
                # events that get those numbers next.
                for event in self.replay(channel, floor, until=self.last_seq(channel)):
                    for conn in conns:
                        conn.offer(("event", event, None))
            except Exception as exc:
                log.warning("catching up %s failed: %s", channel, exc)


_hub_lock = threading.Lock()


def get_hub(runtime: Runtime, registry: dict) -> Hub:
    """The process's hub, started on first use (after a fork, in the process that uses it)."""
    hub = registry.get("hub")
    if hub is None:
        with _hub_lock:
            hub = registry.get("hub")
            if hub is None:
                hub = registry["hub"] = Hub(runtime)
    hub.start()
    return hub
