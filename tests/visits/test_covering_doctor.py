"""A doctor away with a colleague covering for him: the bulk move puts his patients in that
colleague's free slots only, and lists those who do not fit there."""

from __future__ import annotations

from sqlalchemy import select

from clinic.base import iso
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
    with runtime.db.session() as s:
        assert s.scalars(select(ScheduleException)).all() == []
