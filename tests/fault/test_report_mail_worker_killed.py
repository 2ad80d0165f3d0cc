"""A worker killed while it sends a report e-mail: the next one sends it, and the period's
e-mail arrives once. A worker sends nothing for an owner who may no longer read reports."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from clinic.accounts import users
from clinic.accounts.permissions import Staff, permissions_of
from clinic.base import utcnow
from clinic.reports import subscriptions as subs
from clinic.reports.models import ReportDelivery
from tests.conftest import ONE_BACKEND, PASSWORD
from tests.fault.test_import_worker_killed import Workers
from tests.races import wait_for
from tests.visits.conftest import mailbox, settings, smtp_port  # noqa: F401 - fixtures

LEASE_SECONDS = 3
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", [ONE_BACKEND])]


class ReportWorkers(Workers):
    """Worker processes on the ``reports`` queue, mailing this test's SMTP server. Their SMTP
    timeout is long: the server holding the message must not end the send before the kill."""

    queues = "reports"

    def __init__(self, config, logs: Path) -> None:
        super().__init__(config, logs)
        self.env.update(
            CLINIC_SMTP_HOST=config.smtp_host,
            CLINIC_SMTP_PORT=str(config.smtp_port),
            CLINIC_SMTP_TIMEOUT="60",
            CLINIC_SMTP_FROM=config.smtp_from,
            CLINIC_REPORTS_SEND_LEASE_SECONDS=str(LEASE_SECONDS),
        )


@pytest.fixture
def report_workers(settings, tmp_path):  # noqa: F811 - the SMTP-aware settings fixture
    pool = ReportWorkers(settings, tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()


def read_delivery(runtime) -> ReportDelivery | None:
    with runtime.db.session() as s:
        return s.scalar(select(ReportDelivery).order_by(ReportDelivery.id.desc()))


def subscribe(runtime, formats=("csv", "xlsx", "pdf")) -> None:
    """The manager ``manager`` subscribes boss@example.test to the daily visits report."""
    with runtime.db.transaction() as s:
        users.create_user(s, username="manager", password=PASSWORD, roles=["manager"])
        subs.subscribe(
            s,
            {"report": "visits", "by": "status", "frequency": "daily",
             "email": "boss@example.test", "formats": list(formats)},
            Staff(permissions_of(["manager"])),
            created_by="manager",
        )  # fmt: skip


def test_a_report_email_whose_worker_is_killed_mid_send_arrives_once(
    celery_app, runtime, report_workers, mailbox  # noqa: F811 - fixtures
):
    subscribe(runtime)
    # The mail server holds the first message: the worker dies while it is sending.
    mailbox.stall_first.set()
    first = report_workers.start("first")
    celery_app.send_task("reports.send_subscriptions")
    assert mailbox.stalled.wait(60), report_workers.log("first")
    report_workers.kill(first)
    mailbox.release.set()
    killed = read_delivery(runtime)
    assert killed.state == "sending" and killed.attempts == 1

    report_workers.start("second")
    wait_for(
        lambda: read_delivery(runtime).claimed_until < utcnow(),
        timeout=LEASE_SECONDS + 10,
        what="the dead sender's claim to expire",
    )
    # Beat asks again (every 5 minutes); here by hand, twice, as a restarted beat would.
    celery_app.send_task("reports.send_subscriptions")
    celery_app.send_task("reports.send_subscriptions")
    delivered = wait_for(
        lambda: (d := read_delivery(runtime)).state == "sent" and d,
        timeout=60,
        what="the delivery sent by the second worker",
        on_timeout=lambda: report_workers.log("second"),
    )
    assert delivered.attempts == 2
    messages = mailbox.wait_for(1)
    assert len(messages) == 1 and messages[0]["to"] == ["boss@example.test"]
    names = sorted(a.get_filename() for a in messages[0]["raw"].iter_attachments())
    assert [n.rsplit(".", 1)[1] for n in names] == ["csv", "pdf", "xlsx"]
    # Nothing more arrives later: the one message is all.
    assert len(mailbox.wait_for(2, timeout=2)) == 1
    with runtime.db.session() as s:
        assert len(s.scalars(select(ReportDelivery)).all()) == 1


def test_a_worker_mails_a_disabled_owners_queued_report_to_nobody_until_he_is_enabled(
    celery_app, runtime, report_workers, mailbox  # noqa: F811 - fixtures
):
    subscribe(runtime, formats=["csv"])  # what is built does not matter here: who gets it does
    with runtime.db.transaction() as s:
        subs.schedule_deliveries(s, tz=runtime.settings.tz)  # the e-mail is queued
        users.set_active(s, users.find_user(s, "manager"), False)  # then he leaves
    report_workers.start("worker")
    celery_app.send_task("reports.send_subscriptions")
    cancelled = wait_for(
        lambda: (d := read_delivery(runtime)).state == "cancelled" and d,
        timeout=60,
        what="the queued delivery cancelled",
        on_timeout=lambda: report_workers.log("worker"),
    )
    assert "disabled" in cancelled.error
    assert "not sent: its owner manager is disabled" in report_workers.log("worker")
    assert mailbox.wait_for(1, timeout=1) == []
    # Enabled again: the next period's e-mail goes.
    with runtime.db.transaction() as s:
        users.set_active(s, users.find_user(s, "manager"), True)
        subs.schedule_deliveries(s, tz=runtime.settings.tz, now=utcnow() + timedelta(days=1))
        s.execute(update(ReportDelivery).values(next_attempt_at=utcnow()))
    celery_app.send_task("reports.send_subscriptions")
    wait_for(
        lambda: read_delivery(runtime).state == "sent",
        timeout=60,
        what="the next period's delivery sent",
        on_timeout=lambda: report_workers.log("worker"),
    )
    assert [m["to"] for m in mailbox.wait_for(1)] == [["boss@example.test"]]
