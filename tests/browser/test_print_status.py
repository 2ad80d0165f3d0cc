"""In headless Chromium: a ticket issued at the desk shows its print job's state change live,
from "trying again" while its printer is away to "printed" once it is back; the printer's
paper is the ticket's only one (no browser print opens)."""

from __future__ import annotations

import pytest

from clinic.printing import printers as registry
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
