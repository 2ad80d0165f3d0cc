"""The patient's phone in headless Chromium: it buzzes when the doctor calls him, and again
each time the call is repeated for him (a recall), as the board chimes again; while he waits,
it asks to be tapped once (Chrome on Android buzzes only for a page that has been touched)."""

from __future__ import annotations

import pytest

from clinic.queue import calls
from clinic.queue import tickets as q
from tests.browser.conftest import new_tab, wait_live
from tests.browser.test_queue_pages import issue, ticket_by_code

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Every buzz the page asks for, kept where the test can count them.
COUNT_BUZZES = """
  window.buzzes = 0;
  navigator.vibrate = function () { window.buzzes += 1; return true; };
"""


def test_the_patients_phone_buzzes_at_his_call_and_at_each_recall(
    browser, live_server, runtime, queue_hall
):
    code, token = issue(runtime, queue_hall["queue"])
    context, phone = new_tab(
        browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        phone.add_init_script(COUNT_BUZZES)
        phone.goto(f"{live_server}/t/{token}?lang=en")
        wait_live(phone)
        assert phone.evaluate("window.buzzes") == 0
        prompt = phone.locator("#patient-alerts")
        prompt.wait_for(state="visible")
        prompt.locator("button").tap()
        prompt.wait_for(state="hidden")
        assert phone.evaluate("window.buzzes") == 1  # to show him it works

        tz = runtime.settings.tz
        with runtime.db.transaction() as s:
            calls.call_next(s, queue_hall["queue"], tz=tz, room_id=queue_hall["room"])
        phone.wait_for_selector("#patient[data-status='called']")
        phone.wait_for_function("() => window.buzzes === 2")

        # He did not come in: the doctor calls him again, and his phone says so again.
        for recalls in (2, 3):
            with runtime.db.transaction() as s:
                calls.recall(s, q.get_ticket(s, ticket_by_code(runtime, code).id))
            phone.wait_for_function(f"() => window.buzzes === {recalls + 1}")
    finally:
        context.close()
