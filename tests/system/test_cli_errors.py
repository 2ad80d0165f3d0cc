"""An operator's slips at the ``clinic`` command are said in a line, with what to do, not as a
page of traceback: a command run where the instance has no tables yet (another folder than
the one ``clinic run`` used), a migration that does not exist."""

from __future__ import annotations

import pytest

from web.cli import main


@pytest.fixture
def fresh_folder(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "REDIS_URL", "CLINIC_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLINIC_INSTANCE", str(tmp_path / "instance"))
    return tmp_path


def _said(capsys, *args) -> tuple[int, list[str]]:
    with pytest.raises(SystemExit) as ended:
        main(list(args))
    return ended.value.code, capsys.readouterr().err.strip().splitlines()


def test_a_command_on_a_database_without_tables_says_to_upgrade_it(fresh_folder, capsys):
    code, lines = _said(capsys, "users", "list")
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith("Error: database: no such table: users")
    assert "clinic db upgrade" in lines[0] and "CLINIC_INSTANCE" in lines[0]


def test_a_migration_that_does_not_exist_is_named_in_a_line(fresh_folder, capsys):
    code, lines = _said(capsys, "db", "upgrade", "nosuchrev")
    assert code == 1 and lines == [
        "Error: migrations: Can't locate revision identified by 'nosuchrev'"
    ], lines


def test_a_database_that_does_not_exist_is_named_without_the_upgrade_hint(
    fresh_folder, capsys, monkeypatch
):
    """`clinic db upgrade` would fail the same way: the line says what the server said."""
    from tests.conftest import PG_ADMIN_URL

    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/clinic_no_such_database"
    monkeypatch.setenv("DATABASE_URL", url)
    code, lines = _said(capsys, "users", "list")
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith("Error: database: ") and "does not exist" in lines[0]
    assert "clinic db upgrade" not in lines[0]
