""" "Go and look" tasks are sent once a moment, however many commits ask for them, and always
after the last commit that asked."""

from __future__ import annotations

import threading
import time

from clinic.db import Nudges


def test_a_burst_of_notes_costs_few_sends_and_the_last_send_follows_the_last_note():
    nudges = Nudges()
    sent: list[tuple[str, dict, str, float]] = []
    lock = threading.Lock()

    def send(task_name, *, kwargs, queue):
        time.sleep(0.01)  # a broker round trip
        with lock:
            sent.append((task_name, kwargs, queue, time.monotonic()))

    key = (send, "printing.collect", "printing", ())
    other = (send, "printing.drain", "printing", (("printer_id", 7),))
    last_note = 0.0
    started = time.monotonic()
    for _ in range(200):
        nudges.note(key)
        last_note = time.monotonic()
        time.sleep(0.001)
    nudges.note(other)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with lock:
            done = [s for s in sent if s[0] == "printing.collect" and s[3] > last_note]
            drains = [s for s in sent if s[0] == "printing.drain"]
        if done and drains:
            break
        time.sleep(0.01)
    collects = [s for s in sent if s[0] == "printing.collect"]
    assert done, "no send followed the last note"
    # One send per moment of the burst (and the one after it), not one per note.
    assert 1 <= len(collects) <= (last_note - started) / Nudges.EVERY + 2 < 200, len(collects)
    assert drains and drains[0][1] == {"printer_id": 7} and drains[0][2] == "printing"


def test_a_failing_send_is_logged_and_a_note_after_the_thread_went_idle_is_sent(caplog):
    nudges = Nudges()
    nudges.IDLE = 0.2
    calls = []

    def send(task_name, *, kwargs, queue):
        calls.append(task_name)
        if len(calls) == 1:
            raise ConnectionError("broker away")

    nudges.note((send, "printing.collect", "printing", ()))
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    while nudges._thread is not None and time.monotonic() < deadline:
        time.sleep(0.05)  # nothing more to send: the thread ends after IDLE seconds
    assert nudges._thread is None
    nudges.note((send, "printing.collect", "printing", ()))
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert calls == ["printing.collect", "printing.collect"]
    assert "sending printing.collect failed" in caplog.text
