"""An appointment paid for before the patient came: his check-in ticket is a paid one."""

from __future__ import annotations

from datetime import time, timedelta

from clinic.base import utcnow
from clinic.payments.models import Invoice
from clinic.queue import admin as queue_admin
from clinic.queue import calls
from clinic.queue.models import Ticket
from clinic.reference.models import Doctor
from clinic.visits import booking, checkin
from clinic.visits.models import Visit
from tests.visits.conftest import ALL_DAY, make_clinic, slot_near


def _booked_today(runtime, clinic, patient: int) -> int:
    near = slot_near(runtime)
    starts = near + timedelta(
        minutes=(-5 if near.astimezone(clinic.tz).hour >= 12 else 5) * patient
    )
    with runtime.db.transaction() as s:
        return booking.book(
            s, patient_id=clinic.patient_ids[patient], doctor_id=clinic.doctor_ids[0],
            starts_at=starts, tz=clinic.tz, now=starts - timedelta(hours=1),
        ).id  # fmt: skip


def test_an_appointment_paid_ahead_checks_in_as_a_paid_ticket_the_doctor_can_call(runtime, client):
    clinic = make_clinic(runtime, patients=2, **ALL_DAY)
    with runtime.db.transaction() as s:
        queue_id = queue_admin.create_queue(
            s,
            {
                "code": "ther", "department_id": clinic.department_id,
                "room_id": clinic.room_ids[0], "closes_at": time(23, 59, 59, 999999),
                "pay_before_doctor": True,
            },
        ).id  # fmt: skip
    paid_visit, unpaid_visit = _booked_today(runtime, clinic, 0), _booked_today(runtime, clinic, 1)
    invoices = {}
    for patient, visit_id in enumerate((paid_visit, unpaid_visit)):
        made = client.post(
            "/api/v1/payments/invoices",
            json={
                "patient_id": clinic.patient_ids[patient],
                "visit_id": visit_id,
                "lines": [{"service_id": clinic.service_id}],
            },
        )
        assert made.status_code == 201, made.get_json()
        invoices[visit_id] = made.get_json()["id"]
    assert client.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    paid = client.post(
        f"/api/v1/payments/invoices/{invoices[paid_visit]}/pay", json={"method": "card"}
    )
    assert paid.status_code == 201, paid.get_json()

    # The patient who has not paid arrives first: he is ahead in the line, but not called.
    tickets = {}
    for visit_id in (unpaid_visit, paid_visit):
        checked_in = client.post(f"/api/v1/visits/{visit_id}/check-in", json={})
        assert checked_in.status_code == 200, checked_in.get_json()
        tickets[visit_id] = checked_in.get_json()["ticket_id"]
    with runtime.db.session() as s:
        for visit_id in (paid_visit, unpaid_visit):
            assert s.get(Invoice, invoices[visit_id]).ticket_id == tickets[visit_id]
        assert s.get(Ticket, tickets[paid_visit]).paid_at is not None
        assert s.get(Ticket, tickets[unpaid_visit]).paid_at is None
    with runtime.db.transaction() as s:
        called = calls.call_next(s, queue_id, tz=clinic.tz, actor="doctor")
        assert called is not None and called.id == tickets[paid_visit]

    # Paid at the desk once he is in the queue: his ticket is paid too.
    paid = client.post(
        f"/api/v1/payments/invoices/{invoices[unpaid_visit]}/pay", json={"method": "cash"}
    )
    assert paid.status_code == 201, paid.get_json()
    with runtime.db.session() as s:
        assert s.get(Ticket, tickets[unpaid_visit]).paid_at is not None


def test_a_paid_patient_moved_to_a_colleague_today_is_called_there_without_paying_again(
    runtime, client
):
    clinic = make_clinic(runtime, doctors=2, **ALL_DAY)
    queues = []
    with runtime.db.transaction() as s:
        for n, doctor in enumerate((None, clinic.doctor_ids[1])):  # the department's, his own
            queues.append(
                queue_admin.create_queue(
                    s,
                    {
                        "code": f"ther{n}", "department_id": clinic.department_id,
                        "doctor_id": doctor, "prefix": f"T{'AB'[n]}",
                        "closes_at": time(23, 59, 59, 999999), "pay_before_doctor": True,
                    },
                ).id
            )  # fmt: skip
    visit_id = _booked_today(runtime, clinic, 0)
    made = client.post(
        "/api/v1/payments/invoices",
        json={"patient_id": clinic.patient_ids[0], "lines": [{"service_id": clinic.service_id}],
              "visit_id": visit_id},
    )  # fmt: skip
    assert made.status_code == 201, made.get_json()
    assert client.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    paid = client.post(
        f"/api/v1/payments/invoices/{made.get_json()['id']}/pay", json={"method": "card"}
    )
    assert paid.status_code == 201, paid.get_json()
    first = client.post(f"/api/v1/visits/{visit_id}/check-in", json={}).get_json()["ticket_id"]
    # His doctor has gone home: the registrar gives the visit to a colleague, today.
    with runtime.db.transaction() as s:
        visit = s.get(Visit, visit_id)
        visit.doctor = s.get(Doctor, clinic.doctor_ids[1])
        carried = checkin.carry_ticket(s, visit, tz=clinic.tz, actor="desk", now=utcnow())
        assert carried["action"] == "transferred"
    with runtime.db.transaction() as s:
        called = calls.call_next(s, queues[1], tz=clinic.tz, actor="doctor")
        assert called is not None and called.id == carried["new_ticket"] != first
    with runtime.db.session() as s:
        assert s.get(Invoice, made.get_json()["id"]).ticket_id == carried["new_ticket"]
