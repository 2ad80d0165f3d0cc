"""New patients against follow-ups: a patient is new until he has been seen. An appointment
he cancelled or did not come to is no visit of his, so the next one is still his first."""

from __future__ import annotations

from datetime import date

from clinic.reports.definitions import build
from tests.reports.fixtures import TZ, _visit, local, make_reference, params


def _by_day(runtime, start, end) -> dict:
    with runtime.db.session() as s:
        found = list(build(s, params("visits", "day", start, end), TZ).rows)
    # day -> (visits, new patients, follow-ups)
    return {row[0]: (row[1], row[6], row[7]) for row in found if row[1]}


def test_a_patient_who_missed_his_first_appointment_is_new_when_he_first_comes(runtime):
    data = make_reference(runtime)
    with runtime.db.transaction() as s:
        # P0 missed the 2nd, came on the 5th and again on the 9th.
        _visit(s, data, 0, "D1", "A", local(date(2026, 3, 2), 9), "no_show")
        _visit(s, data, 0, "D1", "A", local(date(2026, 3, 5), 9), "completed")
        _visit(s, data, 0, "D1", "A", local(date(2026, 3, 9), 9), "completed")
        # P1 cancelled the 3rd and missed the 4th: the 6th is his first visit.
        _visit(s, data, 1, "D2", "B", local(date(2026, 3, 3), 9), "cancelled")
        _visit(s, data, 1, "D2", "B", local(date(2026, 3, 4), 9), "no_show")
        _visit(s, data, 1, "D2", "B", local(date(2026, 3, 6), 9), "completed")
    assert _by_day(runtime, date(2026, 3, 1), date(2026, 3, 10)) == {
        "2026-03-02": (1, 1, 0),
        "2026-03-03": (1, 1, 0),
        "2026-03-04": (1, 1, 0),
        "2026-03-05": (1, 1, 0),
        "2026-03-06": (1, 1, 0),
        "2026-03-09": (1, 0, 1),
    }
    # The same when the missed appointments are before the period.
    assert _by_day(runtime, date(2026, 3, 5), date(2026, 3, 9)) == {
        "2026-03-05": (1, 1, 0),
        "2026-03-06": (1, 1, 0),
        "2026-03-09": (1, 0, 1),
    }


def test_a_new_patient_booked_twice_ahead_is_new_at_both_until_he_has_been_seen(runtime):
    """The manager plans next week: P2, never seen, is booked on the 16th and the 18th.
    Neither is a follow-up until he has come to the first."""
    data = make_reference(runtime)
    with runtime.db.transaction() as s:
        _visit(s, data, 2, "D1", "A", local(date(2026, 3, 16), 9), "scheduled")
        _visit(s, data, 2, "D1", "A", local(date(2026, 3, 18), 9), "scheduled")
    assert _by_day(runtime, date(2026, 3, 16), date(2026, 3, 20)) == {
        "2026-03-16": (1, 1, 0),
        "2026-03-18": (1, 1, 0),
    }
