"""A worker killed in the middle of an import: the job resumes on another worker, once."""

from __future__ import annotations

import io
import os
import signal
import subprocess  # nosec B404 - starts our own Celery workers
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from clinic.models import Job, OutboxEvent, Service, utcnow
from tests.conftest import ONE_BACKEND
from tests.races import wait_for

ROOT = Path(__file__).resolve().parents[2]
ROWS = 200  # twenty batches: the worker is killed after the first, long before the last
BATCH = 10
BAD_EVERY = 50  # rows 2, 52, 102, ... carry a price that is not a price

# Two worker processes sharing one database: PostgreSQL is the database such a deployment
# runs on, and one backend is enough for a test that spends its time starting processes.
FAULT_BACKEND = ONE_BACKEND
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", [FAULT_BACKEND])]


def price_list() -> bytes:
    lines = ["code,name_ru,name_uz,name_en,price"]
    for i in range(ROWS):
        price = "n/a" if i % BAD_EVERY == 0 else str(1000 + i)
        lines.append(f"F-{i:05d},Услуга {i},Xizmat {i},Service {i},{price}")
    return ("\n".join(lines) + "\n").encode()


BAD = len(range(0, ROWS, BAD_EVERY))
UNINTERRUPTED = {"created": ROWS - BAD, "updated": 0, "unchanged": 0, "rejected": BAD}


class Workers:
    """Celery workers as separate processes, each the leader of its own process group.

    A test's own kind sets the queues they consume, their pool and their log level."""

    queues = "default"
    options: tuple[str, ...] = ("--pool=solo",)
    loglevel = "INFO"

    def __init__(self, settings, logs: Path) -> None:
        self.logs = logs
        self.processes: list[subprocess.Popen] = []
        self.env = {
            **os.environ,
            "CLINIC_ENV": "test",
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
            "CLINIC_REDIS_PREFIX": settings.redis_prefix,
            "CLINIC_INSTANCE": str(settings.instance_path),
            "CLINIC_JOB_STALE_SECONDS": str(settings.job_stale_seconds),
            "SECRET_KEY": settings.secret_key,
            "CLINIC_IMPORT_BATCH_SIZE": str(BATCH),
        }

    def start(self, name: str) -> subprocess.Popen:
        return self.spawn(
            name,
            [
                sys.executable, "-m", "celery", "-A", "workers.main", "worker", *self.options,
                "-Q", self.queues, "-n", f"{name}@%h", f"--loglevel={self.loglevel}",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ],
        )  # fmt: skip

    def spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        """Start ``command`` as the leader of a process group of its own; output in name.log."""
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the process
        process = subprocess.Popen(  # nosec B603 - a fixed command line
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        return process

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL the worker's whole process group: no shutdown, no ack, no cleanup."""
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(10)

    def stop_all(self) -> None:
        """The test is over: nothing of theirs is waited for (SIGKILL, whole groups). A warm
        shutdown would take a second or two a worker, for nothing the test still reads."""
        for process in self.processes:
            if process.poll() is None:
                self.kill(process)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-4000:]


@pytest.fixture
def workers(settings, tmp_path):
    pool = Workers(settings, tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()


def read_job(runtime, job_id: str) -> Job:
    with runtime.db.session() as s:
        return s.get(Job, job_id)


def test_an_import_resumes_on_a_new_worker_after_its_worker_is_killed_and_completes_once(
    client, celery_app, runtime, settings, workers
):
    response = client.post(
        "/api/v1/services/import",
        data={"file": (io.BytesIO(price_list()), "prices.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 202
    job_id = response.get_json()["id"]

    first = workers.start("first")
    partway = wait_for(
        lambda: (job := read_job(runtime, job_id)).done >= BATCH and job,
        timeout=60,
        what="a first committed batch",
        on_timeout=lambda: workers.log("first"),
    )
    workers.kill(first)
    killed = read_job(runtime, job_id)
    assert killed.status == "running" and killed.attempts == 1
    assert partway.done <= killed.done < ROWS, "the import ended before the worker was killed"

    workers.start("second")
    # Beat runs the sweeper every 30 s; here it is sent by hand once the dead worker's
    # heartbeat is older than the stale period, exactly as beat would send it.
    stale = timedelta(seconds=settings.job_stale_seconds)
    wait_for(
        lambda: utcnow() - read_job(runtime, job_id).heartbeat_at > stale,
        timeout=settings.job_stale_seconds + 10,
        what="a stale heartbeat",
    )
    celery_app.send_task("jobs.redispatch_stale")
    wait_for(
        lambda: read_job(runtime, job_id).attempts >= 2,
        timeout=30,
        what="the job claimed again",
        on_timeout=lambda: workers.log("second"),
    )
    job = wait_for(
        lambda: (j := read_job(runtime, job_id)).status in ("succeeded", "failed") and j,
        timeout=90,
        what="the resumed job to finish",
        on_timeout=lambda: workers.log("second"),
    )

    assert job.status == "succeeded", job.error
    assert job.attempts == 2
    assert {k: job.result[k] for k in UNINTERRUPTED} == UNINTERRUPTED
    with runtime.db.session() as s:
        codes = s.scalars(select(Service.code)).all()
        events = s.execute(
            select(OutboxEvent.type, OutboxEvent.data)
            .where(OutboxEvent.channel == f"job:{job_id}")
            .order_by(OutboxEvent.seq)
        ).all()
        assert s.scalar(select(func.count(Service.id))) == ROWS - BAD
    assert len(codes) == len(set(codes)) == ROWS - BAD
    assert [t for t, _ in events].count("job.succeeded") == 1
    assert [t for t, _ in events].count("job.started") == 2
    done = [data["done"] for t, data in events if t == "job.progress"]
    # The second attempt went on from the last committed batch: no batch was done twice.
    assert done == list(range(BATCH, ROWS + 1, BATCH))
    # The worker's own log lines reach its output, through the redirection of its stdout and
    # stderr (each line was dropped there once, the worker logging nothing at all).
    log = workers.log("second")
    assert "Connected to redis" in log and "second@" in log and " ready." in log, log
