"""A booked patient given a ticket of his doctor's queue at the desk before anybody saw his
booking holds one place there: his check-in is refused (409 ``patient_in_queue`` naming
``visit_id``, the ticket's code in ``values``) and changes nothing, rather than give him a
second ticket of the same queue's day, which would have him called twice. Moved within the
day into a queue where he holds a ticket already, he keeps that one."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import func, select

from clinic.base import iso
from clinic.queue import admin as queue_admin
from clinic.queue.models import Ticket
from clinic.visits.models import Visit
from tests.visits.conftest import ALL_DAY, make_clinic, slot_near, until_a_later_slot_today
from tests.visits.test_arrived_moved_into_a_queue import _moved_to_the_colleague_later_today

OPEN_ALL_DAY = time(23, 59, 59, 999999)


def _booked_with_a_walk_in_ticket(runtime, client, *, doctors=1):
    until_a_later_slot_today(runtime)
    clinic = make_clinic(runtime, doctors=doctors, patients=2, **ALL_DAY)
    with runtime.db.transaction() as s:
        queue = queue_admin.create_queue(
            s, {"code": f"w{clinic.department_id}", "department_id": clinic.department_id,
                "doctor_id": clinic.doctor_ids[-1], "closes_at": OPEN_ALL_DAY},
        )  # fmt: skip
        queue_id = queue.id
    booked = client.post(
        "/api/v1/visits",
        json={"patient_id": clinic.patient_ids[0], "doctor_id": clinic.doctor_ids[0],
              "starts_at": iso(slot_near(runtime, timedelta(minutes=5)))},
    )  # fmt: skip
    assert booked.status_code == 201, booked.get_json()
    walk_in = client.post(
        f"/api/v1/queues/{queue_id}/tickets", json={"patient_id": clinic.patient_ids[0]}
    )
    assert walk_in.status_code == 201, walk_in.get_json()
    return clinic, booked.get_json()["id"], queue_id, walk_in.get_json()["code"]


def _his_tickets(runtime, clinic) -> list[tuple]:
    with runtime.db.session() as s:
        found = s.execute(
            select(Ticket.code, Ticket.status, Ticket.visit_id)
            .where(Ticket.patient_id == clinic.patient_ids[0])
            .order_by(Ticket.id)
        )
        return [tuple(row) for row in found]


def test_a_check_in_of_a_patient_holding_a_ticket_of_that_queue_is_refused_naming_it(
    runtime, client
):
    clinic, visit_id, _, code = _booked_with_a_walk_in_ticket(runtime, client)
    refused = client.post(f"/api/v1/visits/{visit_id}/check-in", json={})
    assert refused.status_code == 409, refused.get_json()
    body = refused.get_json()
    assert body["code"] == "patient_in_queue"
    assert list(body["errors"]) == ["visit_id"]
    assert body["values"] == {"ticket_code": code}
    assert _his_tickets(runtime, clinic) == [(code, "waiting", None)]
    with runtime.db.session() as s:
        visit = s.get(Visit, visit_id)
        assert (visit.status, visit.ticket_id) == ("scheduled", None)
    # The desk cancels the walk-in ticket: he is checked in by his booking.
    with runtime.db.session() as s:
        walk_in_id = s.scalar(select(Ticket.id).where(Ticket.code == code))
    assert client.post(f"/api/v1/tickets/{walk_in_id}/cancel", json={}).status_code == 200
    arrived = client.post(f"/api/v1/visits/{visit_id}/check-in", json={})
    assert arrived.status_code == 200, arrived.get_json()
    [(_, _, by_visit)] = [t for t in _his_tickets(runtime, clinic) if t[1] == "waiting"]
    assert by_visit == visit_id


def test_moved_into_a_queue_where_he_holds_a_ticket_he_keeps_that_one(runtime, client, worker):
    """Checked in to a doctor without a queue, then moved within the day to the colleague
    whose queue gave him a ticket at the desk: that ticket stays his one place there."""
    clinic, visit_id, queue_id, code = _booked_with_a_walk_in_ticket(runtime, client, doctors=2)
    arrived = client.post(f"/api/v1/visits/{visit_id}/check-in", json={}).get_json()
    assert (arrived["status"], arrived["ticket_id"]) == ("arrived", None), arrived
    _moved_to_the_colleague_later_today(runtime, client, clinic, visit_id)
    assert _his_tickets(runtime, clinic) == [(code, "waiting", None)]
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Ticket.id)).where(Ticket.queue_id == queue_id)) == 1
