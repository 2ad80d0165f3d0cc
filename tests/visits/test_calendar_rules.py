"""The calendar's rules at their edges: visits start on the slot grid, hours may end at
midnight, a service's slots fit the whole service, dates stay inside the calendar's reach, a
move is a change of time to an active doctor, a doctor has no slots for a service he does
not offer, an arrival belongs to its day, a cancelled arrival leaves the queue, a long
absence is refused before anything is marked, inactive doctors offer nothing, and two saves
of a week leave one week."""

from __future__ import annotations

import threading
from datetime import time as wall_time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from clinic.base import iso
from clinic.models import Job
from clinic.queue import admin as queue_admin
from clinic.queue.models import Ticket, TicketStatus
from clinic.reference import directory as reference
from clinic.reference import price_list
from clinic.visits import booking, checkin, rescheduling, schedules, slots
from clinic.visits import visits as v
from clinic.visits.events import VisitStatus
from clinic.visits.models import (
    ScheduleException,
    Visit,
    VisitMove,
    WorkingHours,
)
from tests.visits.conftest import ALL_DAY, make_clinic, next_week_day, slot_near


def _book(runtime, clinic, starts, *, patient=0, **kwargs) -> Visit:
    with runtime.db.transaction() as s:
        return booking.book(
            s,
            patient_id=clinic.patient_ids[patient],
            doctor_id=clinic.doctor_ids[0],
            starts_at=starts,
            tz=runtime.settings.tz,
            actor="desk",
            **kwargs,
        )


def test_a_visit_starts_on_the_slot_grid_which_starts_again_after_a_break(runtime, client):
    clinic = make_clinic(runtime, hours=("09:00", "12:00"), slot=25)
    day = next_week_day(runtime.settings.tz)
    with runtime.db.transaction() as s:
        schedules.set_week(
            s,
            clinic.doctor_ids[0],
            [{"weekday": day.weekday(), "starts": "09:00", "ends": "12:00",
              "breaks": [["10:00", "10:30"]], "slot_minutes": 25}],
        )  # fmt: skip
    body = {"patient_id": clinic.patient_ids[0], "doctor_id": clinic.doctor_ids[0]}
    for off_grid in (
        iso(clinic.at(day, 9, 7)),
        f"{day}T09:25:30+05:00",
        iso(clinic.at(day, 10, 40)),
    ):
        refused = client.post("/api/v1/visits", json={**body, "starts_at": off_grid})
        assert refused.status_code == 422, (off_grid, refused.get_json())
        assert refused.get_json()["code"] == "outside_hours"
        assert "starts_at" in refused.get_json()["errors"]
    # The grid: 09:00, 09:25, then (09:50 would run into the break) 10:30, 10:55, 11:20.
    after_break = client.post(
        "/api/v1/visits", json={**body, "starts_at": iso(clinic.at(day, 10, 30))}
    )
    assert after_break.status_code == 201, after_break.get_json()
    with runtime.db.session() as s:
        found = slots.free_slots(
            s, tz=clinic.tz, first_day=day, last_day=day, doctor_id=clinic.doctor_ids[0],
            now=clinic.at(day, 8), limit=None,
        )  # fmt: skip
    assert [x["starts_at"] for x in found] == [
        clinic.at(day, 9), clinic.at(day, 9, 25), clinic.at(day, 10, 55), clinic.at(day, 11, 20)
    ]  # fmt: skip


def test_dates_past_the_calendars_reach_are_a_422_naming_the_field(runtime, client):
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    visit = _book(runtime, clinic, clinic.at(day, 9))
    doctor = clinic.doctor_ids[0]
    far = "9999-12-31T23:00:00-05:00"
    asked = {
        "starts_at": client.post(
            "/api/v1/visits",
            json={"patient_id": clinic.patient_ids[1], "doctor_id": doctor, "starts_at": far},
        ),
        "starts_at ": client.post(
            f"/api/v1/visits/{visit.id}/reschedule", json={"starts_at": far, "reason": "x"}
        ),
        "from": client.get(
            f"/api/v1/visits/slots?doctor_id={doctor}&from=9999-12-31&to=9999-12-31"
        ),
        "to": client.get(f"/api/v1/visits/slots?doctor_id={doctor}&from={day}&to=9999-12-31"),
        "day": client.get("/api/v1/visits?day=0001-01-01"),
        "day ": client.get("/api/v1/visits?day=9999-12-31"),
        "last_day": client.post(
            f"/api/v1/doctors/{doctor}/away",
            json={"kind": "leave", "first_day": "9999-12-30", "last_day": "9999-12-31"},
        ),
    }
    for field, response in asked.items():
        assert response.status_code == 422, (field, response.get_json())
        assert field.strip() in response.get_json()["errors"], (field, response.get_json())
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Visit)) == 1
        assert s.scalar(select(func.count()).select_from(VisitMove)) == 0


def test_a_move_to_the_visits_own_time_is_refused_and_asks_no_worker(runtime, client):
    clinic = make_clinic(runtime, doctors=2)
    day = next_week_day(runtime.settings.tz)
    visit = _book(runtime, clinic, clinic.at(day, 9))
    for doctor_id in (None, clinic.doctor_ids[0]):
        same = client.post(
            f"/api/v1/visits/{visit.id}/reschedule",
            json={"starts_at": iso(clinic.at(day, 9)), "doctor_id": doctor_id, "reason": "x"},
        )
        assert same.status_code == 422, same.get_json()
        assert "starts_at" in same.get_json()["errors"]
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(VisitMove)) == 0
        assert s.scalar(select(func.count()).select_from(Job)) == 0
    # The same time with another doctor is a move.
    other = client.post(
        f"/api/v1/visits/{visit.id}/reschedule",
        json={"starts_at": iso(clinic.at(day, 9)), "doctor_id": clinic.doctor_ids[1],
              "reason": "другой врач"},
    )  # fmt: skip
    assert other.status_code == 202, other.get_json()


def test_an_arrived_visit_without_a_queue_moved_to_another_day_is_scheduled_again(runtime):
    clinic = make_clinic(runtime, **ALL_DAY)  # no queue: check-in issues no ticket
    tz = runtime.settings.tz
    # The slot running now, booked an hour ago: today's whatever the hour (half an hour
    # later is tomorrow after 23:30, where today's check-in would be refused).
    starts = slot_near(runtime)
    visit = _book(runtime, clinic, starts, now=starts - timedelta(hours=1))
    with runtime.db.transaction() as s:
        assert checkin.check_in(s, s.get(Visit, visit.id), tz=tz) is None
    with runtime.db.transaction() as s:
        job = rescheduling.request_move(
            s, visit.id, starts_at=starts + timedelta(days=1), reason="не смог остаться"
        )
    with runtime.db.transaction() as s:
        rescheduling.carry_out(s, job.id, tz=tz, max_moves=3)
    with runtime.db.session() as s:
        moved = s.get(Visit, visit.id)
        assert moved.status == VisitStatus.SCHEDULED
        actions = [h["action"] for h in v.history(s, moved)]
    assert actions == ["booked", "arrived", "back_to_scheduled", "rescheduled"]
    # ... so the patient checks in on the new day, and a no-show can be told apart.
    with runtime.db.transaction() as s:
        checkin.check_in(s, s.get(Visit, visit.id), tz=tz, now=starts + timedelta(days=1))


def test_an_absence_longer_than_one_search_is_refused_before_the_doctor_is_marked_away(
    runtime, client
):
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    _book(runtime, clinic, clinic.at(day, 9))
    too_long = client.post(
        f"/api/v1/doctors/{clinic.doctor_ids[0]}/away",
        json={"kind": "leave", "first_day": str(day), "last_day": str(day + timedelta(days=50)),
              "search_days": 14},
    )  # fmt: skip
    assert too_long.status_code == 422, too_long.get_json()
    assert "last_day" in too_long.get_json()["errors"]
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ScheduleException)) == 0
        assert s.scalar(select(func.count()).select_from(Job)) == 0
    fits = client.post(
        f"/api/v1/doctors/{clinic.doctor_ids[0]}/away",
        json={"kind": "leave", "first_day": str(day), "last_day": str(day + timedelta(days=50)),
              "search_days": 11},
    )  # fmt: skip
    assert fits.status_code == 202, fits.get_json()


def test_an_inactive_doctor_has_no_free_slots(runtime, client):
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    with runtime.db.transaction() as s:
        reference.deactivate_doctor(s, clinic.doctor_ids[0])
    found = client.get(f"/api/v1/visits/slots?doctor_id={clinic.doctor_ids[0]}&from={day}&to={day}")
    assert found.status_code == 200 and found.get_json() == []


def test_two_saves_of_one_doctors_week_at_once_leave_one_week(runtime):
    clinic = make_clinic(runtime)
    doctor_id = clinic.doctor_ids[0]
    week = [{"weekday": d, "starts": "10:00", "ends": "14:00"} for d in range(7)]
    first_saved, failures = threading.Event(), []

    def first():
        try:
            with runtime.db.transaction() as s:
                schedules.set_week(s, doctor_id, week)
                first_saved.set()
                threading.Event().wait(0.5)  # the second save starts meanwhile
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)

    def second():
        first_saved.wait(5)
        try:
            with runtime.db.transaction() as s:
                schedules.set_week(s, doctor_id, week)
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not failures, failures
    with runtime.db.session() as s:
        rows = s.scalar(
            select(func.count())
            .select_from(WorkingHours)
            .where(WorkingHours.doctor_id == doctor_id)
        )
    assert rows == 7


def test_cancelling_an_arrived_visit_takes_its_ticket_out_of_the_queue(runtime, client):
    clinic = make_clinic(runtime, **ALL_DAY)
    with runtime.db.transaction() as s:
        queue_admin.create_queue(
            s,
            {"code": f"c{clinic.department_id}", "department_id": clinic.department_id,
             "closes_at": wall_time(23, 59, 59, 999999)},
        )  # fmt: skip
    starts = slot_near(runtime)  # today's at any hour, as above
    visit = _book(runtime, clinic, starts, now=starts - timedelta(hours=1))
    arrived = client.post(f"/api/v1/visits/{visit.id}/check-in", json={})
    assert arrived.status_code == 200, arrived.get_json()
    ticket_id = arrived.get_json()["ticket_id"]
    cancelled = client.post(
        f"/api/v1/visits/{visit.id}/cancel", json={"by": "patient", "reason": "ушёл"}
    )
    assert cancelled.status_code == 200, cancelled.get_json()
    assert cancelled.get_json()["ticket"]["status"] == TicketStatus.CANCELLED
    with runtime.db.session() as s:
        assert s.get(Ticket, ticket_id).status == TicketStatus.CANCELLED


def _checked_in_beside_a_laboratory(runtime, client):
    """A visit of today checked in to its department's shared queue, and the department's
    laboratory queue: (the visit, the shared queue's id, the laboratory's)."""
    clinic = make_clinic(runtime, **ALL_DAY)
    queues = []
    with runtime.db.transaction() as s:
        for code, prefix in (("c", None), ("lab", "LB")):
            queues.append(
                queue_admin.create_queue(
                    s,
                    {"code": f"{code}{clinic.department_id}", "department_id": clinic.department_id,
                     "closes_at": wall_time(23, 59, 59, 999999),
                     **({"prefix": prefix} if prefix else {})},
                ).id
            )  # fmt: skip
    starts = slot_near(runtime)  # today's at any hour, as above
    visit = _book(runtime, clinic, starts, now=starts - timedelta(hours=1))
    assert client.post(f"/api/v1/visits/{visit.id}/check-in", json={}).status_code == 200
    return visit, queues[0], queues[1]


def test_cancelling_the_visit_of_a_patient_sent_to_the_laboratory_brings_nobody_back(
    runtime, client
):
    visit, shared, lab_queue = _checked_in_beside_a_laboratory(runtime, client)
    # Called, and sent for a blood test first, to come back to the doctor.
    called = client.post(f"/api/v1/queues/{shared}/call-next", json={}).get_json()["id"]
    sent = client.post(
        f"/api/v1/tickets/{called}/transfer", json={"to_queue_id": lab_queue, "return_after": True}
    )
    assert sent.status_code == 200, sent.get_json()
    cancelled = client.post(
        f"/api/v1/visits/{visit.id}/cancel", json={"by": "patient", "reason": "ушёл"}
    )
    assert cancelled.status_code == 200, cancelled.get_json()
    lab = client.get(f"/api/v1/tickets/{sent.get_json()['id']}").get_json()
    assert lab["status"] == TicketStatus.CANCELLED
    assert client.post(f"/api/v1/queues/{lab_queue}/call-next", json={}).status_code == 204


def test_a_visit_completed_while_its_patient_is_at_the_laboratory_calls_nobody_back(
    runtime, client
):
    """The doctor sent him for a blood test to come back, then closed the visit on the
    calendar: the laboratory still sees him, but no return ticket brings him to the shared
    queue, where a colleague would call him for a visit that is over."""
    visit, shared, lab_queue = _checked_in_beside_a_laboratory(runtime, client)
    called = client.post(f"/api/v1/queues/{shared}/call-next", json={}).get_json()["id"]
    assert client.post(f"/api/v1/visits/{visit.id}/start", json={}).status_code == 200
    sent = client.post(
        f"/api/v1/tickets/{called}/transfer", json={"to_queue_id": lab_queue, "return_after": True}
    )
    assert sent.status_code == 200, sent.get_json()
    done = client.post(f"/api/v1/visits/{visit.id}/complete", json={})
    assert done.status_code == 200 and done.get_json()["status"] == "completed"
    lab = client.post(f"/api/v1/queues/{lab_queue}/call-next", json={}).get_json()
    assert lab["id"] == sent.get_json()["id"] and lab["return_to_queue_id"] is None
    for step in ("start", "finish"):
        assert client.post(f"/api/v1/tickets/{lab['id']}/{step}", json={}).status_code == 200
    assert client.post(f"/api/v1/queues/{shared}/call-next", json={}).status_code == 204


def test_hours_may_end_at_midnight_and_the_days_last_slot_is_booked_on_that_day(runtime, client):
    clinic = make_clinic(runtime)
    tz = runtime.settings.tz
    day = next_week_day(tz)
    doctor = clinic.doctor_ids[0]
    week = {"days": [{"weekday": day.weekday(), "starts": "22:00", "ends": "24:00",
                      "slot_minutes": 30}]}  # fmt: skip
    saved = client.put(f"/api/v1/doctors/{doctor}/schedule", json=week)
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["days"][0]["ends"] == "24:00"
    assert client.get(f"/api/v1/doctors/{doctor}/schedule").get_json()["days"][0]["ends"] == "24:00"
    found = client.get(f"/api/v1/visits/slots?doctor_id={doctor}&from={day}&to={day}").get_json()
    assert [x["local_time"][-5:] for x in found] == ["22:00", "22:30", "23:00", "23:30"]
    assert found[-1]["ends_at"] == iso(clinic.at(day + timedelta(days=1), 0))
    last = client.post(
        "/api/v1/visits",
        json={"patient_id": clinic.patient_ids[0], "doctor_id": doctor,
              "starts_at": iso(clinic.at(day, 23, 30))},
    )  # fmt: skip
    assert last.status_code == 201, last.get_json()
    listed = client.get(f"/api/v1/visits?day={day}&doctor_id={doctor}").get_json()
    assert [x["id"] for x in listed] == [last.get_json()["id"]]
    assert (
        client.get(f"/api/v1/visits?day={day + timedelta(days=1)}&doctor_id={doctor}").get_json()
        == []
    )
    midnight = client.post(
        "/api/v1/visits",
        json={"patient_id": clinic.patient_ids[1], "doctor_id": doctor,
              "starts_at": iso(clinic.at(day + timedelta(days=1), 0))},
    )  # fmt: skip
    assert midnight.status_code == 422 and midnight.get_json()["code"] == "outside_hours"
    # Only the end of hours may be 24:00.
    bad = {"days": [{"weekday": 0, "starts": "24:00", "ends": "24:00"}]}
    refused = client.put(f"/api/v1/doctors/{doctor}/schedule", json=bad)
    assert refused.status_code == 422 and "days.0.starts" in refused.get_json()["errors"]


def _ultrasound(runtime, clinic, code: str):
    """A 40-minute service of the clinic's department."""
    with runtime.db.transaction() as s:
        return price_list.create_service(
            s,
            {"code": code, "name_ru": "УЗИ", "name_uz": "UTT", "name_en": "Ultrasound",
             "price": 1, "duration_minutes": 40, "department_id": clinic.department_id},
        )  # fmt: skip


def test_a_services_free_slots_are_the_starts_where_the_whole_service_fits(runtime, client):
    clinic = make_clinic(runtime, hours=("09:00", "10:40"), slot=20)
    day = next_week_day(runtime.settings.tz)
    long_one = _ultrasound(runtime, clinic, "ECHO-1")
    _book(runtime, clinic, clinic.at(day, 9, 40))
    found = client.get(
        f"/api/v1/visits/slots?service_id={long_one.id}&from={day}&to={day}"
    ).get_json()
    # 09:20 runs into the 09:40 visit and 10:20 past the end of the hours.
    assert [x["local_time"][-5:] for x in found] == ["09:00", "10:00"]
    assert found[0]["ends_at"] == iso(clinic.at(day, 9, 40))
    for slot in found:
        booked = client.post(
            "/api/v1/visits",
            json={"patient_id": clinic.patient_ids[1], "doctor_id": slot["doctor_id"],
                  "starts_at": slot["starts_at"], "service_ids": [long_one.id]},
        )  # fmt: skip
        assert booked.status_code == 201, booked.get_json()
        client.post(
            f"/api/v1/visits/{booked.get_json()['id']}/cancel",
            json={"by": "clinic", "reason": "проверка"},
        )
    # Without a service a slot is one slot long, as before.
    plain = client.get(
        f"/api/v1/visits/slots?doctor_id={clinic.doctor_ids[0]}&from={day}&to={day}"
    ).get_json()
    assert [x["local_time"][-5:] for x in plain] == ["09:00", "09:20", "10:00", "10:20"]


def test_a_doctor_has_no_free_slots_for_a_service_he_does_not_offer(runtime, client):
    clinic = make_clinic(runtime, hours=("09:00", "10:00"), slot=20)
    other = make_clinic(runtime)  # another department and its consultation
    day = next_week_day(runtime.settings.tz)
    doctor = clinic.doctor_ids[0]

    def starts(service_id: int) -> list[str]:
        found = client.get(
            f"/api/v1/visits/slots?doctor_id={doctor}&service_id={service_id}&from={day}&to={day}"
        )
        assert found.status_code == 200, found.get_json()
        return [x["local_time"][-5:] for x in found.get_json()]

    assert starts(clinic.service_id) == ["09:00", "09:20", "09:40"]
    # Each of these slots would be refused as service_not_offered: none is listed.
    assert starts(other.service_id) == []
    refused = client.post(
        "/api/v1/visits",
        json={"patient_id": clinic.patient_ids[0], "doctor_id": doctor,
              "starts_at": iso(clinic.at(day, 9)), "service_ids": [other.service_id]},
    )  # fmt: skip
    assert refused.get_json()["code"] == "service_not_offered"


def test_a_visit_is_not_moved_to_an_inactive_doctor(runtime, client):
    clinic = make_clinic(runtime, doctors=2)
    day = next_week_day(runtime.settings.tz)
    visit = _book(runtime, clinic, clinic.at(day, 9))
    with runtime.db.transaction() as s:
        reference.deactivate_doctor(s, clinic.doctor_ids[1])
    refused = client.post(
        f"/api/v1/visits/{visit.id}/reschedule",
        json={"starts_at": iso(clinic.at(day, 10)), "doctor_id": clinic.doctor_ids[1],
              "reason": "к другому врачу"},
    )  # fmt: skip
    assert refused.status_code == 422, refused.get_json()
    assert "doctor_id" in refused.get_json()["errors"]
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(VisitMove)) == 0


def test_a_long_service_has_a_free_slot_where_one_seat_stays_free_for_all_its_minutes(runtime):
    # Two places per slot: one patient at 09:00 and one at 09:20 both sit in the first place,
    # so the second is free from 09:00 to 09:40 and a 40-minute service fits at 09:00.
    clinic = make_clinic(runtime, patients=3, capacity=2)
    tz = runtime.settings.tz
    day = next_week_day(tz)
    long_one = _ultrasound(runtime, clinic, "ECHO-2")
    first = _book(runtime, clinic, clinic.at(day, 9), patient=0)
    second = _book(runtime, clinic, clinic.at(day, 9, 20), patient=1)
    assert first.seat == second.seat == 0
    with runtime.db.session() as s:
        found = slots.free_slots(s, tz=tz, first_day=day, last_day=day, service_id=long_one.id)
    at_nine = [x for x in found if x["starts_at"] == clinic.at(day, 9)]
    assert [x["free"] for x in at_nine] == [1]
    booked = _book(runtime, clinic, clinic.at(day, 9), patient=2, service_ids=[long_one.id])
    assert booked.seat == 1
    with runtime.db.session() as s:
        found = slots.free_slots(s, tz=tz, first_day=day, last_day=day, service_id=long_one.id)
    assert not [x for x in found if x["starts_at"] == clinic.at(day, 9)]


def test_a_doctors_schedule_lists_the_days_off_still_to_come_however_many_went_before(
    runtime, client
):
    from datetime import timedelta

    from clinic.base import utcnow
    from clinic.visits import schedules as sched

    clinic = make_clinic(runtime)
    doctor = clinic.doctor_ids[0]
    today = utcnow().astimezone(runtime.settings.tz).date()
    with runtime.db.transaction() as s:
        for week in range(1, 221):  # four years of Friday afternoons off, all past
            day = today - timedelta(weeks=week)
            sched.add_exception(s, kind="leave", first_day=day, last_day=day, doctor_id=doctor)
        for first, last in (
            (today - timedelta(days=1), today + timedelta(days=1)),
            (today + timedelta(days=30), today + timedelta(days=34)),
        ):
            sched.add_exception(s, kind="leave", first_day=first, last_day=last, doctor_id=doctor)
    listed = client.get(f"/api/v1/doctors/{doctor}/schedule").get_json()["exceptions"]
    assert [(e["first_day"], e["last_day"]) for e in listed] == [
        ((today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()),
        ((today + timedelta(days=30)).isoformat(), (today + timedelta(days=34)).isoformat()),
    ]


def test_a_week_is_held_in_a_working_room_of_the_doctors_department_or_a_shared_one(
    runtime, client
):
    """A week in another department's room or a room no longer used would book patients
    into a door they must not knock on: refused naming the row's room_id, the week kept."""
    clinic = make_clinic(runtime)
    doctor, own = clinic.doctor_ids[0], clinic.room_ids[0]
    theirs = make_clinic(runtime).room_ids[0]
    shared = client.post("/api/v1/rooms", json={"number": "h-1"}).get_json()["id"]
    closed = client.post(
        "/api/v1/rooms", json={"number": "o-1", "department_id": clinic.department_id}
    ).get_json()["id"]
    assert client.post(f"/api/v1/rooms/{closed}/deactivate").status_code == 200
    url = f"/api/v1/doctors/{doctor}/schedule"
    before = client.get(url).get_json()["days"]

    def week(room_id) -> dict:
        hours = {"starts": "09:00", "ends": "13:00"}
        return {"days": [{"weekday": 0, **hours, "room_id": own},
                         {"weekday": 1, **hours, "room_id": room_id}]}  # fmt: skip

    for room_id, said in ((theirs, "a room of another department"),
                          (closed, "the room is deactivated")):  # fmt: skip
        refused = client.put(url, json=week(room_id))
        assert refused.status_code == 422, refused.get_json()
        assert refused.get_json()["errors"] == {"days.1.room_id": [said]}
    assert client.get(url).get_json()["days"] == before
    for room_id in (own, shared, None):
        saved = client.put(url, json=week(room_id))
        assert saved.status_code == 200, saved.get_json()
        assert saved.get_json()["days"][1]["room_id"] == room_id


def test_a_week_whose_room_was_closed_since_books_into_the_doctors_own_room_or_none(
    runtime, client
):
    """A room deactivated after the week was saved takes no more patients: the free slots
    and the booking both name the doctor's own working room instead, or no room at all."""
    clinic = make_clinic(runtime, patients=3)
    doctor, own = clinic.doctor_ids[0], clinic.room_ids[0]
    day = next_week_day(runtime.settings.tz)
    shared = client.post("/api/v1/rooms", json={"number": f"c-{doctor}"}).get_json()["id"]
    week = [{"weekday": day.weekday(), "starts": "09:00", "ends": "10:00", "room_id": shared}]
    saved = client.put(f"/api/v1/doctors/{doctor}/schedule", json={"days": week})
    assert saved.status_code == 200, saved.get_json()

    def slot_rooms() -> set:
        found = client.get(f"/api/v1/visits/slots?doctor_id={doctor}&from={day}&to={day}")
        assert found.status_code == 200, found.get_json()
        return {slot["room_id"] for slot in found.get_json()}

    def book(hour, minute, patient) -> dict:
        body = {
            "patient_id": clinic.patient_ids[patient],
            "doctor_id": doctor,
            "starts_at": iso(clinic.at(day, hour, minute)),
        }
        booked = client.post("/api/v1/visits", json=body)
        assert booked.status_code == 201, booked.get_json()
        return booked.get_json()

    assert slot_rooms() == {shared} and book(9, 0, 0)["room_id"] == shared
    assert client.post(f"/api/v1/rooms/{shared}/deactivate").status_code == 200
    assert slot_rooms() == {own} and book(9, 20, 1)["room_id"] == own
    assert client.post(f"/api/v1/rooms/{own}/deactivate").status_code == 200
    assert slot_rooms() == {None} and book(9, 40, 2)["room_id"] is None
    with runtime.db.session() as s:
        rooms = s.scalars(select(Visit.room_id).where(Visit.doctor_id == doctor)).all()
    # Those booked into a room since closed have followed it: no patient goes to its door.
    assert rooms == [None, None, None]


def test_the_times_a_visit_may_move_to_count_its_own_time_as_free(runtime, client):
    """A 40-minute visit at 09:00, the patient asks for twenty minutes later: 09:20 overlaps
    only the visit itself, and is offered for its move (and taken)."""
    clinic = make_clinic(runtime, hours=("09:00", "10:40"), slot=20)
    day = next_week_day(runtime.settings.tz)
    long_one = _ultrasound(runtime, clinic, "ECHO-2")
    visit = _book(runtime, clinic, clinic.at(day, 9, 0), service_ids=[long_one.id])
    query = f"/api/v1/visits/slots?service_id={long_one.id}&from={day}&to={day}"
    assert [x["local_time"][-5:] for x in client.get(query).get_json()] == ["09:40", "10:00"]
    moving = client.get(f"{query}&visit_id={visit.id}").get_json()
    assert [x["local_time"][-5:] for x in moving] == ["09:20", "09:40", "10:00"]
    with runtime.db.transaction() as s:
        rescheduling.move_visit(
            s, v.get_visit(s, visit.id, lock=True), starts_at=clinic.at(day, 9, 20),
            doctor_id=None, tz=runtime.settings.tz, max_moves=3, actor="desk", reason="позже",
            now=clinic.at(day, 8, 0),
        )  # fmt: skip
    # A visit that does not exist is said at its field.
    missing = client.get(f"{query}&visit_id=999999")
    assert missing.status_code == 404 and "visit_id" in missing.get_json()["errors"]


@pytest.mark.parametrize("doctor_id", ["99999999999999999999", "2147483648", "999999"])
def test_marking_away_a_doctor_that_cannot_exist_is_404_and_marks_nothing(
    runtime, client, doctor_id
):
    day = next_week_day(runtime.settings.tz)
    answer = client.post(
        f"/api/v1/doctors/{doctor_id}/away",
        json={"kind": "leave", "first_day": str(day), "last_day": str(day + timedelta(days=1))},
    )
    assert answer.status_code == 404, answer.get_json()
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ScheduleException)) == 0
        assert s.scalar(select(func.count()).select_from(Job)) == 0
