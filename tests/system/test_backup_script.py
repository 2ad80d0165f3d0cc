"""deploy/backup.sh against PostgreSQL: a backup restores the data it was taken with, and
only the newest dumps are kept."""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess  # nosec B404 - runs the repository's own script
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.engine import make_url

from clinic import migrate
from clinic.reference import directory
from clinic.reference.models import Department
from tests.conftest import PG_ADMIN_URL, _pg_url

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "backup.sh"


@pytest.fixture(params=["postgresql"])
def backend(request) -> str:
    """pg_dump and pg_restore: PostgreSQL only."""
    return request.param


def backup_sh(settings, *args: str, **env: str) -> subprocess.CompletedProcess:
    result = subprocess.run(  # nosec B603
        ["bash", str(SCRIPT), *args],
        env={**os.environ, "DATABASE_URL": settings.database_url, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result


def department_codes(runtime) -> list[str]:
    with runtime.db.session() as s:
        return sorted(s.scalars(select(Department.code)))


def test_a_backup_restores_the_data_it_was_taken_with(runtime, settings, tmp_path):
    with runtime.db.transaction() as s:
        directory.create_department(
            s,
            {"code": "backup", "ticket_prefix": "BKP", "name_ru": "Копия", "name_uz": "Nusxa",
             "name_en": "Backup"},
        )  # fmt: skip
    dump = Path(backup_sh(settings, "backup", str(tmp_path)).stdout.strip())
    assert dump.parent == tmp_path and dump.name.startswith("clinic-") and dump.stat().st_size
    assert not list(tmp_path.glob("*.partial"))
    # Every patient's data is in it: nobody but its owner reads it.
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600

    with runtime.db.transaction() as s:
        s.execute(delete(Department))
    assert department_codes(runtime) == []

    runtime.db.engine.dispose()  # no pooled connection holds a table the restore replaces
    backup_sh(settings, "restore", str(dump))
    assert department_codes(runtime) == ["backup"]


def test_only_the_newest_dumps_are_kept(runtime, settings, tmp_path):
    for old in ("clinic-20250101T000000Z.dump", "clinic-20250102T000000Z.dump"):
        (tmp_path / old).write_bytes(b"an old dump")
    (tmp_path / "notes.txt").write_text("not a dump: left alone")
    newest = Path(backup_sh(settings, "backup", str(tmp_path), BACKUP_KEEP="2").stdout.strip())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["clinic-20250102T000000Z.dump", newest.name, "notes.txt"]
    )


def test_a_restore_of_a_missing_or_broken_file_changes_nothing(runtime, settings, tmp_path):
    broken = tmp_path / "broken.dump"
    broken.write_bytes(b"not a dump")
    for file in (tmp_path / "missing.dump", broken):
        result = subprocess.run(  # nosec B603
            ["bash", str(SCRIPT), "restore", str(file)],
            env={**os.environ, "DATABASE_URL": settings.database_url},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0
    assert department_codes(runtime) == []


def test_a_failed_backup_fails_and_leaves_no_partial_dump(runtime, settings, tmp_path):
    unknown_role = (
        make_url(settings.database_url)
        .set(username="no_such_role_for_backups", password=None)
        .render_as_string(hide_password=False)
    )
    result = subprocess.run(  # nosec B603
        ["bash", str(SCRIPT), "backup", str(tmp_path / "backups")],
        env={**os.environ, "DATABASE_URL": unknown_role},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert list((tmp_path / "backups").iterdir()) == []


@pytest.fixture
def scratch_database():
    """A database of its own: migrated here to an older release and back."""
    name = f"clinic_restore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _pg_url(name)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.heavy  # migrates a database of its own three times
def test_a_dump_of_an_older_release_restores_that_release_and_migrates_again(
    backend, scratch_database, tmp_path
):
    """A restore replaces the whole schema: a table a later migration made does not stay
    behind to fail the next `clinic db upgrade` (the migrate step of `docker compose up`)."""
    older = "0016"  # 0017 makes the table payme_keys
    migrate.upgrade(scratch_database, older)
    env = {**os.environ, "DATABASE_URL": scratch_database}
    run = functools.partial(
        subprocess.run, capture_output=True, text=True, timeout=120, env=env
    )  # fmt: skip
    dump = run(["bash", str(SCRIPT), "backup", str(tmp_path)])  # nosec B603
    assert dump.returncode == 0, dump.stderr
    migrate.upgrade(scratch_database)
    head = migrate.current_heads(scratch_database)

    restored = run(["bash", str(SCRIPT), "restore", dump.stdout.strip()])  # nosec B603
    assert restored.returncode == 0, restored.stderr
    assert migrate.current_heads(scratch_database) == {older}
    with psycopg.connect(scratch_database) as conn:
        assert conn.execute("SELECT to_regclass('public.payme_keys')").fetchone() == (None,)

    migrate.upgrade(scratch_database)
    assert migrate.current_heads(scratch_database) == head


def test_a_restore_cut_short_changes_nothing(runtime, settings, tmp_path):
    """The schema is emptied in the restore's own transaction: a dump that fails half-way
    through (here pg_restore giving up after its first statement) leaves the data as it was."""
    with runtime.db.transaction() as s:
        directory.create_department(
            s,
            {"code": "kept", "ticket_prefix": "KPT", "name_ru": "Тут", "name_uz": "Bu",
             "name_en": "Kept"},
        )  # fmt: skip
    dump = backup_sh(settings, "backup", str(tmp_path / "backups")).stdout.strip()
    shim = tmp_path / "bin" / "pg_restore"
    shim.parent.mkdir()
    shim.write_text(
        f'#!/bin/bash\n[[ "$1" == --list ]] && exec {shutil.which("pg_restore")} "$@"\n'
        'echo "CREATE TABLE half_restored (x int);"; exit 1\n'
    )
    shim.chmod(0o700)
    runtime.db.engine.dispose()
    result = subprocess.run(  # nosec B603
        ["bash", str(SCRIPT), "restore", dump],
        env={**os.environ, "DATABASE_URL": settings.database_url,
             "PATH": f"{shim.parent}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert department_codes(runtime) == ["kept"]
    with runtime.db.session() as s:
        assert s.scalar(text("SELECT to_regclass('half_restored')")) is None
