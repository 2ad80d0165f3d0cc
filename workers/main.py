"""The entry of the Celery command line: ``celery -A workers.main worker`` (and ``beat``,
``flower``). Only the celery command imports this module; it builds the process's one
Celery application from the environment's settings.
"""

from __future__ import annotations

from celery.signals import worker_process_init

from clinic.settings import Settings
from tasks.base import configure_runtime, use_settings
from workers.celery_app import create_celery

settings = Settings.from_env()
use_settings(settings)
app = create_celery(settings)
app.set_current()


@worker_process_init.connect
def _fresh_connections_after_fork(**_kwargs):
    # A forked pool process must not share the parent's database or Redis sockets.
    configure_runtime(None)
