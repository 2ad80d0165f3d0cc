"""The web process is stopping (gunicorn asked its worker to exit: docker stop, a deploy).

An open WebSocket never ends by itself: the worker would wait out its whole graceful timeout
for them, its port closed, before the process ends. Each socket's loop sees this flag within
a second and closes with 1001 "going away"; clients reconnect (to the new server) and resume
from the last event they have.
"""

from __future__ import annotations

import threading

GOING_AWAY = 1001

_stopping = threading.Event()


def stop() -> None:
    _stopping.set()


def stopping() -> bool:
    return _stopping.is_set()


def watch_worker(worker, interval: float = 0.25) -> None:
    """Run in a gevent worker (web/gunicorn_conf.py): sets the flag once the worker is told
    to exit (its ``alive`` turns false on SIGTERM, SIGINT or SIGQUIT)."""
    import gevent

    def watch() -> None:
        while worker.alive:
            gevent.sleep(interval)
        stop()

    gevent.spawn(watch)
