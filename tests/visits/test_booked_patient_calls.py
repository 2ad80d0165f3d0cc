"""In a department's shared queue, a patient checked in for a visit with one doctor is that
doctor's to call: a colleague's "call next" passes over him (keeping his place), and a
colleague's call back of him is refused (409 ``booked_with_another_doctor``); walk-ins are
anyone's."""

from __future__ import annotations

from datetime import time, timedelta

from clinic.accounts.models import User
from clinic.queue import admin as queue_admin
from clinic.queue import calls
from clinic.queue import tickets as q
from clinic.reference import directory as reference
from clinic.visits import booking, checkin, schedules
from tests.conftest import _letters
from tests.visits.conftest import WEEKDAYS, clear_of_midnight, make_clinic, slot_near


def _doctor_of(runtime, client, clinic, room: str) -> int:
    """The signed-in doctor's record, moved into ``clinic``'s department with a room of his
    own and working round the clock."""
    with runtime.db.transaction() as s:
        user = s.query(User).filter(User.username == client.username).one()
        room_id = reference.create_room(s, {"number": room, "department_id": clinic.department_id})
        reference.update_doctor(
            s, user.doctor_id, {"department_id": clinic.department_id, "room_id": room_id.id}
        )
        week = [{"weekday": d, "starts": "00:00", "ends": "23:55", "slot_minutes": 5}
                for d in WEEKDAYS]  # fmt: skip
        schedules.set_week(s, user.doctor_id, week)
        return user.doctor_id


def _floor(runtime, client_as):
    """Two doctors of one department and its shared queue: the patient booked with the
    second checked in (his ticket first in line, an appointment's), then a walk-in."""
    clear_of_midnight(runtime, 20 * 60)
    clinic = make_clinic(runtime, doctors=0, patients=1)
    first, second = client_as("doctor"), client_as("doctor")
    first_id = _doctor_of(runtime, first, clinic, f"{clinic.department_id}-a")
    second_id = _doctor_of(runtime, second, clinic, f"{clinic.department_id}-b")
    tz = runtime.settings.tz
    with runtime.db.transaction() as s:
        queue = queue_admin.create_queue(
            s, {"code": f"shared{clinic.department_id}", "department_id": clinic.department_id,
                "closes_at": time(23, 59, 59, 999999)},
        )  # fmt: skip
        visit = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=second_id,
            starts_at=slot_near(runtime, timedelta(minutes=10)), tz=tz,
        )  # fmt: skip
        booked = checkin.check_in(s, visit, tz=tz)
        assert booked.queue_id == queue.id
        walk_in = q.issue_ticket(s, queue.id, tz=tz)
        floor = {"queue": queue.id, "booked": booked.id, "walk_in": walk_in.id}
    return first, second, first_id, second_id, floor


def test_a_doctor_calls_the_walk_ins_and_not_a_colleagues_booked_patient(runtime, client_as):
    first, second, _first_id, _second_id, floor = _floor(runtime, client_as)
    call_next = f"/api/v1/queues/{floor['queue']}/call-next"

    # The booked patient is first in line, but the colleague is called the walk-in.
    called = first.post(call_next, json={})
    assert called.status_code == 200, called.get_json()
    assert called.get_json()["id"] == floor["walk_in"]
    assert first.post(f"/api/v1/tickets/{floor['walk_in']}/finish").status_code == 200
    # Nobody else waits for him: the booked patient keeps his place for his own doctor.
    assert first.post(call_next, json={}).status_code == 204
    assert second.get(f"/api/v1/tickets/{floor['booked']}").get_json()["status"] == "waiting"

    called = second.post(call_next, json={})
    assert called.status_code == 200, called.get_json()
    assert called.get_json()["id"] == floor["booked"]


def test_a_doctor_calling_back_a_colleagues_booked_patient_is_refused(runtime, client_as):
    first, second, _first_id, _second_id, floor = _floor(runtime, client_as)
    booked = floor["booked"]
    # His own doctor calls him and puts him on the postponed list (gone to pay, say).
    assert second.post(f"/api/v1/queues/{floor['queue']}/call-next", json={}).status_code == 200
    assert second.post(f"/api/v1/tickets/{booked}/postpone").status_code == 200

    refused = first.post(f"/api/v1/tickets/{booked}/call-back", json={})
    problem = refused.get_json()
    assert refused.status_code == 409, problem
    assert problem["code"] == "booked_with_another_doctor"
    assert list(problem["errors"]) == ["ticket_id"], problem
    assert second.get(f"/api/v1/tickets/{booked}").get_json()["status"] == "postponed"

    again = second.post(f"/api/v1/tickets/{booked}/call-back", json={})
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["status"] == "called"


def test_a_call_by_no_doctor_takes_the_line_as_it_stands(runtime, client_as):
    """The desk calling for a room is no doctor: it calls the booked patient first, as
    before; a doctor of the queue, in the same state, is called the walk-in."""
    _first, _second, first_id, second_id, floor = _floor(runtime, client_as)
    tz = runtime.settings.tz
    for doctor_id, expected in ((None, "booked"), (first_id, "walk_in"), (second_id, "booked")):
        with runtime.db.session() as s:  # not committed: each call finds the same line
            called = calls.call_next(s, floor["queue"], tz=tz, actor="desk", doctor_id=doctor_id)
            assert called.id == floor[expected], (doctor_id, expected)
            s.rollback()


def _first_calls(runtime, floor, doctor_id) -> int:
    with runtime.db.session() as s:  # not committed: each call finds the same line
        called = calls.call_next(s, floor["queue"], tz=runtime.settings.tz, doctor_id=doctor_id)
        s.rollback()
        return called.id


def test_a_booked_patient_waits_for_no_doctor_who_does_not_call_from_the_queue(runtime, client_as):
    """His doctor with a queue of his own (where his check-ins go now), or gone from the
    clinic: a colleague of the shared queue calls the patient, rather than nobody."""
    _first, _second, first_id, second_id, floor = _floor(runtime, client_as)
    assert _first_calls(runtime, floor, first_id) == floor["walk_in"]
    with runtime.db.transaction() as s:
        department_id = q.get_queue(s, floor["queue"]).department_id
        own = queue_admin.create_queue(
            s,
            {"code": f"own{second_id}", "department_id": department_id, "doctor_id": second_id,
             "prefix": _letters()},
        )  # fmt: skip
    assert _first_calls(runtime, floor, first_id) == floor["booked"]
    with runtime.db.transaction() as s:
        queue_admin.update_queue(s, q.get_queue(s, own.id), {"active": False})
        reference.deactivate_doctor(s, second_id)
    assert _first_calls(runtime, floor, first_id) == floor["booked"]
