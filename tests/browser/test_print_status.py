"""In headless Chromium: a ticket issued at the desk shows its print job's state change live,
from "trying again" while its printer is away to "printed" once it is back; the printer's
paper is the ticket's only one (no browser print opens)."""

from __future__ import annotations

import pytest

from clinic.printing import documents
from clinic.printing import jobs as print_jobs
from clinic.printing import printers as registry
from clinic.printing.models import JobKind, JobState
from tests.browser.conftest import new_tab, sign_in, wait_live
from tests.printing.printer_server import FakePrinter

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_desk_sees_its_ticket_print_status_change_live(
    browser, live_server, runtime, worker, queue_hall, make_user
):
    fake = FakePrinter()
    fake.down()  # switched off: the job waits and is tried again
    with runtime.db.transaction() as s:
        registry.create_printer(
            s,
            {"name": "Регистратура", "host": "127.0.0.1", "port": fake.port,
             "targets": [f"queue:{queue_hall['queue']}"]},
        )  # fmt: skip
    make_user("registrar", "desk-print")
    context, desk = new_tab(browser)
    try:
        sign_in(desk, live_server, "desk-print")
        desk.goto(f"{live_server}/queue/desk?lang=en")
        wait_live(desk)
        card = desk.locator(f".desk-queue[data-queue-id='{queue_hall['queue']}']")
        # The queue's thermal printer prints the ticket: no browser print opens as well.
        popups = []
        desk.on("popup", lambda page: popups.append(page))
        card.locator("button[type=submit]").click()
        desk.wait_for_selector("#desk-issued[data-code='K-001']")
        job = card.locator("[data-print-scope] .print-job")
        job.locator(".print-job__state", has_text="trying again").wait_for()
        assert "K-001" in job.inner_text()

        fake.up()
        card.locator("[data-print-scope] .print-job[data-state='printed']").wait_for()
        assert "Printed" in card.locator("[data-print-scope] .print-job").inner_text()
        assert len(fake.wait_for(1)) == 1 and b"K-001" in fake.jobs()[0]
        assert popups == [] and len(context.pages) == 1
    finally:
        context.close()
        fake.down()


def test_the_desk_says_why_a_ticket_did_not_print_in_its_language(
    browser, live_server, runtime, queue_hall, make_user
):
    """A ticket whose printer refused the connection until it was given up: the desk says
    that the printer is off or its address wrong, in Russian, not only "not printed"."""
    with runtime.db.transaction() as s:
        printer = registry.create_printer(s, {"name": "Регистратура", "kind": "pdf"})
        made = print_jobs.create_job(
            s,
            kind=JobKind.TICKET,
            scope=print_jobs.queue_scope(queue_hall["queue"]),
            document=documents.test_page("Регистратура", "06.12.2026 10:00", ("ru", "uz")),
            printer=printer,
        )
        made.state = JobState.FAILED
        made.last_error = "ConnectionRefusedError: [Errno 111] Connection refused"
    make_user("registrar", "desk-why")
    context, desk = new_tab(browser)
    try:
        sign_in(desk, live_server, "desk-why")
        desk.goto(f"{live_server}/queue/desk?lang=ru")
        wait_live(desk)
        card = desk.locator(f".desk-queue[data-queue-id='{queue_hall['queue']}']")
        state = card.locator("[data-print-scope] .print-job[data-state='failed'] .print-job__state")
        state.filter(has_text="не принимает соединение").wait_for()
        assert "ConnectionRefusedError" not in state.inner_text()
    finally:
        context.close()
