"""Celery configuration derived from the one settings object."""

from __future__ import annotations

from datetime import timedelta

from celery.schedules import crontab
from kombu import Queue

from clinic.settings import Settings
from clinic.task_limits import longest_task_seconds

QUEUES = ("default", "payments", "printing", "reports", "visits")

# Tasks are routed by the first part of their dotted name.
ROUTES = {
    "payments.*": {"queue": "payments"},
    "printing.*": {"queue": "printing"},
    "reports.*": {"queue": "reports"},
    "visits.*": {"queue": "visits"},
}

BEAT_SCHEDULE = {
    "republish-events": {"task": "events.republish", "schedule": timedelta(seconds=5)},
    "redispatch-stale-jobs": {"task": "jobs.redispatch_stale", "schedule": timedelta(seconds=30)},
    "prune-outbox": {"task": "events.prune", "schedule": crontab(hour=3, minute=15)},
    "close-queue-days": {"task": "queue.close_days", "schedule": timedelta(minutes=5)},
    "visit-reminders": {"task": "visits.send_reminders", "schedule": timedelta(minutes=5)},
    "visit-no-shows": {"task": "visits.mark_no_shows", "schedule": timedelta(minutes=5)},
    "sweep-paid-effects": {"task": "payments.sweep_paid", "schedule": timedelta(minutes=5)},
    "cancel-expired-payme": {
        "task": "payments.cancel_expired_payme",
        "schedule": timedelta(minutes=5),
    },
    "cancel-stale-click": {
        "task": "payments.cancel_stale_click",
        "schedule": timedelta(minutes=5),
    },
    "sweep-webhook-events": {
        "task": "payments.sweep_webhook_events",
        "schedule": timedelta(seconds=30),
    },
    "sweep-printing": {"task": "printing.sweep", "schedule": timedelta(seconds=10)},
    "report-subscriptions": {
        "task": "reports.send_subscriptions",
        "schedule": timedelta(minutes=5),
    },
    "reconcile-payments": {
        "task": "payments.reconcile_daily",
        "schedule": crontab(hour=4, minute=30),
    },
}


def broker_url(settings: Settings) -> str:
    url = settings.effective_redis_url
    if url.startswith("unix://"):
        return "redis+socket://" + url[len("unix://") :]
    return url


def celery_config(settings: Settings) -> dict:
    return {
        "broker_url": broker_url(settings),
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": settings.broker_visibility_timeout,
            "global_keyprefix": f"{settings.redis_prefix}:celery:",
        },
        "result_backend": None,
        "task_ignore_result": True,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # A task past the job time limit gets SoftTimeLimitExceeded (its job fails), and is
        # killed a little later if it does not stop (prefork and gevent pools; jobs also
        # check their own deadline, which works on any pool).
        "task_soft_time_limit": settings.job_time_limit,
        "task_time_limit": longest_task_seconds(settings.job_time_limit),
        "task_default_queue": "default",
        "task_queues": [Queue(name) for name in QUEUES],
        "task_routes": ROUTES,
        "task_send_sent_event": True,
        "worker_send_task_events": True,
        "worker_hijack_root_logger": False,
        "timezone": settings.timezone,
        "enable_utc": True,
        "beat_schedule": BEAT_SCHEDULE,
        "beat_schedule_filename": str(settings.instance_path / "celerybeat-schedule"),
    }
