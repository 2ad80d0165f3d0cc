"""The Celery application: ``celery -A workers.celery_app worker``.

Built once, here, from :class:`clinic.settings.Settings`; every task module is imported so
the worker knows every task by its explicit name.
"""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_process_init

from clinic.settings import Settings
from workers import observability  # noqa: F401 - connects the task signals (request ids, counts)
from workers.config import celery_config

TASK_MODULES = ("tasks.events", "tasks.jobs", "tasks.reference", "tasks.queue")


def create_celery(settings: Settings | None = None) -> Celery:
    settings = settings or Settings.from_env()
    celery = Celery("clinic", include=list(TASK_MODULES))
    celery.conf.update(celery_config(settings))
    return celery


app = create_celery()


@worker_process_init.connect
def _fresh_connections_after_fork(**_kwargs):
    # A forked pool process must not share the parent's database or Redis sockets.
    from tasks.base import configure_runtime

    configure_runtime(None)
