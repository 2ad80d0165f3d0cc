"""The beat's housekeeping tasks, run in this process against the real database and Redis:
past queue days are closed, lost events re-published, old published ones pruned."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from clinic.base import utcnow
from clinic.events import flush_published_marks, record_event, record_events
from clinic.models import OutboxEvent, QueueDay, Ticket
from clinic.queue import admin as queue_admin
from clinic.queue import tickets as q
from clinic.queue.models import TicketStatus
from clinic.reference import directory as reference
from tasks import events as event_tasks
from tasks import queue as queue_tasks

# 10:00 in Tashkent on a Monday long past.
PAST_MORNING = datetime(2026, 3, 2, 5, 0, tzinfo=timezone.utc)


def test_a_past_day_is_closed_and_whoever_still_waits_becomes_a_no_show(app, runtime):
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {"code": "house", "ticket_prefix": "H", "name_ru": "Терапия",
             "name_uz": "Terapiya", "name_en": "Therapy"},
        )  # fmt: skip
        queue = queue_admin.create_queue(s, {"code": "house", "department_id": department.id})
        ticket = q.issue_ticket(s, queue.id, tz=runtime.settings.tz, now=PAST_MORNING)
    assert queue_tasks.close_days() == 1
    assert queue_tasks.close_days() == 0  # a closed day is not closed twice
    with runtime.db.session() as s:
        assert s.get(Ticket, ticket.id).status == TicketStatus.NO_SHOW
        assert s.get(QueueDay, ticket.queue_day_id).closed_at is not None


def test_events_that_never_reached_redis_are_published_by_the_sweeper(app, runtime):
    # More than one sweep's batch (500): the task goes on until none is left.
    with runtime.db.transaction() as s:
        record_events(s, [("job:lost", "test.tick", {"n": n}) for n in range(501)])
    flush_published_marks()  # the publisher's own marks land first, then Redis "loses" them
    with runtime.db.transaction() as s:
        s.execute(
            update(OutboxEvent).values(
                published_at=None, created_at=utcnow() - timedelta(minutes=1)
            )
        )
    runtime.redis.delete(runtime.bus.history_key("job:lost"))
    assert event_tasks.republish() == 501
    assert event_tasks.republish() == 0
    history = runtime.bus.history_after("job:lost", 0)
    assert [e["data"]["n"] for e in history] == list(range(501))
    with runtime.db.session() as s:
        assert s.scalar(select(OutboxEvent.id).where(OutboxEvent.published_at.is_(None))) is None


def test_published_events_past_their_retention_are_pruned(app, runtime):
    with runtime.db.transaction() as s:
        old = record_event(s, "job:old", "test.tick", {})
        kept = record_event(s, "job:old", "test.tick", {})
    flush_published_marks()
    long_ago = utcnow() - timedelta(days=runtime.settings.outbox_retention_days + 1)
    with runtime.db.transaction() as s:
        s.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == old.id)
            .values(published_at=long_ago, created_at=long_ago)
        )
    assert event_tasks.prune() == 1
    with runtime.db.session() as s:
        assert s.scalars(select(OutboxEvent.id)).all() == [kept.id]
