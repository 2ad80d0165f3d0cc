"""One process tree for the whole system.

Each child runs in its own session (so its own process group): stopping a child reaches its
descendants too (gunicorn workers, Celery pool processes), and a Ctrl-C typed in the terminal
reaches only the supervisor, which then stops the children in order. On Linux every child
also gets SIGTERM if the supervisor itself dies, so a killed supervisor leaves no orphans.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess  # nosec B404 # starting our own fixed command lines is the point
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Callable, Sequence

STOP_GRACE_SECONDS = 15.0
POLL_SECONDS = 0.1
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ChildSpec:
    """A child process: its name (the output prefix), command line and environment.

    ``infrastructure`` children (the embedded Redis) are stopped after all the others, so
    workers can still reach the broker while they shut down.
    """

    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    infrastructure: bool = False


@dataclass
class Child:
    spec: ChildSpec
    process: subprocess.Popen
    reader: threading.Thread | None = None
    expected_exit: bool = False

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int:
        return self.process.pid


def _parent_death_signal() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGTERM the child when the supervisor dies."""
    if not sys.platform.startswith("linux"):
        return None
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    # Resolved here, in the parent: the hook runs between fork and exec and must not load
    # libraries or take locks another thread may hold.
    prctl = ctypes.CDLL(libc_name, use_errno=True).prctl
    term = int(signal.SIGTERM)

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, term, 0, 0, 0)

    return hook


@dataclass
class Supervisor:
    """Starts children, forwards their output with a name prefix, and stops them together."""

    out: IO[str] = field(default_factory=lambda: sys.stdout)
    grace: float = STOP_GRACE_SECONDS
    children: list[Child] = field(default_factory=list)
    stop_requested: int | None = None
    _hurry: bool = False
    _in_stop: bool = False
    _out_lock: threading.Lock = field(default_factory=threading.Lock)
    _previous_handlers: dict = field(default_factory=dict)
    _prefix_width: int = 7

    # -- output -------------------------------------------------------------------------

    def say(self, message: str, name: str = "clinic") -> None:
        """Print one line (or several) under ``name``'s prefix."""
        with self._out_lock:
            for line in message.splitlines() or [""]:
                self.out.write(f"{name:<{self._prefix_width}}| {line}\n")
            self.out.flush()

    def _forward(self, child: Child) -> None:
        stream = child.process.stdout
        if stream is None:  # started with stdout=PIPE, so never; keeps type checkers honest
            return
        for raw in iter(stream.readline, b""):
            self.say(raw.decode("utf-8", errors="replace").rstrip("\r\n"), child.name)
        stream.close()

    # -- signals ------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        """SIGINT and SIGTERM ask for an orderly stop; a second one stops without grace."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous_handlers[signum] = signal.signal(signum, self._on_signal)

    def restore_signal_handlers(self) -> None:
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        self._previous_handlers.clear()

    def _on_signal(self, signum, _frame) -> None:
        if self.stop_requested is None:
            self.stop_requested = signum
            return
        self._hurry = True
        if not self._in_stop:
            # Startup is stuck (a migration waiting on a lock, say): abandon it.
            raise KeyboardInterrupt

    @property
    def stopping(self) -> bool:
        return self.stop_requested is not None

    # -- children -----------------------------------------------------------------------

    def start(self, spec: ChildSpec) -> Child:
        """Start ``spec`` in its own process group, its output forwarded line by line."""
        self._prefix_width = max(self._prefix_width, len(spec.name) + 1)
        process = subprocess.Popen(  # nosec B603 # argv is built by us, never by a shell
            spec.argv,
            env=spec.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_parent_death_signal(),
        )
        child = Child(spec, process)
        child.reader = threading.Thread(
            target=self._forward, args=(child,), name=f"output-{spec.name}", daemon=True
        )
        child.reader.start()
        self.children.append(child)
        self.say(f"started {spec.name} (pid {process.pid})")
        return child

    def first_dead(self) -> Child | None:
        """A child that exited without being asked to, if any."""
        for child in self.children:
            if not child.expected_exit and child.process.poll() is not None:
                return child
        return None

    def watch(self, later: Sequence[ChildSpec] = (), when: threading.Event | None = None) -> int:
        """Block until a stop is requested (0) or a child dies on its own (1); start the
        ``later`` children once ``when`` is set (here, in the thread that started the others:
        Linux sends the parent-death signal when the starting thread ends)."""
        later = list(later)
        while not self.stopping:
            if later and when is not None and when.is_set():
                for spec in later:
                    self.start(spec)
                later = []
            dead = self.first_dead()
            if dead is not None:
                self.say(
                    f"{dead.name} (pid {dead.pid}) exited unexpectedly with code "
                    f"{dead.process.returncode}; stopping everything"
                )
                return 1
            time.sleep(POLL_SECONDS)
        name = signal.Signals(self.stop_requested).name
        self.say(f"{name} received; stopping everything")
        return 0

    def stop(self) -> None:
        """Stop every child and its descendants: SIGTERM, then SIGKILL after the grace period.

        Application children stop first and together; infrastructure (Redis) stops last.
        """
        self._in_stop = True
        apps = [c for c in self.children if not c.spec.infrastructure]
        infrastructure = [c for c in self.children if c.spec.infrastructure]
        for group in (apps, infrastructure):
            if group:
                self._stop_group(group)
        for child in self.children:
            if child.reader is not None:
                child.reader.join(timeout=2.0)

    def _stop_group(self, children: list[Child]) -> None:
        for child in children:
            child.expected_exit = True
            if child.process.poll() is None:
                _signal_leader(child, signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        while time.monotonic() < deadline and not self._hurry:
            if all(c.process.poll() is not None for c in children):
                break
            time.sleep(POLL_SECONDS / 2)
        for child in children:
            if child.process.poll() is None:
                self.say(f"{child.name} did not stop in time; killing it")
            # Also catches descendants that outlived their leader.
            _signal_group(child, signal.SIGKILL)
            try:
                child.process.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                self.say(f"{child.name} (pid {child.pid}) could not be reaped")
            else:
                self.say(f"{child.name} stopped (code {child.process.returncode})")


def _signal_leader(child: Child, signum: int) -> None:
    try:
        os.kill(child.pid, signum)
    except ProcessLookupError:
        pass


def _signal_group(child: Child, signum: int) -> None:
    # The group id is the leader's pid (start_new_session); it lives while any member does.
    try:
        os.killpg(child.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass
