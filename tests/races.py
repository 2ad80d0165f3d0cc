"""Waiting, in race tests, for one side to be held: a condition polled, or a PostgreSQL
backend seen waiting for a lock."""

from __future__ import annotations

import time

from sqlalchemy import text


def wait_for(predicate, timeout: float = 30, what: str = "the condition", on_timeout=None):
    """The first true value of ``predicate()``, polled every 20 ms for ``timeout`` seconds;
    then a TimeoutError naming ``what``, with what ``on_timeout()`` tells (a process's log)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            told = f"\n{on_timeout()}" if on_timeout is not None else ""
            raise TimeoutError(f"{what} not within {timeout}s{told}")
        time.sleep(0.02)


def waits_for_a_lock(runtime, pids: list[int]) -> bool:
    """Whether the backend ``pids[0]`` (once a thread has noted it there) waits for a lock."""
    if not pids:
        return False
    with runtime.db.session() as s:  # a new snapshot of the server's activity each time
        waiting = "SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"
        return s.scalar(text(waiting), {"pid": pids[0]}) == "Lock"
