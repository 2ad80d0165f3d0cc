"""A doctor away with a colleague covering for him: the bulk move puts his patients in that
colleague's free slots only, and lists those who do not fit there."""

from __future__ import annotations

import copy

from sqlalchemy import select

from clinic import jobs
from clinic.base import iso
from clinic.jobs.models import Job
from clinic.reference import directory as reference
from clinic.visits import booking, bulk, schedules
from clinic.visits.models import ScheduleException, Visit
from tests.visits.conftest import make_clinic, next_week_day


def test_a_doctor_away_has_his_visits_moved_to_the_colleague_covering_for_him(runtime):
    clinic = make_clinic(runtime, doctors=3, patients=3, hours=("09:00", "13:00"), slot=20)
    away, covering, other = clinic.doctor_ids
    day = next_week_day(clinic.tz)
    with runtime.db.transaction() as s:
        booked = [
            booking.book(
                s, patient_id=clinic.patient_ids[i], doctor_id=away,
                starts_at=clinic.at(day, 9, 20 * i), tz=clinic.tz, actor="desk",
            ).id
            for i in range(3)
        ]  # fmt: skip
        # The colleague sees patients only until 09:40 that day: room for two of the three.
        schedules.set_date_hours(
            s, covering, day, [{"starts": "09:00", "ends": "09:40"}], today=day
        )
        _, job = bulk.start_bulk_move(
            s, away, kind="sick", first_day=day, last_day=day, search_days=0,
            to_doctor_id=covering, actor="chief",
        )  # fmt: skip
    result = bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=clinic.tz)
    assert result["to_doctor_id"] == covering
    assert sorted(m["visit_id"] for m in result["moved"]) == booked[:2]
    assert [u["visit_id"] for u in result["unplaced"]] == [booked[2]]
    with runtime.db.session() as s:
        visits = {v.id: v for v in s.scalars(select(Visit).where(Visit.id.in_(booked)))}
    # Placed at the colleague's, never at another colleague's free as he is; the one who
    # does not fit stays where he was, listed for the registrar to call.
    assert {visits[i].doctor_id for i in booked[:2]} == {covering}
    assert {visits[i].starts_at for i in booked[:2]} == {clinic.at(day, 9), clinic.at(day, 9, 20)}
    assert visits[booked[2]].doctor_id == away
    assert visits[booked[2]].starts_at == clinic.at(day, 9, 40)
    assert other not in {v.doctor_id for v in visits.values()}


def test_a_covering_colleague_who_cannot_be_is_refused_before_anything_is_declared(runtime, client):
    clinic = make_clinic(runtime, doctors=3)
    away, covering, gone = clinic.doctor_ids
    day = next_week_day(clinic.tz)
    with runtime.db.transaction() as s:
        reference.deactivate_doctor(s, gone)
    url = f"/api/v1/doctors/{away}/away"
    days = {"kind": "leave", "first_day": iso(day), "last_day": iso(day)}
    for to, status in ((away, 422), (gone, 422), (999999, 404)):
        refused = client.post(url, json={**days, "to_doctor_id": to})
        assert refused.status_code == status, refused.get_json()
        assert "to_doctor_id" in refused.get_json()["errors"], refused.get_json()
    # The doctor declared away himself unknown: named at his id, as his schedule's is.
    unknown = client.post("/api/v1/doctors/999999/away", json=days)
    assert unknown.status_code == 404 and "doctor_id" in unknown.get_json()["errors"]
    with runtime.db.session() as s:
        assert s.scalars(select(ScheduleException)).all() == []


class _Outbox:
    """A notifier that keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))


def test_a_patient_whose_visit_fits_nowhere_is_told_it_will_not_take_place(runtime):
    clinic = make_clinic(runtime, doctors=1, patients=2, hours=("09:00", "10:00"), slot=20)
    doctor = clinic.doctor_ids[0]
    day = next_week_day(clinic.tz)
    with runtime.db.transaction() as s:
        told, silent = (
            booking.book(
                s, patient_id=clinic.patient_ids[i], doctor_id=doctor,
                starts_at=clinic.at(day, 9, 20 * i), tz=clinic.tz, notify_email=address,
            ).id
            for i, address in enumerate(("patient@example.test", None))
        )  # fmt: skip
        # No colleague, and no day of his own to search: neither visit can be placed.
        _, job = bulk.start_bulk_move(
            s, doctor, kind="sick", first_day=day, last_day=day, search_days=0, note="грипп"
        )
    outbox = _Outbox()
    result = bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=clinic.tz, notifier=outbox)
    assert [u["visit_id"] for u in result["unplaced"]] == [told, silent]
    assert len(outbox.sent) == 1
    to, subject, body = outbox.sent[0]
    assert to == "patient@example.test" and "не состоится" in subject
    when = clinic.at(day, 9).astimezone(clinic.tz).strftime("%d.%m.%Y %H:%M")
    assert when in body and "Позвоните нам" in body and "call us" in body
    assert "грипп" not in body  # the staff's note is for colleagues
    # Run again (a redelivery): written and sent once.
    bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=clinic.tz, notifier=outbox)
    assert len(outbox.sent) == 1


def test_an_absence_taken_back_tells_nobody_his_visit_will_not_take_place(runtime):
    clinic = make_clinic(runtime, doctors=1, hours=("09:00", "10:00"), slot=20)
    doctor = clinic.doctor_ids[0]
    day = next_week_day(clinic.tz)
    with runtime.db.transaction() as s:
        visit = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=doctor, starts_at=clinic.at(day, 9),
            tz=clinic.tz, notify_email="patient@example.test",
        )  # fmt: skip
        away, job = bulk.start_bulk_move(
            s, doctor, kind="sick", first_day=day, last_day=day, search_days=0
        )
    # The job's first batch left the visit unplaced, and its worker died; the absence is
    # then taken back (declared by mistake) before the job runs again.
    with runtime.db.transaction() as s:
        state = copy.deepcopy(s.get(Job, job.id).state)
        state["total"] = 1
        left = {"starts_at": iso(clinic.at(day, 9)), "doctor_id": doctor}
        state["unplaced"] = [{"visit_id": visit.id, "patient_id": visit.patient_id, **left}]
        jobs.save_progress(s, s.get(Job, job.id), done=1, total=1, state=state)
        schedules.remove_exception(s, away.id)
    outbox = _Outbox()
    result = bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=clinic.tz, notifier=outbox)
    assert result["withdrawn"] is True and len(result["unplaced"]) == 1
    assert outbox.sent == []
