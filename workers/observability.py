"""Worker-side signals: the request id travels with each task, and task states are counted.

- The process that enqueues a task (a web request, usually) puts its request id into the
  message headers; the worker makes it the current request id while the task runs, so the
  task's log lines name the request that caused them.
- Each task reaching a state (started, succeeded, failed, retried) adds one to a counter in
  Redis (clinic/metrics.py), which ``/metrics`` exposes for every worker at once.
- A worker or beat started from the command line logs like the web (clinic/logs.py).
"""

from __future__ import annotations

import logging
import sys

from celery.signals import (
    beat_init,
    before_task_publish,
    celeryd_init,
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
    task_success,
)

from clinic import metrics
from clinic.logs import NO_REQUEST, bind_request_id, configure_logging, current_request_id
from clinic.settings import Settings

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "clinic_request_id"


@before_task_publish.connect
def _carry_request_id(headers=None, **_kwargs) -> None:
    request_id = current_request_id()
    if headers is not None and request_id != NO_REQUEST:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


def _count(task, state: str) -> None:
    from tasks.base import get_runtime

    try:
        runtime = get_runtime()
        metrics.record_task_state(runtime.redis, runtime.settings.redis_prefix, task.name, state)
    except Exception as exc:  # a lost count must never fail the task itself
        log.warning("could not count task %s as %s: %s", getattr(task, "name", task), state, exc)


@task_prerun.connect
def _task_started(sender=None, task=None, **_kwargs) -> None:
    task = task or sender
    bind_request_id(task.request.get(REQUEST_ID_HEADER))
    _count(task, "started")


@task_postrun.connect
def _task_ended(**_kwargs) -> None:
    bind_request_id(None)


@task_success.connect
def _task_succeeded(sender=None, **_kwargs) -> None:
    _count(sender, "succeeded")


@task_failure.connect
def _task_failed(sender=None, **_kwargs) -> None:
    _count(sender, "failed")


@task_retry.connect
def _task_retried(sender=None, **_kwargs) -> None:
    _count(sender, "retried")


@celeryd_init.connect
@beat_init.connect
def _configure_process_logging(**_kwargs) -> None:
    # Only processes started by the celery command: an embedded test worker leaves the
    # test runner's logging alone. To the process's own stderr, not the current one: the
    # worker then replaces sys.stderr with a proxy that logs what is written to it, and a
    # line written there would come back to this handler and be dropped, every line.
    configure_logging(Settings.from_env(), stream=sys.__stderr__)
