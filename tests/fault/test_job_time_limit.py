"""A job that runs past its time limit fails, saying so, on a real prefork worker (where
Celery's time limits fire): it is not taken for a database briefly away and started again."""

from __future__ import annotations

import psycopg
import pytest

from clinic.jobs.models import Job
from tests.fault.test_import_worker_killed import Workers
from tests.races import wait_for
from tests.reports.fixtures import make_day

TIME_LIMIT = 2
# A lock another session holds (a migration, VACUUM FULL) is a query that never returns.
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", ["postgresql"])]


class TimedReportWorkers(Workers):
    queues = "reports"
    options = ("--pool=prefork", "--concurrency=1")

    def __init__(self, settings, logs) -> None:
        super().__init__(settings, logs)
        self.env["CLINIC_JOB_TIME_LIMIT"] = str(TIME_LIMIT)


def test_a_report_stuck_past_its_time_limit_fails_once_with_the_reason(
    client_as, runtime, make_user, settings, tmp_path
):
    make_day(runtime, make_user)
    locker = psycopg.connect(
        settings.database_url.replace("postgresql+psycopg://", "postgresql://")
    )
    locker.execute("LOCK TABLE payments IN ACCESS EXCLUSIVE MODE")
    workers = TimedReportWorkers(settings, tmp_path)
    try:
        workers.start("w1")
        asked = client_as("manager").post(
            "/api/v1/reports",
            json={"report": "revenue", "by": "day", "start": "2026-03-01", "end": "2026-03-31"},
        )
        assert asked.status_code == 202, asked.get_json()
        job_id = asked.get_json()["id"]

        def failed():
            with runtime.db.session() as s:
                job = s.get(Job, job_id)
                return job if job.status == "failed" else None

        job = wait_for(failed, 60, "the job failed", on_timeout=lambda: workers.log("w1")[-3000:])
    finally:
        locker.rollback()
        locker.close()
        workers.stop_all()
    assert job.attempts == 1
    assert job.error["code"] == "time_limit"
    assert f"time limit ({TIME_LIMIT} s)" in job.error["detail"]
