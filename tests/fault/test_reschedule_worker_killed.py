"""A worker killed in the middle of a reschedule: a new worker completes it exactly once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from clinic.base import iso
from clinic.models import Job, OutboxEvent, utcnow
from clinic.visits.models import Visit, VisitEvent, VisitNotice
from tests.conftest import ONE_BACKEND
from tests.fault.test_import_worker_killed import Workers, read_job
from tests.races import wait_for
from tests.visits.conftest import (  # noqa: F401 - fixtures
    mailbox,
    make_clinic,
    next_week_day,
    settings,
    smtp_port,
)
from tests.visits.test_rescheduling import _book

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", [ONE_BACKEND])]


class VisitWorkers(Workers):
    """The import test's worker processes, consuming the ``visits`` queue (and ``default``,
    where the sweeper's task goes) and sending mail to this test's SMTP server."""

    queues = "visits,default"

    def __init__(self, config, logs: Path) -> None:
        super().__init__(config, logs)
        self.env.update(
            CLINIC_SMTP_HOST=config.smtp_host,
            CLINIC_SMTP_PORT=str(config.smtp_port),
            CLINIC_SMTP_TIMEOUT=str(config.smtp_timeout),
            CLINIC_SMTP_FROM=config.smtp_from,
        )


@pytest.fixture
def visit_workers(settings, tmp_path):  # noqa: F811 - the SMTP-aware settings fixture
    pool = VisitWorkers(settings, tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()


def test_a_reschedule_whose_worker_is_killed_mid_task_completes_once_on_a_new_worker(
    client, celery_app, runtime, settings, visit_workers, mailbox  # noqa: F811 - fixtures
):
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    visit = _book(runtime, clinic, clinic.at(day, 9))
    # The mail server holds the first message: the worker is killed while it is sending,
    # after the move committed and before the job finished.
    mailbox.stall_first.set()
    response = client.post(
        f"/api/v1/visits/{visit.id}/reschedule",
        json={"starts_at": iso(clinic.at(day, 10)), "reason": "отпуск врача"},
    )
    assert response.status_code == 202
    job_id = response.get_json()["id"]

    first = visit_workers.start("first")
    assert mailbox.stalled.wait(60), visit_workers.log("first")
    visit_workers.kill(first)
    mailbox.release.set()
    assert read_job(runtime, job_id).status == "running"

    visit_workers.start("second")
    stale = timedelta(seconds=settings.job_stale_seconds)
    wait_for(
        lambda: utcnow() - read_job(runtime, job_id).heartbeat_at > stale,
        timeout=settings.job_stale_seconds + 10,
        what="a stale heartbeat",
    )
    # What beat's sweeper does every 30 s, sent once by hand.
    celery_app.send_task("jobs.redispatch_stale")
    job = wait_for(
        lambda: (j := read_job(runtime, job_id)).status in ("succeeded", "failed") and j,
        timeout=60,
        what="the job to finish on the second worker",
        on_timeout=lambda: visit_workers.log("second"),
    )
    assert job.status == "succeeded", job.error
    assert job.attempts == 2
    assert len(mailbox.wait_for(1)) == 1
    with runtime.db.session() as s:
        moved = s.get(Visit, visit.id)
        moves = s.scalars(
            select(VisitEvent).where(
                VisitEvent.visit_id == visit.id, VisitEvent.action == "rescheduled"
            )
        ).all()
        notices = s.scalars(select(VisitNotice)).all()
        events = s.scalars(
            select(OutboxEvent).where(
                OutboxEvent.type == "visit.rescheduled",
                OutboxEvent.channel == f"visits_doctor:{clinic.doctor_ids[0]}",
            )
        ).all()
        succeeded = s.scalars(
            select(OutboxEvent).where(
                OutboxEvent.channel == f"job:{job_id}", OutboxEvent.type == "job.succeeded"
            )
        ).all()
        assert s.get(Job, job_id).result["to"]["starts_at"] == iso(clinic.at(day, 10))
    assert moved.starts_at == clinic.at(day, 10) and moved.moves == 1
    assert len(moves) == 1 and len(events) == 1 and len(succeeded) == 1
    assert len(notices) == 1 and notices[0].sent_at is not None and notices[0].attempts == 2
    # Nothing more arrives later: the one message is all.
    assert len(mailbox.wait_for(2, timeout=1)) == 1
