"""A registrar's and a doctor's day with the calendar: the slots at a day's edges, booking,
moving, cancelling, checking in and who may do what, as the desk meets them."""

from __future__ import annotations

from datetime import timedelta

from clinic.base import iso
from clinic.reference import directory as reference
from clinic.reference import price_list
from clinic.visits import booking, cancelling, notify, reminders, rescheduling
from clinic.visits.events import VisitStatus
from clinic.visits.models import Visit
from tests.visits.conftest import ALL_DAY, clear_of_midnight, make_clinic, next_week_day, slot_near


def _book(runtime, clinic, starts, *, patient=0, doctor=0, **kwargs) -> Visit:
    with runtime.db.transaction() as s:
        return booking.book(
            s, patient_id=clinic.patient_ids[patient], doctor_id=clinic.doctor_ids[doctor],
            starts_at=starts, tz=runtime.settings.tz, actor="desk", **kwargs,
        )  # fmt: skip


def _week(starts, ends, **row):
    return [
        {"weekday": d, "starts": starts, "ends": ends, "slot_minutes": 20, **row} for d in range(7)
    ]


def _starts(client, clinic, day, **query) -> list[str]:
    """The clinic-time starts of the doctor's free slots of ``day``."""
    answer = client.get(
        "/api/v1/visits/slots",
        query_string={"doctor_id": clinic.doctor_ids[0], "from": day.isoformat(),
                      "to": day.isoformat(), **query},
    )  # fmt: skip
    assert answer.status_code == 200, answer.get_json()
    return [slot["local_time"][-5:] for slot in answer.get_json()]


def _post(client, clinic, day, hour, minute=0, *, patient=0, **extra):
    return client.post(
        "/api/v1/visits",
        json={"patient_id": clinic.patient_ids[patient], "doctor_id": clinic.doctor_ids[0],
              "starts_at": iso(clinic.at(day, hour, minute)), **extra},
    )  # fmt: skip


def _refused(answer, status, code, field):
    body = answer.get_json()
    assert (answer.status_code, body.get("code")) == (status, code), body
    assert field in body["errors"], body


# --- free slots at a day's edges -----------------------------------------------------------


def test_a_service_is_offered_only_where_it_fits_before_lunch_and_before_the_end(runtime, client):
    """20-minute slots 16:00-24:00 with lunch 18:00-18:20: a 40-minute service starts where
    two free slots follow each other; none at 17:40 (lunch), 23:40 (midnight ends the day)
    or a slot already taken; booking one of those starts is refused as the slots said."""
    clinic = make_clinic(runtime, patients=2)
    day = next_week_day(clinic.tz)
    week = _week("16:00", "24:00", breaks=[["18:00", "18:20"]])
    assert client.put(f"/api/v1/doctors/{clinic.doctor_ids[0]}/schedule", json={"days": week})
    with runtime.db.transaction() as s:
        long_id = price_list.create_service(
            s, {"code": f"LONG-{clinic.department_id}", "name_ru": "Обследование",
                "name_uz": "Tekshiruv", "name_en": "Check-up", "price": 1,
                "duration_minutes": 40, "department_id": clinic.department_id},
        ).id  # fmt: skip
    _book(runtime, clinic, clinic.at(day, 20))
    plain = _starts(client, clinic, day)
    assert plain[:6] == ["16:00", "16:20", "16:40", "17:00", "17:20", "17:40"]
    assert "18:00" not in plain and plain[6] == "18:20"
    assert "20:00" not in plain and plain[-1] == "23:40"
    long = _starts(client, clinic, day, service_id=long_id)
    assert "17:20" in long and "17:40" not in long and "18:20" in long
    assert "19:40" not in long and "20:00" not in long and "20:20" in long
    assert long[-1] == "23:20"
    for hour, minute in ((17, 40), (23, 40)):
        _refused(
            _post(client, clinic, day, hour, minute, patient=1, service_ids=[long_id]),
            422, "outside_hours", "starts_at",
        )  # fmt: skip
    _refused(
        _post(client, clinic, day, 19, 40, patient=1, service_ids=[long_id]),
        409, "doctor_busy", "starts_at",
    )  # fmt: skip
    booked = _post(client, clinic, day, 23, 20, patient=1, service_ids=[long_id])
    assert booked.status_code == 201, booked.get_json()
    assert booked.get_json()["ends_at"] == iso(clinic.at(day + timedelta(days=1), 0))


def test_a_week_with_a_clinic_holiday_offers_no_slot_that_day_and_lists_its_visits(runtime, client):
    """A holiday on the week's third day: the week's slots skip it for every doctor, its
    booked visits (both doctors') are listed to move, and booking into it is refused."""
    clinic = make_clinic(runtime, doctors=2, patients=3, hours=("09:00", "10:00"))
    monday = next_week_day(clinic.tz)
    holiday = monday + timedelta(days=2)
    on_it = [_book(runtime, clinic, clinic.at(holiday, 9), patient=i, doctor=i) for i in (0, 1)]
    declared = client.post(
        "/api/v1/schedule-exceptions",
        json={"kind": "holiday", "first_day": holiday.isoformat(),
              "last_day": holiday.isoformat(), "note": "Navruz"},
    )  # fmt: skip
    assert declared.status_code == 201, declared.get_json()
    assert sorted(declared.get_json()["visits_to_move"]) == sorted(v.id for v in on_it)
    week = client.get(
        "/api/v1/visits/slots",
        query_string={"department_id": clinic.department_id, "from": monday.isoformat(),
                      "to": (monday + timedelta(days=6)).isoformat()},
    ).get_json()  # fmt: skip
    days = {slot["local_time"][:10] for slot in week}
    assert holiday.isoformat() not in days and len(days) == 6
    assert len(week) == 6 * 2 * 3
    _refused(_post(client, clinic, holiday, 9, 20, patient=2), 422, "doctor_away", "starts_at")


# --- the desk's day ------------------------------------------------------------------------


def test_a_slot_cancelled_is_booked_again_and_a_visit_moved_twice_keeps_both_moves(runtime, client):
    clinic = make_clinic(runtime, patients=2)
    day = next_week_day(clinic.tz)
    first = _post(client, clinic, day, 9).get_json()
    cancelled = client.post(
        f"/api/v1/visits/{first['id']}/cancel", json={"by": "patient", "reason": "cannot come"}
    )
    assert cancelled.status_code == 200, cancelled.get_json()
    assert "09:00" in _starts(client, clinic, day)
    again = _post(client, clinic, day, 9, patient=1)
    assert again.status_code == 201, again.get_json()
    visit_id = again.get_json()["id"]
    for hour, reason in ((10, "late bus"), (11, "later still")):
        with runtime.db.transaction() as s:
            job_id = rescheduling.request_move(
                s, visit_id, starts_at=clinic.at(day, hour), reason=reason, actor="desk"
            ).id
        with runtime.db.transaction() as s:
            assert rescheduling.carry_out(s, job_id, tz=clinic.tz, max_moves=3)["moved"]
    shown = client.get(f"/api/v1/visits/{visit_id}").get_json()
    assert shown["starts_at"] == iso(clinic.at(day, 11)) and shown["moves"] == 2
    moves = [h["data"] for h in shown["history"] if h["action"] == "rescheduled"]
    assert [(m["from"]["starts_at"], m["to"]["starts_at"], m["reason"]) for m in moves] == [
        (iso(clinic.at(day, 9)), iso(clinic.at(day, 10)), "late bus"),
        (iso(clinic.at(day, 10)), iso(clinic.at(day, 11)), "later still"),
    ]
    assert _starts(client, clinic, day)[:5] == ["09:00", "09:20", "09:40", "10:00", "10:20"]


def test_check_in_is_today_once_and_never_for_a_cancelled_visit(runtime, client):
    """The patient of the slot running now checks in (his visit is arrived); a second
    check-in, a cancelled visit's, tomorrow's visit's and one of a doctor who has left are
    409s saying why."""
    clinic = make_clinic(runtime, doctors=3, patients=4, **ALL_DAY)
    clear_of_midnight(runtime)
    now = slot_near(runtime)
    here = _book(runtime, clinic, now, now=now - timedelta(hours=1))
    gone = _book(runtime, clinic, now, patient=1, doctor=1, now=now - timedelta(hours=1))
    tomorrow = _book(runtime, clinic, now + timedelta(days=1), patient=2)
    left = _book(runtime, clinic, now, patient=3, doctor=2, now=now - timedelta(hours=1))
    client.post(f"/api/v1/visits/{gone.id}/cancel", json={"by": "patient", "reason": "ill"})
    with runtime.db.transaction() as s:
        reference.deactivate_doctor(s, clinic.doctor_ids[2])

    arrived = client.post(f"/api/v1/visits/{here.id}/check-in", json={})
    assert arrived.status_code == 200 and arrived.get_json()["status"] == "arrived"
    _refused(client.post(f"/api/v1/visits/{here.id}/check-in", json={}),
             409, "status_changed", "visit_id")  # fmt: skip
    _refused(client.post(f"/api/v1/visits/{gone.id}/check-in", json={}),
             409, "status_changed", "visit_id")  # fmt: skip
    _refused(client.post(f"/api/v1/visits/{tomorrow.id}/check-in", json={}),
             409, "not_today", "visit_id")  # fmt: skip
    # His doctor has left: the registrar moves the visit to a colleague first, rather than
    # leave the patient waiting for a doctor who is not there.
    _refused(client.post(f"/api/v1/visits/{left.id}/check-in", json={}),
             409, "doctor_away", "visit_id")  # fmt: skip
    assert client.get(f"/api/v1/visits/{left.id}").get_json()["status"] == "scheduled"


def test_a_cashier_cannot_book_and_a_doctor_reads_only_his_own_day(runtime, client_as):
    clinic = make_clinic(runtime)
    day = next_week_day(clinic.tz)
    cashier = client_as("cashier")
    assert _post(cashier, clinic, day, 9).status_code == 403
    doctor = client_as("doctor")
    assert _post(doctor, clinic, day, 9).status_code == 403
    own = doctor.get(f"/api/v1/visits?day={day}")
    assert own.status_code == 200 and own.get_json() == []
    other = doctor.get(f"/api/v1/visits?day={day}&doctor_id={clinic.doctor_ids[0]}")
    assert other.status_code == 403 and "doctor_id" in other.get_json()["errors"]
    registrar = client_as("registrar")
    assert _post(registrar, clinic, day, 9).status_code == 201


# --- hours cut short ------------------------------------------------------------------------


def test_a_visit_left_in_hours_the_doctor_no_longer_works_is_cancelled_by_the_clinic(
    runtime, client
):
    """His hours were cut to 09:00-11:00 with a patient booked at 12:00, listed to move and
    not moved: nobody was there to see him, so the day's sweep cancels it as the clinic's,
    as it does a visit left on a day off, and does not count the patient a no-show."""
    clinic = make_clinic(runtime, patients=2)
    day = next_week_day(runtime.settings.tz)
    kept = _book(runtime, clinic, clinic.at(day, 9))
    left = _book(runtime, clinic, clinic.at(day, 12), patient=1)
    answer = client.put(
        f"/api/v1/doctors/{clinic.doctor_ids[0]}/schedule",
        json={"days": _week("09:00", "11:00")},
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["visits_to_move"] == [left.id]
    with runtime.db.transaction() as s:
        marked = cancelling.mark_no_shows(s, grace_minutes=30, now=clinic.at(day, 14), tz=clinic.tz)
    assert marked == [kept.id]
    with runtime.db.session() as s:
        assert s.get(Visit, kept.id).status == VisitStatus.NO_SHOW
        cancelled = s.get(Visit, left.id)
        assert (cancelled.status, cancelled.cancelled_by) == (VisitStatus.CANCELLED, "clinic")
        assert not cancelled.late_cancellation and "hours" in cancelled.cancel_reason


class _Outbox:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append(to)


def test_no_reminder_sends_a_patient_to_hours_his_doctor_no_longer_works(runtime, client):
    """Hours cut to 09:00-12:00 over two patients booked after noon: neither is reminded
    while his visit waits for the registrar (one reminder held back by the mail server is
    dropped, not sent); the hours given back, both are reminded of their time."""
    clinic = make_clinic(runtime, patients=2)
    tz, day = clinic.tz, next_week_day(clinic.tz)
    held = _book(runtime, clinic, clinic.at(day, 12), notify_email="a@example.test")
    with runtime.db.transaction() as s:  # written while the mail server was down
        assert reminders.write_reminders(s, hours=24, tz=tz, now=clinic.at(day, 8)) == 1
    later = _book(runtime, clinic, clinic.at(day, 12, 40), patient=1, notify_email="b@example.test")

    cut = client.put(
        f"/api/v1/doctors/{clinic.doctor_ids[0]}/schedule", json={"days": _week("09:00", "12:00")}
    )
    assert cut.get_json()["visits_to_move"] == [held.id, later.id]
    with runtime.db.transaction() as s:
        assert reminders.write_reminders(s, hours=24, tz=tz, now=clinic.at(day, 8)) == 0
    outbox = _Outbox()
    notify.send_notices(runtime.db.sessionmaker, outbox, lease_seconds=5, tz=tz)
    assert outbox.sent == []

    back = client.put(
        f"/api/v1/doctors/{clinic.doctor_ids[0]}/schedule", json={"days": _week("09:00", "13:00")}
    )
    assert back.get_json()["visits_to_move"] == []
    with runtime.db.transaction() as s:
        assert reminders.write_reminders(s, hours=24, tz=tz, now=clinic.at(day, 8)) == 2
    notify.send_notices(runtime.db.sessionmaker, outbox, lease_seconds=5, tz=tz)
    assert sorted(outbox.sent) == ["a@example.test", "b@example.test"]


# --- lists ---------------------------------------------------------------------------------


def test_a_patients_visits_are_listed_over_days_and_doctors_a_page_at_a_time(
    runtime, client, client_as
):
    """The desk asks when a patient comes next: his visits of every day and doctor, in time
    order, a page at a time, the cancelled one only when asked; with a day, that day's. A
    doctor's account sees only the patient's visits with him."""
    clinic = make_clinic(runtime, doctors=2, patients=2)
    day = next_week_day(clinic.tz)
    mine = [
        _book(runtime, clinic, clinic.at(day + timedelta(days=1), 10), doctor=1),
        _book(runtime, clinic, clinic.at(day, 9)),
        _book(runtime, clinic, clinic.at(day, 11), doctor=1),
    ]
    other = _book(runtime, clinic, clinic.at(day, 9, 20), patient=1)  # another patient's
    dropped = _book(runtime, clinic, clinic.at(day, 12))
    client.post(f"/api/v1/visits/{dropped.id}/cancel", json={"by": "patient", "reason": "x"})
    patient = clinic.patient_ids[0]

    def ids(answer):
        assert answer.status_code == 200, answer.get_json()
        return [visit["id"] for visit in answer.get_json()]

    in_order = [mine[1].id, mine[2].id, mine[0].id]
    assert ids(client.get(f"/api/v1/visits?patient_id={patient}")) == in_order
    assert ids(client.get(f"/api/v1/visits?patient_id={patient}&limit=2")) == in_order[:2]
    assert ids(client.get(f"/api/v1/visits?patient_id={patient}&limit=2&offset=2")) == [mine[0].id]
    assert ids(client.get(f"/api/v1/visits?patient_id={patient}&day={day}")) == in_order[:2]
    assert dropped.id in ids(
        client.get(f"/api/v1/visits?patient_id={patient}&include_cancelled=true")
    )
    assert ids(
        client.get(f"/api/v1/visits?patient_id={patient}&doctor_id={clinic.doctor_ids[1]}")
    ) == [mine[2].id, mine[0].id]
    day_page = client.get(f"/api/v1/visits?day={day}&department_id={clinic.department_id}&limit=2")
    assert ids(day_page) == [mine[1].id, other.id]  # the day's first two, of both patients

    neither = client.get("/api/v1/visits")
    assert neither.status_code == 422 and "day" in neither.get_json()["errors"]
    unknown = client.get("/api/v1/visits?patient_id=999999")
    assert unknown.status_code == 404 and "patient_id" in unknown.get_json()["errors"]
    doctor = client_as("doctor")
    assert ids(doctor.get(f"/api/v1/visits?patient_id={patient}")) == []


def test_fewer_places_per_slot_than_were_booked_lists_the_patients_over_them(runtime, client):
    """Two patients share the 09:00 slot of a doctor who took two; his week saved with one
    place per slot lists the second patient to move (the first keeps his time)."""
    clinic = make_clinic(runtime, patients=2, capacity=2)
    day = next_week_day(clinic.tz)
    first = _book(runtime, clinic, clinic.at(day, 9))
    second = _book(runtime, clinic, clinic.at(day, 9), patient=1)
    assert (first.seat, second.seat) == (0, 1)
    saved = client.put(
        f"/api/v1/doctors/{clinic.doctor_ids[0]}/schedule",
        json={"days": _week("09:00", "13:00", capacity=1)},
    )
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["visits_to_move"] == [second.id]
    assert "09:00" not in _starts(client, clinic, day)
