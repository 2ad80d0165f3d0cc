"""The task base class: a database session per task, retries, dead letters, job bookkeeping.

Tasks do not need a Flask application context: everything they call lives in ``clinic/``,
which knows nothing of Flask.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

import redis
from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from clinic import jobs
from clinic.jobs.heartbeat import Heartbeat
from clinic.runtime import Runtime
from clinic.settings import Settings

log = logging.getLogger(__name__)

# Errors worth another try: the database or Redis was briefly unreachable or busy.
TRANSIENT_ERRORS = (OperationalError, redis.ConnectionError, redis.TimeoutError, ConnectionError)

_runtime: Runtime | None = None
_settings: Settings | None = None
_runtime_lock = threading.Lock()


def use_settings(settings: Settings) -> None:
    """Build this process's task runtime from ``settings`` (the worker's entry hands in the
    settings its Celery app was built from)."""
    global _settings
    _settings = settings


def configure_runtime(runtime: Runtime | None) -> None:
    """Use ``runtime`` for tasks in this process (tests and embedded workers set it).

    Under the lock: a thread building the default runtime meanwhile must not replace it."""
    global _runtime
    with _runtime_lock:
        _runtime = runtime


def get_runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        with _runtime_lock:
            if _runtime is None:
                _runtime = Runtime(_settings or Settings.from_env())
    return _runtime


class PermanentError(Exception):
    """An error retrying cannot cure (bad input, a broken file): fail the job at once."""


class TimedOut(PermanentError):
    """The job ran past its time limit (``CLINIC_JOB_TIME_LIMIT``) and was stopped: it fails,
    saying so, rather than starting again to be stopped again."""

    code = "time_limit"


def _stopped_by_time_limit(exc: BaseException | None) -> bool:
    """Whether Celery's time limit is behind ``exc``: the limit interrupts a query, and what
    the interrupted connection raises next (an ``OperationalError`` closing the session)
    would otherwise pass for a database that is briefly away."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, SoftTimeLimitExceeded):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _job_error(exc: BaseException) -> dict:
    """A failed job's ``error``: the exception's kind and words, and the stable ``code`` (and
    the ``values`` its words quote) by which a page says it in its own language."""
    error = {"type": type(exc).__name__, "detail": str(exc)[:2000]}
    code, values = getattr(exc, "code", None), getattr(exc, "values", None)
    if isinstance(code, str) and code:
        error["code"] = code
        if isinstance(values, dict) and values:
            error["values"] = values
    return error


class ClinicTask(Task):
    abstract = True
    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = 2
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 8

    @property
    def runtime(self) -> Runtime:
        runtime = get_runtime()
        if not runtime.db.has_dispatcher:
            # A task's domain call may send another task after its commit.
            runtime.db.set_dispatcher(self.app.send_task)
        return runtime

    def session(self) -> Session:
        return self.runtime.db.session()

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Retries are spent or the error is permanent: keep a dead letter, fail the job."""
        job_id = kwargs.get("job_id") if isinstance(kwargs, dict) else None
        try:
            with self.runtime.db.transaction() as session:
                jobs.record_dead_letter(
                    session,
                    task_name=self.name,
                    task_id=task_id,
                    args=args,
                    kwargs=kwargs,
                    error=f"{type(exc).__name__}: {exc}",
                    traceback=str(einfo),
                    retries=self.request.retries,
                    job_id=job_id,
                )
                if job_id:
                    jobs.fail_job(session, job_id, _job_error(exc))
        except (DBAPIError, redis.RedisError):
            log.exception("could not record the failure of task %s (%s)", self.name, task_id)


class JobTask(ClinicTask):
    """A task that works on a job row: claim it, do the work, finish it, exactly once."""

    abstract = True

    def run_job(self, job_id: str, work: Callable[[Session, str], dict]) -> dict:
        settings = self.runtime.settings
        with self.runtime.db.transaction() as session:
            job = jobs.claim_job(session, job_id, stale_seconds=settings.job_stale_seconds)
            # A job that keeps killing or stalling its workers (every takeover and retry is an
            # attempt) fails for good rather than going from worker to worker forever.
            given_up = job is not None and job.attempts > settings.job_max_attempts
            if given_up:
                jobs.fail_job(
                    session,
                    job_id,
                    {
                        "type": "TooManyAttempts",
                        "detail": f"The job was given up after {job.attempts - 1} attempts "
                        "that did not finish.",
                        "code": "too_many_attempts",
                        "values": {"attempts": job.attempts - 1},
                    },
                )
        if job is None or given_up:
            log.info("job %s is finished, running elsewhere or given up", job_id)
            return {"job": job_id, "skipped": True}
        attempt = job.attempts
        sessionmaker = self.runtime.db.sessionmaker
        # Beating three times in the stale period: one beat lost to a busy moment is no death.
        every = max(0.5, settings.job_stale_seconds / 3)
        try:
            with Heartbeat(sessionmaker, job_id, attempt, every):
                result = work(sessionmaker, job_id)
        except jobs.ClaimLost:
            # This worker was presumed dead and another one resumed the job: leave it to that.
            log.warning("job %s was claimed by another attempt; this one stops", job_id)
            return {"job": job_id, "skipped": True}
        except (SoftTimeLimitExceeded, *TRANSIENT_ERRORS) as exc:
            if _stopped_by_time_limit(exc):
                raise TimedOut(
                    f"The job took longer than its time limit ({settings.job_time_limit} s) "
                    "and was stopped."
                ) from exc
            with self.runtime.db.transaction() as session:
                jobs.release_job(session, job_id)
            raise
        with self.runtime.db.transaction() as session:
            try:
                # Finished by the attempt that holds it only: one given up or failed meanwhile
                # (its time limit, a person) stays as it was said to be.
                job = jobs.lock_claimed(session, job_id, attempt)
            except jobs.ClaimLost:
                log.warning("job %s ended elsewhere while this attempt ran; not finished", job_id)
                return {"job": job_id, "skipped": True}
            jobs.finish_job(session, job, result)
        return {"job": job_id, "status": "succeeded"}
