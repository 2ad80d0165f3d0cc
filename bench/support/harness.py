"""The system under measurement, started the way production runs it, and stopped afterwards.

:class:`Stack` makes a fresh database (a SQLite file in a temporary folder, a scratch
PostgreSQL database, or one given by URL), migrates it, picks a Redis key prefix of its own
and starts ``gunicorn -c web/gunicorn_conf.py`` (the gevent worker) on a free loopback port,
with the command line ``clinic web`` uses. Everything it started is stopped and everything
it made is removed on exit, whatever happened.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import secrets
import signal
import socket
import subprocess  # nosec B404 # our own server and client processes
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import psutil  # noqa: E402

from clinic import migrate  # noqa: E402
from clinic.runtime import Runtime  # noqa: E402
from clinic.services import tokens, users  # noqa: E402
from clinic.settings import Settings  # noqa: E402
from web.cli import processes  # noqa: E402

RESULTS = REPO / "bench" / "results"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "Bench-parol-2026!"
SERVER_READY_SECONDS = 60


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_argument_group("the system under measurement")
    db = where.add_mutually_exclusive_group()
    db.add_argument(
        "--database-url",
        help="use this database as it is (migrated to head first); "
        "default: a fresh SQLite file in a temporary folder",
    )
    db.add_argument(
        "--postgres",
        nargs="?",
        const=DEFAULT_PG_ADMIN_URL,
        metavar="ADMIN_URL",
        help="a scratch database made on this PostgreSQL server and dropped afterwards "
        f"(default server: {DEFAULT_PG_ADMIN_URL})",
    )
    where.add_argument(
        "--redis-url",
        default=DEFAULT_REDIS_URL,
        help=f"Redis to use, under a key prefix of its own (default: {DEFAULT_REDIS_URL})",
    )
    where.add_argument(
        "--workers", type=int, default=1, help="gunicorn worker processes (default: 1)"
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--results-dir",
        type=Path,
        default=RESULTS,
        help=f"where the JSON result goes (default: {RESULTS.relative_to(REPO)})",
    )
    out.add_argument("--json", type=Path, help="write the JSON result to this exact file")
    out.add_argument("--server-log", type=Path, help="keep the web server's output in this file")


def raise_open_files(needed: int) -> int:
    """Lift this process's open-file limit (inherited by its children) to ``needed``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def _letters(n: int) -> str:
    return "".join(chr(ord("A") + secrets.randbelow(26)) for _ in range(n))


class Stack:
    """A migrated database, a Redis prefix, credentials and a gunicorn server on loopback."""

    def __init__(self, args: argparse.Namespace, *, connections: int = 0) -> None:
        self.args = args
        self.connections = connections
        self.tag = "bench" + uuid.uuid4().hex[:8]
        self.tmp: tempfile.TemporaryDirectory | None = None
        self.scratch_db: str | None = None
        self.runtime: Runtime | None = None
        self.server: subprocess.Popen | None = None
        self.port = 0
        self.log_path: Path | None = None
        self._log = None

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> "Stack":
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop_server()
        if self.runtime is not None:
            try:
                for key in self.runtime.redis.scan_iter(f"{self.tag}:*", count=500):
                    self.runtime.redis.delete(key)
            finally:
                self.runtime.close()
        if self.scratch_db:
            import psycopg

            with psycopg.connect(self.args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.scratch_db}" WITH (FORCE)')
        if self.tmp is not None:
            self.tmp.cleanup()

    def _start(self) -> None:
        raise_open_files(max(4096, 2 * self.connections + 1024))
        self.tmp = tempfile.TemporaryDirectory(prefix="clinic-bench-")
        root = Path(self.tmp.name)
        self.database_url = self._database(root)
        migrate.upgrade(self.database_url)
        self.env = {
            "CLINIC_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "FLOWER_BASIC_AUTH": "bench:" + secrets.token_urlsafe(12),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.args.redis_url,
            "CLINIC_REDIS_PREFIX": self.tag,
            "CLINIC_INSTANCE": str(root / "instance"),
        }
        # Cheap password hashing in this process only: the benches never sign in.
        own = {**self.env, "CLINIC_ARGON2_TIME_COST": "1", "CLINIC_ARGON2_MEMORY_KIB": "8192"}
        self.runtime = Runtime(Settings.from_env(own))
        self.runtime.redis.ping()
        self.start_server()

    def _database(self, root: Path) -> str:
        if self.args.database_url:
            return self.args.database_url
        if self.args.postgres:
            import psycopg

            self.scratch_db = f"clinic_{self.tag}"
            with psycopg.connect(self.args.postgres, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.scratch_db}"')
            base = self.args.postgres.rsplit("/", 1)[0]
            return f"{base}/{self.scratch_db}".replace("postgresql://", "postgresql+psycopg://")
        return f"sqlite:///{root / 'clinic.sqlite3'}"

    @property
    def database_kind(self) -> str:
        return "sqlite" if self.database_url.startswith("sqlite") else "postgresql"

    # -- the web server ---------------------------------------------------------------------

    def start_server(self) -> None:
        """``gunicorn -c web/gunicorn_conf.py`` with the gevent worker, as ``clinic web``."""
        self.port = free_port()
        argv = processes.web_argv("127.0.0.1", self.port, self.args.workers)
        # The server's own settings come from here; of the caller's, only the gunicorn tuning
        # (CLINIC_WEB_CONNECTIONS) passes through, so it can be varied from outside.
        env = {
            k: v
            for k, v in os.environ.items()
            if k == "CLINIC_WEB_CONNECTIONS"
            or not k.startswith(("CLINIC_", "DATABASE_URL", "REDIS_URL", "WEB_CONCURRENCY"))
        }
        env.update(self.env, PYTHONUNBUFFERED="1")
        self.log_path = self.args.server_log or Path(self.tmp.name) / "server.log"
        self._log = open(self.log_path, "ab")
        self.server = subprocess.Popen(  # nosec B603 # our own fixed command line
            argv,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + SERVER_READY_SECONDS
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.server.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/health/live", timeout=2) as r:
                    if r.status == 200 and len(self.worker_pids()) >= self.args.workers:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer within {SERVER_READY_SECONDS} s")

    def stop_server(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait(10)
        self.server = None
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def worker_pids(self) -> list[int]:
        if self.server is None:
            return []
        try:
            return [p.pid for p in psutil.Process(self.server.pid).children()]
        except psutil.NoSuchProcess:
            return []

    def server_usage(self) -> dict:
        """RSS (MiB) and CPU seconds so far of the master and each worker."""
        out = {"master_rss_mib": None, "workers": []}
        try:
            master = psutil.Process(self.server.pid)
            out["master_rss_mib"] = round(master.memory_info().rss / 2**20, 1)
            for child in master.children():
                cpu = child.cpu_times()
                out["workers"].append(
                    {
                        "pid": child.pid,
                        "rss_mib": round(child.memory_info().rss / 2**20, 1),
                        "cpu_s": round(cpu.user + cpu.system, 3),
                        "threads": child.num_threads(),
                        "open_files": child.num_fds(),
                    }
                )
        except psutil.NoSuchProcess:
            pass
        return out

    def tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # -- data and credentials ---------------------------------------------------------------

    def user_token(self, roles: list[str], doctor_id: int | None = None) -> str:
        """A new user with ``roles`` and an API token of it (the plain token)."""
        name = f"{self.tag}-{roles[0]}-{uuid.uuid4().hex[:4]}"
        with self.runtime.db.transaction() as s:
            user = users.create_user(
                s, username=name, password=PASSWORD, roles=roles, doctor_id=doctor_id
            )
            return tokens.create_token(s, user, name="bench")[1]

    def queue(self, *, with_doctor: bool = False) -> dict:
        """A department, room and queue (and its doctor): their ids."""
        from clinic.services import queue_admin, reference

        with self.runtime.db.transaction() as s:
            suffix = uuid.uuid4().hex[:6]
            department = reference.create_department(
                s,
                {
                    "code": f"B{suffix}",
                    "ticket_prefix": _letters(3),
                    "name_ru": "Отделение",
                    "name_uz": "Bo'lim",
                    "name_en": "Department",
                },
            )
            room = reference.create_room(
                s, {"number": f"R{suffix}", "name": "Кабинет", "department_id": department.id}
            )
            doctor = None
            if with_doctor:
                doctor = reference.create_doctor(
                    s, {"full_name": f"Доктор {suffix}", "department_id": department.id}
                )
            queue = queue_admin.create_queue(
                s,
                {
                    "code": f"q{suffix}",
                    "department_id": department.id,
                    "room_id": room.id,
                    "doctor_id": doctor.id if doctor else None,
                },
            )
            return {
                "department_id": department.id,
                "room_id": room.id,
                "doctor_id": doctor.id if doctor else None,
                "queue_id": queue.id,
            }


def machine() -> dict:
    """What the figures were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def write_result(args: argparse.Namespace, name: str, result: dict) -> Path:
    """The JSON result in ``--json`` or ``--results-dir``; returns its path."""
    result = {
        "bench": name,
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        **result,
    }
    if args.json:
        path = args.json
    else:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        path = args.results_dir / f"{name}-{stamp}-{os.getpid()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return path


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


def commit_event(runtime: Runtime, channel: str, type_: str, data: dict) -> tuple[int, float, float]:
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
