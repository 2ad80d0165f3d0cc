"""In headless Chromium: the printers page says in its language why a printer fails, and
that a printer switched off prints nothing, instead of "ready"; a printer is changed through
its form, and a test page is printed once however the button is pressed; Remove asks first."""

from __future__ import annotations

import pytest

from clinic.base import utcnow
from clinic.printing import printers as registry
from tests.browser.conftest import LateAnswer, new_tab, sign_in, wait_live
from tests.printing.conftest import drain
from tests.printing.printer_server import FakePrinter

pytestmark = [pytest.mark.browser]


def test_the_printers_page_says_why_a_printer_fails_and_that_one_is_switched_off(
    browser, live_server, runtime, make_user
):
    with runtime.db.transaction() as s:
        refusing = registry.create_printer(s, {"name": "Касса", "host": "127.0.0.1", "port": 9})
        registry.mark_failing(
            s, refusing, "ConnectionRefusedError: [Errno 111] Connection refused", utcnow()
        )
        registry.create_printer(
            s, {"name": "Регистратура", "host": "127.0.0.1", "port": 9, "active": False}
        )
    make_user("admin", "printers-admin")
    context, tab = new_tab(browser)
    try:
        sign_in(tab, live_server, "printers-admin")
        tab.goto(f"{live_server}/admin/printers?lang=ru")
        wait_live(tab)
        row = tab.locator("#printers-table tr.printer", has_text="Касса")
        state = row.locator(".printer__state")
        state.filter(has_text="не принимает соединение").wait_for()
        assert "ConnectionRefusedError" not in state.inner_text()
        assert "ConnectionRefusedError" in state.get_attribute("title")
        off = tab.locator("#printers-table tr.printer", has_text="Регистратура")
        assert off.locator(".printer__state").inner_text().startswith("Выключен")
    finally:
        context.close()


def test_a_printer_is_edited_in_its_form_and_a_double_clicked_test_prints_one_page(
    browser, live_server, runtime, make_user
):
    fake = FakePrinter()  # the network printer, on a port of this machine
    with runtime.db.transaction() as s:
        desk = registry.create_printer(
            s, {"name": "Касса", "host": "127.0.0.1", "port": 9, "targets": ["receipts"]}
        )
        desk_id = desk.id
        registry.create_printer(s, {"name": "PDF", "kind": "pdf"})
    make_user("admin", "printers-editor")
    context, tab = new_tab(browser)
    try:
        sign_in(tab, live_server, "printers-editor")
        tab.goto(f"{live_server}/admin/printers?lang=en")
        wait_live(tab)
        row = tab.locator("#printers-table tr.printer", has_text="Касса")
        # A "PDF only" printer prints nothing: no test page is offered for it.
        pdf = tab.locator("#printers-table tr.printer", has_text="PDF")
        pdf.get_by_role("button", name="Edit").wait_for()
        assert pdf.get_by_role("button", name="Test print").count() == 0

        # Edit fills the form with the printer; Save changes it, and the form adds again.
        row.get_by_role("button", name="Edit").click()
        assert tab.evaluate("document.activeElement.name") == "name"
        assert tab.input_value("#printer-form [name=targets]") == "receipts"
        tab.fill("#printer-form [name=port]", str(fake.port))
        tab.get_by_role("button", name="Save").click()
        row.filter(has_text=f"127.0.0.1:{fake.port}").wait_for()
        tab.locator("#new-printer-heading", has_text="New printer").wait_for()
        assert tab.input_value("#printer-form [name=name]") == ""
        assert row.inner_text().count("receipts") == 1

        # Pressed twice while its answer is on its way, even as the row is drawn anew.
        late = LateAnswer()
        tab.route("**/api/v1/printing/printers/*/test", late)
        row.get_by_role("button", name="Test print").dblclick()
        late.read(tab)
        drawn = f"#printers-table tr[data-printer-id='{desk_id}']"
        tab.eval_on_selector(drawn, "tr => tr.setAttribute('data-drawn-before', '')")
        with runtime.db.transaction() as s:
            registry.update_printer(s, desk_id, {"languages": "uz+ru"})
        tab.locator(f"{drawn}:not([data-drawn-before])").wait_for()
        tab.wait_for_timeout(300)  # a second click, had it been sent, is in by now
        assert row.get_by_role("button", name="Test print").is_disabled()
        late.give()
        tab.locator("#printers-notice", has_text="Test page sent to Касса").wait_for()
        assert row.get_by_role("button", name="Test print").is_enabled()
        assert drain(runtime, desk_id)["printed"] == 1
        assert len(fake.jobs()) == 1

        # Remove asks first: dismissed, the printer stays; confirmed, it goes.
        asked = []

        def answer(dialog, accept):
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        tab.once("dialog", lambda dialog: answer(dialog, False))
        pdf.get_by_role("button", name="Remove").click()
        tab.wait_for_timeout(300)  # a removal, had it been sent, is answered by now
        assert pdf.count() == 1 and asked[0].startswith("Remove the printer PDF?")
        tab.once("dialog", lambda dialog: answer(dialog, True))
        pdf.get_by_role("button", name="Remove").click()
        pdf.wait_for(state="detached")
        with runtime.db.session() as s:
            assert [p.name for p in registry.list_printers(s)] == ["Касса"]
    finally:
        context.close()
        fake.down()
