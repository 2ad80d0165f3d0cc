"""Migrations are the only way the schema is made: empty -> head -> empty -> head."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy import inspect

from clinic import migrate
from clinic.db import make_engine
from clinic.models import Base
from tests.conftest import BACKENDS, PG_ADMIN_URL, _pg_url

pytestmark = pytest.mark.heavy


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"clinic_mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _pg_url(name).replace("postgresql://", "postgresql+psycopg://")
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _tables(url):
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def migrated_database(request, database_urls):
    """The tests' own database of each backend, which migrations made (tests/conftest.py)."""
    return database_urls[request.param]


def test_migrations_go_from_empty_to_head_and_back_with_data_in_the_tables(empty_database):
    from clinic.db import Database
    from clinic.demo import load_demo_clinic

    model_tables = {t.name for t in Base.metadata.sorted_tables}
    migrate.upgrade(empty_database)
    assert _tables(empty_database) == model_tables
    heads = migrate.current_heads(empty_database)
    db = Database(empty_database)
    with db.transaction() as session:
        assert load_demo_clinic(session)
    db.dispose()
    migrate.downgrade(empty_database, "base")
    assert _tables(empty_database) == set()
    migrate.upgrade(empty_database)
    assert migrate.current_heads(empty_database) == heads
    assert _tables(empty_database) == model_tables


def test_models_and_migrations_agree(migrated_database):
    """Autogenerate finds nothing to do: no model change lacks its migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(migrated_database)
    try:
        with engine.connect() as conn:
            opts = {"compare_type": True, "include_object": migrate.include_object}
            context = MigrationContext.configure(conn, opts=opts)
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_every_module_packages_models_are_in_the_metadata():
    from pathlib import Path

    import clinic
    from clinic.models import Base

    root = Path(clinic.__file__).parent
    modules = {p.parent.name for p in root.glob("*/models.py")}
    assert modules >= {"accounts", "events", "jobs", "queue", "reference"}
    owners = {table_module(t) for t in Base.metadata.sorted_tables}
    assert modules <= owners


def table_module(table) -> str:
    from clinic.models import Base

    for mapper in Base.registry.mappers:
        if mapper.local_table is table:
            return mapper.class_.__module__.split(".")[1]
    return ""


def test_migrations_run_once_when_several_processes_start_them_together(empty_database):
    """Several web nodes (or a deploy and a restart) upgrading one fresh database at once all
    succeed: one migrates, the others wait for it and find nothing left to do."""
    import subprocess  # nosec B404 # our own interpreter and code
    import sys

    code = f"from clinic import migrate; migrate.upgrade({empty_database!r})"
    starters = [
        subprocess.Popen(  # nosec B603
            [sys.executable, "-c", code], stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    failures = []
    for starter in starters:
        _, err = starter.communicate(timeout=120)
        if starter.returncode != 0:
            failures.append(err.strip().splitlines()[-1:])
    assert failures == []
    assert _tables(empty_database) == {t.name for t in Base.metadata.sorted_tables}
