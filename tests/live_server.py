"""The application served over real HTTP and WebSocket (werkzeug, threaded) on a free port,
and stopped in order.

werkzeug's threaded server hands each connection to a daemon thread and forgets it: stopping
the server stops accepting, while a socket left open (or a keep-alive connection) goes on in
its thread. Its request then ends whenever the client lets go, after its test, and what a
request does at its end (noting a token's use, web/auth/__init__.py) reaches into the next
test's tables, or into the database dropped after the last test ("could not note the use of
token"). This server knows its open connections and their threads: stopping it cuts every
connection still open and waits for every request it began to end.
"""

from __future__ import annotations

import socket
import threading

from werkzeug.serving import ThreadedWSGIServer

# A request still running this long after its connection was cut is stuck: the test fails.
STOP_TIMEOUT = 30.0


class _Server(ThreadedWSGIServer):
    def __init__(self, app) -> None:
        super().__init__("127.0.0.1", 0, app)
        self._lock = threading.Lock()
        self.open_connections: set[socket.socket] = set()
        self.handlers: list[threading.Thread] = []

    def process_request(self, request, client_address) -> None:
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), daemon=True
        )
        with self._lock:
            self.open_connections.add(request)
            self.handlers = [t for t in self.handlers if t.is_alive()]
            self.handlers.append(thread)
        thread.start()

    def shutdown_request(self, request) -> None:
        with self._lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)


class LiveServer:
    def __init__(self, app) -> None:
        self.server = _Server(app)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> "LiveServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        """Accept nothing more, cut every connection still open (a socket's loop then ends as
        if its client had gone), and return once every request begun has ended."""
        self.server.shutdown()  # serve_forever has returned: no connection is added now
        with self.server._lock:
            still_open = list(self.server.open_connections)
            handlers = list(self.server.handlers)
        for connection in still_open:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:  # closed by its thread meanwhile
                pass
        for thread in handlers:
            thread.join(STOP_TIMEOUT)
        self.server.server_close()
        stuck = [thread.name for thread in handlers if thread.is_alive()]
        assert not stuck, f"requests still running after the server stopped: {stuck}"
