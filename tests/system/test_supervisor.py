"""The process tree behind `clinic run`, with small real children."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time

import psutil

from web.supervisor import ChildSpec, Supervisor

# A child that waits for a signal, however long that takes.
SLEEPER = [sys.executable, "-c", "import threading; threading.Event().wait()"]


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def _wait_for(out: io.StringIO, pattern: str, within: float = 10.0) -> re.Match:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = re.search(pattern, out.getvalue())
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} never appeared in:\n{out.getvalue()}")


def test_a_child_that_dies_stops_the_tree_with_code_1_and_is_named():
    out = io.StringIO()
    supervisor = Supervisor(out=out, grace=5)
    try:
        sleeper = supervisor.start(ChildSpec("sleeper", SLEEPER))
        supervisor.start(
            ChildSpec(
                "crasher", [sys.executable, "-c", "import sys, time; time.sleep(0.3); sys.exit(3)"]
            )
        )
        code = supervisor.watch()
    finally:
        supervisor.stop()
    assert code == 1
    assert re.search(r"crasher \(pid \d+\) exited unexpectedly with code 3", out.getvalue())
    assert _gone(sleeper.pid)


def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period_with_its_descendants():
    stubborn = textwrap.dedent("""
        import signal, subprocess, sys
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        grandchild = subprocess.Popen([sys.executable, "-c",
            "import signal, threading; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "threading.Event().wait()"])
        print(f"grandchild={grandchild.pid}", flush=True)
        while True:
            signal.pause()
        """)
    out = io.StringIO()
    supervisor = Supervisor(out=out, grace=1.0)
    child = supervisor.start(ChildSpec("stubborn", [sys.executable, "-c", stubborn]))
    grandchild = int(_wait_for(out, r"grandchild=(\d+)").group(1))
    started = time.monotonic()
    supervisor.stop()
    took = time.monotonic() - started
    assert _gone(child.pid, within=1) and _gone(grandchild, within=5)
    assert 1.0 <= took < 8, took
    assert "stubborn did not stop in time; killing it" in out.getvalue()


def test_infrastructure_stops_after_the_applications():
    out = io.StringIO()
    supervisor = Supervisor(out=out, grace=5)
    supervisor.start(ChildSpec("broker", SLEEPER, infrastructure=True))
    supervisor.start(ChildSpec("app", SLEEPER))
    supervisor.stop()
    stopped = re.findall(r"(\w+) stopped \(code", out.getvalue())
    assert stopped == ["app", "broker"]


def test_children_die_with_a_supervisor_that_is_killed():
    script = textwrap.dedent(f"""
        import signal
        from web.supervisor import ChildSpec, Supervisor
        child = Supervisor().start(ChildSpec("sleeper", {SLEEPER!r}))
        print(f"child={{child.pid}}", flush=True)
        while True:
            signal.pause()
        """)
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        child_pid = None
        deadline = time.monotonic() + 15
        while child_pid is None and time.monotonic() < deadline:
            line = parent.stdout.readline()
            if line.startswith("child="):
                child_pid = int(line.strip().split("=")[1])
        assert child_pid is not None
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        assert _gone(child_pid, within=5), "the child outlived its killed supervisor"
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.stdout.close()


def test_a_signal_asks_watch_to_return_0():
    out = io.StringIO()
    supervisor = Supervisor(out=out, grace=5)
    supervisor.install_signal_handlers()
    try:
        supervisor.start(ChildSpec("sleeper", SLEEPER))
        os.kill(os.getpid(), signal.SIGTERM)
        assert supervisor.watch() == 0
    finally:
        supervisor.stop()
        supervisor.restore_signal_handlers()
    assert "SIGTERM received; stopping everything" in out.getvalue()


def test_later_children_start_once_their_event_is_set_and_stay_until_the_stop():
    out = io.StringIO()
    supervisor = Supervisor(out=out, grace=5)
    supervisor.install_signal_handlers()
    ready = threading.Event()
    before_the_event = []
    try:
        supervisor.start(ChildSpec("first", SLEEPER))

        def then_stop() -> None:
            time.sleep(0.3)  # watch runs a few rounds with the event unset
            before_the_event.append(out.getvalue())
            ready.set()
            _wait_for(out, r"started later \(pid \d+\)")
            os.kill(os.getpid(), signal.SIGTERM)

        helper = threading.Thread(target=then_stop)
        helper.start()
        assert supervisor.watch(later=[ChildSpec("later", SLEEPER)], when=ready) == 0
        helper.join()
        assert before_the_event and "started later" not in before_the_event[0]
        later = [c for c in supervisor.children if c.name == "later"]
        assert len(later) == 1 and later[0].process.poll() is None
    finally:
        supervisor.stop()
        supervisor.restore_signal_handlers()
    assert re.findall(r"(\w+) stopped \(code", out.getvalue()) == ["first", "later"]
