"""A ticket's events on its queue's staff and board channels say the ticket's day, so that a
desk, a doctor's screen or the hall's board open across midnight keeps the new day's tickets
and count apart from a patient of the day before still with his doctor (web/static/js/queue.js,
web/static/js/board.js)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from clinic.models import OutboxEvent
from clinic.queue import calls
from clinic.queue import tickets as q
from clinic.reference import directory as reference
from tests.payments.fixtures import TZ, make_queue

# 23:50 in Tashkent on 2 March, and 00:10 on 3 March.
LATE = datetime(2026, 3, 2, 18, 50, tzinfo=timezone.utc)
AFTER_MIDNIGHT = datetime(2026, 3, 2, 19, 10, tzinfo=timezone.utc)


def _days_heard(runtime, channel: str) -> list[tuple[str, int, str | None]]:
    with runtime.db.session() as s:
        rows = s.scalars(
            select(OutboxEvent).where(OutboxEvent.channel == channel).order_by(OutboxEvent.seq)
        ).all()
        return [
            (r.type, r.data.get("id", r.data.get("ticket_id")), r.data.get("day")) for r in rows
        ]


def test_each_ticket_event_on_the_staff_channel_names_the_tickets_day(runtime):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
    with runtime.db.session() as s:
        late = q.issue_ticket(s, queue_id, tz=TZ, now=LATE, commit=True).id
    with runtime.db.transaction() as s:
        called = calls.call_next(s, queue_id, tz=TZ, actor="doctor", now=LATE)
        calls.start_service(s, called, actor="doctor", now=LATE)
    with runtime.db.session() as s:
        new = q.issue_ticket(s, queue_id, tz=TZ, now=AFTER_MIDNIGHT, commit=True).id
    with runtime.db.transaction() as s:
        calls.finish_service(s, s.get(q.Ticket, late), tz=TZ, actor="doctor", now=AFTER_MIDNIGHT)
    assert _days_heard(runtime, q.staff_channel(queue_id)) == [
        ("ticket.issued", late, "2026-03-02"),
        ("ticket.called", late, "2026-03-02"),
        ("ticket.started", late, "2026-03-02"),
        ("ticket.issued", new, "2026-03-03"),
        ("ticket.served", late, "2026-03-02"),
    ]
    # The hall's board keeps the days apart too: a board open across midnight shows the new
    # day's calls, not the day before's patient served after midnight (web/static/js/board.js).
    assert _days_heard(runtime, q.board_channel(queue_id)) == [
        ("ticket.issued", late, "2026-03-02"),
        ("ticket.called", late, "2026-03-02"),
        ("ticket.started", late, "2026-03-02"),
        ("ticket.issued", new, "2026-03-03"),
        ("ticket.served", late, "2026-03-02"),
    ]
    # The patient's own page keeps its shape: his ticket as the board shows it.
    assert {day for _type, _id, day in _days_heard(runtime, q.ticket_channel(late))} == {None}


def _board_heard(runtime, queue_id: int, since: int) -> list[tuple[str, int]]:
    with runtime.db.session() as s:
        rows = s.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.channel == q.board_channel(queue_id), OutboxEvent.seq > since)
            .order_by(OutboxEvent.seq)
        ).all()
        return [(r.type, r.data["waiting"]) for r in rows]


def test_the_closing_of_the_day_before_leaves_the_board_the_new_days_calls_and_count(runtime):
    """The hall's board has shown the queue since the evening. After midnight the new day's
    patients are issued and one is called before the day before closes (the doctor's last
    patient kept it open): the closing tells the board of the old day's tickets with the
    count of those waiting now, and does not clear the board of the new day's call."""
    from clinic.events import channel_last_seq
    from clinic.queue import days as queue_days

    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
    with runtime.db.session() as s:
        q.issue_ticket(s, queue_id, tz=TZ, now=LATE, commit=True)
        q.issue_ticket(s, queue_id, tz=TZ, now=LATE, commit=True)
    with runtime.db.transaction() as s:
        calls.start_service(s, calls.call_next(s, queue_id, tz=TZ, now=LATE), now=LATE)
    with runtime.db.session() as s:
        for _ in range(3):
            q.issue_ticket(s, queue_id, tz=TZ, now=AFTER_MIDNIGHT, commit=True)
    with runtime.db.transaction() as s:
        # The new day's first, to another room (the day before's patient still holds the
        # queue's): 2 wait.
        other_room = reference.create_room(s, {"number": f"x{queue_id}", "name": ""}).id
        calls.call_next(s, queue_id, tz=TZ, room_id=other_room, now=AFTER_MIDNIGHT)
        since = channel_last_seq(s, q.board_channel(queue_id))
    with runtime.db.transaction() as s:
        assert len(queue_days.close_due_days(s, tz=TZ, now=AFTER_MIDNIGHT)) == 1
    # The patient left waiting and the one with his doctor, each with the 2 waiting now; no
    # queue.day_closed to clear the new day's call from the board.
    assert _board_heard(runtime, queue_id, since) == [("ticket.day_closed", 2)] * 2
    # The desks and the doctor's screens hear the old day close, and keep the new day.
    assert _days_heard(runtime, q.staff_channel(queue_id))[-1] == (
        "queue.day_closed",
        None,
        "2026-03-02",
    )
