"""Closing a queue's day at its closing time: whoever still waits is closed, the patient with
the doctor is the doctor's to finish."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select, text, update

from clinic.models import OutboxEvent, Ticket, TicketEvent
from clinic.queue import calls
from clinic.queue import days as queue_days
from clinic.queue import tickets as q
from tests.queue.test_services import MORNING, TZ, issue, make_queue
from tests.races import wait_for, waits_for_a_lock

EVENING = datetime(2026, 3, 2, 13, 0, tzinfo=timezone.utc)  # 18:00 in Tashkent
NEXT_NIGHT = datetime(2026, 3, 2, 19, 5, tzinfo=timezone.utc)  # 00:05 in Tashkent, 3 March


def _status(runtime, ticket_id: int) -> str:
    with runtime.db.session() as s:
        return q.get_ticket(s, ticket_id).status


def test_the_patient_with_the_doctor_at_closing_time_is_finished_not_made_a_no_show(runtime):
    """The last patient of the day is still with the doctor at 18:00 when the closing runs:
    he stays with him, and the doctor finishes him as served; the one still waiting is a
    no-show. The day closes at the next run after that, its figures counting him served."""
    queue_id = make_queue(runtime, closes_at=time(18, 0))
    with_doctor, waiting = issue(runtime, queue_id).id, issue(runtime, queue_id).id
    with runtime.db.transaction() as s:
        ticket = calls.call_next(s, queue_id, tz=TZ, now=EVENING - timedelta(minutes=20))
        calls.start_service(s, ticket, now=EVENING - timedelta(minutes=19))
    with runtime.db.transaction() as s:
        assert queue_days.close_due_days(s, tz=TZ, now=EVENING) == []
    assert _status(runtime, with_doctor) == "in_service"
    assert _status(runtime, waiting) == "no_show"
    with runtime.db.transaction() as s:
        served = q.get_ticket(s, with_doctor)
        calls.finish_service(s, served, tz=TZ, now=EVENING + timedelta(minutes=4))
    assert _status(runtime, with_doctor) == "served"
    with runtime.db.transaction() as s:
        closed = queue_days.close_due_days(s, tz=TZ, now=EVENING + timedelta(minutes=5))
    assert len(closed) == 1
    with runtime.db.session() as s:
        day = q.find_day(s, queue_id, MORNING.date())
        assert day.closed_at is not None and day.waiting == 0
        assert day.stats["by_status"]["served"] == 1 and day.stats["no_shows"] == 1
        assert day.stats["average_service_seconds"] == 23 * 60
        history = s.scalars(select(TicketEvent.action).where(TicketEvent.ticket_id == with_doctor))
        assert "day_closed" not in list(history)


def test_the_patient_called_at_closing_time_is_the_doctors_to_start_or_mark(runtime):
    """Called at 17:58, he walks in at 18:01, after the closing ran: the doctor starts him."""
    queue_id = make_queue(runtime, closes_at=time(18, 0))
    called = issue(runtime, queue_id).id
    with runtime.db.transaction() as s:
        calls.call_next(s, queue_id, tz=TZ, now=EVENING - timedelta(minutes=2))
    with runtime.db.transaction() as s:
        assert queue_days.close_due_days(s, tz=TZ, now=EVENING) == []
    with runtime.db.transaction() as s:
        calls.start_service(s, q.get_ticket(s, called), now=EVENING + timedelta(minutes=1))
    assert _status(runtime, called) == "in_service"


def test_a_patient_left_with_the_doctor_is_closed_with_the_day_once_the_day_is_over(runtime):
    """Nobody pressed "finish": once the clinic day is over, the closing closes him with it."""
    queue_id = make_queue(runtime, closes_at=time(18, 0))
    left = issue(runtime, queue_id).id
    with runtime.db.transaction() as s:
        calls.start_service(s, calls.call_next(s, queue_id, tz=TZ, now=MORNING), now=MORNING)
    with runtime.db.transaction() as s:
        assert queue_days.close_due_days(s, tz=TZ, now=EVENING) == []
    with runtime.db.transaction() as s:
        assert len(queue_days.close_due_days(s, tz=TZ, now=NEXT_NIGHT)) == 1
    assert _status(runtime, left) == "no_show"
    with runtime.db.session() as s:
        told = s.scalars(select(OutboxEvent.channel).where(OutboxEvent.type == "ticket.day_closed"))
        assert f"ticket:{left}" in list(told)
        assert q.find_day(s, queue_id, MORNING.date()).closed_at is not None


def test_a_patient_postponed_as_the_closing_runs_is_closed_at_its_next_run(runtime, monkeypatch):
    """The doctor postpones his called patient just after the closing passed over him: the
    day stays open with him on it, and the next run closes him (a postponed patient is no
    longer the doctor's), rather than leaving him postponed for good on a closed day."""
    queue_id = make_queue(runtime, closes_at=time(18, 0))
    ticket_id = issue(runtime, queue_id).id
    with runtime.db.transaction() as s:
        calls.call_next(s, queue_id, tz=TZ, now=EVENING - timedelta(minutes=2))
    still_active = queue_days._still_active

    def postponed_meanwhile(s, queue_day_id):
        monkeypatch.setattr(queue_days, "_still_active", still_active)
        s.execute(update(Ticket).where(Ticket.id == ticket_id).values(status="postponed"))
        return still_active(s, queue_day_id)

    monkeypatch.setattr(queue_days, "_still_active", postponed_meanwhile)
    with runtime.db.transaction() as s:
        assert queue_days.close_due_days(s, tz=TZ, now=EVENING) == []
    assert _status(runtime, ticket_id) == "postponed"
    with runtime.db.transaction() as s:
        assert len(queue_days.close_due_days(s, tz=TZ, now=EVENING + timedelta(minutes=5))) == 1
    assert _status(runtime, ticket_id) == "no_show"


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_a_doctor_calling_as_the_day_closes_waits_for_the_closing_instead_of_a_deadlock(
    runtime, monkeypatch
):
    """The closing has closed the waiting patient (his row is locked) when a doctor presses
    "call next" at 18:00: the doctor waits for the closing, as calls wait for each other, and
    hears that nobody waits. (Had he locked the day's row first and then waited for the
    patient's, the closing's figures would have waited for him: a deadlock.)"""
    queue_id = make_queue(runtime, closes_at=time(18, 0))
    ticket_id = issue(runtime, queue_id).id
    pids, answers = [], []

    def doctor():
        try:
            with runtime.db.transaction() as s:
                pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                answers.append(calls.call_next(s, queue_id, tz=TZ, now=EVENING))
        except Exception as exc:  # noqa: BLE001 - asserted below
            answers.append(exc)

    thread = threading.Thread(target=doctor)
    close_ticket = queue_days._close_ticket

    def doctor_presses_call(s, *args):
        closed_from = close_ticket(s, *args)
        thread.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the doctor's call")
        return closed_from

    monkeypatch.setattr(queue_days, "_close_ticket", doctor_presses_call)
    with runtime.db.transaction() as s:
        assert len(queue_days.close_due_days(s, tz=TZ, now=EVENING)) == 1
    thread.join(30)
    assert answers == [None]
    assert _status(runtime, ticket_id) == "no_show"


def test_a_patient_still_waiting_at_closing_is_told_the_queue_closed_not_that_he_did_not_come(
    runtime, anon_client
):
    """Made a no-show by the closing (the queue's close action), he never missed a call: his
    page says the queue closed before his turn, in his language."""
    queue_id = make_queue(runtime, closes_at=time(18, 0))
    missed, waited = issue(runtime, queue_id), issue(runtime, queue_id)
    with runtime.db.transaction() as s:
        calls.mark_no_show(s, calls.call_next(s, queue_id, tz=TZ, now=MORNING), now=MORNING)
    with runtime.db.transaction() as s:
        assert queue_days.close_due_days(s, tz=TZ, now=EVENING) != []
    answers = {
        ticket.id: anon_client.get(f"/api/v1/public/tickets/{ticket.token}").get_json()
        for ticket in (waited, missed)
    }
    assert answers[missed.id]["status"] == answers[waited.id]["status"] == "no_show"
    assert answers[waited.id]["closed_with_day"] is True
    assert answers[missed.id]["closed_with_day"] is False
    html = {"Accept": "text/html"}
    page = anon_client.get(f"/t/{waited.token}?lang=ru", headers=html).get_data(as_text=True)
    status = page.split('id="patient-status"', 1)[1].split("</p>", 1)[0]
    assert (
        "Очередь закрылась на сегодня раньше вашего вызова" in status and "Не пришёл" not in status
    )
    page = anon_client.get(f"/t/{missed.token}?lang=ru", headers=html).get_data(as_text=True)
    assert "Очередь закрылась" not in page.split('id="patient-status"', 1)[1].split("</p>", 1)[0]


def test_a_queue_open_until_midnight_is_written_24_00_and_00_00_is_refused(runtime, client_as):
    """ "Open until midnight" is 24:00: the queue issues at 23:59 and its day closes once the
    next day has begun. 00:00, the day's first minute, is refused naming the field: a queue
    closing then would refuse every ticket, and the next closing run would send everyone
    waiting home."""
    queue_id = make_queue(runtime, closes_at=time(18, 0))
    waiting = issue(runtime, queue_id)
    admin = client_as("admin")
    refused = admin.patch(f"/api/v1/queues/{queue_id}", json={"closes_at": "00:00"})
    assert refused.status_code == 422
    assert "24:00" in refused.get_json()["errors"]["closes_at"][0]
    with runtime.db.session() as s:
        assert q.get_queue(s, queue_id).closes_at == time(18, 0)
    changed = admin.patch(f"/api/v1/queues/{queue_id}", json={"closes_at": "24:00"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["closes_at"] == "24:00"
    assert admin.get(f"/api/v1/queues/{queue_id}").get_json()["closes_at"] == "24:00"
    before_midnight = MORNING.replace(hour=18, minute=59)  # 23:59 in Tashkent
    late = issue(runtime, queue_id, now=before_midnight)
    assert late.number == waiting.number + 1
    with runtime.db.transaction() as s:
        assert queue_days.close_due_days(s, tz=TZ, now=before_midnight) == []
    assert _status(runtime, waiting.id) == _status(runtime, late.id) == "waiting"
    with runtime.db.transaction() as s:
        assert len(queue_days.close_due_days(s, tz=TZ, now=NEXT_NIGHT)) == 1
    assert _status(runtime, late.id) == "no_show"
