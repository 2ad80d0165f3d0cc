"""Migrations are the only way the schema is made: empty -> head -> empty -> head."""

from __future__ import annotations

import importlib.util
import uuid
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import inspect, text

from clinic import migrate
from clinic.db import make_engine
from clinic.models import Base
from tests.conftest import BACKENDS, PG_ADMIN_URL, _pg_url

pytestmark = pytest.mark.heavy
TZ = ZoneInfo("Asia/Tashkent")


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


@pytest.fixture
def cheap_passwords():
    """The demo clinic's users hashed at the suite's argon2 costs (tests/conftest.py) instead
    of the production ones this process may still have (about 0.15 s of CPU a user): the
    parameters differ, not the algorithm or the rows."""
    from clinic.accounts import passwords

    before = (passwords.hasher.time_cost, passwords.hasher.memory_cost)
    passwords.configure(time_cost=1, memory_kib=1024)
    yield
    passwords.configure(time_cost=before[0], memory_kib=before[1])


def test_migrations_go_from_empty_to_head_and_back_with_data_in_the_tables(
    empty_database, cheap_passwords
):
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
    """Autogenerate finds nothing to do: no model change lacks its migration, and no column
    has a server default the models do not declare (or lacks one they do)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(migrated_database)
    try:
        with engine.connect() as conn:
            opts = {
                "compare_type": True,
                "compare_server_default": True,
                "include_object": migrate.include_object,
            }
            context = MigrationContext.configure(conn, opts=opts)
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def _descending(index) -> list[str]:
    """The columns an index of the models orders descending."""
    return [
        expression.element.name
        for expression in index.expressions
        if getattr(expression, "modifier", None) is not None
        and expression.modifier.__name__ == "desc_op"
    ]


def test_descending_index_columns_survive_the_migrations(migrated_database, empty_database):
    """Alembic's comparison does not look at an index column's order: a migration that
    rebuilds a table on SQLite (batch mode) made the calling order's priority ascending, and
    call next sorted the day's waiting tickets. Each index the models order descending is so
    in the database, at head, and after going down and up again."""
    indexes = [
        (table.name, index.name, column)
        for table in Base.metadata.sorted_tables
        for index in table.indexes
        for column in _descending(index)
    ]
    assert ("tickets", "ix_tickets_calling_order", "priority") in indexes
    migrate.upgrade(empty_database)
    migrate.downgrade(empty_database, "0025")
    migrate.upgrade(empty_database)
    for url in (migrated_database, empty_database):
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                for table, name, column in indexes:
                    if conn.dialect.name == "sqlite":
                        sql = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :n"
                    else:
                        sql = "SELECT indexdef FROM pg_indexes WHERE indexname = :n"
                    definition = conn.execute(text(sql), {"n": name}).scalar_one()
                    assert f"{column} DESC" in definition.replace('"', ""), (url, definition)
        finally:
            engine.dispose()


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


# -- 0020: the privileged priority renumbers the tickets' stored priorities --------------------

MORNING = datetime(2026, 3, 2, 5, 0, tzinfo=timezone.utc)  # 10:00 in Tashkent, a Monday
NAMES = ("normal", "privileged", "returned", "urgent")


def _migration(prefix: str):
    """A migration's module, loaded by itself: its steps run without the chain around it."""
    (path,) = (migrate.MIGRATIONS / "versions").glob(f"{prefix}_*.py")
    spec = importlib.util.spec_from_file_location(f"migration_{prefix}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_step(url: str, step) -> None:
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
            step()
    finally:
        engine.dispose()


def _issue(url: str, priorities) -> list[int]:
    """Tickets of one queue issued in this order, each stored with the number given."""
    from clinic.db import Database
    from clinic.queue import admin as queue_admin
    from clinic.queue import tickets as q
    from clinic.reference import directory as reference

    db = Database(url)
    try:
        with db.transaction() as s:
            queue = s.scalar(text("SELECT id FROM queues WHERE code = 'prio'"))
            if queue is None:
                names = {f"name_{lang}": "Terapiya" for lang in ("ru", "uz", "en")}
                department = reference.create_department(
                    s, {"code": "d-prio", "ticket_prefix": "P", **names}
                )
                room = reference.create_room(s, {"number": "101", "name": ""})
                queue = queue_admin.create_queue(
                    s, {"code": "prio", "department_id": department.id, "room_id": room.id}
                ).id
            return [
                q.issue_ticket(s, queue, tz=TZ, now=MORNING, priority=priority).id
                for priority in priorities
            ]
    finally:
        db.dispose()


def _stored(url: str, ids: list[int]) -> list[int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT id, priority FROM tickets")).all())
    finally:
        engine.dispose()
    return [rows[i] for i in ids]


def test_the_privileged_renumbering_keeps_every_tickets_meaning_down_and_up(empty_database):
    """0020's own steps, on the tables as the models make them: down, a privileged ticket
    becomes a normal one and returned and urgent take their old numbers; up again, each
    ticket is called as it was."""
    from clinic.queue.models import Priority

    engine = make_engine(empty_database)
    Base.metadata.create_all(engine)
    engine.dispose()
    ids = _issue(empty_database, [Priority.NAMES[name] for name in NAMES])
    step = _migration("0020")
    _run_step(empty_database, step.downgrade)
    assert _stored(empty_database, ids) == [0, 0, 1, 2]  # normal, returned, urgent before 0020
    _run_step(empty_database, step.upgrade)
    assert [Priority.NAME_OF[n] for n in _stored(empty_database, ids)] == [
        "normal",
        "normal",
        "returned",
        "urgent",
    ]


def test_migration_0020_renumbers_the_tickets_of_0019_and_back(empty_database):
    """Through the chain: tickets stored by 0019's numbers (normal 0, returned 1, urgent 2)
    keep their meaning at 0020, and a privileged one goes back to normal at 0019."""
    if not list((migrate.MIGRATIONS / "versions").glob("0019_*.py")):
        pytest.skip("revision 0019, which 0020 follows, is not in this tree")
    from clinic.queue.models import Priority

    migrate.upgrade(empty_database, "0019")
    ids = _issue(empty_database, [0, 1, 2])  # as 0019's code stored them
    migrate.upgrade(empty_database, "0020")
    assert [Priority.NAME_OF[n] for n in _stored(empty_database, ids)] == [
        "normal",
        "returned",
        "urgent",
    ]
    ids += _issue(empty_database, [Priority.PRIVILEGED])
    migrate.downgrade(empty_database, "0019")
    assert _stored(empty_database, ids) == [0, 1, 2, 0]
    migrate.upgrade(empty_database)
    assert _stored(empty_database, ids) == [0, 2, 3, 0]


def test_a_reference_row_inserted_beside_the_application_without_its_search_text_is_refused(
    migrated_database,
):
    """The models write ``search_text`` with every row and the database has no default for
    it: a row from a script or a restore without it is refused, rather than kept with an
    empty text no search could ever find."""
    from sqlalchemy.exc import IntegrityError

    engine = make_engine(migrated_database)
    try:
        with engine.connect() as conn:
            with pytest.raises(IntegrityError):
                conn.execute(
                    text(
                        "INSERT INTO rooms (number, name, active, created_at, updated_at)"
                        " VALUES ('drift-1', 'Kabinet', TRUE, CURRENT_TIMESTAMP,"
                        " CURRENT_TIMESTAMP)"
                    )
                )
            conn.rollback()
    finally:
        engine.dispose()
