"""The Celery application, built from the settings object handed in, never at import.

The web builds one in its application factory (``create_app``: the app it enqueues through),
the worker processes build one in :mod:`workers.main` (the entry ``celery -A`` loads), and
tests build their own from their settings: nothing here reads the environment, so an app
made with explicit settings uses those settings alone.
"""

from __future__ import annotations

from celery import Celery

from clinic.settings import Settings
from workers.config import celery_config

# Every module of tasks, so a worker knows every task by its explicit name. A new module adds
# its tasks/<module>.py here.
TASK_MODULES = ("tasks.events", "tasks.jobs", "tasks.reference", "tasks.queue")


def create_celery(settings: Settings) -> Celery:
    """A Celery application configured from ``settings`` (the caller keeps it: one a
    process, in the web's app extensions or the worker's entry module)."""
    celery = Celery("clinic", include=list(TASK_MODULES))
    celery.conf.update(celery_config(settings))
    return celery
