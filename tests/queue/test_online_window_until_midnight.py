"""A queue open until midnight takes online joining until midnight: its window ends at 24:00,
written as its closing time is, and a patient joining late in the evening is inside it."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

from clinic.queue import joining
from clinic.queue.models import QueueDay
from tests.queue.test_api import make_queue

UNTIL_MIDNIGHT = {
    "online_from": "08:00",
    "online_until": "24:00",
    "online_daily_limit": 5,
    "closes_at": "24:00",
}
# 23:59:30 in Tashkent (UTC+5) on 2 March.
HALF_A_MINUTE_TO_MIDNIGHT = datetime(2026, 3, 2, 18, 59, 30, tzinfo=timezone.utc)


def test_an_online_window_set_to_end_at_24_00_is_kept_and_read_back_as_24_00(client, runtime):
    queue_id = make_queue(runtime)
    changed = client.patch(f"/api/v1/queues/{queue_id}", json=UNTIL_MIDNIGHT)
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["online_until"] == "24:00"
    shown = client.get(f"/api/v1/queues/{queue_id}").get_json()
    assert (shown["online_from"], shown["online_until"], shown["closes_at"]) == (
        "08:00",
        "24:00",
        "24:00",
    )
    listed = [q for q in client.get("/api/v1/queues").get_json() if q["id"] == queue_id]
    assert [q["online_until"] for q in listed] == ["24:00"]
    # The patient's join page says the window as the settings do, and so do its refusals.
    page = client.get(f"/join/{queue_id}?lang=en").get_data(as_text=True)
    assert "24:00" in page and "23:59" not in page


def test_a_window_to_24_00_is_refused_past_an_earlier_closing_and_never_starts_at_24_00(
    client, runtime
):
    queue_id = make_queue(runtime)
    url = f"/api/v1/queues/{queue_id}"
    past_closing = client.patch(url, json={**UNTIL_MIDNIGHT, "closes_at": "20:00"})
    assert past_closing.status_code == 422
    assert past_closing.get_json()["errors"]["online_until"] == ["must not be after closes_at"]
    # The window's start is a minute of the day: 24:00 is only ever an end.
    starting_at_midnight = client.patch(url, json={**UNTIL_MIDNIGHT, "online_from": "24:00"})
    assert starting_at_midnight.status_code == 422
    assert list(starting_at_midnight.get_json()["errors"]) == ["online_from"]
    assert client.get(url).get_json()["online_until"] is None


def test_a_patient_joining_half_a_minute_before_midnight_is_inside_a_window_to_24_00(
    client, runtime
):
    queue_id = make_queue(runtime)
    changed = client.patch(f"/api/v1/queues/{queue_id}", json=UNTIL_MIDNIGHT)
    assert changed.status_code == 200, changed.get_json()
    with runtime.db.transaction() as s:
        ticket = joining.join_online(
            s, queue_id, "90 111 22 33", tz=runtime.settings.tz, now=HALF_A_MINUTE_TO_MIDNIGHT
        )
        assert (ticket.source, ticket.status, ticket.number) == ("online", "waiting", 1)
        day = s.get(QueueDay, ticket.queue_day_id)
        assert (day.day, day.online_issued) == (date(2026, 3, 2), 1)


def test_a_window_ending_at_the_days_last_instant_is_written_24_00(client, runtime):
    """A window stored to the day's last instant (as the service takes it) is the same
    window as 24:00, and is shown so, not as 23:59."""
    queue_id = make_queue(
        runtime,
        online_from=time(8, 0),
        online_until=time(23, 59, 59, 999999),
        online_daily_limit=5,
    )
    assert client.get(f"/api/v1/queues/{queue_id}").get_json()["online_until"] == "24:00"
