"""A real Celery worker in a thread of the test process, stopped as soon as the test is done.

Celery's ``start_worker`` stops its worker by setting a flag that the worker's event loop
reads between two polls, and the worker then closes its broker channel, which first reads the
answer to the ``BRPOP`` it has waiting on Redis: an idle worker's ``BRPOP`` answers when its
one-second timeout runs out. Every test with a worker waited up to that second at its end.
Here, once the flag is set, the loop's poll is woken and the waiting ``BRPOP`` is ended on
Redis as its timeout would end it (``CLIENT UNBLOCK``, an empty answer): the worker stops
the way it always does, only without the wait.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from redis.exceptions import RedisError

# Past this, the worker is left to stop at its own pace (start_worker waits for it).
HURRY_SECONDS = 3.0


def _channels(worker) -> list:
    """The worker's broker channels (taken before it stops: stopping lets go of them)."""
    try:
        return list(worker.consumer.connection.transport.cycle._channels)
    except AttributeError:  # no connection (it failed to start)
        return []


def _brpop_addresses(channels: list) -> set[str]:
    """``host:port`` of each channel's connection with a ``BRPOP`` waiting on Redis."""
    addresses = set()
    for channel in channels:
        connection = getattr(channel, "_in_poll", None)
        sock = getattr(connection, "_sock", None)
        if sock is not None:
            try:
                host, port = sock.getsockname()[:2]
            except OSError:
                continue
            addresses.add(f"{host}:{port}")
    return addresses


def _hurry(worker, channels: list, redis) -> None:
    """Wake the stopping worker's loop and end its ``BRPOP`` until its thread has ended."""
    hub = getattr(worker, "hub", None)
    if hub is not None:
        hub.call_soon(lambda: None)
    threads = [t for t in threading.enumerate() if getattr(t, "_target", None) == worker.start]
    deadline = time.monotonic() + HURRY_SECONDS
    while threads and threads[0].is_alive() and time.monotonic() < deadline:
        waiting = _brpop_addresses(channels)
        try:
            for client in redis.client_list() if waiting else ():
                if client.get("addr") in waiting and client.get("cmd") == "brpop":
                    redis.client_unblock(int(client["id"]))
        except (RedisError, OSError):  # Redis is away: the worker stops at its own pace
            return
        threads[0].join(0.01)


@contextmanager
def embedded_worker(celery_app, redis, **options):
    """``celery.contrib.testing.worker.start_worker(celery_app, **options)``, stopped without
    waiting for its poll to time out; ``redis`` is a client of the broker's Redis."""
    from celery.contrib.testing.worker import start_worker
    from celery.worker import state

    with start_worker(celery_app, **options) as worker:
        try:
            yield worker
        finally:
            channels = _channels(worker)
            # What start_worker's own teardown does first; it then waits for the thread.
            state.should_terminate = 0
            _hurry(worker, channels, redis)
