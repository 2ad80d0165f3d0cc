"""The report page lists each subscription with its filters: the same report of two
departments to one address is two lines a manager tells apart, to stop the right one."""

from __future__ import annotations

import pytest

from clinic.accounts.permissions import Staff, permissions_of
from clinic.reports import subscriptions as subs
from tests.browser.conftest import new_tab, sign_in
from tests.reports.fixtures import make_reference

pytestmark = [pytest.mark.browser, pytest.mark.slow]
MANAGER = Staff(permissions_of(["manager"]))


def test_subscriptions_of_one_report_for_two_departments_are_told_apart(
    browser, live_server, runtime, make_user
):
    make_user("manager", "boss")
    data = make_reference(runtime)
    with runtime.db.transaction() as s:
        for key in ("A", "B"):
            subs.subscribe(
                s,
                {"report": "revenue", "by": "day", "frequency": "daily",
                 "email": "boss@example.test", "department_id": data.departments[key]},
                MANAGER,
                created_by="boss",
            )  # fmt: skip
    context, page = new_tab(browser)
    try:
        sign_in(page, live_server, "boss")
        page.goto(f"{live_server}/reports?lang=ru")
        page.wait_for_selector("#subscriptions li")
        items = page.locator("#subscriptions li")
        page.wait_for_function("() => document.querySelectorAll('#subscriptions li').length == 2")
        lines = sorted(items.nth(i).inner_text() for i in range(items.count()))
        assert "Терапия" in lines[0] + lines[1] and "Хирургия" in lines[0] + lines[1], lines
        assert ("Терапия" in lines[0]) != ("Терапия" in lines[1]), lines
    finally:
        context.close()
