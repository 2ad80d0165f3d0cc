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
