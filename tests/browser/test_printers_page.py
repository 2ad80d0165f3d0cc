"""In headless Chromium: the printers page says in its language why a printer fails, and
that a printer switched off prints nothing, instead of "ready"."""

from __future__ import annotations

import pytest

from clinic.base import utcnow
from clinic.printing import printers as registry
from tests.browser.conftest import new_tab, sign_in, wait_live

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
