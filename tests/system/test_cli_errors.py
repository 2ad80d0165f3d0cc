"""An operator's slips at the ``clinic`` command are said in a line, with what to do, not as a
page of traceback: a command run where the instance has no tables yet (another folder than
the one ``clinic run`` used), a migration that does not exist, a URL or a number no process
could work with, a queue no task is sent to, an upgrade to a revision already passed."""

from __future__ import annotations

import pytest

from web.cli import main


@pytest.fixture
def fresh_folder(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "REDIS_URL", "CLINIC_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLINIC_INSTANCE", str(tmp_path / "instance"))
    return tmp_path


def _ran(capsys, *args) -> tuple[int, list[str], list[str]]:
    """The exit code, and the lines printed and said as errors."""
    with pytest.raises(SystemExit) as ended:
        main(list(args))
    out, err = capsys.readouterr()
    return ended.value.code, out.strip().splitlines(), err.strip().splitlines()


def _said(capsys, *args) -> tuple[int, list[str]]:
    code, _, err = _ran(capsys, *args)
    return code, err


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


@pytest.mark.parametrize(
    "args, name, value",
    [
        (["users", "list"], "REDIS_URL", "garbage"),
        (["db", "current"], "DATABASE_URL", "garbage"),
        (["db", "current"], "DATABASE_URL", "sqlite+aiosqlite:///clinic.sqlite3"),
        (["routes"], "CLINIC_SESSION_IDLE_MINUTES", "1000000000000000"),
    ],
)
def test_a_setting_nothing_could_work_with_is_named_in_a_line(
    fresh_folder, capsys, monkeypatch, args, name, value
):
    """Left to the first connection or date, each would be a page of traceback (a ValueError
    from Redis, an ArgumentError or a missing module from SQLAlchemy, an OverflowError),
    far from the setting to change."""
    monkeypatch.setenv(name, value)
    code, lines = _said(capsys, *args)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"Error: {name} "), lines


@pytest.fixture
def started(monkeypatch) -> list[list[str]]:
    """The command lines ``clinic worker`` would become, kept instead of run."""
    import web.cli

    argvs: list[list[str]] = []
    monkeypatch.setattr(web.cli, "_exec", lambda argv, env: argvs.append(argv))
    return argvs


def test_a_worker_on_a_queue_no_task_is_sent_to_is_refused_naming_the_queues(
    fresh_folder, capsys, started
):
    """A misspelt queue would start a worker that serves nothing, and waits for ever."""
    code, lines = _said(capsys, "worker", "-Q", "payments,paymnets")
    assert started == []
    assert code == 2 and lines == [
        "Error: no queue is called 'paymnets':"
        " the queues are default, payments, printing, reports, visits"
    ], lines
    code, lines = _said(capsys, "worker", "-Q", " , ")
    assert started == [] and code == 2 and lines[0].startswith("Error: -Q names no queue")


def test_a_worker_takes_the_queues_it_is_given(fresh_folder, capsys, started):
    code, _ = _said(capsys, "worker", "-Q", " printing , visits,printing")
    assert code == 0
    (argv,) = started
    assert argv[argv.index("-Q") + 1] == "printing,visits"


def test_an_upgrade_to_a_revision_the_database_is_past_moves_nothing_and_says_so(
    fresh_folder, capsys
):
    """Alembic takes an older revision as nothing to do: "database at 0010" would have told
    the operator the schema went back while it stayed where it was."""
    from alembic.script import ScriptDirectory

    from clinic import migrate

    script = ScriptDirectory.from_config(migrate.alembic_config(""))
    head = script.get_current_head()
    previous = script.get_revision(head).down_revision

    assert _ran(capsys, "db", "upgrade") == (0, [f"database at {head}"], [])
    for older in ("0010", "base"):
        code, out, err = _ran(capsys, "db", "upgrade", older)
        assert (code, out) == (1, []) and err == [
            f"Error: the database is at {head}, past {older}: upgrade moves forward only;"
            f" `clinic db downgrade {older}` takes it back"
        ], err
    assert _ran(capsys, "db", "current") == (0, [head], [])
    assert _ran(capsys, "db", "upgrade", head) == (0, [f"database at {head}"], [])
    assert _ran(capsys, "db", "downgrade", previous) == (0, [f"database at {previous}"], [])
