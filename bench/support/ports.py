"""Loopback ports for the servers the tests and the benches start.

A port that the kernel hands out for ``bind(("127.0.0.1", 0))`` comes from its ephemeral range
(``/proc/sys/net/ipv4/ip_local_port_range``, 32768-60999 by default), the range every outgoing
connection also takes its local port from. Between the moment a port is found free and the
moment a server binds it, a connection to PostgreSQL or Redis from any process on the machine
may take it, and so may another test asking the kernel for a free port: the server then exits
with "Address already in use". With the suite's eight workers opening thousands of
connections, that happened.

So the ports here come from below the ephemeral range, where the kernel never picks one on
its own, and each pytest-xdist worker (and every process it starts, which inherits its
``PYTEST_XDIST_WORKER``) has a block of its own. Within a block, ports are taken in turn from
a random starting point and each is checked free before it is handed out.
"""

from __future__ import annotations

import itertools
import os
import secrets
import socket
from pathlib import Path

LOWEST = 10000
RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _ephemeral_start() -> int:
    try:
        return int(RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def block(worker: str | None, workers: str | None, start: int | None = None) -> range:
    """The ports of one pytest-xdist worker (``gw3`` of 8), or of a process outside xdist."""
    start = _ephemeral_start() if start is None else start
    try:
        index, count = int((worker or "").removeprefix("gw")), int(workers or "")
    except ValueError:
        index, count = 0, 1
    if count < 1 or not 0 <= index < count:
        index, count = 0, 1
    size = max(1, (start - LOWEST) // count)
    low = LOWEST + index * size
    return range(low, low + size)


def _candidates():
    ports = block(
        os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    )
    first = secrets.randbelow(len(ports))
    return itertools.cycle([*ports[first:], *ports[:first]])


_next = _candidates()


def free_port() -> int:
    """A loopback port nothing listens on or is connected from, outside the ephemeral range."""
    for _ in range(1000):
        port = next(_next)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port below the ephemeral range")
