"""A doctor away: the bulk move after a sick day already declared, and the patients' e-mails
(one per patient and move, however many of his visits moved and however often it ran)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic import jobs
from clinic.base import iso
from clinic.errors import Conflict
from clinic.jobs.models import Job
from clinic.visits import booking, bulk, cancelling, notify, schedules
from clinic.visits import visits as v
from clinic.visits.events import ExceptionKind
from clinic.visits.models import ScheduleException, Visit, VisitEvent, VisitNotice
from tests.conftest import BACKENDS
from tests.visits.conftest import make_clinic, next_week_day
from tests.visits.test_rescheduling import wait_jobs


def _book(runtime, clinic, starts, *, patient=0, email="patient@example.test"):
    with runtime.db.transaction() as s:
        return booking.book(
            s, patient_id=clinic.patient_ids[patient], doctor_id=clinic.doctor_ids[0],
            starts_at=starts, tz=clinic.tz, notify_email=email, actor="desk",
        )  # fmt: skip


def _exceptions_of(runtime, doctor_id) -> list[ScheduleException]:
    with runtime.db.session() as s:
        return list(
            s.scalars(select(ScheduleException).where(ScheduleException.doctor_id == doctor_id))
        )


def test_a_doctor_declared_sick_has_his_visits_moved_afterwards_on_the_same_days(
    runtime, client_as, worker, mailbox
):
    clinic = make_clinic(runtime, doctors=2)
    doctor = clinic.doctor_ids[0]
    day = next_week_day(clinic.tz)
    booked = [_book(runtime, clinic, clinic.at(day, 9), email=None)]
    booked.append(_book(runtime, clinic, clinic.at(day + timedelta(days=1), 9), patient=1))
    days = {"first_day": iso(day), "last_day": iso(day + timedelta(days=1))}

    desk = client_as("registrar", "desk")
    sick = desk.post(
        "/api/v1/schedule-exceptions",
        json={"doctor_id": doctor, "kind": "sick", "note": "грипп", **days},
    )
    assert sick.status_code == 201, sick.get_json()
    assert sick.get_json()["visits_to_move"] == [v.id for v in booked]

    chief = client_as("admin", "chief")
    away = chief.post(f"/api/v1/doctors/{doctor}/away", json={"kind": "sick", **days})
    assert away.status_code == 202, away.get_json()
    job = wait_jobs(runtime, [away.get_json()["id"]])[away.get_json()["id"]]
    assert job.status == "succeeded", job.error
    assert job.result["exception_id"] == sick.get_json()["id"]
    assert {m["visit_id"] for m in job.result["moved"]} == {v.id for v in booked}
    assert job.result["unplaced"] == [] and job.result["withdrawn"] is False

    # The days are declared once: the sick day stands, and no second one beside it.
    assert [e.id for e in _exceptions_of(runtime, doctor)] == [sick.get_json()["id"]]
    with runtime.db.session() as s:
        moves = s.scalars(
            select(VisitEvent).where(
                VisitEvent.visit_id.in_([v.id for v in booked]),
                VisitEvent.action == "rescheduled",
            )
        ).all()
    # Moved by whoever moved them, for the reason the days were declared.
    assert len(moves) == 2
    assert {(e.actor, e.data["reason"], e.data["job_id"]) for e in moves} == {
        ("chief", "sick: грипп", job.id)
    }
    assert [m["to"][0] for m in mailbox.wait_for(1)] == ["patient@example.test"]

    # Sent again once it is done: nothing is left to move, and the days stay declared once.
    again = chief.post(f"/api/v1/doctors/{doctor}/away", json={"kind": "sick", **days})
    assert again.status_code == 202, again.get_json()
    second = wait_jobs(runtime, [again.get_json()["id"]])[again.get_json()["id"]]
    assert second.result["moved"] == [] and second.result["total"] == 0
    assert len(_exceptions_of(runtime, doctor)) == 1


def test_days_away_inside_a_longer_absence_move_only_those_days_under_it(runtime):
    clinic = make_clinic(runtime, patients=3)
    doctor = clinic.doctor_ids[0]
    day = next_week_day(clinic.tz)
    inside = _book(runtime, clinic, clinic.at(day + timedelta(days=1), 9))
    later = _book(runtime, clinic, clinic.at(day + timedelta(days=3), 9), patient=1)
    with runtime.db.transaction() as s:
        leave = schedules.add_exception(
            s, kind=ExceptionKind.LEAVE, doctor_id=doctor, first_day=day,
            last_day=day + timedelta(days=4), note="отпуск",
        )  # fmt: skip
        away, job = bulk.start_bulk_move(
            s, doctor, kind=ExceptionKind.LEAVE, first_day=day + timedelta(days=1),
            last_day=day + timedelta(days=1), search_days=5, actor="chief",
        )  # fmt: skip
        assert away.id == leave.id
    result = bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=clinic.tz)
    assert [m["visit_id"] for m in result["moved"]] == [inside.id]
    with runtime.db.session() as s:
        # Out of the leave, not onto another of its days; the visit outside the asked days
        # is left for another move.
        assert s.get(Visit, inside.id).starts_at == clinic.at(day + timedelta(days=5), 9)
        assert s.get(Visit, later.id).starts_at == clinic.at(day + timedelta(days=3), 9)
    assert len(_exceptions_of(runtime, doctor)) == 1


def test_a_second_bulk_move_of_the_same_days_waits_for_the_first(runtime):
    clinic = make_clinic(runtime)
    doctor = clinic.doctor_ids[0]
    day = next_week_day(clinic.tz)
    _book(runtime, clinic, clinic.at(day, 9))
    with runtime.db.transaction() as s:
        _away, first = bulk.start_bulk_move(
            s, doctor, kind=ExceptionKind.SICK, first_day=day, last_day=day, actor="chief"
        )
    with runtime.db.transaction() as s:
        with pytest.raises(Conflict) as refused:
            bulk.start_bulk_move(
                s, doctor, kind=ExceptionKind.SICK, first_day=day, last_day=day, actor="chief"
            )
    assert refused.value.code == "already_moving"
    assert first.id in refused.value.errors["first_day"][0]
    with runtime.db.session() as s:
        assert s.query(Job).filter(Job.kind == bulk.JOB_KIND).count() == 1
    bulk.run_bulk_move(runtime.db.sessionmaker, first.id, tz=clinic.tz)
    with runtime.db.transaction() as s:
        jobs.finish_job(s, jobs.get_job(s, first.id), {})
    with runtime.db.transaction() as s:
        # Done: another move of those days may go (one with more search days, say).
        bulk.start_bulk_move(s, doctor, kind=ExceptionKind.SICK, first_day=day, last_day=day)


def _sick_two_days(runtime, clinic, day, *, batch_size: int):
    """The first doctor sick on ``day`` and the next: the job that moves his visits, and
    the arguments its runs take (e-mailing through the settings' server)."""
    with runtime.db.transaction() as s:
        _away, job = bulk.start_bulk_move(
            s, clinic.doctor_ids[0], kind=ExceptionKind.SICK, first_day=day,
            last_day=day + timedelta(days=1), search_days=3, actor="chief",
        )  # fmt: skip
    notifier = notify.EmailNotifier(runtime.settings)
    run = {"tz": clinic.tz, "batch_size": batch_size, "notifier": notifier, "lease_seconds": 4}
    return job, run


def _local(at, tz) -> str:
    return at.astimezone(tz).strftime("%d.%m.%Y %H:%M")


def test_a_patient_with_two_visits_moved_gets_one_email_listing_both_once_however_often_run(
    runtime, mailbox, monkeypatch
):
    clinic = make_clinic(runtime, patients=2)
    day = next_week_day(clinic.tz)
    first = _book(runtime, clinic, clinic.at(day, 9))
    other = _book(runtime, clinic, clinic.at(day, 9, 20), patient=1, email="other@example.test")
    second = _book(runtime, clinic, clinic.at(day + timedelta(days=1), 9))
    job, run = _sick_two_days(runtime, clinic, day, batch_size=1)

    # The worker dies in the second batch: the first one's move is committed, its patient's
    # other visit is not moved yet.
    batches = []
    move_batch = bulk._move_batch

    def dies_in_the_second(*args, **kwargs):
        batches.append(1)
        if len(batches) == 2:
            raise SystemExit("worker killed")
        return move_batch(*args, **kwargs)

    monkeypatch.setattr(bulk, "_move_batch", dies_in_the_second)
    with pytest.raises(SystemExit):
        bulk.run_bulk_move(runtime.db.sessionmaker, job.id, **run)
    monkeypatch.setattr(bulk, "_move_batch", move_batch)
    result = bulk.run_bulk_move(runtime.db.sessionmaker, job.id, **run)
    assert [m["visit_id"] for m in result["moved"]] == [first.id, other.id, second.id]
    # Delivered again after it finished: nothing more is sent.
    bulk.run_bulk_move(runtime.db.sessionmaker, job.id, **run)

    # Each run sent its letters before it returned: the mailbox holds all there will be.
    mail = list(mailbox.messages)
    assert sorted(m["to"][0] for m in mail) == ["other@example.test", "patient@example.test"]
    (letter,) = [m["raw"] for m in mail if m["to"] == ["patient@example.test"]]
    text = letter.get_content()
    with runtime.db.session() as s:
        moved_to = [_local(s.get(Visit, v.id).starts_at, clinic.tz) for v in (first, second)]
        assert s.query(VisitNotice).count() == 2
    # Both visits, from their old times to their new ones, in the clinic's three languages.
    for old, new in zip((clinic.at(day, 9), clinic.at(day + timedelta(days=1), 9)), moved_to):
        assert f"{_local(old, clinic.tz)} → {new}" in text
    assert "перенесены" in text and "ko'chirildi" in text and "have been moved" in text


def test_two_visits_booked_with_one_address_in_other_capitals_are_both_in_its_one_letter(
    runtime, mailbox
):
    clinic = make_clinic(runtime)
    day = next_week_day(clinic.tz)
    first = _book(runtime, clinic, clinic.at(day, 9), email="Ivan@Example.test")
    second = _book(
        runtime, clinic, clinic.at(day + timedelta(days=1), 9), email="ivan@example.test"
    )
    job, run = _sick_two_days(runtime, clinic, day, batch_size=10)
    result = bulk.run_bulk_move(runtime.db.sessionmaker, job.id, **run)
    assert [m["visit_id"] for m in result["moved"]] == [first.id, second.id]
    (letter,) = mailbox.messages
    text = letter["raw"].get_content()
    for old in (clinic.at(day, 9), clinic.at(day + timedelta(days=1), 9)):
        assert f"{_local(old, clinic.tz)} → " in text


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL is not in TEST_DATABASES")
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_visit_cancelled_while_its_batch_is_being_moved_stays_cancelled_where_it_was(
    runtime, monkeypatch
):
    # On SQLite the batch's transaction holds the database and the desk's cancellation waits
    # for it; on PostgreSQL the two run side by side.
    clinic = make_clinic(runtime, patients=2)
    day = next_week_day(clinic.tz)
    kept = _book(runtime, clinic, clinic.at(day, 9))
    cancelled = _book(runtime, clinic, clinic.at(day, 9, 20), patient=1)
    with runtime.db.transaction() as s:
        _away, job = bulk.start_bulk_move(
            s, clinic.doctor_ids[0], kind=ExceptionKind.SICK, first_day=day, last_day=day,
            search_days=2, actor="chief",
        )  # fmt: skip
    affected = bulk._affected

    def desk_cancels_meanwhile(*args, **kwargs):
        listed = affected(*args, **kwargs)
        with runtime.db.transaction() as s:
            cancelling.cancel(s, v.get_visit(s, cancelled.id, lock=True), by="patient",
                              reason="feels better", late_window_hours=0, actor="desk")  # fmt: skip
        monkeypatch.setattr(bulk, "_affected", affected)
        return listed

    monkeypatch.setattr(bulk, "_affected", desk_cancels_meanwhile)
    result = bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=clinic.tz)
    assert [m["visit_id"] for m in result["moved"]] == [kept.id]
    assert result["total"] == 1 and result["unplaced"] == []
    with runtime.db.session() as s:
        left = s.get(Visit, cancelled.id)
        assert left.status == "cancelled" and left.starts_at == clinic.at(day, 9, 20)
        assert [e["action"] for e in v.history(s, left)] == ["booked", "cancelled"]
