"""Free slots a page at a time: a registrar looking weeks ahead in a large department pages
on past the first answer instead of finding the later slots out of reach."""

from __future__ import annotations

from datetime import timedelta

from tests.visits.conftest import make_clinic, next_week_day


def test_free_slots_are_read_page_by_page_with_offset_and_the_pages_add_up_to_the_whole(
    runtime, client
):
    clinic = make_clinic(runtime, doctors=2, hours=("09:00", "10:00"), slot=20)
    first = next_week_day(clinic.tz)
    span = f"department_id={clinic.department_id}&from={first}&to={first + timedelta(days=2)}"
    whole = client.get(f"/api/v1/visits/slots?{span}")
    assert whole.status_code == 200, whole.get_json()
    every = [(s["doctor_id"], s["starts_at"]) for s in whole.get_json()]
    assert len(every) == 2 * 3 * 3  # two doctors, three slots a day, three days

    paged, offset = [], 0
    while True:
        page = client.get(f"/api/v1/visits/slots?{span}&limit=4&offset={offset}")
        assert page.status_code == 200, page.get_json()
        paged += [(s["doctor_id"], s["starts_at"]) for s in page.get_json()]
        if len(page.get_json()) < 4:
            break
        offset += 4
    assert paged == every
    past_the_end = client.get(f"/api/v1/visits/slots?{span}&offset={len(every)}")
    assert past_the_end.status_code == 200 and past_the_end.get_json() == []

    refused = client.get(f"/api/v1/visits/slots?{span}&offset=-1")
    assert refused.status_code == 422 and "offset" in refused.get_json()["errors"]
