"""Job tasks on a real worker: claimed once, retried on transient errors, dead-lettered."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from clinic import jobs
from clinic.models import DeadLetter, Job, OutboxEvent
from tasks.base import JobTask, PermanentError

ATTEMPTS: dict[str, int] = {}


def flaky(self, job_id):
    """Fails twice with a database error, then succeeds."""

    def work(_sessionmaker, jid):
        ATTEMPTS[jid] = ATTEMPTS.get(jid, 0) + 1
        if ATTEMPTS[jid] < 3:
            raise OperationalError("SELECT 1", {}, Exception("database restarting"))
        return {"attempts_seen": ATTEMPTS[jid]}

    return self.run_job(job_id, work)


def broken_input(self, job_id):
    def work(_sessionmaker, _jid):
        raise PermanentError("row 3: the file is not a price list")

    return self.run_job(job_id, work)


# Longer than the stale period the tests run with (CLINIC_JOB_STALE_SECONDS=3).
LONG_WORK_SECONDS = 4.5


def long_work(self, job_id):
    """Works longer than the stale period without saving progress (a report's big query)."""

    def work(_sessionmaker, _jid):
        time.sleep(LONG_WORK_SECONDS)
        return {"done": True}

    return self.run_job(job_id, work)


def failed_meanwhile(self, job_id):
    """Its job is failed by someone else while the work runs (given up, timed out)."""

    def work(sessionmaker, jid):
        with sessionmaker() as session, session.begin():
            jobs.fail_job(session, jid, {"type": "GivenUp", "detail": "stopped by an operator"})
        return {"done": True}

    return self.run_job(job_id, work)


@pytest.fixture
def test_tasks(celery_app):
    """Tasks that fail on purpose, registered before the worker starts (the same function
    objects every time, so each app registers them once)."""
    celery_app.task(
        name="tests.flaky", base=JobTask, bind=True, retry_backoff=False, default_retry_delay=0.1
    )(flaky)
    celery_app.task(name="tests.broken_input", base=JobTask, bind=True)(broken_input)
    celery_app.task(name="tests.long_work", base=JobTask, bind=True)(long_work)
    celery_app.task(name="tests.failed_meanwhile", base=JobTask, bind=True)(failed_meanwhile)
    return celery_app


@pytest.fixture
def started(test_tasks, request):
    request.getfixturevalue("worker")
    return test_tasks


def _new_job(runtime, task_name):
    with runtime.db.transaction() as s:
        job = jobs.create_job(s, kind="test", task_name=task_name)
        return job.id


def _wait_finished(runtime, job_id, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with runtime.db.session() as s:
            job = s.get(Job, job_id)
            if job.status in ("succeeded", "failed"):
                return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def test_transient_errors_are_retried_until_the_job_succeeds(runtime, started):
    job_id = _new_job(runtime, "tests.flaky")
    started.send_task("tests.flaky", kwargs={"job_id": job_id})
    job = _wait_finished(runtime, job_id)
    assert job.status == "succeeded"
    assert job.result == {"attempts_seen": 3}
    assert job.attempts == 3
    with runtime.db.session() as s:
        assert s.scalar(select(DeadLetter.id)) is None


def test_permanent_failure_fails_the_job_and_leaves_a_dead_letter(runtime, started):
    job_id = _new_job(runtime, "tests.broken_input")
    started.send_task("tests.broken_input", kwargs={"job_id": job_id})
    job = _wait_finished(runtime, job_id)
    assert job.status == "failed"
    assert job.error == {"type": "PermanentError", "detail": "row 3: the file is not a price list"}
    with runtime.db.session() as s:
        letter = s.scalars(select(DeadLetter)).one()
        types = s.scalars(
            select(OutboxEvent.type)
            .where(OutboxEvent.channel == f"job:{job_id}")
            .order_by(OutboxEvent.seq)
        ).all()
    assert letter.task_name == "tests.broken_input" and letter.job_id == job_id
    assert "PermanentError" in letter.traceback
    assert types == ["job.queued", "job.started", "job.failed"]


def test_a_job_working_longer_than_the_stale_period_is_alive_and_never_taken_over(runtime, started):
    """A report built for minutes saves no progress while its query runs: its worker still
    marks it alive, so the sweeper neither hands it to a second worker nor counts an attempt."""
    job_id = _new_job(runtime, "tests.long_work")
    started.send_task("tests.long_work", kwargs={"job_id": job_id})
    time.sleep(LONG_WORK_SECONDS - 0.5)  # past the stale period, the work still running
    stale = runtime.settings.job_stale_seconds
    with runtime.db.transaction() as s:
        assert s.get(Job, job_id).status == "running"
        assert jobs.claim_job(s, job_id, stale_seconds=stale) is None
        assert job_id not in [job.id for job in jobs.jobs_to_redispatch(s, stale_seconds=stale)]
    job = _wait_finished(runtime, job_id)
    assert (job.status, job.attempts, job.result) == ("succeeded", 1, {"done": True})


def test_a_job_failed_while_its_work_ran_stays_failed(runtime, started):
    job_id = _new_job(runtime, "tests.failed_meanwhile")
    started.send_task("tests.failed_meanwhile", kwargs={"job_id": job_id})
    job = _wait_finished(runtime, job_id)
    time.sleep(0.3)  # the task's own end, had it finished the job after all
    with runtime.db.session() as s:
        job = s.get(Job, job_id)
        types = s.scalars(
            select(OutboxEvent.type)
            .where(OutboxEvent.channel == f"job:{job_id}")
            .order_by(OutboxEvent.seq)
        ).all()
    assert (job.status, job.error["type"]) == ("failed", "GivenUp")
    assert types == ["job.queued", "job.started", "job.failed"]


def test_a_finished_job_is_never_claimed_again(runtime):
    job_id = _new_job(runtime, "tests.flaky")
    with runtime.db.transaction() as s:
        job = jobs.claim_job(s, job_id, stale_seconds=60)
        jobs.finish_job(s, job, {"ok": True})
    with runtime.db.transaction() as s:
        assert jobs.claim_job(s, job_id, stale_seconds=0) is None


def test_a_running_job_is_claimed_again_only_when_its_heartbeat_is_stale(runtime):
    job_id = _new_job(runtime, "tests.flaky")
    with runtime.db.transaction() as s:
        assert jobs.claim_job(s, job_id, stale_seconds=60) is not None
    with runtime.db.transaction() as s:
        assert jobs.claim_job(s, job_id, stale_seconds=60) is None
    time.sleep(0.05)
    with runtime.db.transaction() as s:
        again = jobs.claim_job(s, job_id, stale_seconds=0)
    assert again is not None and again.attempts == 2


def test_a_job_given_back_to_the_queue_tells_its_followers_it_waits_again(runtime):
    from clinic.events import events_after

    job_id = _new_job(runtime, "tests.flaky")
    with runtime.db.transaction() as s:
        jobs.claim_job(s, job_id, stale_seconds=60)
    with runtime.db.transaction() as s:
        jobs.release_job(s, job_id)
    with runtime.db.transaction() as s:
        jobs.release_job(s, job_id)  # not running any more: nothing to tell
    with runtime.db.session() as s:
        told = events_after(s, jobs.job_channel(job_id), 0)
        snapshot = jobs.job_as_dict(jobs.get_job(s, job_id))
    assert [e["type"] for e in told] == ["job.queued", "job.started", "job.queued"]
    # A screen that followed the events shows what one reading the job afresh shows.
    assert told[-1]["data"] == snapshot and snapshot["status"] == "queued"


def test_the_sweeper_picks_up_jobs_whose_worker_died(runtime):
    job_id = _new_job(runtime, "tests.flaky")
    with runtime.db.transaction() as s:
        jobs.claim_job(s, job_id, stale_seconds=60)
    with runtime.db.transaction() as s:
        assert jobs.jobs_to_redispatch(s, stale_seconds=60) == []
    time.sleep(0.05)
    with runtime.db.transaction() as s:
        assert [j.id for j in jobs.jobs_to_redispatch(s, stale_seconds=0)] == [job_id]


def test_job_api_answers_status_and_404_for_unknown_ids(runtime, client):
    job_id = _new_job(runtime, "tests.flaky")
    response = client.get(f"/api/v1/jobs/{job_id}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "queued" and body["channel"] == f"job:{job_id}"
    missing = client.get("/api/v1/jobs/" + "0" * 32)
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"
