"""A week saved with fewer places per slot than are booked in it lists the patients over
them, as many as the slot has too many: those in its highest places. One in a place the
slot no longer has, beside a place it has left free, fills that one and is not listed."""

from __future__ import annotations

from tests.visits.conftest import make_clinic, next_week_day
from tests.visits.test_week_changes import _book


def _places(client, visit_ids) -> list[int]:
    return [client.get(f"/api/v1/visits/{i}").get_json()["seat"] for i in visit_ids]


def _cancel(client, visit_id) -> None:
    cancelled = client.post(
        f"/api/v1/visits/{visit_id}/cancel", json={"by": "patient", "reason": "x"}
    )
    assert cancelled.status_code == 200, cancelled.get_json()


def _save_capacity(client, clinic, day, capacity) -> list[int]:
    week = {"days": [{"weekday": day.weekday(), "starts": "09:00", "ends": "10:00",
                      "slot_minutes": 20, "capacity": capacity}]}  # fmt: skip
    saved = client.put(f"/api/v1/doctors/{clinic.doctor_ids[0]}/schedule", json=week)
    assert saved.status_code == 200, saved.get_json()
    return saved.get_json()["visits_to_move"]


def test_a_slot_cut_to_one_place_lists_one_of_two_patients_when_its_first_place_is_free(
    runtime, client
):
    clinic = make_clinic(runtime, patients=3, hours=("09:00", "10:00"), slot=20, capacity=3)
    day = next_week_day(runtime.settings.tz)
    first, second, third = (_book(client, clinic, day, 9, patient=i) for i in range(3))
    assert _places(client, [first, second, third]) == [0, 1, 2]
    _cancel(client, first)
    # Two patients, one place: one is over it. The one in the second place fills the first,
    # left free; the one in the third place is listed.
    assert _save_capacity(client, clinic, day, 1) == [third]
    # Two places: nobody is over them.
    assert _save_capacity(client, clinic, day, 2) == []


def test_a_slot_cut_lists_the_patients_in_its_highest_places_not_the_last_booked(runtime, client):
    clinic = make_clinic(runtime, patients=4, hours=("09:00", "10:00"), slot=20, capacity=3)
    day = next_week_day(runtime.settings.tz)
    first, second, third = (_book(client, clinic, day, 9, patient=i) for i in range(3))
    _cancel(client, second)
    # Booked last, he takes the place the cancellation left free (the lowest one).
    last = _book(client, clinic, day, 9, patient=3)
    assert _places(client, [first, last, third]) == [0, 1, 2]
    assert _save_capacity(client, clinic, day, 2) == [third]
    # Every patient beside the first is over a single place, whatever his place.
    assert sorted(_save_capacity(client, clinic, day, 1)) == sorted([last, third])


def test_a_slot_cut_counts_each_slot_on_its_own(runtime, client):
    clinic = make_clinic(runtime, patients=4, hours=("09:00", "10:00"), slot=20, capacity=2)
    day = next_week_day(runtime.settings.tz)
    early = [_book(client, clinic, day, 9, patient=i) for i in range(2)]
    later = [_book(client, clinic, day, 9, 20, patient=i) for i in (2, 3)]
    _cancel(client, early[0])
    # At 09:00 the patient left alone in the second place fills the first; at 09:20 both
    # places are taken, and the one in the second is over the single place.
    assert _save_capacity(client, clinic, day, 1) == [later[1]]
