"""The Celery application, built from the settings object handed in, never at import.

The web builds one in its application factory (``create_app``: the app it enqueues through),
the worker processes build one in :mod:`workers.main` (the entry ``celery -A`` loads), and
tests build their own from their settings: nothing here reads the environment, so an app
made with explicit settings uses those settings alone.
"""

from __future__ import annotations

import pkgutil

from celery import Celery

from clinic.settings import Settings
from workers import observability  # noqa: F401 - connects the task signals (request ids, counts)
from workers.config import celery_config


def task_modules() -> tuple[str, ...]:
    """Every module of the tasks package (but its base classes), so a worker knows every task
    by its explicit name: a new module's ``tasks/<module>.py`` needs no registration."""
    import tasks

    return tuple(
        f"tasks.{module.name}"
        for module in pkgutil.iter_modules(tasks.__path__)
        if module.name != "base"
    )


TASK_MODULES = task_modules()


def create_celery(settings: Settings) -> Celery:
    """A Celery application configured from ``settings`` (the caller keeps it: one a
    process, in the web's app extensions or the worker's entry module)."""
    celery = Celery("clinic", include=list(TASK_MODULES))
    celery.conf.update(celery_config(settings))
    return celery
