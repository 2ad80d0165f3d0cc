"""A period after today: the money, the queue's tickets and the cashiers' shifts of a day are
written as it happens, so a period that starts after today (a year mistyped, 2027 for 2026)
holds none of them, and a report of zeros would read as a month without revenue. It is
refused naming its first day; visits are booked ahead, so their report of next week is
taken."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.reference.patients import clinic_today
from tests.conftest import ONE_BACKEND
from tests.visits.conftest import clear_of_midnight


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_a_period_after_today_is_refused_naming_its_first_day(client_as, runtime):
    manager = client_as("manager")
    clear_of_midnight(runtime)  # "today" is the same day for the test and the server
    today = clinic_today(runtime.settings.tz)
    tomorrow, later = today + timedelta(days=1), today + timedelta(days=30)
    for report in ("revenue", "queue", "shifts", "reconciliation"):
        refused = manager.post(
            "/api/v1/reports",
            json={"report": report, "start": tomorrow.isoformat(), "end": later.isoformat()},
        )
        assert refused.status_code == 422, report
        assert refused.get_json()["reasons"] == {"start": ["period_in_future"]}
        assert set(refused.get_json()["errors"]) == {"start"}
    # A period reversed and in the future is told both.
    both = manager.post(
        "/api/v1/reports",
        json={"report": "revenue", "start": later.isoformat(), "end": tomorrow.isoformat()},
    )
    assert both.get_json()["reasons"] == {
        "start": ["period_in_future"],
        "end": ["period_reversed"],
    }
    # The month so far and its rest, and next week's bookings, are reports.
    month = manager.post(
        "/api/v1/reports",
        json={"report": "revenue", "start": today.isoformat(), "end": later.isoformat()},
    )
    assert month.status_code == 202
    bookings = manager.post(
        "/api/v1/reports",
        json={"report": "visits", "start": tomorrow.isoformat(), "end": later.isoformat()},
    )
    assert bookings.status_code == 202
