"""A patient still with his doctor past midnight holds the room: the day before is not closed
yet, and the new day's first call into that room waits until he is finished, as any call into
a room that holds a patient does (409 ``room_busy``, naming him); the doctor's screen says so."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from clinic.queue import admin as queue_admin
from clinic.queue import calls
from clinic.queue import tickets as q
from clinic.queue.models import Queue
from clinic.queue.rooms import RoomBusy
from tests.payments.fixtures import TZ, make_queue

# 23:55 in Tashkent on 2 March, and 00:01 on 3 March.
LATE = datetime(2026, 3, 2, 18, 55, tzinfo=timezone.utc)
AFTER_MIDNIGHT = datetime(2026, 3, 2, 19, 1, tzinfo=timezone.utc)


def _roomless_queue(session) -> int:
    """A queue that calls nowhere in particular (its room taken off it)."""
    queue = session.get(Queue, make_queue(session))
    return queue_admin.update_queue(session, queue, {"room_id": None}).id


def _seen_late_and_a_new_day_begun(runtime, queue_id: int) -> int:
    """The day's last patient, called at 23:55 and with the doctor, then a ticket of the new
    day issued at 00:01, before the day before is closed: the late patient's ticket id."""
    with runtime.db.session() as s:
        late = q.issue_ticket(s, queue_id, tz=TZ, now=LATE, commit=True).id
    with runtime.db.transaction() as s:
        called = calls.call_next(s, queue_id, tz=TZ, actor="doctor", now=LATE)
        assert called.id == late
        calls.start_service(s, called, actor="doctor", now=LATE)
    with runtime.db.session() as s:
        q.issue_ticket(s, queue_id, tz=TZ, now=AFTER_MIDNIGHT, commit=True)
    return late


@pytest.mark.parametrize("roomless", [False, True], ids=["room", "roomless"])
def test_a_room_still_holding_the_day_befores_patient_is_not_called_into(runtime, roomless):
    with runtime.db.transaction() as s:
        queue_id = _roomless_queue(s) if roomless else make_queue(s)
    late = _seen_late_and_a_new_day_begun(runtime, queue_id)
    with runtime.db.session() as s:
        queue = s.get(Queue, queue_id)
        holder = calls.holder_now(s, queue, queue.room_id, tz=TZ, now=AFTER_MIDNIGHT)
        assert holder is not None and holder.id == late  # the doctor's screen says so
        late_code = holder.code
    with pytest.raises(RoomBusy) as refused, runtime.db.transaction() as s:
        calls.call_next(s, queue_id, tz=TZ, actor="doctor", now=AFTER_MIDNIGHT)
    assert refused.value.code == "room_busy"
    assert refused.value.values == {"holder_code": late_code, "holder_queue_id": queue_id}

    # Finished, he leaves the room to the new day's first patient.
    with runtime.db.transaction() as s:
        calls.finish_service(s, s.get(q.Ticket, late), tz=TZ, actor="doctor", now=AFTER_MIDNIGHT)
    with runtime.db.transaction() as s:
        called = calls.call_next(s, queue_id, tz=TZ, actor="doctor", now=AFTER_MIDNIGHT)
        assert called is not None and called.number == 1 and called.id != late


def test_another_queue_calling_into_that_room_past_midnight_is_refused_too(runtime):
    with runtime.db.transaction() as s:
        queue_id, other_id = make_queue(s), make_queue(s)
        room_id = s.get(Queue, queue_id).room_id
    late = _seen_late_and_a_new_day_begun(runtime, queue_id)
    with runtime.db.session() as s:
        q.issue_ticket(s, other_id, tz=TZ, now=AFTER_MIDNIGHT, commit=True)
    with pytest.raises(RoomBusy) as refused, runtime.db.transaction() as s:
        calls.call_next(s, other_id, tz=TZ, room_id=room_id, actor="doctor", now=AFTER_MIDNIGHT)
    assert refused.value.values["holder_queue_id"] == queue_id
    with runtime.db.session() as s:
        assert s.get(q.Ticket, late).status == "in_service"
