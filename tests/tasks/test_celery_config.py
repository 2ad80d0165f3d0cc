"""The Celery application is configured for exactly-once effects over at-least-once delivery."""

from __future__ import annotations

from workers.celery_app import create_celery
from workers.config import BEAT_SCHEDULE, QUEUES


def test_delivery_settings_favour_redelivery_over_loss(settings):
    conf = create_celery(settings).conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.worker_send_task_events and conf.task_send_sent_event


def test_queues_and_routes(settings):
    app = create_celery(settings)
    assert {q.name for q in app.conf.task_queues} == set(QUEUES)
    router = app.amqp.router
    for name, queue in [
        ("payments.process_event", "payments"),
        ("printing.ticket", "printing"),
        ("reports.build", "reports"),
        ("visits.bulk_move", "visits"),
        ("imports.price_list", "default"),
    ]:
        route = router.route({}, name, (), {})
        assert route["queue"].name == queue, name


def test_every_task_has_an_explicit_dotted_name_and_beat_targets_exist(settings):
    app = create_celery(settings)
    app.loader.import_default_modules()
    ours = {n for n in app.tasks if not n.startswith("celery.")}
    assert ours >= {"events.republish", "events.prune", "jobs.redispatch_stale"}
    assert all("." in n for n in ours)
    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} <= ours


def test_unix_socket_redis_becomes_a_kombu_socket_url(tmp_path):
    from clinic.settings import Settings
    from workers.config import broker_url

    s = Settings.from_env({"CLINIC_INSTANCE": str(tmp_path)})
    assert broker_url(s) == f"redis+socket://{tmp_path / 'redis.sock'}"


def test_importing_the_web_and_the_tasks_builds_no_celery_app_and_reads_no_environment():
    """An environment the settings would refuse (an unknown CLINIC_ENV) does not matter to
    anything but the worker's entry: no Celery app is built from it at import."""
    import os
    import subprocess  # nosec B404 - our own interpreter, a fixed script
    import sys

    script = (
        "import web, web.cli.processes, workers.celery_app, tasks.base, tasks.reference\n"
        "from celery import _state\n"
        "assert not list(_state._get_active_apps()), list(_state._get_active_apps())\n"
        "try:\n"
        "    import workers.main\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__)\n"
    )
    env = {**os.environ, "CLINIC_ENV": "nowhere"}
    done = subprocess.run(  # nosec B603
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    # Only the celery command's own entry reads the environment, and refuses this one.
    assert done.stdout.strip() == "ConfigError"


def test_the_celery_command_loads_the_worker_entry():
    from web.cli.processes import CELERY_APP

    assert CELERY_APP == "workers.main"


def test_a_worker_knows_the_tasks_of_every_module_without_registration():
    from pathlib import Path

    from workers.celery_app import TASK_MODULES

    found = {p.stem for p in (Path(__file__).resolve().parents[2] / "tasks").glob("*.py")}
    assert set(TASK_MODULES) == {f"tasks.{name}" for name in found - {"__init__", "base"}}
