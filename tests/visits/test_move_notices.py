"""The patient told of a move learns where to go: the new time, the doctor and his room."""

from __future__ import annotations

from sqlalchemy import select

from clinic.reference.models import Room
from clinic.visits import booking, bulk, rescheduling
from clinic.visits.models import VisitNotice
from tests.visits.conftest import make_clinic, next_week_day


def _room(runtime, room_id) -> str:
    with runtime.db.session() as s:
        return s.get(Room, room_id).number


def _body(runtime, key) -> str:
    with runtime.db.session() as s:
        return s.scalar(select(VisitNotice.body).where(VisitNotice.key == key))


def test_a_visit_moved_to_a_colleague_tells_the_patient_his_room(runtime):
    clinic = make_clinic(runtime, doctors=2)
    day = next_week_day(clinic.tz)
    with runtime.db.transaction() as s:
        visit = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
            starts_at=clinic.at(day, 9), tz=clinic.tz, notify_email="p@example.test",
        )  # fmt: skip
        job = rescheduling.request_move(
            s, visit.id, starts_at=clinic.at(day, 10), doctor_id=clinic.doctor_ids[1],
            reason="the doctor is at a conference",
        )  # fmt: skip
    with runtime.db.transaction() as s:
        assert rescheduling.carry_out(s, job.id, tz=clinic.tz, max_moves=3)["moved"] is True
    room = _room(runtime, clinic.room_ids[1])
    body = _body(runtime, rescheduling.notice_key(job.id))
    assert f"каб. {room}" in body and f"xona {room}" in body and f"room {room}" in body


def test_a_bulk_moves_letter_names_each_visits_room(runtime):
    clinic = make_clinic(runtime, doctors=2)
    day = next_week_day(clinic.tz)
    with runtime.db.transaction() as s:
        for hour in (9, 10):
            booking.book(
                s, patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
                starts_at=clinic.at(day, hour), tz=clinic.tz, notify_email="p@example.test",
            )  # fmt: skip
        _, job = bulk.start_bulk_move(
            s, clinic.doctor_ids[0], kind="sick", first_day=day, last_day=day, search_days=0,
            to_doctor_id=clinic.doctor_ids[1],
        )  # fmt: skip
    result = bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=clinic.tz)
    assert len(result["moved"]) == 2
    with runtime.db.session() as s:
        body = s.scalar(select(VisitNotice.body).where(VisitNotice.key.like(f"bulk:{job.id}:%")))
    room = _room(runtime, clinic.room_ids[1])
    assert body.count(f"каб. {room}") == 2 and body.count(f"room {room}") == 2
