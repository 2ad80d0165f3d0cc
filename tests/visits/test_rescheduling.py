"""Rescheduling through the worker: one move per job, a typed refusal for the losers, the
patient told once, the calendars told without patient details, the ticket carried along."""

from __future__ import annotations

import dataclasses
import time
from datetime import time as wall_time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from clinic.base import iso, utcnow
from clinic.errors import DomainError, ValidationFailed
from clinic.models import Job, OutboxEvent
from clinic.queue import admin as queue_admin
from clinic.queue import calls
from clinic.queue import tickets as q
from clinic.queue.models import Priority, Ticket
from clinic.reference import directory as reference
from clinic.reference import price_list
from clinic.reference.models import Doctor
from clinic.visits import booking, cancelling, checkin, rescheduling
from clinic.visits import visits as v
from clinic.visits.models import Visit, VisitEvent
from tests.queue.test_concurrency import in_parallel
from tests.visits.conftest import (
    ALL_DAY,
    make_clinic,
    next_week_day,
    slot_near,
    until_a_later_slot_today,
)

FINISHED = ("succeeded", "failed")


def wait_jobs(runtime, job_ids, timeout=30) -> dict[str, Job]:
    deadline = time.monotonic() + timeout
    while True:
        with runtime.db.session() as s:
            found = {j.id: j for j in s.scalars(select(Job).where(Job.id.in_(job_ids)))}
        if all(j.status in FINISHED for j in found.values()) and len(found) == len(job_ids):
            return found
        assert time.monotonic() < deadline, {j.id: j.status for j in found.values()}
        time.sleep(0.05)


def _book(runtime, clinic, starts, patient=0, doctor=0, email="patient@example.test", now=None):
    with runtime.db.transaction() as s:
        return booking.book(
            s, patient_id=clinic.patient_ids[patient], doctor_id=clinic.doctor_ids[doctor],
            starts_at=starts, tz=runtime.settings.tz, notify_email=email, actor="desk", now=now,
        )  # fmt: skip


def _checked_in_with_two_doctors(runtime, prefixes: str):
    """Two doctors with queues of their own (prefixed ``prefixes``), open all day, and a
    visit of the first one's checked in now: the clinic, the visit and its ticket."""
    until_a_later_slot_today(runtime)
    clinic = make_clinic(runtime, doctors=2, **ALL_DAY)
    with runtime.db.transaction() as s:
        for i, doctor_id in enumerate(clinic.doctor_ids):
            queue_admin.create_queue(
                s,
                {"code": f"doc{doctor_id}", "department_id": clinic.department_id,
                 "doctor_id": doctor_id, "prefix": prefixes[i],
                 "closes_at": wall_time(23, 59, 59, 999999)},
            )  # fmt: skip
    starts = slot_near(runtime)
    visit = _book(runtime, clinic, starts, email=None, now=starts - timedelta(hours=1))
    with runtime.db.transaction() as s:
        first = checkin.check_in(s, v.get_visit(s, visit.id), tz=runtime.settings.tz, actor="desk")
    return clinic, visit, first


def test_a_reschedule_answers_202_moves_once_tells_the_patient_and_both_calendars(
    runtime, client, worker, mailbox
):
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    visit = _book(runtime, clinic, clinic.at(day, 9))
    response = client.post(
        f"/api/v1/visits/{visit.id}/reschedule",
        json={"starts_at": iso(clinic.at(day, 11)), "reason": "врач на конференции"},
    )
    assert response.status_code == 202, response.get_json()
    assert response.headers["Location"] == f"/api/v1/jobs/{response.get_json()['id']}"
    job = wait_jobs(runtime, [response.get_json()["id"]])[response.get_json()["id"]]
    assert job.status == "succeeded", job.error
    with runtime.db.session() as s:
        moved = s.get(Visit, visit.id)
        history = s.scalars(select(VisitEvent).where(VisitEvent.visit_id == visit.id)).all()
        events = s.scalars(select(OutboxEvent).where(OutboxEvent.type == "visit.rescheduled")).all()
    assert moved.starts_at == clinic.at(day, 11) and moved.moves == 1
    move = [h for h in history if h.action == "rescheduled"]
    assert len(move) == 1 and move[0].actor == "admin"
    assert move[0].data["from"]["starts_at"] == iso(clinic.at(day, 9))
    assert move[0].data["to"]["starts_at"] == iso(clinic.at(day, 11))
    assert move[0].data["reason"] == "врач на конференции"
    assert sorted(e.channel for e in events) == sorted(
        [v.doctor_channel(clinic.doctor_ids[0]), v.department_channel(clinic.department_id)]
    )
    assert all("patient_name" not in e.data and "patient_phone" not in e.data for e in events)
    mail = mailbox.wait_for(1)
    assert len(mail) == 1 and mail[0]["to"] == ["patient@example.test"]
    assert "перенесён" in mail[0]["subject"] and "ko'chirildi" in mail[0]["subject"]
    body = mail[0]["raw"].get_content()
    assert "перенесён" in body and "ko'chirildi" in body and "has been moved" in body


def test_twenty_concurrent_reschedules_into_one_slot_move_one_visit_and_refuse_nineteen(
    runtime, live_server, admin_token, worker
):
    clinic = make_clinic(runtime, patients=20, hours=("08:00", "16:00"))
    day = next_week_day(runtime.settings.tz)
    visits = [
        _book(runtime, clinic, clinic.at(day, 8) + timedelta(minutes=20 * i), patient=i, email=None)
        for i in range(20)
    ]
    target = iso(clinic.at(day, 15, 20))
    headers = {"Authorization": f"Bearer {admin_token}"}

    def reschedule(i):
        response = requests.post(
            f"{live_server}/api/v1/visits/{visits[i].id}/reschedule",
            json={"starts_at": target, "reason": "по просьбе"},
            headers=headers,
            timeout=60,
        )
        assert response.status_code == 202, response.text
        return response.json()["id"]

    job_ids = in_parallel(20, reschedule)
    finished = wait_jobs(runtime, job_ids, timeout=60)
    statuses = sorted(j.status for j in finished.values())
    assert statuses == ["failed"] * 19 + ["succeeded"]
    refusals = {(j.error["status"], j.error["code"]) for j in finished.values() if j.error}
    assert refusals == {(409, "doctor_busy")}
    with runtime.db.session() as s:
        at_target = s.scalars(
            select(Visit).where(
                Visit.doctor_id == clinic.doctor_ids[0], Visit.starts_at == clinic.at(day, 15, 20)
            )
        ).all()
    assert len(at_target) == 1


def test_a_rescheduled_visits_queue_ticket_moves_to_the_new_doctors_queue(runtime, client, worker):
    clinic, visit, first = _checked_in_with_two_doctors(runtime, "AB")
    later = slot_near(runtime, timedelta(minutes=10))  # five minutes ahead or more
    response = client.post(
        f"/api/v1/visits/{visit.id}/reschedule",
        json={"starts_at": iso(later), "doctor_id": clinic.doctor_ids[1], "reason": "замена"},
    )
    job = wait_jobs(runtime, [response.get_json()["id"]])[response.get_json()["id"]]
    assert job.status == "succeeded", job.error
    with runtime.db.session() as s:
        moved = s.get(Visit, visit.id)
        old, new = s.get(Ticket, first.id), s.get(Ticket, moved.ticket_id)
        assert old.status == "transferred"
        assert new.status == "waiting" and new.visit_id == visit.id
        assert new.queue.doctor_id == clinic.doctor_ids[1] and new.transferred_from_id == old.id
        assert new.queued_at == old.queued_at  # the patient keeps his place in time
    assert moved.status == "arrived" and moved.doctor_id == clinic.doctor_ids[1]


def test_moves_are_refused_past_the_limit_into_the_past_and_for_a_cancelled_visit(runtime):
    clinic = make_clinic(runtime, doctors=2, hours=("08:00", "16:00"))
    tz = runtime.settings.tz
    day = next_week_day(tz)
    visit = _book(runtime, clinic, clinic.at(day, 8), email=None)

    def move(to, **kw):
        to_doctor = kw.pop("doctor_id", None)
        with runtime.db.transaction() as s:
            job = rescheduling.request_move(
                s, visit.id, starts_at=to, reason="r", actor="desk", doctor_id=to_doctor
            )
        if kw.pop("then_the_doctor_leaves", False):
            with runtime.db.transaction() as s:
                reference.deactivate_doctor(s, to_doctor)
        try:
            with runtime.db.transaction() as s:
                return rescheduling.carry_out(s, job.id, tz=tz, max_moves=2, **kw)
        except booking.BookingConflict as exc:
            return exc.code
        except booking.BookingRefused as exc:
            return exc.code

    assert move(clinic.at(day, 9))["moved"] is True
    # Asked for a colleague who has left by the time the worker moves it.
    with pytest.raises(ValidationFailed) as left:
        move(clinic.at(day, 9), doctor_id=clinic.doctor_ids[1], then_the_doctor_leaves=True)
    assert "doctor_id" in left.value.errors
    # A time that has passed by the time the worker carries the move out.
    assert move(clinic.at(day, 9, 20), now=clinic.at(day, 10)) == "in_past"
    assert move(clinic.at(day, 20)) == "outside_hours"
    assert move(clinic.at(day, 10))["moved"] is True
    assert move(clinic.at(day, 11)) == "too_many_moves"
    # Cancelled after the move was asked for, before the worker carries it out.
    with runtime.db.transaction() as s:
        job = rescheduling.request_move(s, visit.id, starts_at=clinic.at(day, 12), reason="r")
    with runtime.db.transaction() as s:
        cancelling.cancel(
            s, v.get_visit(s, visit.id), by="clinic", reason="x", late_window_hours=24
        )
    with pytest.raises(booking.BookingConflict) as over:
        with runtime.db.transaction() as s:
            rescheduling.carry_out(s, job.id, tz=tz, max_moves=5)
    assert over.value.code == "not_movable"


@pytest.mark.parametrize("backend", ["postgresql"])  # the overlap is the database's to refuse
def test_a_time_taken_since_the_move_was_checked_is_refused_as_the_doctor_busy(
    runtime, monkeypatch
):
    clinic = make_clinic(runtime, patients=2, hours=("08:00", "16:00"))
    day = next_week_day(runtime.settings.tz)
    moving = _book(runtime, clinic, clinic.at(day, 8), patient=0, email=None)
    _book(runtime, clinic, clinic.at(day, 9), patient=1, email=None)
    checked_free = booking.place

    def checked_before_it_was_taken(session, **asked):
        free = checked_free(session, **{**asked, "starts_at": clinic.at(day, 10)})
        return dataclasses.replace(free, ends_at=asked["starts_at"] + (free.ends_at - free_at))

    free_at = clinic.at(day, 10)
    monkeypatch.setattr(booking, "place", checked_before_it_was_taken)
    with runtime.db.transaction() as s:
        with pytest.raises(DomainError) as refused:
            rescheduling.move_visit(
                s,
                s.get(Visit, moving.id),
                starts_at=clinic.at(day, 9),
                doctor_id=None,
                tz=runtime.settings.tz,
                max_moves=5,
                actor="desk",
                reason="по просьбе",
                now=utcnow(),
            )
    assert refused.value.code == "doctor_busy"
    with runtime.db.session() as s:
        assert s.get(Visit, moving.id).starts_at == clinic.at(day, 8)


def test_a_visit_keeps_its_service_when_moved_after_the_price_list_dropped_it(runtime):
    # The service is no longer offered for new bookings; the visit booked with it still is
    # the doctor's to see, at another time or by a colleague of the department.
    clinic = make_clinic(runtime, doctors=2, hours=("08:00", "16:00"))
    tz = runtime.settings.tz
    day = next_week_day(tz)
    with runtime.db.transaction() as s:
        visit = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
            starts_at=clinic.at(day, 8), tz=tz, service_ids=[clinic.service_id],
        )  # fmt: skip
        price_list.deactivate_service(s, clinic.service_id)
    for to, doctor in ((clinic.at(day, 9), None), (clinic.at(day, 10), clinic.doctor_ids[1])):
        with runtime.db.transaction() as s:
            job = rescheduling.request_move(
                s, visit.id, starts_at=to, doctor_id=doctor, reason="пациент просит"
            )
        with runtime.db.transaction() as s:
            assert rescheduling.carry_out(s, job.id, tz=tz, max_moves=3)["moved"] is True
    with runtime.db.session() as s:
        moved = s.get(Visit, visit.id)
        assert (moved.starts_at, moved.doctor_id) == (clinic.at(day, 10), clinic.doctor_ids[1])
        assert [x.service_id for x in moved.services] == [clinic.service_id]
    with runtime.db.transaction() as s:
        # A new booking of it is refused, as before.
        with pytest.raises(ValidationFailed):
            booking.book(
                s, patient_id=clinic.patient_ids[1], doctor_id=clinic.doctor_ids[0],
                starts_at=clinic.at(day, 11), tz=tz, service_ids=[clinic.service_id],
            )  # fmt: skip


def _moved_with_a_notice(runtime) -> str:
    """A visit moved by its job, whose notice to the patient is written: the notice's key."""
    clinic = make_clinic(runtime, hours=("08:00", "16:00"))
    tz = runtime.settings.tz
    day = next_week_day(tz)
    visit = _book(runtime, clinic, clinic.at(day, 8))
    with runtime.db.transaction() as s:
        job = rescheduling.request_move(s, visit.id, starts_at=clinic.at(day, 9), reason="r")
    with runtime.db.transaction() as s:
        assert rescheduling.carry_out(s, job.id, tz=tz, max_moves=3)["moved"] is True
    return rescheduling.notice_key(job.id)


def test_a_move_without_a_mail_server_finishes_at_once_and_leaves_the_notice_waiting(runtime):
    # No SMTP host (the default of `make run`): the notice cannot be sent, so the job does not
    # wait for it; it stays unsent until a mail server is configured.
    from types import SimpleNamespace

    from clinic.visits.models import VisitNotice
    from tasks.visits import _send_notice

    key = _moved_with_a_notice(runtime)
    without_mail = SimpleNamespace(
        settings=dataclasses.replace(runtime.settings, smtp_host=""), db=runtime.db
    )
    started = time.monotonic()
    _send_notice(without_mail, key)
    assert time.monotonic() - started < 1
    with runtime.db.session() as s:
        notice = s.scalar(select(VisitNotice).where(VisitNotice.key == key))
    assert notice is not None and notice.sent_at is None


def test_a_move_whose_notice_the_mail_server_refuses_finishes_at_once_and_leaves_it_to_beat(
    runtime,
):
    # The mail server is down: the visit is moved, the registrar's dialog is told so at once,
    # and beat's sweep sends the notice once the server is back.
    from types import SimpleNamespace

    from clinic.visits.models import VisitNotice
    from tasks.visits import _send_notice
    from tests.conftest import free_port

    key = _moved_with_a_notice(runtime)
    server_down = SimpleNamespace(
        settings=dataclasses.replace(
            runtime.settings, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_timeout=1
        ),
        db=runtime.db,
    )
    started = time.monotonic()
    _send_notice(server_down, key)
    assert time.monotonic() - started < 2  # not the six seconds of two claims
    with runtime.db.session() as s:
        notice = s.scalar(select(VisitNotice).where(VisitNotice.key == key))
    assert notice.sent_at is None and notice.attempts == 1


def test_an_arrived_visit_moved_to_a_colleague_today_keeps_its_appointment_priority(runtime):
    clinic, visit, first = _checked_in_with_two_doctors(runtime, "CD")
    tz = runtime.settings.tz
    assert first.priority == checkin.APPOINTMENT_PRIORITY
    with runtime.db.transaction() as s:
        rescheduling.move_visit(
            s, v.get_visit(s, visit.id, lock=True), doctor_id=clinic.doctor_ids[1],
            starts_at=slot_near(runtime, timedelta(minutes=10)), tz=tz, max_moves=3,
            actor="desk", reason="замена", now=utcnow(),
        )  # fmt: skip
    with runtime.db.session() as s:
        new = s.get(Ticket, s.get(Visit, visit.id).ticket_id)
        # Ahead of the colleague's walk-ins, as if he had been checked in for him.
        assert new.id != first.id and new.priority == checkin.APPOINTMENT_PRIORITY


def test_a_visit_moved_after_its_doctor_changed_department_leaves_the_first_ones_calendar(
    runtime,
):
    from clinic.events import events_after
    from clinic.reference import directory

    clinic = make_clinic(runtime, hours=("08:00", "16:00"))
    day = next_week_day(runtime.settings.tz)
    visit = _book(runtime, clinic, clinic.at(day, 8), email=None)
    with runtime.db.transaction() as s:
        other = directory.create_department(
            s, {"code": f"mv{visit.id}", "ticket_prefix": "QZ", "name_ru": "Другое",
                "name_uz": "Boshqa", "name_en": "Other"},
        )  # fmt: skip
        directory.update_doctor(s, clinic.doctor_ids[0], {"department_id": other.id})
    old = v.department_channel(clinic.department_id)
    with runtime.db.session() as s:
        seen = len(events_after(s, old, 0))
    with runtime.db.transaction() as s:
        rescheduling.move_visit(
            s, v.get_visit(s, visit.id, lock=True), doctor_id=None,
            starts_at=clinic.at(day, 9), tz=runtime.settings.tz, max_moves=3,
            actor="desk", reason="r", now=utcnow(),
        )  # fmt: skip
    with runtime.db.session() as s:
        told = events_after(s, old, seen)
        assert s.get(Visit, visit.id).department_id == other.id
    # The first department's calendar lists it no more: it is told the visit went.
    assert [(e["type"], e["data"]["id"], e["data"]["department_id"]) for e in told] == [
        ("visit.rescheduled", visit.id, other.id)
    ]


def _laboratory(runtime) -> int:
    """A laboratory of its own department, open all day: doctors send patients there."""
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s, {"code": "lab", "ticket_prefix": "LB", "name_ru": "Лаборатория",
                "name_uz": "Laboratoriya", "name_en": "Laboratory"},
        )  # fmt: skip
        return queue_admin.create_queue(
            s, {"code": "lab", "department_id": department.id,
                "closes_at": wall_time(23, 59, 59, 999999)},
        ).id  # fmt: skip


def _at_the_laboratory(runtime, prefixes: str):
    """A visit checked in, called by its doctor and sent to the laboratory to come back:
    the clinic, the visit, the laboratory's queue and the ticket he holds there."""
    clinic, visit, first = _checked_in_with_two_doctors(runtime, prefixes)
    lab = _laboratory(runtime)
    tz = runtime.settings.tz
    with runtime.db.transaction() as s:
        assert calls.call_next(s, first.queue_id, tz=tz).id == first.id
        away = calls.transfer(s, q.get_ticket(s, first.id), lab, tz=tz, return_after=True)
    assert away.return_to_queue_id == first.queue_id
    return clinic, visit, lab, away


def _move(runtime, visit, **to):
    with runtime.db.transaction() as s:
        return rescheduling.move_visit(
            s, v.get_visit(s, visit.id, lock=True), tz=runtime.settings.tz, max_moves=3,
            actor="desk", reason="замена", now=utcnow(), **to,
        )  # fmt: skip


@pytest.mark.parametrize("lab_lets_go", ["serves him", "sends him back by hand"])
def test_a_patient_at_the_laboratory_comes_back_to_the_doctor_his_visit_moved_to(
    runtime, lab_lets_go
):
    clinic, visit, lab, away = _at_the_laboratory(runtime, "EF")
    tz = runtime.settings.tz
    colleague = clinic.doctor_ids[1]
    record = _move(
        runtime, visit, doctor_id=colleague, starts_at=slot_near(runtime, timedelta(minutes=10))
    )
    with runtime.db.session() as s:
        theirs = checkin.queue_for(s, s.get(Doctor, colleague)).id
    assert record["ticket"] == {
        "ticket": away.id,
        "action": "return_moved",
        "return_to_queue_id": theirs,
    }
    with runtime.db.session() as s:
        told = s.scalars(select(OutboxEvent).where(OutboxEvent.type == "ticket.visit_moved")).all()
        # The screens that show him (his ticket's, the laboratory's staff) see where he goes.
        assert {e.data.get("id", e.data.get("ticket_id")) for e in told} == {away.id}
        assert {e.data["return_to_queue_id"] for e in told if "return_to_queue_id" in e.data} == {
            theirs
        }
    with runtime.db.transaction() as s:
        assert calls.call_next(s, lab, tz=tz).id == away.id
        if lab_lets_go == "serves him":
            back = calls.finish_service(s, q.get_ticket(s, away.id), tz=tz)
        else:
            back = calls.transfer(s, q.get_ticket(s, away.id), theirs, tz=tz)
    # Back to the colleague's queue, with the appointment; the first doctor's has nobody.
    assert (back.queue_id, back.visit_id, back.priority) == (theirs, visit.id, Priority.RETURNED)
    with runtime.db.session() as s:
        assert s.get(Visit, visit.id).ticket_id == back.id
    with runtime.db.transaction() as s:
        assert calls.call_next(s, theirs, tz=tz).id == back.id
        calls.finish_service(s, q.get_ticket(s, back.id), tz=tz)
    with runtime.db.session() as s:
        done = s.get(Visit, visit.id)
        assert (done.status, done.doctor_id) == ("completed", colleague)
        assert s.scalars(select(Ticket).where(Ticket.status == "waiting")).all() == []


def test_a_patient_at_the_laboratory_whose_visit_moved_to_another_day_is_not_sent_back(runtime):
    clinic, visit, lab, away = _at_the_laboratory(runtime, "GH")
    tz = runtime.settings.tz
    record = _move(
        runtime, visit, doctor_id=clinic.doctor_ids[0], starts_at=clinic.at(next_week_day(tz), 9)
    )
    assert record["ticket"] == {
        "ticket": away.id,
        "action": "return_moved",
        "return_to_queue_id": None,
    }
    with runtime.db.transaction() as s:
        assert calls.call_next(s, lab, tz=tz).id == away.id
        assert calls.finish_service(s, q.get_ticket(s, away.id), tz=tz) is None
    with runtime.db.session() as s:
        assert s.get(Visit, visit.id).status == "scheduled"
        assert s.scalars(select(Ticket).where(Ticket.status == "waiting")).all() == []


def test_a_patient_at_the_laboratory_whose_visit_moved_there_and_back_comes_back_to_the_first(
    runtime,
):
    clinic, visit, lab, away = _at_the_laboratory(runtime, "JK")
    first_queue = away.return_to_queue_id
    for doctor_id in reversed(clinic.doctor_ids):
        _move(
            runtime, visit, doctor_id=doctor_id, starts_at=slot_near(runtime, timedelta(minutes=10))
        )
    tz = runtime.settings.tz
    with runtime.db.transaction() as s:
        assert calls.call_next(s, lab, tz=tz).id == away.id
        back = calls.finish_service(s, q.get_ticket(s, away.id), tz=tz)
    assert (back.queue_id, back.visit_id) == (first_queue, visit.id)
