"""The patient's phone in headless Chromium: it buzzes when the doctor calls him, and again
each time the call is repeated for him (a recall), as the board chimes again; while he waits,
it asks to be tapped once (Chrome on Android buzzes only for a page that has been touched)."""

from __future__ import annotations

import pytest

from clinic.queue import calls
from clinic.queue import tickets as q
from tests.browser.conftest import LateAnswer, new_tab, wait_live
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


def test_a_reading_older_than_his_call_does_not_show_him_waiting_again(
    browser, live_server, runtime, queue_hall
):
    """The page reads the ticket again when the queue moves or the phone comes back online.
    A reading asked before the doctor's call and answered after it (a slow network) would
    show him waiting again, and its correction a moment later would buzz his phone a second
    time for one call: it is not shown, and the call's own reading follows."""
    code, token = issue(runtime, queue_hall["queue"])
    context, phone = new_tab(
        browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    late, readings = LateAnswer(), []
    state_url = f"{live_server}/api/v1/public/tickets/{token}"
    phone.on("requestfinished", lambda r: readings.append(r) if r.url == state_url else None)
    try:
        phone.add_init_script(COUNT_BUZZES)
        phone.goto(f"{live_server}/t/{token}?lang=en")
        wait_live(phone)
        prompt = phone.locator("#patient-alerts")
        prompt.wait_for(state="visible")
        prompt.locator("button").tap()
        prompt.wait_for(state="hidden")
        phone.wait_for_timeout(400)  # the readings asked by the subscriptions are answered
        phone.route(state_url, late)  # read now, before the call, and given after it
        phone.evaluate("() => window.dispatchEvent(new Event('online'))")
        assert late.read(phone).json()["status"] == "waiting"

        with runtime.db.transaction() as s:
            calls.call_next(
                s, queue_hall["queue"], tz=runtime.settings.tz, room_id=queue_hall["room"]
            )
        phone.wait_for_selector("#patient[data-status='called']")
        answered = len(readings)
        phone.wait_for_function("() => window.buzzes === 2")
        while len(readings) == answered:  # the call's own reading
            phone.wait_for_timeout(50)

        late.give()
        while len(readings) == answered + 1:
            phone.wait_for_timeout(50)
        phone.wait_for_timeout(500)  # time for the page to show what it was answered
        assert phone.get_attribute("#patient", "data-status") == "called"
        assert phone.evaluate("window.buzzes") == 2
    finally:
        context.close()


def test_leaving_refused_by_the_rate_limit_is_not_said_as_a_changed_ticket(
    browser, live_server, runtime, queue_hall
):
    """Too many attempts from his address (the rate limit's 429) is said as such, as online
    joining says it, with his ticket as it was; the doctor taking him in meanwhile (a 409) is
    still said as the ticket having changed."""
    code, token = issue(runtime, queue_hall["queue"])
    context, phone = new_tab(
        browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    leave_url = f"{live_server}/api/v1/public/tickets/{token}/leave"
    refusal = {"type": "about:blank", "title": "Too Many Requests", "status": 429}
    try:
        phone.on("dialog", lambda dialog: dialog.accept())
        phone.goto(f"{live_server}/t/{token}?lang=ru")
        wait_live(phone)
        phone.route(leave_url, lambda route: route.fulfill(status=429, json=refusal))
        phone.click("#patient-leave button")
        error = phone.locator("#patient-error")
        error.wait_for()
        assert error.inner_text() == "Слишком много попыток. Подождите минуту и попробуйте снова."
        assert phone.get_attribute("#patient", "data-status") == "waiting"
        assert phone.is_visible("#patient-leave button")
        phone.unroute(leave_url)

        def taken_in_meanwhile(route):
            with runtime.db.transaction() as s:
                tz = runtime.settings.tz
                called = calls.call_next(s, queue_hall["queue"], tz=tz, room_id=queue_hall["room"])
                calls.start_service(s, called)
            route.continue_()

        phone.route(leave_url, taken_in_meanwhile)
        phone.click("#patient-leave button")
        changed = "Талон тем временем изменился: страница показывает его таким, какой он сейчас."
        phone.wait_for_selector(f"#patient-error:text-is('{changed}')")
        phone.wait_for_selector("#patient[data-status='in_service']")
        assert ticket_by_code(runtime, code).status == "in_service"
    finally:
        context.close()
