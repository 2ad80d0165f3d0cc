"""``clinic users``: accounts from the shell, audited, with the password policy applied."""

from __future__ import annotations

import os
import subprocess  # nosec B404 - runs our own console script
import sys

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from clinic.accounts import users
from clinic.models import AuditEntry
from tests.conftest import ONE_BACKEND
from web.cli import cli

# The command runs the account services the API runs, tested on both databases there.
pytestmark = [pytest.mark.parametrize("backend", [ONE_BACKEND]), pytest.mark.slow]


def command_env(settings) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.effective_redis_url,
        "CLINIC_INSTANCE": str(settings.instance_path),
        "CLINIC_REDIS_PREFIX": settings.redis_prefix,
        "SECRET_KEY": settings.secret_key,
        "CLINIC_ARGON2_TIME_COST": "1",
        "CLINIC_ARGON2_MEMORY_KIB": "8192",
    }


def clinic(settings, *args, stdin: str = ""):
    """The command as an operator runs it: a process of its own."""
    return subprocess.run(  # nosec B603
        [sys.executable, "-m", "web.cli", *args],
        input=stdin,
        env={**os.environ, **command_env(settings)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def clinic_here(settings, *args, stdin: str = ""):
    """The same command through click's runner in this process: the same code from the
    command line on, without a second interpreter start (about 1.5 s of CPU each)."""
    result = CliRunner().invoke(cli, list(args), input=stdin, env=command_env(settings))
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def test_users_are_created_listed_disabled_unlocked_and_audited(runtime, settings):
    made = clinic(
        settings,
        "users",
        "create",
        "aziza",
        "--role",
        "registrar",
        "--role",
        "cashier",
        "--password-stdin",
        # Piped from a Windows terminal or file, the line ends "\r\n": the password is what
        # was typed before it.
        stdin="Kuchli-parol-2026\r\n",
    )
    assert made.returncode == 0, made.stderr
    with runtime.db.session() as s:
        user = users.find_user(s, "aziza")
        assert user.roles == ["cashier", "registrar"]
        assert users.sign_in(s, "aziza", "Kuchli-parol-2026").ok
    weak = clinic_here(
        settings, "users", "set-password", "aziza", "--password-stdin", stdin="123456\n"
    )
    assert weak.returncode != 0 and "password" in weak.stderr
    assert clinic_here(settings, "users", "disable", "aziza").returncode == 0
    listing = clinic_here(settings, "users", "list")
    assert "aziza" in listing.stdout and "disabled" in listing.stdout
    with runtime.db.session() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [r.action for r in rows] == ["cli.users.create", "cli.users.disable"]
    # The row says what the command changed, as a request's row does: the roles it gave too.
    made_with = rows[0].summary["changes"]
    assert made_with["roles"] == {"before": None, "after": ["cashier", "registrar"]}
    assert made_with["active"] == {"before": None, "after": True}
    assert rows[1].summary["changes"] == {"active": {"before": True, "after": False}}
