"""Waiting, in race tests, for one side to be held: a condition polled, or a PostgreSQL
backend seen waiting for a lock; and a race of two transactions, one held at a statement."""

from __future__ import annotations

import threading
import time

from sqlalchemy import event, text


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


def held_race(runtime, first, step, *, holds, before: bool = False) -> dict:
    """Run ``first`` held just after the statement ``holds(statement, parameters)`` picks
    (its first of them; just before it, with ``before``), then ``step`` in its own
    transaction, then let ``first`` go on; answers what each came to ("done", or the
    exception)."""
    held, taken, go_on = {}, threading.Event(), threading.Event()

    def hold(_conn, _cursor, statement, parameters, *_args):
        if threading.get_ident() == held.get("id") and not taken.is_set():
            if holds(statement, parameters):
                taken.set()
                go_on.wait(30)

    answers, step_pids = {}, []

    def run_first():
        held["id"] = threading.get_ident()
        try:
            first()
            answers["first"] = "done"
        except Exception as exc:  # noqa: BLE001 - asserted by the caller
            answers["first"] = exc

    def run_step():
        try:
            with runtime.db.transaction() as s:
                step_pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                step(s)
                answers["step"] = "done"
        except Exception as exc:  # noqa: BLE001 - asserted by the caller
            answers["step"] = exc

    engine = runtime.db.engine
    when = "before_cursor_execute" if before else "after_cursor_execute"
    event.listen(engine, when, hold)
    try:
        first_thread = threading.Thread(target=run_first)
        first_thread.start()
        assert taken.wait(30), answers
        second_thread = threading.Thread(target=run_step)
        second_thread.start()
        wait_for(lambda: "step" in answers or waits_for_a_lock(runtime, step_pids))
        go_on.set()
        first_thread.join(30)
        second_thread.join(30)
    finally:
        go_on.set()
        event.remove(engine, when, hold)
    return answers
