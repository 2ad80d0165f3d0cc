"""``clinic run``: the whole system as one process tree, stopped as one."""

from __future__ import annotations

import traceback

from clinic.runtime import Runtime
from clinic.settings import ConfigError, Settings
from web.cli import processes
from web.supervisor import ChildSpec, Supervisor

READY_FIRST = 2  # web and worker: what /health/ready checks, with the database and Redis


def load_demo_data(settings: Settings) -> list[dict] | None:
    """Load the demo clinic into an empty database: the demo sign-ins it created (an empty
    list when users existed already), or None when the database had data. Never in
    production: demo users have a published password."""
    if settings.is_production:
        raise ConfigError("demo data is for development: it has users with a known password")
    from clinic.demo import load_demo_clinic

    runtime = Runtime(settings)
    try:
        with runtime.db.transaction() as session:
            return load_demo_clinic(session)
    finally:
        runtime.close()


def application_specs(
    settings: Settings, host: str, port: int, flower_port: int, web_workers: int | None
) -> list[ChildSpec]:
    """The children after Redis: web, worker, exactly one beat, and Flower. The first
    ``READY_FIRST`` make the system ready; the others start once it is."""
    env = processes.child_env(settings)
    return [
        ChildSpec("web", processes.web_argv(host, port, web_workers), env),
        ChildSpec("worker", processes.worker_argv(settings), env),
        ChildSpec("beat", processes.beat_argv(settings), env),
        ChildSpec("flower", processes.flower_argv(settings, flower_port), env),
    ]


def run_system(
    settings: Settings, host: str, port: int, flower_port: int, web_workers: int | None
) -> int:
    """Start everything, print the addresses once ready, and stop everything on SIGINT or
    SIGTERM (exit code 0) or when any child dies (exit code 1). Nothing is left running."""
    specs = application_specs(settings, host, port, flower_port, web_workers)
    processes.refuse_busy_port(host, port, "web (--port)")
    processes.refuse_busy_port("127.0.0.1", flower_port, "Flower (--flower-port)")
    settings.instance_path.mkdir(parents=True, exist_ok=True)

    supervisor = Supervisor()
    supervisor.install_signal_handlers()
    code = 1
    try:
        _prepare(supervisor, settings)
        for spec in specs[:READY_FIRST]:
            if supervisor.stopping:
                break
            supervisor.start(spec)
        # On a busy machine the scheduler and Flower would take CPU from the two children
        # that readiness waits for; neither is needed before then.
        readiness = processes.ReadinessWatch(supervisor, host, port, flower_port)
        readiness.start()
        code = supervisor.watch(later=specs[READY_FIRST:], when=readiness.ready)
    except ConfigError:
        raise
    except KeyboardInterrupt:
        code = 0
    except RuntimeError as exc:
        supervisor.say(f"could not start: {exc}")
    except Exception:  # anything else is a bug worth its traceback; children still stop
        supervisor.say("could not start:\n" + traceback.format_exc())
    finally:
        supervisor.stop()
        supervisor.restore_signal_handlers()
        supervisor.say("everything stopped")
    return code


def _prepare(supervisor: Supervisor, settings: Settings) -> None:
    """Redis first (demo data publishes events), then the schema, then the demo data."""
    if settings.redis_url is None:
        processes.refuse_running_redis(settings)
        redis = supervisor.start(processes.embedded_redis_spec(settings))
        processes.wait_for_redis(settings, redis.process, supervisor)
        if supervisor.stopping:
            return
        supervisor.say(f"embedded Redis answers on {settings.embedded_redis_socket}")
    else:
        supervisor.say("using REDIS_URL")

    from clinic import migrate

    supervisor.say("applying migrations")
    migrate.upgrade(settings.database_url)
    if supervisor.stopping:
        return
    if settings.is_production:
        supervisor.say("production: no demo data")
        return
    logins = load_demo_data(settings)
    if logins is None:
        supervisor.say("database has data; demo data skipped")
        return
    supervisor.say("demo data loaded; sign in at /login as:")
    for login in logins:
        supervisor.say(f"  {login['username']:<10} password {login['password']}  ({login['role']})")
