"""Days already over: an absence or a holiday lying wholly in the past closes no slot and
moves no visit, so declaring one is a mistyped date, refused at the field that says it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from clinic.jobs.models import Job
from clinic.visits.models import ScheduleException
from tests.visits.conftest import make_clinic


def _count(runtime, model) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_an_absence_whose_days_are_all_over_is_a_422_at_last_day_and_declares_nothing(
    runtime, client
):
    clinic = make_clinic(runtime)
    doctor = clinic.doctor_ids[0]
    today = datetime.now(timezone.utc).astimezone(clinic.tz).date()
    past = {"first_day": (today - timedelta(days=3)).isoformat(),
            "last_day": (today - timedelta(days=1)).isoformat()}  # fmt: skip
    exceptions, job_rows = _count(runtime, ScheduleException), _count(runtime, Job)

    for body in ({"kind": "sick", "doctor_id": doctor, **past}, {"kind": "holiday", **past}):
        refused = client.post("/api/v1/schedule-exceptions", json=body)
        assert refused.status_code == 422, refused.get_json()
        assert "last_day" in refused.get_json()["errors"], refused.get_json()
    moved = client.post(f"/api/v1/doctors/{doctor}/away", json={"kind": "leave", **past})
    assert moved.status_code == 422, moved.get_json()
    assert "last_day" in moved.get_json()["errors"], moved.get_json()
    assert _count(runtime, ScheduleException) == exceptions and _count(runtime, Job) == job_rows

    # One that reaches today still counts: the rest of the day is closed.
    reaching = {**past, "last_day": today.isoformat()}
    declared = client.post(
        "/api/v1/schedule-exceptions", json={"kind": "sick", "doctor_id": doctor, **reaching}
    )
    assert declared.status_code == 201, declared.get_json()
