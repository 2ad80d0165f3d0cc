"""The day's kept waiting count always equals the waiting tickets, through every change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from clinic.base import utcnow
from clinic.queue import calls
from clinic.queue import days as queue_days
from clinic.queue import tickets as q
from clinic.queue.models import QueueDay, Ticket
from clinic.queue.models import TicketStatus as S
from tests.queue.seeding import make_queue


def _kept_and_true(runtime, queue_id: int) -> list[tuple[int, int]]:
    with runtime.db.session() as s:
        return [
            (
                day.waiting,
                s.scalar(
                    select(func.count(Ticket.id)).where(
                        Ticket.queue_day_id == day.id, Ticket.status == S.WAITING
                    )
                ),
            )
            for day in s.scalars(select(QueueDay).where(QueueDay.queue_id == queue_id))
        ]


def test_the_days_waiting_count_follows_issuing_calling_and_every_way_out(runtime):
    tz = runtime.settings.tz
    first, other = make_queue(runtime, "therwcc"), make_queue(runtime, "surgwcd")
    with runtime.db.transaction() as s:
        ids = [q.issue_ticket(s, first, tz=tz).id for _ in range(8)]
    steps = [
        lambda s: calls.call_next(s, first, tz=tz),
        lambda s: calls.postpone(s, q.get_ticket(s, ids[3])),
        lambda s: calls.cancel(s, q.get_ticket(s, ids[4])),
        lambda s: calls.transfer(s, q.get_ticket(s, ids[5]), other, tz=tz),
        # The room holds one patient: the called one leaves before the call back.
        lambda s: calls.mark_no_show(s, q.get_ticket(s, ids[0])),
        lambda s: calls.call_back(s, q.get_ticket(s, ids[3])),
        lambda s: calls.postpone(s, q.get_ticket(s, ids[3])),
        lambda s: calls.cancel(s, q.get_ticket(s, ids[3])),
    ]
    for step in steps:
        with runtime.db.transaction() as s:
            step(s)
        for kept, true in _kept_and_true(runtime, first) + _kept_and_true(runtime, other):
            assert kept == true
    assert _kept_and_true(runtime, first) == [(4, 4)]
    assert _kept_and_true(runtime, other) == [(1, 1)]

    with runtime.db.transaction() as s:
        queue_days.close_due_days(s, tz=tz, now=utcnow() + timedelta(days=1))
    assert _kept_and_true(runtime, first) == [(0, 0)]


def test_a_change_based_on_a_stale_waiting_ticket_is_refused_and_counts_nothing(runtime):
    tz = runtime.settings.tz
    queue_id = make_queue(runtime, "therwce")
    with runtime.db.transaction() as s:
        ticket_id = q.issue_ticket(s, queue_id, tz=tz).id
        q.issue_ticket(s, queue_id, tz=tz)
    desk = runtime.db.session()
    try:
        stale = q.get_ticket(desk, ticket_id)
        desk.commit()  # the desk still sees it waiting
        with runtime.db.transaction() as s:
            assert calls.call_next(s, queue_id, tz=tz).id == ticket_id
        with pytest.raises(calls.Conflict):
            calls.postpone(desk, stale)
        desk.rollback()
    finally:
        desk.close()
    assert _kept_and_true(runtime, queue_id) == [(1, 1)]
