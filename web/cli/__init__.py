"""The ``clinic`` command: the whole system in one command, or each part on its own.

Every command reads the one :class:`~clinic.settings.Settings`. An environment the settings
refuse (say ``CLINIC_ENV=production`` without ``SECRET_KEY``) stops the command with the
reason and exit code 2, before anything starts.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys

import click
from alembic.util.exc import CommandError as AlembicCommandError
from flask.cli import FlaskGroup, routes_command, shell_command
from sqlalchemy.exc import OperationalError, ProgrammingError

from clinic.public_url import NAME as PUBLIC_URL
from clinic.settings import ConfigError, Settings
from web import create_app
from web.cli import processes

CONFIG_EXIT_CODE = 2


class ConfigRefused(click.ClickException):
    """The environment is not one the system may start with."""

    exit_code = CONFIG_EXIT_CODE


def serve_links_here(host: str, port: int) -> None:
    """Outside production, with ``CLINIC_PUBLIC_URL`` unset, the tickets' QR codes and links
    open the address this command serves (the development default names port 5000, which
    ``--port 5077`` would not answer). Production sets its address itself."""
    if os.environ.get(PUBLIC_URL, "").strip():
        return
    if os.environ.get("CLINIC_ENV", "").strip().lower() == "production":
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a name
        shown = host or "localhost"
    else:  # every address, or this machine's: the browser beside it opens localhost
        local = address.is_unspecified or address.is_loopback
        shown = "localhost" if local else f"[{host}]" if address.version == 6 else host
    os.environ[PUBLIC_URL] = f"http://{shown}:{port}"


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise ConfigRefused(str(exc)) from None


class ClinicGroup(FlaskGroup):
    """Flask's command group (``.env`` loading, ``shell``, ``routes``) with our commands."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            create_app=create_app, add_default_commands=False, add_version_option=False, **kwargs
        )
        self.add_command(shell_command)
        self.add_command(routes_command)

    def list_commands(self, ctx):
        # Listing commands loads the app for its own; a refused environment must still get
        # a readable --help rather than a traceback.
        try:
            Settings.from_env()
        except ConfigError:
            return sorted(self.commands)
        return super().list_commands(ctx)


cli = ClinicGroup(
    name="clinic", help="Clinic: the whole system with `clinic run`, or each part on its own."
)


def _exec(argv: list[str], env: dict[str, str]) -> None:
    """Become ``argv``: the same command line ``clinic run`` would start as a child."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], argv, env)  # nosec B606 # argv is ours, no shell


@cli.command("run", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="Web server address.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--flower-port", default=5555, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--web-workers",
    type=click.IntRange(1, 64),
    default=None,
    help="gunicorn worker processes (default: WEB_CONCURRENCY or 1).",
)
def run_command(host: str, port: int, flower_port: int, web_workers: int | None) -> None:
    """Everything in one process tree: migrate, demo data, Redis, web, worker, beat, Flower."""
    from web.cli.run import run_system

    serve_links_here(host, port)
    settings = load_settings()
    try:
        code = run_system(settings, host, port, flower_port, web_workers)
    except ConfigError as exc:
        raise ConfigRefused(str(exc)) from None
    sys.exit(code)


@cli.command("web", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="gunicorn workers.")
def web_command(host: str, port: int, workers: int | None) -> None:
    """The web server alone (gunicorn, gevent worker)."""
    serve_links_here(host, port)
    settings = load_settings()
    _exec(processes.web_argv(host, port, workers), processes.child_env(settings))


@cli.command("worker", with_appcontext=False)
@click.option(
    "-Q",
    "--queues",
    default=None,
    help=f"Comma-separated queues of {', '.join(processes.QUEUES)} (default: all).",
)
@click.option("-c", "--concurrency", type=click.IntRange(1, 256), default=None)
def worker_command(queues: str | None, concurrency: int | None) -> None:
    """A Celery worker alone."""
    settings = load_settings()
    try:
        argv = processes.worker_argv(settings, queues, concurrency)
    except ConfigError as exc:
        raise ConfigRefused(str(exc)) from None
    _exec(argv, processes.child_env(settings))


@cli.command("beat", with_appcontext=False)
def beat_command() -> None:
    """The periodic task scheduler alone. Run exactly one per system."""
    settings = load_settings()
    _exec(processes.beat_argv(settings), processes.child_env(settings))


@cli.command("flower", with_appcontext=False)
@click.option("--port", default=5555, show_default=True, type=click.IntRange(1, 65535))
@click.option("--address", default="127.0.0.1", show_default=True)
def flower_command(port: int, address: str) -> None:
    """Flower, the Celery monitor, alone (basic auth from FLOWER_BASIC_AUTH)."""
    settings = load_settings()
    try:
        argv = processes.flower_argv(settings, port, address)
    except ConfigError as exc:
        raise ConfigRefused(str(exc)) from None
    _exec(argv, processes.child_env(settings))


@cli.command("redis", with_appcontext=False)
def redis_command() -> None:
    """The embedded Redis alone, on the instance folder's unix socket (no REDIS_URL)."""
    settings = load_settings()
    if settings.redis_url:
        raise ConfigRefused("REDIS_URL is set: there is no embedded Redis to run")
    try:
        processes.refuse_running_redis(settings)
        argv = processes.redis_argv(settings)
    except ConfigError as exc:
        raise ConfigRefused(str(exc)) from None
    _exec(argv, processes.child_env(settings))


@cli.group("db", cls=click.Group)
def db_group() -> None:
    """Database schema migrations."""


def _revision(heads: set[str]) -> str:
    return ", ".join(sorted(heads)) if heads else "(empty: no migration applied)"


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database up to REVISION (default: the newest)."""
    from clinic import migrate

    url = load_settings().database_url
    # Alembic takes an older revision as nothing to do: said as done, the operator would
    # believe the schema went back.
    if migrate.older_than_current(url, revision):
        raise click.ClickException(
            f"the database is at {_revision(migrate.current_heads(url))}, past {revision}:"
            f" upgrade moves forward only; `clinic db downgrade {revision}` takes it back"
        )
    migrate.upgrade(url, revision)
    click.echo(f"database at {_revision(migrate.current_heads(url))}")


@db_group.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION ("base" empties it)."""
    from clinic import migrate

    url = load_settings().database_url
    migrate.downgrade(url, revision)
    click.echo(f"database at {_revision(migrate.current_heads(url))}")


@db_group.command("current")
def db_current() -> None:
    """Print the database's current revision."""
    from clinic import migrate

    click.echo(_revision(migrate.current_heads(load_settings().database_url)))


@cli.command("demo-data", with_appcontext=False)
def demo_data_command() -> None:
    """Load the demo clinic (and its demo users) into an empty development database."""
    from web.cli.run import load_demo_data

    try:
        logins = load_demo_data(load_settings())
    except ConfigError as exc:
        raise ConfigRefused(str(exc)) from None
    if logins is None:
        click.echo("the database already has data; nothing loaded")
        return
    click.echo("demo data loaded")
    for login in logins:
        click.echo(f"  {login['username']:<10} password {login['password']}  ({login['role']})")


from web.cli.check import check_command  # noqa: E402
from web.cli.users import users_group  # noqa: E402 - it needs load_settings defined above

cli.add_command(users_group)
cli.add_command(check_command)


# A table the database does not have (SQLite's words, then PostgreSQL's): the schema was
# never made there. A database or a role that does not exist is another slip, said as is.
NO_SCHEMA = re.compile(r"no such table|relation \S+ does not exist")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: ``clinic``."""
    try:
        cli.main(args=argv, prog_name="clinic")
    except ConfigError as exc:  # raised while loading the app for shell, routes and the like
        click.echo(f"Error: {exc}", err=True)
        sys.exit(CONFIG_EXIT_CODE)
    except (OperationalError, ProgrammingError) as exc:
        # Said in a line, not as a page of traceback: a command run from another folder
        # than the instance's (CLINIC_INSTANCE is ./instance), or before the first upgrade,
        # finds an empty database; a database server away is named as such.
        lines = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
        said = lines[0] if lines else type(exc).__name__
        if NO_SCHEMA.search(said):
            said += (
                " — the database has no tables yet: run `clinic db upgrade` (check"
                " DATABASE_URL, and CLINIC_INSTANCE, which is ./instance of the folder"
                " the command runs in)"
            )
        click.echo(f"Error: database: {said}", err=True)
        sys.exit(1)
    except AlembicCommandError as exc:  # a revision that does not exist, and the like
        click.echo(f"Error: migrations: {exc}", err=True)
        sys.exit(1)
