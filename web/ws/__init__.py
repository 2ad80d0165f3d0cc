"""The WebSocket endpoint ``/ws``: see docs/websocket.md for the message protocol."""

from __future__ import annotations

import logging
import time

from flask import Flask, abort, current_app, g, request
from flask_sock import ConnectionClosed, Sock

from web.api.inputs import UnsafeInput, parse_json
from web.db import close_session
from web.errors import problem
from web.permissions import public
from web.ws.access import SCREEN_COOKIE, authenticate, credential_of, may_read, recheck
from web.ws.connection import POLICY_CLOSE, SERVER_ERROR, Connection, WholeSends
from web.ws.hub import get_hub
from web.ws.stopping import GOING_AWAY, stopping

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 4096
# The reception desk follows two channels a queue (its line and its printer) and one for all:
# a clinic of up to 99 queues.
MAX_CHANNELS_PER_SOCKET = 200
# Past this a frame is not read into memory at all: the socket is closed with 1009 as the data
# arrives. Anyone holding a ticket's secret (an online join) may open a socket, so without a
# bound one client could make a web process buffer a frame as large as it cares to send.
MAX_FRAME_BYTES = 4 * 1024 * 1024
# Frames a socket may send: a burst of this many, then this many a second. A page subscribes
# to its channels at once (up to MAX_CHANNELS_PER_SOCKET) and pings every 25 s; a client past
# the budget is flooding (each subscribe reads the database), and frames it sends faster than
# they are handled would pile up in the web process's memory: it is closed with 1008.
FRAME_BURST = 250
FRAMES_PER_SECOND = 50.0

sock = Sock()


def init_ws(app: Flask) -> None:
    app.config["SOCK_SERVER_OPTIONS"] = {
        "max_message_size": MAX_FRAME_BYTES,
        **app.config.get("SOCK_SERVER_OPTIONS", {}),
    }
    sock.init_app(app)
    app.extensions.setdefault("clinic.ws", {})
    # After web.auth's identity loader (registered earlier), before the handshake.
    app.before_request(check_origin)


def allowed_origin(origin: str | None) -> bool:
    """This site itself (as the request reached it) or one of ``CLINIC_ALLOWED_ORIGINS``."""
    if not origin:
        return False
    origin = origin.strip().rstrip("/").lower()
    own = f"{request.scheme}://{request.host}".lower()
    listed = {o.lower() for o in current_app.extensions["clinic"].settings.allowed_origins}
    return origin == own or origin in listed


def check_origin() -> None:
    """``before_request``: a socket opened with the session cookie must come from one of our
    pages. Browsers send the cookie with a handshake started by any page, and a WebSocket
    has no CORS: without this check another site's script could read the staff channels.
    A board screen's device cookie is as ambient as a session. Sockets opened with a token or a
    ticket secret carry no ambient credential, and scripts
    and screens may send no Origin at all."""
    if request.path != "/ws":
        return
    identity = g.get("identity")
    ambient = getattr(identity, "via", "") == "session" or (
        identity is None and request.cookies.get(SCREEN_COOKIE)
    )
    if not ambient:
        return
    if not allowed_origin(request.headers.get("Origin")):
        log.info("refused a session WebSocket from origin %r", request.headers.get("Origin"))
        abort(problem(403, "Forbidden", "this origin may not open a signed-in WebSocket"))


def current_hub():
    return get_hub(current_app.extensions["clinic"], current_app.extensions["clinic.ws"])


@sock.route("/ws")
@public
def websocket(ws):
    """Subscribe to channels; receive snapshots, missed events and then live events."""
    ws.sock = WholeSends(ws.sock)  # before anything is written to it
    # The request's own session read who is asking; a socket lives for hours, and must not
    # hold that transaction (and its pooled connection, or SQLite's lock) meanwhile.
    close_session()
    runtime = current_app.extensions["clinic"]
    try:
        with runtime.db.session() as session:
            identity = authenticate(request, session)
    except Exception:
        # The socket is open already: an HTTP error page would be written into it.
        log.exception("a WebSocket could not read its credentials; closing it with 1011")
        ws.close(reason=SERVER_ERROR, message="server error")
        return
    hub = current_hub()
    conn = Connection(ws, hub, identity, credential_of(request, identity))
    if identity is None:
        conn.shutdown(POLICY_CLOSE, "credentials required")
        conn.wait_closed(2.0)
        return
    hub.attach(conn)
    # The interval of the ping frames the server sends (the app's SOCK_SERVER_OPTIONS).
    heartbeat = current_app.config["SOCK_SERVER_OPTIONS"]["ping_interval"]
    conn.send_json({"op": "hello", "heartbeat": heartbeat})
    budget = FrameBudget()
    try:
        while conn.alive:
            if stopping():
                conn.shutdown(GOING_AWAY, "server restarting")
                break
            raw = ws.receive(timeout=1.0)
            if raw is None:
                continue
            if not budget.take():
                log.info("closing a WebSocket that sent frames faster than %s/s", FRAMES_PER_SECOND)
                conn.shutdown(POLICY_CLOSE, "too many messages")
                break
            _handle(conn, raw)
    except ConnectionClosed:
        pass
    except Exception:  # the server's own failure (the database refused a read): not a 1000
        log.exception("a WebSocket failed; closing it with %s", SERVER_ERROR)
        conn.shutdown(SERVER_ERROR, "server error")
    finally:
        conn.shutdown()
        conn.wait_closed(2.0)


class FrameBudget:
    """A token bucket: ``burst`` frames at once, refilled at ``rate`` a second."""

    def __init__(self, burst: int = FRAME_BURST, rate: float = FRAMES_PER_SECOND) -> None:
        self.burst, self.rate = burst, rate
        self.tokens = float(burst)
        self.at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def _error(conn: Connection, code: str, detail: str) -> None:
    conn.send_json({"op": "error", "code": code, "detail": detail})


def _channel_problem(channel) -> str:
    if channel is None:
        return "channel is required"
    if not isinstance(channel, str):
        return "channel must be a string"
    return "channel must not be empty"


def _handle(conn: Connection, raw) -> None:
    if isinstance(raw, bytes):
        _error(conn, "bad_message", "a binary frame: send JSON text")
        return
    if len(raw) > MAX_MESSAGE_BYTES:
        _error(conn, "bad_message", "send JSON text of at most 4096 characters")
        return
    try:
        # The HTTP boundary's parser: deep nesting, NUL and lone surrogates are an error
        # frame naming the field, never a closed socket or a database error.
        message = parse_json(raw)
    except UnsafeInput as error:
        _error(conn, "bad_message", str(error))
        return
    except ValueError:
        _error(conn, "bad_message", "not JSON")
        return
    if not isinstance(message, dict):
        _error(conn, "bad_message", "send a JSON object")
        return
    op = message.get("op")
    if op == "ping":
        conn.send_json({"op": "pong"})
        return
    channel = message.get("channel")
    if op not in ("subscribe", "unsubscribe"):
        _error(conn, "bad_op", "op must be subscribe, unsubscribe or ping")
        return
    if not isinstance(channel, str) or not channel:
        _error(conn, "bad_channel", _channel_problem(channel))
        return
    if op == "unsubscribe":
        conn.unsubscribe(channel)
        return
    last_id = message.get("last_id")
    if last_id is not None and (
        isinstance(last_id, bool) or not isinstance(last_id, int) or last_id < 0
    ):
        _error(conn, "bad_last_id", "last_id must be a whole number of 0 or more")
        return
    runtime = current_app.extensions["clinic"]
    with runtime.db.session() as session:
        # Rights as they are now, not as they were at the handshake.
        identity = recheck(conn.credential, conn.identity, session, runtime.redis)
        if identity is None:
            conn.shutdown(POLICY_CLOSE, "access revoked")
            return
        conn.identity = identity
        allowed = may_read(identity, channel, session)
    if not allowed:
        log.info("refused subscription to %s", channel)
        conn.shutdown(POLICY_CLOSE, "channel not allowed")
        return
    if channel not in conn.channels and len(conn.channels) >= MAX_CHANNELS_PER_SOCKET:
        _error(conn, "too_many_channels", f"at most {MAX_CHANNELS_PER_SOCKET} channels a socket")
        return
    conn.subscribe(channel, last_id)
