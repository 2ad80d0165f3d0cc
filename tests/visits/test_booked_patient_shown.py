"""The staff screens show whose a patient checked in for a visit is: in a department's shared
queue his ticket carries ``reserved_for`` (his doctor's full name) and ``reserved_for_id``
in today's list, on its own page, in the staff channel's snapshot and in its events, so a
doctor told "nobody" by call next sees who waits for whom. A walk-in's ticket names nobody;
the snapshot reads them in one statement, however many wait."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import insert, select

from clinic import channels
from clinic.base import utcnow
from clinic.events.models import OutboxEvent
from clinic.queue import tickets as q
from clinic.queue.models import Ticket, TicketSource
from clinic.queue.models import TicketStatus as S
from clinic.reference.models import Doctor
from clinic.visits import rescheduling
from clinic.visits.models import Visit
from tests.queue.test_bounded_statements import Statements
from tests.visits.test_booked_patient_calls import _floor

NOBODY = {"reserved_for": None, "reserved_for_id": None}


def _reserved(row: dict) -> dict:
    return {"reserved_for": row["reserved_for"], "reserved_for_id": row["reserved_for_id"]}


def _doctor(runtime, doctor_id: int) -> dict:
    with runtime.db.session() as s:
        return {"reserved_for": s.get(Doctor, doctor_id).full_name, "reserved_for_id": doctor_id}


def test_the_staff_views_name_the_doctor_a_booked_patient_waits_for(runtime, client_as):
    first, _second, _first_id, second_id, floor = _floor(runtime, client_as)
    his = _doctor(runtime, second_id)

    listed = first.get(f"/api/v1/queues/{floor['queue']}/tickets")
    assert listed.status_code == 200, listed.get_json()
    by_id = {row["id"]: _reserved(row) for row in listed.get_json()}
    assert by_id == {floor["booked"]: his, floor["walk_in"]: NOBODY}
    assert _reserved(first.get(f"/api/v1/tickets/{floor['booked']}").get_json()) == his
    assert _reserved(first.get(f"/api/v1/tickets/{floor['walk_in']}").get_json()) == NOBODY

    with runtime.db.session() as s:
        snapshot, _last = channels.snapshot(s, q.staff_channel(floor["queue"]), runtime.settings.tz)
        issued = {
            event.data["id"]: _reserved(event.data)
            for event in s.scalars(
                select(OutboxEvent).where(
                    OutboxEvent.channel == q.staff_channel(floor["queue"]),
                    OutboxEvent.type == "ticket.issued",
                )
            )
        }
    assert {t["id"]: _reserved(t) for t in snapshot["tickets"]} == by_id
    assert issued == by_id


def test_a_called_booked_patient_names_nobody_any_more(runtime, client_as):
    """Called, he is in his doctor's room: the line no longer keeps him for anyone."""
    _first, second, _first_id, _second_id, floor = _floor(runtime, client_as)
    called = second.post(f"/api/v1/queues/{floor['queue']}/call-next", json={})
    assert called.status_code == 200, called.get_json()
    assert called.get_json()["id"] == floor["booked"]
    event = _last_staff_event(runtime, floor["queue"])
    assert (event.type, _reserved(event.data)) == ("ticket.called", NOBODY)


def _last_staff_event(runtime, queue_id: int) -> OutboxEvent:
    with runtime.db.session() as s:
        return s.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.channel == q.staff_channel(queue_id))
            .order_by(OutboxEvent.seq.desc())
            .limit(1)
        ).one()


def _snapshot_cost(runtime, client_as, waiting: int) -> int:
    """Statements of the staff snapshot of a shared queue where ``waiting`` more tickets
    carry the visit checked in with one doctor, and whom its tickets name."""
    _first, _second, _first_id, second_id, floor = _floor(runtime, client_as)
    with runtime.db.transaction() as s:
        booked = s.get(Ticket, floor["booked"])
        rows = [
            {"queue_day_id": booked.queue_day_id, "queue_id": booked.queue_id, "number": n,
             "code": f"Z-{n:03d}", "source": TicketSource.DESK, "priority": 0,
             "status": S.WAITING, "comment": "", "token": secrets.token_urlsafe(32),
             "queued_at": booked.queued_at + timedelta(milliseconds=n),
             "created_at": booked.created_at, "recalls": 0, "visit_id": booked.visit_id}
            for n in range(100, 100 + waiting)
        ]  # fmt: skip
        s.execute(insert(Ticket), rows)
    with Statements(runtime.db.engine) as counted, runtime.db.session() as s:
        snapshot, _last = channels.snapshot(s, q.staff_channel(floor["queue"]), runtime.settings.tz)
    named = {t["reserved_for_id"] for t in snapshot["tickets"] if t["id"] != floor["walk_in"]}
    assert named == {second_id}
    return len(counted.sent)


def test_the_staff_snapshot_names_the_doctors_in_statements_that_do_not_grow(runtime, client_as):
    assert _snapshot_cost(runtime, client_as, 10) == _snapshot_cost(runtime, client_as, 300)


def test_a_booked_patient_moved_to_a_colleague_in_the_same_queue_is_shown_as_his(
    runtime, client_as
):
    """His visit moves to the other doctor of the department (the first one is called away):
    the ticket stays where it is in the shared queue, and an event tells the screens whom he
    waits for now, so neither doctor's screen keeps the old name."""
    first, _second, first_id, _second_id, floor = _floor(runtime, client_as)
    with runtime.db.transaction() as s:
        ticket = s.get(Ticket, floor["booked"])
        visit = s.get(Visit, ticket.visit_id)
        rescheduling.move_visit(
            s, visit, starts_at=visit.starts_at, doctor_id=first_id, tz=runtime.settings.tz,
            max_moves=None, actor="desk", reason="врач вызван", now=utcnow(),
        )  # fmt: skip
    last = _last_staff_event(runtime, floor["queue"])
    with runtime.db.session() as s:
        assert s.get(Ticket, floor["booked"]).status == S.WAITING
    assert (last.type, last.data["id"]) == ("ticket.visit_moved", floor["booked"])
    assert _reserved(last.data) == _doctor(runtime, first_id)
    called = first.post(f"/api/v1/queues/{floor['queue']}/call-next", json={})
    assert called.status_code == 200 and called.get_json()["id"] == floor["booked"]


def test_a_booked_patients_doctor_switched_off_leaves_him_to_anyone_on_the_screens(
    runtime, client_as, client
):
    """His doctor is switched off while he waits in the shared queue: he is anyone's to call
    now, and the screens hear it at once, rather than naming a doctor who will not call him
    until they load again. Switched on again, the doctor has him back, and they hear that."""
    _first, _second, _first_id, second_id, floor = _floor(runtime, client_as)
    answer = client.post(f"/api/v1/doctors/{second_id}/deactivate")
    assert answer.status_code == 200, answer.get_json()
    last = _last_staff_event(runtime, floor["queue"])
    assert (last.type, last.data["id"]) == ("ticket.visit_moved", floor["booked"])
    assert _reserved(last.data) == NOBODY

    answer = client.post(f"/api/v1/doctors/{second_id}/activate")
    assert answer.status_code == 200, answer.get_json()
    last = _last_staff_event(runtime, floor["queue"])
    assert (last.type, last.data["id"]) == ("ticket.visit_moved", floor["booked"])
    assert _reserved(last.data) == _doctor(runtime, second_id)
