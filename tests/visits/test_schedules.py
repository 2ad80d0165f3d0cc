"""Schedules and free slots: templates, breaks, exceptions, capacity, daylight saving."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from clinic.errors import ValidationFailed
from clinic.visits import booking, schedules, slots
from clinic.visits.models import WorkingHours
from tests.visits.conftest import make_clinic, next_week_day

BERLIN = ZoneInfo("Europe/Berlin")
TASHKENT = ZoneInfo("Asia/Tashkent")
UTC = timezone.utc


def _row(weekday, starts, ends, slot=30, breaks=()):
    return WorkingHours(
        doctor_id=1,
        weekday=weekday,
        starts=time.fromisoformat(starts),
        ends=time.fromisoformat(ends),
        slot_minutes=slot,
        capacity=1,
        breaks=[list(b) for b in breaks],
    )


def _starts(shift_list, tz):
    return [s.astimezone(tz).strftime("%H:%M") for sh in shift_list for s, _ in sh.slots()]


@pytest.mark.parametrize(
    "day, utc_hour",
    [
        (date(2026, 3, 28), 8),  # Saturday before the change: CET, UTC+1
        (date(2026, 3, 30), 7),  # Monday after it: CEST, UTC+2
        (date(2026, 10, 24), 7),  # Saturday before autumn's change: CEST
        (date(2026, 10, 26), 8),  # Monday after it: CET
    ],
)
def test_berlin_hours_map_to_the_right_utc_instants_on_both_sides_of_a_change(day, utc_hour):
    rows = [_row(day.weekday(), "09:00", "12:00")]
    found = schedules.shifts(rows, [], day, day, BERLIN)
    assert _starts(found, BERLIN) == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert found[0].slots()[0][0] == datetime(day.year, day.month, day.day, utc_hour, tzinfo=UTC)


def test_a_night_shift_across_spring_forward_has_two_real_hours_and_no_missing_wall_times():
    day = date(2026, 3, 29)  # 02:00 CET jumps to 03:00 CEST
    found = schedules.shifts([_row(day.weekday(), "01:00", "04:00")], [], day, day, BERLIN)
    assert _starts(found, BERLIN) == ["01:00", "01:30", "03:00", "03:30"]
    assert found[0].ends - found[0].starts == (found[0].ends - found[0].starts).__class__(hours=2)


def test_a_night_shift_across_fall_back_has_four_real_hours():
    day = date(2026, 10, 25)  # 03:00 CEST falls back to 02:00 CET
    found = schedules.shifts([_row(day.weekday(), "01:00", "04:00")], [], day, day, BERLIN)
    assert len(found[0].slots()) == 8
    assert (found[0].ends - found[0].starts).total_seconds() == 4 * 3600


def test_clinic_days_around_a_change_are_23_and_25_hours_long_in_berlin_and_24_in_tashkent():
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    length = lambda d, tz: (lambda a, b: (b - a).total_seconds() / 3600)(  # noqa: E731
        *schedules.day_bounds(d, tz)
    )
    assert (length(spring, BERLIN), length(autumn, BERLIN)) == (23, 25)
    assert (length(spring, TASHKENT), length(autumn, TASHKENT)) == (24, 24)


def test_breaks_cut_slots_and_the_grid_restarts_after_a_break():
    day = date(2026, 6, 1)
    rows = [_row(day.weekday(), "09:00", "12:00", slot=40, breaks=[("10:00", "10:30")])]
    found = schedules.shifts(rows, [], day, day, TASHKENT)
    assert _starts(found, TASHKENT) == ["09:00", "10:30", "11:10"]


def test_a_week_with_overlapping_rows_or_a_break_outside_the_hours_is_refused(runtime):
    clinic = make_clinic(runtime)
    with runtime.db.session() as s, pytest.raises(ValidationFailed) as caught:
        schedules.set_week(
            s,
            clinic.doctor_ids[0],
            [
                {"weekday": 0, "starts": "09:00", "ends": "12:00"},
                {"weekday": 0, "starts": "11:00", "ends": "14:00"},
                {"weekday": 1, "starts": "09:00", "ends": "12:00", "breaks": [["12:00", "13:00"]]},
                {"weekday": 2, "starts": "09:00", "ends": "17:00",
                 "breaks": [["13:00", "14:00"], ["13:30", "14:30"]]},  # fmt: skip
            ],
        )
    assert "days.2.breaks" in caught.value.errors
    # Two breaks over one another: a mistyped one, not a longer lunch.
    assert caught.value.errors["days.3.breaks"] == ["breaks do not overlap"]
    # The overlap is said at the row to correct, naming the one it overlaps.
    assert caught.value.errors["days.1.starts"] == ["overlaps row 0 of the same weekday"]
    assert "days" not in caught.value.errors


def test_hours_that_offer_no_slot_at_all_are_refused(runtime):
    clinic = make_clinic(runtime)
    for day in (
        {"weekday": 0, "starts": "09:00", "ends": "09:10", "slot_minutes": 20},
        {"weekday": 0, "starts": "09:00", "ends": "17:00", "breaks": [["09:00", "17:00"]]},
        {"weekday": 0, "starts": "09:00", "ends": "10:00", "slot_minutes": 30,
         "breaks": [["09:20", "09:40"]]},  # fmt: skip
    ):
        with runtime.db.session() as s, pytest.raises(ValidationFailed) as caught:
            schedules.set_week(s, clinic.doctor_ids[0], [day])
        assert "days.0.slot_minutes" in caught.value.errors, day
    with runtime.db.transaction() as s:  # one slot is enough: 09:40-10:00 fits 20 minutes
        schedules.set_week(
            s, clinic.doctor_ids[0],
            [{"weekday": 0, "starts": "09:00", "ends": "10:00", "breaks": [["09:20", "09:40"]]}],
        )  # fmt: skip


def test_free_slots_leave_out_leave_days_clinic_holidays_and_full_slots(runtime):
    clinic = make_clinic(runtime, doctors=2, hours=("09:00", "10:00"), slot=20, capacity=2)
    tz = runtime.settings.tz
    day = next_week_day(tz)
    doctor_a, doctor_b = clinic.doctor_ids
    with runtime.db.transaction() as s:
        schedules.add_exception(
            s, kind="leave", first_day=day, last_day=day, doctor_id=doctor_b, actor="t"
        )
    with runtime.db.transaction() as s:
        for patient in clinic.patient_ids[:2]:
            booking.book(
                s, patient_id=patient, doctor_id=doctor_a, starts_at=clinic.at(day, 9), tz=tz
            )
    with runtime.db.session() as s:
        found = slots.free_slots(
            s, tz=tz, first_day=day, last_day=day, department_id=clinic.department_id
        )
    assert [
        (f["doctor_id"], f["starts_at"].astimezone(tz).strftime("%H:%M"), f["free"]) for f in found
    ] == [
        (doctor_a, "09:20", 2),
        (doctor_a, "09:40", 2),
    ]
    next_day = date.fromordinal(day.toordinal() + 1)
    with runtime.db.transaction() as s:
        schedules.add_exception(s, kind="holiday", first_day=next_day, last_day=next_day)
    with runtime.db.session() as s:
        assert (
            slots.free_slots(
                s, tz=tz, first_day=next_day, last_day=next_day, department_id=clinic.department_id
            )
            == []
        )
        by_service = slots.free_slots(
            s, tz=tz, first_day=day, last_day=day, service_id=clinic.service_id
        )
    assert {f["doctor_id"] for f in by_service} == {doctor_a}
