"""A doctor may finish a patient straight from the call, without pressing Start: that service
counts from the patient's last call to its finish, in the patients' estimated wait, in the
day's closing figures and in the queue report; a service he started counts from its start."""

from __future__ import annotations

from datetime import time, timedelta

from clinic.queue import calls
from clinic.queue import days as queue_days
from clinic.queue import tickets as q
from clinic.queue.models import QueueDay
from clinic.reports.definitions import build
from tests.queue.test_services import MORNING, TZ, issue, make_queue
from tests.reports.fixtures import DAY, local, make_reference, params


def waiting(runtime, queue_id: int, count: int) -> list[int]:
    """``count`` patients queued a minute apart before 10:00, in that order."""
    return [
        issue(runtime, queue_id, now=MORNING - timedelta(minutes=count - i)).id
        for i in range(count)
    ]


def serve_one_without_start_and_one_started(runtime, queue_id: int, start=MORNING) -> None:
    """The first patient, called at 10:00 and recalled at 10:02, is finished at 10:14 without
    Start: 12 minutes from his last call (14 from his first). The second, called at 10:14,
    started at 10:16 and finished at 10:20: 4 minutes from the start (6 from the call). Their
    mean is 8 minutes; the started one alone would make it 4. (Times from ``start``.)"""

    def at(m: int):
        return start + timedelta(minutes=m)

    with runtime.db.transaction() as s:
        first = calls.call_next(s, queue_id, tz=TZ, now=at(0))
        calls.recall(s, first, now=at(2))
        calls.finish_service(s, first, tz=TZ, now=at(14))
        second = calls.call_next(s, queue_id, tz=TZ, now=at(14))
        calls.start_service(s, second, now=at(16))
        calls.finish_service(s, second, tz=TZ, now=at(20))


def test_a_service_finished_straight_from_the_call_counts_in_the_estimated_wait(runtime):
    """Two people ahead at 8 minutes each: 16 minutes, not the queue's default of 30 each,
    nor 8 from the started service alone."""
    queue_id = make_queue(runtime, code="nostart", default_service_minutes=30)
    tickets = waiting(runtime, queue_id, 5)
    serve_one_without_start_and_one_started(runtime, queue_id)
    with runtime.db.session() as s:
        last = q.get_ticket(s, tickets[4])
        assert queue_days.position(s, last) == {"ahead": 2, "estimated_minutes": 16}


def test_a_doctor_who_never_presses_start_moves_the_estimate_off_the_default(runtime):
    """Called at 10:00 and finished at 10:06 without Start: the queue's pace is those 6
    minutes, not its default of 30, and the last patient, one ahead, waits about 6."""
    queue_id = make_queue(runtime, code="neverstart", default_service_minutes=30)
    last_id = waiting(runtime, queue_id, 3)[-1]
    with runtime.db.transaction() as s:
        first = calls.call_next(s, queue_id, tz=TZ, now=MORNING)
        calls.finish_service(s, first, tz=TZ, now=MORNING + timedelta(minutes=6))
    with runtime.db.session() as s:
        last = q.get_ticket(s, last_id)
        day = s.get(QueueDay, last.queue_day_id)
        assert queue_days.service_pace(s, day.queue, day.id) == (360.0, 1)
        assert queue_days.position(s, last) == {"ahead": 1, "estimated_minutes": 6}


def test_the_days_closing_figures_count_a_service_finished_straight_from_the_call(runtime):
    queue_id = make_queue(runtime, code="nostartday", closes_at=time(18, 0))
    waiting(runtime, queue_id, 3)
    serve_one_without_start_and_one_started(runtime, queue_id)
    evening = MORNING.replace(hour=13)  # 18:00 in Tashkent
    with runtime.db.transaction() as s:
        assert len(queue_days.close_due_days(s, tz=TZ, now=evening)) == 1
    with runtime.db.session() as s:
        day = q.find_day(s, queue_id, MORNING.date())
        assert day.stats["by_status"]["served"] == 2 and day.stats["no_shows"] == 1
        assert day.stats["average_service_seconds"] == 8 * 60


def test_the_queue_reports_mean_service_counts_a_service_finished_straight_from_the_call(
    runtime,
):
    """The same two services on the report's day, from 9:00: a mean of 8.0 minutes on both
    databases (the started one alone would say 4.0), both counted as served."""
    data = make_reference(runtime)
    for minute in (55, 56):
        issue(runtime, data.queue_id, now=local(DAY, 8, minute))
    serve_one_without_start_and_one_started(runtime, data.queue_id, start=local(DAY, 9))
    with runtime.db.session() as s:
        [row] = list(build(s, params("queue", "queue"), TZ).rows)
    assert row[0] == data.queue_code
    assert (row[2], row[6]) == (2, 8.0)
