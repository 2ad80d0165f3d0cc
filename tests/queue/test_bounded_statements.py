"""Calling, the boards, the staff view and a patient's position cost the same number of SQL
statements whatever the length of the day: counted at 10 and at 1,000 waiting tickets."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, select

from clinic import channels
from clinic.queue import calls
from clinic.queue import days as queue_days
from clinic.queue import snapshots
from clinic.queue.models import Ticket
from tests.queue.seeding import make_queue, seed_waiting


class Statements:
    """Counts the statements this thread sends through the engine while it is open (the
    process's outbox marker writes from a thread of its own)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.thread = threading.get_ident()
        self.sent: list[str] = []

    def _count(self, _conn, _cursor, statement, *_args):
        if threading.get_ident() == self.thread:
            self.sent.append(statement)

    def __enter__(self) -> "Statements":
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


def _costs(runtime, waiting: int) -> dict[str, int]:
    queue_id = make_queue(runtime, "ther" + "abcd"[len(str(waiting)) - 2] * 3)
    seed_waiting(runtime, queue_id, waiting)
    tz = runtime.settings.tz
    costs, engine = {}, runtime.db.engine
    with runtime.db.transaction() as s:  # two calls, so the board has calls to show
        first = calls.call_next(s, queue_id, tz=tz, actor="doctor")
        calls.finish_service(s, first, tz=tz, actor="doctor")
    with Statements(engine) as counted, runtime.db.transaction() as s:
        called = calls.call_next(s, queue_id, tz=tz, actor="doctor")
    costs["call next"] = len(counted.sent)
    assert called.number == 2
    for kind in ("board", "queue"):
        with Statements(engine) as counted, runtime.db.session() as s:
            data, _last = channels.snapshot(s, f"{kind}:{queue_id}", tz)
        costs[f"{kind} snapshot"] = len(counted.sent)
        assert data["waiting"] == waiting - 2
        if kind == "queue":
            assert len(data["tickets"]) == min(waiting - 2, snapshots.WAITING_WINDOW) + 2
            assert data["counts"]["waiting"] == waiting - 2
    with runtime.db.session() as s:
        last = s.scalar(select(Ticket).where(Ticket.queue_id == queue_id, Ticket.number == waiting))
        with Statements(engine) as counted:
            position = queue_days.position(s, last)
        costs["position"] = len(counted.sent)
        assert position["ahead"] == waiting - 3
    return costs


@pytest.mark.parametrize("what", ["call next", "board snapshot", "queue snapshot", "position"])
def test_the_statements_of_the_queue_views_do_not_grow_with_the_day(runtime, what):
    short, long = _costs(runtime, 10), _costs(runtime, 1000)
    assert short[what] == long[what], (short, long)
    assert short[what] <= 13, short  # call next: 13, with the read of who holds the room


def _doctor_call_cost(runtime, waiting: int) -> int:
    """Statements of a call next by a doctor of the department (who passes over his
    colleagues' booked patients: one condition more in the same pick)."""
    from clinic.queue.models import Queue
    from clinic.reference import directory as reference

    queue_id = make_queue(runtime, "doct" + "abcd"[len(str(waiting)) - 2] * 3)
    seed_waiting(runtime, queue_id, waiting)
    with runtime.db.transaction() as s:
        department_id = s.get(Queue, queue_id).department_id
        doctor = reference.create_doctor(s, {"full_name": "Врач", "department_id": department_id})
        doctor_id = doctor.id
    with Statements(runtime.db.engine) as counted, runtime.db.transaction() as s:
        called = calls.call_next(
            s, queue_id, tz=runtime.settings.tz, actor="doctor", doctor_id=doctor_id
        )
    assert called.number == 1
    return len(counted.sent)


def test_a_doctors_call_next_does_not_grow_with_the_day(runtime):
    import clinic.visits.checkin  # noqa: F401 - the visits module's rule of booked patients

    short, long = _doctor_call_cost(runtime, 10), _doctor_call_cost(runtime, 1000)
    assert short == long, (short, long)
    assert short <= 13, short
