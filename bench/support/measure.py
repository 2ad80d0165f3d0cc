"""Measuring: the WebSocket clients' process, committing events, and what arrived when."""

from __future__ import annotations

import json
import math
import subprocess  # nosec B404 # our own client process
import sys
import time
from pathlib import Path

from bench.support.harness import REPO, Stack
from clinic.runtime import Runtime


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (``pct`` of the values are at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(seconds: list[float]) -> dict:
    """p50/p90/p99/max of durations given in seconds, in milliseconds."""
    ms = [s * 1000 for s in seconds]

    def r(v):
        return None if v is None else round(v, 2)

    return {
        "count": len(ms),
        "p50": r(percentile(ms, 50)),
        "p90": r(percentile(ms, 90)),
        "p99": r(percentile(ms, 99)),
        "max": r(max(ms) if ms else None),
    }


class Fleet:
    """A child process holding ``clients`` WebSocket clients (see bench/support/fleet.py)."""

    SCRIPT = Path(__file__).resolve().parent / "fleet.py"

    def __init__(
        self,
        stack: Stack,
        *,
        clients: int,
        token: str,
        channel: str,
        expect: int,
        type_: str | None = None,
        token_in_query: bool = False,
        concurrency: int = 50,
        grace: float = 15.0,
        max_seconds: float = 300.0,
    ) -> None:
        import queue
        import threading

        config = {
            "url": stack.ws_url,
            "token": token,
            "token_in_query": token_in_query,
            "channel": channel,
            "clients": clients,
            "expect": expect,
            "type": type_,
            "concurrency": concurrency,
            "connect_timeout": 30.0,
            "grace": grace,
            "max_seconds": max_seconds,
        }
        self.max_seconds = max_seconds
        self.process = subprocess.Popen(  # nosec B603 # our own client script
            [sys.executable, str(self.SCRIPT), json.dumps(config)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _next(self, op: str, timeout: float) -> dict:
        import queue

        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"the client fleet said nothing within {timeout:.0f} s") from None
        if line is None:
            raise RuntimeError(f"the client fleet exited ({self.process.wait()}) before {op!r}")
        message = json.loads(line)
        if message.get("op") != op:
            raise RuntimeError(f"the client fleet said {message.get('op')!r}, not {op!r}")
        return message

    def ready(self) -> dict:
        """Once every client has connected and subscribed (or failed to)."""
        return self._next("ready", self.max_seconds)

    def finish(self) -> dict:
        """Tell the clients nothing more is coming; their receipts once they have them all
        (or the grace period ran out)."""
        try:
            self.process.stdin.write("done\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass
        result = self._next("result", self.max_seconds)
        self.close()
        return result

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def __enter__(self) -> "Fleet":
        return self

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


def commit_event(
    runtime: Runtime, channel: str, type_: str, data: dict
) -> tuple[int, float, float]:
    """Record one event in a transaction of its own and commit it (which publishes it).

    Returns its number and the monotonic times just before and just after the commit.
    """
    from clinic.events import record_event

    session = runtime.db.session()
    try:
        event = record_event(session, channel, type_, data)
        before = time.monotonic()
        session.commit()
        after = time.monotonic()
        return event.seq, before, after
    finally:
        session.close()


def deliveries(result: dict, sent: dict, key: int = 0) -> dict:
    """Compare what each client received with what was sent.

    ``sent`` maps each event's key (its number, ``key=0``, or its ticket code, ``key=2``) to
    the monotonic time it started; the answer has every latency in seconds, and the events
    lost (sent, never received), received twice, or out of order, counted over all clients.
    """
    latencies, lost, duplicates, out_of_order, unknown = [], 0, 0, 0, 0
    last_receipts = {}
    for client, events in result["events"].items():
        seen = set()
        previous = None
        for entry in events:
            k, arrived = entry[key], entry[1]
            if k in seen:
                duplicates += 1
                continue
            seen.add(k)
            if previous is not None and entry[0] < previous:
                out_of_order += 1
            previous = entry[0]
            if k not in sent:
                unknown += 1
                continue
            latencies.append(arrived - sent[k])
            last_receipts[k] = max(last_receipts.get(k, arrived), arrived)
        lost += len(set(sent) - seen)
    expected = len(sent) * result["connected"]
    return {
        "expected": expected,
        "received": len(latencies),
        "lost": lost,
        "duplicates": duplicates,
        "out_of_order": out_of_order,
        "unexpected": unknown,
        "latencies": latencies,
        "last_receipt": {k: t - sent[k] for k, t in last_receipts.items()},
    }
