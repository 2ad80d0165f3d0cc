"""Alembic environment: the URL comes from the settings object (or the caller's config)."""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path

from alembic import context
from sqlalchemy import event, text

from clinic.db import make_engine
from clinic.migrate import include_object
from clinic.models import Base
from clinic.settings import Settings

config = context.config
target_metadata = Base.metadata
# Any fixed number, the same for every process migrating this database.
MIGRATION_LOCK_KEY = 7_302_114_601


def _url() -> str:
    return config.attributes.get("database_url") or Settings.from_env().database_url


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = _url()
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        # SQLite alters a table by copying it; with foreign keys enforced, copying a table
        # that others point at fails once there is data. Checks are off for migrations.
        @event.listens_for(engine, "connect")
        def _no_foreign_keys(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA foreign_keys=OFF")

    with _sqlite_file_locked(engine), engine.connect() as conn:
        _run(conn)
    engine.dispose()


@contextlib.contextmanager
def _sqlite_file_locked(engine):
    """SQLite's driver runs DDL outside any transaction, so two processes migrating one
    database file at once (``clinic run`` beside a ``clinic migrate``) would both find it
    behind and both migrate. They take turns on a lock file beside the database, as
    PostgreSQL's take turns on an advisory lock (see :func:`_run`)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    with open(Path(database).with_name(Path(database).name + ".migrating"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # A default the database holds and the models do not (or the other way round) is
        # drift too: a row inserted beside the application would take it silently.
        compare_server_default=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several processes may start migrating one database at once (web nodes, a deploy
            # beside a restart): the first migrates, the others wait here until it commits and
            # then find the schema already at head.
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
