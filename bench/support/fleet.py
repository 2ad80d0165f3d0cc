"""Many WebSocket clients in one process (gevent greenlets over websocket-client).

Run by the benches as a child process, so that the clients' work does not slow the side that
commits events, and driven over its standard streams with one JSON object per line:

- it connects ``clients`` sockets (``concurrency`` handshakes at a time), subscribes each to
  ``channel`` and prints ``{"op": "ready", "connected": n, "failed": k, ...}``;
- each client then notes, for every event of the channel (of ``type`` when given), the
  time it arrived on the ``time.monotonic()`` clock, which every process on the machine
  shares, so the driver can subtract its own times;
- on a ``done`` line (or the end of its input) it waits up to ``grace`` seconds for the
  clients still short of ``expect`` events, then prints ``{"op": "result", ...}`` and exits.

It never runs longer than ``max_seconds``.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

import gevent  # noqa: E402
import websocket  # noqa: E402
from gevent.event import Event  # noqa: E402
from gevent.fileobject import FileObjectPosix  # noqa: E402
from gevent.lock import BoundedSemaphore  # noqa: E402


class Client:
    def __init__(self, index: int, config: dict) -> None:
        self.index = index
        self.config = config
        self.ws = None
        self.error: str | None = None
        self.subscribed = False
        self.last_id = 0
        self.events: list[list] = []  # [id, monotonic time of receipt, data.code]
        self.complete = Event()
        self.closed: str | None = None

    def connect(self, gate: BoundedSemaphore) -> None:
        cfg = self.config
        url, headers = cfg["url"], None
        if cfg.get("token_in_query"):
            url += f"?token={cfg['token']}"
        else:
            headers = [f"Authorization: Bearer {cfg['token']}"]
        with gate:
            try:
                self.ws = websocket.create_connection(
                    url, timeout=cfg["connect_timeout"], header=headers, enable_multithread=False
                )
                hello = json.loads(self.ws.recv())
                if hello.get("op") != "hello":
                    raise RuntimeError(f"first message was {hello}")
                self.ws.send(json.dumps({"op": "subscribe", "channel": cfg["channel"]}))
                while True:
                    message = json.loads(self.ws.recv())
                    if message.get("op") == "subscribed":
                        self.last_id = message["last_id"]
                        break
                    if message.get("op") == "error":
                        raise RuntimeError(f"error {message.get('code')}")
            except Exception as exc:  # noqa: BLE001 - counted and reported, never fatal
                self.error = f"{type(exc).__name__}: {exc}"[:200]
                self._close()
                return
        self.subscribed = True

    def listen(self) -> None:
        cfg = self.config
        wanted = cfg.get("type")
        expect = cfg["expect"]
        self.ws.settimeout(None)
        if expect <= 0:
            self.complete.set()
        try:
            while True:
                raw = self.ws.recv()
                arrived = time.monotonic()
                message = json.loads(raw)
                if message.get("op") != "event" or message.get("channel") != cfg["channel"]:
                    continue
                if wanted and message.get("type") != wanted:
                    continue
                data = message.get("data") or {}
                self.events.append([message["id"], arrived, data.get("code")])
                if len(self.events) >= expect:
                    self.complete.set()
        except Exception as exc:  # noqa: BLE001 - the server closed us, or we are finishing
            self.closed = type(exc).__name__
        finally:
            self.complete.set()

    def _close(self) -> None:
        if self.ws is not None:
            try:
                self.ws.close(timeout=0.5)
            except Exception:  # noqa: BLE001 - closing a socket that is already gone
                return


def emit(message: dict) -> None:
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def main() -> None:
    config = json.loads(sys.argv[1])
    started = time.monotonic()
    hard_stop = gevent.spawn_later(config["max_seconds"], lambda: None)
    clients = [Client(i, config) for i in range(config["clients"])]
    gate = BoundedSemaphore(config["concurrency"])
    connecting = [gevent.spawn(c.connect, gate) for c in clients]
    gevent.joinall(connecting, timeout=config["max_seconds"])
    live = [c for c in clients if c.subscribed]
    listeners = [gevent.spawn(c.listen) for c in live]
    gevent.sleep(0)
    emit(
        {
            "op": "ready",
            "connected": len(live),
            "failed": len(clients) - len(live),
            "errors": dict(Counter(c.error for c in clients if c.error)),
            "connect_seconds": round(time.monotonic() - started, 3),
            "last_ids": sorted({c.last_id for c in live}),
        }
    )
    stdin = FileObjectPosix(sys.stdin.fileno(), "rb", close=False)
    reader = gevent.spawn(stdin.readline)
    gevent.wait([reader, hard_stop], count=1)
    left = max(0.0, config["max_seconds"] - (time.monotonic() - started))
    deadline = min(config["grace"], left)
    waiting = gevent.spawn(lambda: [c.complete.wait() for c in live])
    waiting.join(timeout=deadline)
    waiting.kill()
    # Timestamps are taken; from here on nothing that is measured can be disturbed.
    emit(
        {
            "op": "result",
            "connected": len(live),
            "events": {str(c.index): c.events for c in live},
            "closed_early": dict(Counter(c.closed for c in live if c.closed)),
        }
    )
    gevent.killall(listeners, timeout=5)
    for c in live:
        c._close()


if __name__ == "__main__":
    main()
