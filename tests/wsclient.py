"""A small WebSocket client for tests, speaking the protocol in docs/websocket.md."""

from __future__ import annotations

import json
import time

import websocket


class WSClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        query: str = "",
        timeout: float = 5.0,
        expect_hello: bool = True,
        **options,
    ) -> None:
        """``options`` go to ``websocket.create_connection`` (``cookie``, ``origin``,
        ``suppress_origin``)."""
        url = base_url.replace("http://", "ws://", 1).rstrip("/") + "/ws" + query
        headers = [f"Authorization: Bearer {token}"] if token else None
        self.ws = websocket.create_connection(url, timeout=timeout, header=headers, **options)
        self.received: list[dict] = []
        if expect_hello:
            hello = self.next(timeout)
            assert hello["op"] == "hello", hello

    def send(self, message: dict) -> None:
        self.ws.send(json.dumps(message))

    def subscribe(
        self, channel: str, last_id: int | None = None, timeout: float = 5.0
    ) -> list[dict]:
        """Subscribe and return everything up to and including the ``subscribed`` answer."""
        message = {"op": "subscribe", "channel": channel}
        if last_id is not None:
            message["last_id"] = last_id
        self.send(message)
        return self.until(
            lambda m: m.get("op") == "subscribed" and m["channel"] == channel, timeout
        )

    def next(self, timeout: float = 5.0) -> dict:
        self.ws.settimeout(timeout)
        message = json.loads(self.ws.recv())
        self.received.append(message)
        return message

    def until(self, predicate, timeout: float = 5.0) -> list[dict]:
        """Messages received until one satisfies ``predicate`` (included); fails on timeout."""
        deadline = time.monotonic() + timeout
        got = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching message within {timeout}s; got {got}")
            message = self.next(left)
            got.append(message)
            if predicate(message):
                return got

    def events(self, channel: str, count: int, timeout: float = 5.0) -> list[dict]:
        """The next ``count`` events of ``channel``."""
        found: list[dict] = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{len(found)} of {count} events within {timeout}s: {found}")
            message = self.next(left)
            if message.get("op") == "event" and message["channel"] == channel:
                found.append(message)
        return found

    def quiet(self, seconds: float) -> list[dict]:
        """Whatever arrives within ``seconds`` (expected: nothing)."""
        got = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                got.append(self.next(left))
            except websocket.WebSocketTimeoutException:
                break
        return got

    def wait_closed(self, timeout: float = 5.0) -> int | None:
        """Read until the server closes; return the close code it sent."""
        self.ws.settimeout(timeout)
        while True:
            try:
                opcode, data = self.ws.recv_data(control_frame=True)
            except websocket.WebSocketConnectionClosedException:
                return None
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return int.from_bytes(data[:2], "big") if len(data) >= 2 else None

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:  # noqa: BLE001 - closing a socket the server already closed
            return
