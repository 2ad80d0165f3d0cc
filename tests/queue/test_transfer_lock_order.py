"""Two doctors sending each other a patient they have called, at the same moment: both
transfers finish, on PostgreSQL, the production database.

A transfer records the ticket's step on its own queue's event counters, then issues the new
ticket in the other queue (its day's row, then its counters). A called patient's transfer
took no day's row before its own queue's counters: two crossing transfers each held one
queue's counters while waiting for the other's, and PostgreSQL failed one of the two with a
deadlock. Every transfer locks both days' rows first, the lower id first, whatever the
ticket's status."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.queue import calls
from clinic.queue.models import Ticket
from clinic.queue.models import TicketStatus as S
from tests.queue.test_queue_edges import MORNING, TZ, issue, make_queue
from tests.races import held_race

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


def _called(s, queue_id: int) -> None:
    calls.call_next(s, queue_id, tz=TZ, now=MORNING)


def _in_service(s, queue_id: int) -> None:
    calls.start_service(s, calls.call_next(s, queue_id, tz=TZ, now=MORNING), now=MORNING)


def _event_counters(statement, _parameters) -> bool:
    """The statement that takes the event counters: a step held there holds its queue's."""
    return "event_channels" in statement


@pytest.mark.parametrize("step", [_called, _in_service])
def test_two_doctors_sending_each_other_a_called_patient_both_finish(runtime, step):
    first_queue = make_queue(runtime, "swap-a", "A")
    second_queue = make_queue(runtime, "swap-b", "B")
    to_second, to_first = issue(runtime, first_queue), issue(runtime, second_queue)
    for queue_id in (first_queue, second_queue):
        with runtime.db.transaction() as s:
            step(s, queue_id)

    def the_first_doctor():
        # Held just after it took its own queue's event counters; the second doctor then
        # sends his patient to the first one's queue.
        with runtime.db.transaction() as s:
            calls.transfer(s, s.get(Ticket, to_second.id), second_queue, tz=TZ, now=MORNING)

    def the_second_doctor(s):
        calls.transfer(s, s.get(Ticket, to_first.id), first_queue, tz=TZ, now=MORNING)

    answers = held_race(runtime, the_first_doctor, the_second_doctor, holds=_event_counters)
    assert answers == {"first": "done", "step": "done"}, answers
    with runtime.db.session() as s:
        sent = s.scalars(select(Ticket).where(Ticket.transferred_from_id.is_not(None)))
        assert {t.queue_id: t.status for t in sent} == {
            first_queue: S.WAITING,
            second_queue: S.WAITING,
        }
        for ticket in (to_second, to_first):
            assert s.get(Ticket, ticket.id).status == S.TRANSFERRED


def test_a_patient_sent_back_as_another_is_sent_the_other_way_both_finish(runtime):
    """The laboratory finishes a patient to be sent back to therapy while therapy sends its
    called patient to the laboratory: the return takes a number in therapy's day, as the
    transfer takes one in the laboratory's; both take both days' rows first."""
    therapy = make_queue(runtime, "back-t", "T")
    lab = make_queue(runtime, "back-l", "L")
    sent, stays = issue(runtime, therapy), issue(runtime, therapy)
    with runtime.db.transaction() as s:
        _called(s, therapy)
        back = calls.transfer(s, s.get(Ticket, sent.id), lab, tz=TZ, now=MORNING, return_after=True)
        _in_service(s, lab)
        _called(s, therapy)
    assert back.return_to_queue_id == therapy

    def the_laboratory():
        # Held just after it took its own queue's event counters; therapy then sends its
        # called patient to the laboratory.
        with runtime.db.transaction() as s:
            calls.finish_service(s, s.get(Ticket, back.id), tz=TZ, now=MORNING)

    def therapy_sends_him(s):
        calls.transfer(s, s.get(Ticket, stays.id), lab, tz=TZ, now=MORNING)

    answers = held_race(runtime, the_laboratory, therapy_sends_him, holds=_event_counters)
    assert answers == {"first": "done", "step": "done"}, answers
    with runtime.db.session() as s:
        assert s.get(Ticket, back.id).status == S.SERVED
        assert s.get(Ticket, stays.id).status == S.TRANSFERRED
