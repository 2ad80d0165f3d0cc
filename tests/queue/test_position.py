"""A patient's place in the line: the calling-order rank of his ticket, counted from whichever
end of the line is nearer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.queue import calls
from clinic.queue import days as queue_days
from clinic.queue import position
from clinic.queue import tickets as q
from clinic.queue.models import Priority, Ticket
from clinic.queue.models import TicketStatus as S
from tests.queue.seeding import make_queue

N, P, R, U = Priority.NORMAL, Priority.PRIVILEGED, Priority.RETURNED, Priority.URGENT


def _line(s, queue_id: int) -> list[Ticket]:
    waiting = s.scalars(
        select(Ticket).where(Ticket.queue_id == queue_id, Ticket.status == S.WAITING)
    )
    return sorted(waiting, key=lambda t: (-t.priority, t.queued_at, t.id))


# 500: every ticket is counted from the back; 3 and 1: the deeper ones count those ahead.
@pytest.mark.parametrize("near_the_back", [500, 3, 1])
def test_people_ahead_is_the_rank_in_calling_order_from_either_end(
    runtime, monkeypatch, near_the_back
):
    monkeypatch.setattr(position, "NEAR_THE_BACK", near_the_back)
    tz = runtime.settings.tz
    queue_id = make_queue(runtime, "posrank")
    with runtime.db.transaction() as s:
        order = (N, P, U, N, R, N, P, U, N)
        issued = [q.issue_ticket(s, queue_id, tz=tz, priority=p) for p in order]
    with runtime.db.transaction() as s:
        calls.call_next(s, queue_id, tz=tz)  # the first urgent leaves the line
        calls.cancel(s, s.get(Ticket, issued[3].id), actor="desk")  # one from the middle
    with runtime.db.session() as s:
        line = _line(s, queue_id)
        assert len(line) == 7
        assert [position.people_ahead(s, ticket) for ticket in line] == list(range(7))
        last = line[-1]
        assert queue_days.position(s, last)["ahead"] == 6


def test_a_ticket_cancelled_meanwhile_counts_those_still_ahead_of_it(runtime):
    """The page holds a ticket read before the desk cancelled it: the kept count no longer
    includes it, so the answer comes from the tickets ahead (one), not from the count less
    those behind (which would say none)."""
    tz = runtime.settings.tz
    queue_id = make_queue(runtime, "posstale")
    with runtime.db.transaction() as s:
        first, second, third = (q.issue_ticket(s, queue_id, tz=tz).id for _ in range(3))
    with runtime.db.session() as reader:
        stale = reader.get(Ticket, second)
        assert position.people_ahead(reader, stale) == 1
        reader.expunge(stale)  # the page's copy, as read before the cancel
    with runtime.db.transaction() as desk:
        calls.cancel(desk, desk.get(Ticket, second), actor="desk")
    with runtime.db.session() as reader:
        assert stale.status == S.WAITING
        assert position.people_ahead(reader, stale) == 1


def test_the_estimate_of_a_queue_two_doctors_call_from_counts_both(runtime):
    """A department's queue two doctors call from, each into his own room, moves twice as
    fast as one doctor's: the wait is the people ahead times the service time, shared by the
    rooms that served the latest patients."""
    from datetime import timedelta

    from clinic.reference import directory as reference
    from tests.queue.test_services import MORNING, TZ, issue
    from tests.queue.test_services import make_queue as queue_with_a_room

    queue_id = queue_with_a_room(runtime, code="shared", prefix="S")
    with runtime.db.transaction() as s:
        rooms = [reference.create_room(s, {"number": n, "name": ""}).id for n in ("21", "22")]
    tickets = [issue(runtime, queue_id, now=MORNING + timedelta(seconds=i)).id for i in range(6)]
    with runtime.db.transaction() as s:
        for room in rooms:
            t = calls.call_next(s, queue_id, tz=TZ, room_id=room, now=MORNING)
            calls.start_service(s, t, now=MORNING + timedelta(minutes=1))
            calls.finish_service(s, t, tz=TZ, now=MORNING + timedelta(minutes=11))
    with runtime.db.session() as s:
        last = q.get_ticket(s, tickets[5])
        # Three ahead, ten minutes each, two rooms at work: fifteen minutes, not thirty.
        assert queue_days.position(s, last) == {"ahead": 3, "estimated_minutes": 15}


def test_a_paid_patient_in_a_pay_first_queue_counts_only_the_paid_ones_ahead(runtime):
    """Call next passes over the unpaid: a paid patient behind them is next, and his page says
    so. One not paid yet waits behind everyone before him, as he is called once he pays."""
    from sqlalchemy import update

    from tests.queue.test_services import MORNING, TZ, issue
    from tests.queue.test_services import make_queue as pay_first_queue

    queue_id = pay_first_queue(runtime, pay_before_doctor=True, default_service_minutes=10)
    tickets = [issue(runtime, queue_id).id for _ in range(5)]
    paid = [tickets[1], tickets[3], tickets[4]]
    with runtime.db.transaction() as s:
        s.execute(update(Ticket).where(Ticket.id.in_(paid)).values(paid_at=MORNING))
    with runtime.db.session() as s:
        places = [queue_days.position(s, q.get_ticket(s, t)) for t in tickets]
        assert [p["ahead"] for p in places] == [0, 0, 2, 1, 2]
        assert places[4]["estimated_minutes"] == 20
    with runtime.db.transaction() as s:
        assert calls.call_next(s, queue_id, tz=TZ, now=MORNING).id == tickets[1]
