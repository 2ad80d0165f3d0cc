"""A registrar's and a doctor's day with the calendar: the slots at a day's edges, booking,
moving, cancelling, checking in and who may do what, as the desk meets them."""

from __future__ import annotations

from clinic.visits import booking, notify, reminders
from clinic.visits import visits as v
from clinic.visits.events import VisitStatus
from clinic.visits.models import Visit
from tests.visits.conftest import make_clinic, next_week_day


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
        marked = v.mark_no_shows(s, grace_minutes=30, now=clinic.at(day, 14), tz=clinic.tz)
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
