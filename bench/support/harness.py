"""The system under measurement, started the way production runs it, and stopped afterwards
(on SQLite, which production refuses, with development's settings).

:class:`Stack` makes a fresh database (a SQLite file in a temporary folder, a scratch
PostgreSQL database, or one given by URL), migrates it, picks a Redis key prefix of its own
and starts ``gunicorn -c web/gunicorn_conf.py`` (the gevent worker) on a free loopback port,
with the command line ``clinic web`` uses. Everything it started is stopped and everything
it made is removed on exit, whatever happened.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import signal
import subprocess  # nosec B404 # our own server and client processes
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime
from datetime import time as wall_time
from datetime import timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import psutil  # noqa: E402

from clinic import migrate  # noqa: E402
from clinic.accounts import tokens, users  # noqa: E402
from clinic.runtime import Runtime  # noqa: E402
from clinic.settings import Settings  # noqa: E402
from web.cli import processes  # noqa: E402

from .ports import free_port  # noqa: E402,F401 - the benches' servers take their ports here

RESULTS = REPO / "bench" / "results"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "Bench-parol-2026!"
SERVER_READY_SECONDS = 60


def parse_on_postgres(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """The arguments of a bench whose figures stand beside PostgreSQL floors: without
    ``--database-url`` or ``--postgres`` it makes its scratch database on the default server."""
    args = parser.parse_args(argv)
    if not args.database_url and not args.postgres:
        args.postgres = DEFAULT_PG_ADMIN_URL
    return args


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
    where.add_argument(
        "--server-open-files",
        type=int,
        metavar="N",
        help="start the web server with this soft limit of open files (default: inherited)",
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
            # Production refuses SQLite; on it the server runs development's settings, which
            # differ from production's in the cookies' Secure flag, one header (HSTS) and the
            # payment providers enabled without configuration. Its log lines stay JSON.
            "CLINIC_ENV": "production" if self.database_kind == "postgresql" else "development",
            "CLINIC_LOG_FORMAT": "json",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "FLOWER_BASIC_AUTH": "bench:" + secrets.token_urlsafe(12),
            "CLINIC_PUBLIC_URL": "https://clinic.example.uz",
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
        # (CLINIC_WEB_CONNECTIONS, CLINIC_DB_POOL_SIZE) passes through, to be varied from outside.
        env = {
            k: v
            for k, v in os.environ.items()
            if k in ("CLINIC_WEB_CONNECTIONS", "CLINIC_DB_POOL_SIZE")
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
            preexec_fn=self._limit_open_files if self.args.server_open_files else None,
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

    def _limit_open_files(self) -> None:
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.args.server_open_files, hard))

    def stop_server(self) -> None:
        """gunicorn's quick shutdown (SIGQUIT): every measured request has ended by now, and
        a graceful one (SIGTERM) would wait for the worker's once-a-second check of its state
        and the master's reaping after it, a second or two of nothing."""
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGQUIT)
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
        from clinic.queue import admin as queue_admin
        from clinic.reference import directory as reference

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
                    # Open to the day's end: a bench runs at whatever hour it is started.
                    "closes_at": wall_time(23, 59, 59),
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
