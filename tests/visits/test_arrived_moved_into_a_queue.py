"""A patient checked in to a doctor who works without a queue (arrived, no ticket), moved the
same day to a colleague who works from a queue, gets the ticket his check-in would have given
him there: ahead of that colleague's walk-ins. With no queue taking tickets there either, he
waits arrived, seen by the calendar."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import select

from clinic.base import iso
from clinic.queue import admin as queue_admin
from clinic.queue import calls
from clinic.queue import tickets as q
from clinic.queue.models import Ticket, TicketSource, TicketStatus
from clinic.visits import bulk, checkin
from clinic.visits.events import VisitStatus
from clinic.visits.models import Visit, VisitEvent
from tests.visits.conftest import ALL_DAY, make_clinic, slot_near, until_a_later_slot_today
from tests.visits.test_rescheduling import wait_jobs

OPEN_ALL_DAY = time(23, 59, 59, 999999)


def _arrived_without_a_ticket(runtime, client, *, colleagues_queue_closes=OPEN_ALL_DAY):
    """Doctor A, without a queue, and colleague B with his own (closing at
    ``colleagues_queue_closes``, None: none), a walk-in already waiting in it; A's patient
    booked a few minutes ahead and checked in. Returns the clinic, the visit's id, B's queue
    and the walk-in's ticket."""
    until_a_later_slot_today(runtime)
    clinic = make_clinic(runtime, doctors=2, patients=2, **ALL_DAY)
    queue = walk_in = None
    if colleagues_queue_closes is not None:
        with runtime.db.transaction() as s:
            queue = queue_admin.create_queue(
                s, {"code": f"b{clinic.doctor_ids[1]}", "department_id": clinic.department_id,
                    "doctor_id": clinic.doctor_ids[1], "closes_at": colleagues_queue_closes},
            )  # fmt: skip
    if colleagues_queue_closes == OPEN_ALL_DAY:
        with runtime.db.transaction() as s:
            walk_in = q.issue_ticket(
                s, queue.id, tz=runtime.settings.tz, patient_id=clinic.patient_ids[1]
            ).id
    booked = client.post(
        "/api/v1/visits",
        json={"patient_id": clinic.patient_ids[0], "doctor_id": clinic.doctor_ids[0],
              "starts_at": iso(slot_near(runtime, timedelta(minutes=5)))},
    )  # fmt: skip
    assert booked.status_code == 201, booked.get_json()
    visit_id = booked.get_json()["id"]
    arrived = client.post(f"/api/v1/visits/{visit_id}/check-in", json={}).get_json()
    assert (arrived["status"], arrived["ticket_id"]) == ("arrived", None), arrived
    return clinic, visit_id, queue, walk_in


def _moved_to_the_colleague_later_today(runtime, client, clinic, visit_id):
    later = slot_near(runtime, timedelta(minutes=10))
    response = client.post(
        f"/api/v1/visits/{visit_id}/reschedule",
        json={"starts_at": iso(later), "doctor_id": clinic.doctor_ids[1],
              "reason": "врач ушёл"},
    )  # fmt: skip
    assert response.status_code == 202, response.get_json()
    job = wait_jobs(runtime, [response.get_json()["id"]])[response.get_json()["id"]]
    assert job.status == "succeeded", job.error
    return job


def test_moved_to_a_colleague_with_a_queue_he_waits_in_it_ahead_of_the_walk_ins(
    runtime, client, worker
):
    clinic, visit_id, queue, walk_in = _arrived_without_a_ticket(runtime, client)

    job = _moved_to_the_colleague_later_today(runtime, client, clinic, visit_id)

    seen = client.get(f"/api/v1/visits/{visit_id}").get_json()
    assert (seen["status"], seen["doctor_id"]) == ("arrived", clinic.doctor_ids[1]), seen
    assert seen["ticket_id"] is not None and seen["ticket_status"] == TicketStatus.WAITING
    with runtime.db.session() as s:
        ticket = s.get(Ticket, seen["ticket_id"])
        assert (ticket.queue_id, ticket.visit_id, ticket.patient_id) == (
            queue.id,
            visit_id,
            clinic.patient_ids[0],
        )
        assert ticket.source == TicketSource.APPOINTMENT
        assert ticket.priority == checkin.APPOINTMENT_PRIORITY
        moved = s.scalars(
            select(VisitEvent).where(
                VisitEvent.visit_id == visit_id, VisitEvent.action == "rescheduled"
            )
        ).one()
        code = ticket.code
    assert moved.data["ticket"] == {"ticket": ticket.id, "action": "issued", "code": code}
    assert job.result["ticket"]["action"] == "issued"
    # His colleague's next call is him, though the walk-in came first.
    with runtime.db.transaction() as s:
        called = calls.call_next(
            s, queue.id, room_id=clinic.room_ids[1], tz=runtime.settings.tz, actor="doctor"
        )
        assert called.id == ticket.id != walk_in
    # He is in the queue: a second check-in is refused, as for any patient holding a ticket.
    again = client.post(f"/api/v1/visits/{visit_id}/check-in", json={})
    assert again.status_code == 409, again.get_json()


def test_moved_to_a_colleague_whose_queue_has_closed_he_waits_arrived_without_a_ticket(
    runtime, client, worker
):
    # Closed a second after midnight: closed for the day by the time the patient is moved
    clinic, visit_id, queue, _ = _arrived_without_a_ticket(
        runtime, client, colleagues_queue_closes=time(0, 0, 1)
    )

    _moved_to_the_colleague_later_today(runtime, client, clinic, visit_id)

    seen = client.get(f"/api/v1/visits/{visit_id}").get_json()
    assert (seen["status"], seen["doctor_id"], seen["ticket_id"]) == (
        "arrived",
        clinic.doctor_ids[1],
        None,
    ), seen
    with runtime.db.session() as s:
        assert s.scalars(select(Ticket).where(Ticket.queue_id == queue.id)).all() == []


def test_moved_to_a_colleague_without_a_queue_he_waits_arrived_without_a_ticket(
    runtime, client, worker
):
    clinic, visit_id, _, _ = _arrived_without_a_ticket(
        runtime, client, colleagues_queue_closes=None
    )

    _moved_to_the_colleague_later_today(runtime, client, clinic, visit_id)

    seen = client.get(f"/api/v1/visits/{visit_id}").get_json()
    assert (seen["status"], seen["doctor_id"], seen["ticket_id"]) == (
        "arrived",
        clinic.doctor_ids[1],
        None,
    ), seen


def test_his_doctor_declared_away_the_bulk_move_puts_him_in_a_colleagues_queue(runtime, client):
    clinic, visit_id, queue, walk_in = _arrived_without_a_ticket(runtime, client)
    tz = runtime.settings.tz
    with runtime.db.session() as s:
        today = s.get(Visit, visit_id).starts_at.astimezone(tz).date()
    with runtime.db.transaction() as s:
        _, job = bulk.start_bulk_move(
            s, clinic.doctor_ids[0], kind="sick", first_day=today, last_day=today,
            search_days=0, actor="chief", today=today,
        )  # fmt: skip

    result = bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=tz)

    assert result["unplaced"] == [] and [m["visit_id"] for m in result["moved"]] == [visit_id]
    with runtime.db.session() as s:
        moved = s.get(Visit, visit_id)
        assert (moved.status, moved.doctor_id) == (VisitStatus.ARRIVED, clinic.doctor_ids[1])
        assert moved.starts_at.astimezone(tz).date() == today
        ticket = s.get(Ticket, moved.ticket_id)
        assert (ticket.queue_id, ticket.visit_id, ticket.status) == (
            queue.id,
            visit_id,
            TicketStatus.WAITING,
        )
        assert ticket.priority == checkin.APPOINTMENT_PRIORITY
