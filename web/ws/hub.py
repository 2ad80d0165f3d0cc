"""One Redis subscriber per web process, fanning events out to the local sockets
(web/ws/connection.py: each with its own bounded queue and sender). A live event that
arrives with a gap before it (published late, or lost while Redis was away) makes the
socket's sender read the missing ones first.

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
import threading
import time

from clinic import channels
from clinic.accounts.access import notice_channel, read_notice
from clinic.events import channel_last_seq, replay
from clinic.runtime import Runtime
from web.ws.access import SNAPSHOT, holder_changed_by, view_of
from web.ws.connection import Connection

log = logging.getLogger(__name__)

# The safety net under the access notices: every socket's rights are checked this often.
RECHECK_EVERY = 30.0
# The subscription's client pings Redis when it has read nothing for its health-check
# interval (30 s, clinic/runtime.py). A link that dies without being closed (a firewall or NAT
# dropping it, a Redis host gone) answers nothing and raises nothing: deliveries would stop
# unnoticed until the kernel gives up on it, a quarter of an hour later. A ping unanswered
# for this long makes the hub subscribe again (and catch up).
PONG_WITHIN = 10.0


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
