"""``clinic users``: manage accounts from the server's shell (the first admin, a lost password)."""

from __future__ import annotations

import getpass
import sys

import click

import clinic.models  # noqa: F401 - every table known (a user's doctor_id) before a flush
from clinic.accounts import audit, users
from clinic.accounts.permissions import ROLES
from clinic.errors import DomainError
from clinic.runtime import Runtime


def _runtime() -> Runtime:
    from web.cli import load_settings

    return Runtime(load_settings())


def _password(from_stdin: bool) -> str:
    if from_stdin:
        # The line's end as a Windows terminal or file writes it too ("\r\n"): the password
        # is what was typed, not its line break.
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _record(session, action: str, user, before: dict | None = None) -> None:
    """CLI changes are audited too, under the operating-system account that made them, with
    what they changed (as a request's row has it); a user made here, with what he was made
    (``before={}``): the roles given from the shell are as much a change as any other."""
    summary = {"username": user.username}
    changes = audit.changes_between(before, users.audited_state(user)) if before is not None else {}
    if changes:
        summary["changes"] = changes
    audit.record(
        session,
        actor=audit.Actor(None, f"cli:{getpass.getuser()}"[:64]),
        action=f"cli.users.{action}",
        object_type="users",
        object_id=str(user.id),
        summary=summary,
    )


def _change(action: str, username: str, apply) -> None:
    runtime = _runtime()
    try:
        with runtime.db.transaction() as session:
            user = users.find_user(session, username)
            if user is None:
                raise click.ClickException(f"no user named {username!r}")
            before = users.audited_state(user)
            apply(session, user)
            _record(session, action, user, before)
    except DomainError as exc:
        raise click.ClickException(_describe(exc)) from None
    finally:
        runtime.close()
    click.echo(f"{username}: {action} done")


def _describe(exc: DomainError) -> str:
    fields = "; ".join(f"{f}: {', '.join(m)}" for f, m in exc.errors.items())
    return f"{exc.detail}{' (' + fields + ')' if fields else ''}"


@click.group("users")
def users_group() -> None:
    """Create users, set passwords, disable, unlock and list them."""


@users_group.command("create")
@click.argument("username")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(sorted(ROLES)),
    help="Repeat for several roles.",
)
@click.option("--full-name", default="")
@click.option("--doctor-id", type=int, default=None, help="The doctor record of a doctor user.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create(username, roles, full_name, doctor_id, password_stdin) -> None:
    """Create USERNAME with the given roles (the password is asked for, never an argument)."""
    password = _password(password_stdin)
    runtime = _runtime()
    try:
        with runtime.db.transaction() as session:
            user = users.create_user(
                session,
                username=username,
                password=password,
                roles=list(roles),
                full_name=full_name,
                doctor_id=doctor_id,
            )
            _record(session, "create", user, before={})
    except DomainError as exc:
        raise click.ClickException(_describe(exc)) from None
    finally:
        runtime.close()
    click.echo(f"{username}: created with roles {', '.join(sorted(roles))}")


@users_group.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def set_password(username, password_stdin) -> None:
    """Set USERNAME's password; the user's sessions end."""
    password = _password(password_stdin)
    _change("set-password", username, lambda s, u: users.set_password(s, u, password))


@users_group.command("disable")
@click.argument("username")
def disable(username) -> None:
    """Disable USERNAME: no sign-in, sessions and tokens stop working."""
    _change("disable", username, lambda s, u: users.set_active(s, u, False))


@users_group.command("enable")
@click.argument("username")
def enable(username) -> None:
    """Enable USERNAME again: he signs in anew (his old sessions and tokens stay ended)."""
    _change("enable", username, lambda s, u: users.set_active(s, u, True))


@users_group.command("unlock")
@click.argument("username")
def unlock(username) -> None:
    """Lift a sign-in lock after too many wrong passwords."""
    _change("unlock", username, lambda s, u: users.unlock(s, u))


@users_group.command("list")
def list_users() -> None:
    """Every user with roles and state."""
    runtime = _runtime()
    try:
        with runtime.db.session() as session:
            rows = [users.user_as_dict(u) for u in users.list_users(session)]
    finally:
        runtime.close()
    for row in rows:
        state = "disabled" if not row["active"] else ("locked" if row["locked"] else "active")
        click.echo(f"{row['username']:<24} {','.join(row['roles']):<30} {state}")
