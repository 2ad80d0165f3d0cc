"""A TCP server standing in for a network ESC/POS printer (raw port 9100): every connection
is one job, kept as the exact bytes received. ``down()`` stops listening (connections are
refused, as from a printer switched off); ``up()`` listens again on the same port.

``mode`` is how it treats the next connections: ``"print"`` reads the job to its end, then
closes; ``"status"`` does the same but answers a status byte before closing, as some
printers do; ``"chatter"`` reads the job, then keeps sending status bytes and never closes;
``"hang"`` accepts and never reads nor closes (a jammed printer); ``"cut"`` reads a few bytes
and drops the connection (a printer reset mid-job). ``"print"`` and ``"status"`` keep the job.

Like a real printer it answers the paper question (DLE EOT 4) as soon as it reads it, before
the job ends, and keeps the job without it: ``paper`` False is a printer whose paper has run
out (it answers so, and nothing reaches ``received``: the jobs it was sent then are in
``unprinted``); ``answers_paper`` False, one that does not know the question and ignores
it."""

from __future__ import annotations

import socket
import threading
import time

from clinic.printing.thermal import PAPER_STATUS


class FakePrinter:
    def __init__(self) -> None:
        self.received: list[bytes] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.mode = "print"
        self._held: list[socket.socket] = []
        self.paper = True
        self.answers_paper = True
        self.unprinted: list[bytes] = []
        self.up()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._thread = threading.Thread(target=self._serve, args=(listener,), daemon=True)
        self._thread.start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() under way
            except OSError:
                pass
            listener.close()
            self._thread.join(5)
        held, self._held = self._held, []
        for connection in held:
            connection.close()

    def _serve(self, listener: socket.socket) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # closed: the printer is off
            if self.mode == "hang":
                self._held.append(connection)
                continue
            if self.mode == "cut":
                connection.recv(8)
                connection.close()  # unread bytes left: the sender sees the connection reset
                continue
            with connection:
                data = b""
                while True:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    data = self._answer_paper(connection, data + chunk)
                if self.mode == "chatter":
                    self._chatter(connection)
                    continue
                with self._lock:  # kept before the sender sees the connection closed
                    (self.received if self.paper else self.unprinted).append(data)
                if self.mode == "status":
                    connection.sendall(b"\x14")

    def _answer_paper(self, connection: socket.socket, data: bytes) -> bytes:
        """``data`` without the paper questions in it, each answered at once."""
        while self.answers_paper and PAPER_STATUS in data:
            data = data.replace(PAPER_STATUS, b"", 1)
            connection.sendall(b"\x12" if self.paper else b"\x72")
        return data

    @staticmethod
    def _chatter(connection: socket.socket) -> None:
        """Status bytes, without a pause, until the sender gives up and closes."""
        try:
            while True:
                connection.sendall(b"\x00" * 64)
        except OSError:
            return

    def jobs(self) -> list[bytes]:
        with self._lock:
            return list(self.received)

    def wait_for(self, count: int, timeout: float = 30) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while len(self.jobs()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.jobs()
