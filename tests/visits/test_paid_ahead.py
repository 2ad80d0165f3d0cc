"""An appointment paid for before the patient came: his check-in ticket is a paid one."""

from __future__ import annotations

import threading
from datetime import time, timedelta

import pytest
from sqlalchemy import text

from clinic.base import utcnow
from clinic.payments import invoices
from clinic.payments.models import Invoice
from clinic.queue import admin as queue_admin
from clinic.queue import calls
from clinic.queue.models import Ticket
from clinic.reference.models import Doctor
from clinic.visits import booking, checkin
from clinic.visits.models import Visit
from tests.conftest import _letters
from tests.races import wait_for, waits_for_a_lock
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


def _invoiced_ahead(runtime, clinic, visit_id: int, *, paid: bool) -> tuple[int, int]:
    """The first patient's appointment invoiced (and ``paid`` by card) before he comes: the
    invoice's id and total."""
    with runtime.db.transaction() as s:
        invoice = invoices.create_invoice(
            s, patient_id=clinic.patient_ids[0], visit_id=visit_id,
            lines=[{"service_id": clinic.service_id}], actor="registrar",
        )  # fmt: skip
        if paid:
            invoices.record_payment(
                s, invoice, method="card", amount=invoice.total, actor="cashier"
            )
        return invoice.id, invoice.total


def _doctors_own_queues(runtime, clinic, code: str, *, pay_first: tuple[bool, ...]) -> list[int]:
    """Each doctor's own queue, in his room; ``pay_first``: which call only paid tickets."""
    with runtime.db.transaction() as s:
        return [
            queue_admin.create_queue(
                s,
                {
                    "code": f"{code}{doctor_id}", "department_id": clinic.department_id,
                    "prefix": _letters(), "doctor_id": doctor_id,
                    "room_id": clinic.room_ids[n], "closes_at": time(23, 59, 59, 999999),
                    "pay_before_doctor": pay_first[n],
                },
            ).id
            for n, doctor_id in enumerate(clinic.doctor_ids)
        ]  # fmt: skip


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


# Row locks under real concurrency: PostgreSQL, the production database (SQLite lets one
# writer in at a time, so the payment and the check-in cannot overlap there).
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_check_in_while_the_appointment_is_being_paid_ahead_gives_a_paid_ticket(runtime):
    """Payme (or the desk) pays the appointment's invoice at the moment the patient checks
    in: the check-in waits for the payment and issues a paid ticket, instead of taking the
    invoice for its ticket as still open while the payment, not seeing the ticket yet, marks
    none paid."""
    clinic = make_clinic(runtime, patients=1, **ALL_DAY)
    with runtime.db.transaction() as s:
        queue_admin.create_queue(
            s,
            {
                "code": "thr", "department_id": clinic.department_id,
                "room_id": clinic.room_ids[0], "closes_at": time(23, 59, 59, 999999),
                "pay_before_doctor": True,
            },
        )  # fmt: skip
    visit_id = _booked_today(runtime, clinic, 0)
    invoice_id, total = _invoiced_ahead(runtime, clinic, visit_id, paid=False)
    pids, tickets = [], []

    def check_in():
        with runtime.db.transaction() as s:
            pids.append(s.scalar(text("SELECT pg_backend_pid()")))
            visit = s.get(Visit, visit_id)
            tickets.append(checkin.check_in(s, visit, tz=clinic.tz, actor="registrar").id)

    arriving = threading.Thread(target=check_in)
    with runtime.db.transaction() as s:
        paying = invoices.lock_invoice(s, invoice_id)
        invoices.record_payment(
            s, paying, method="payme", amount=total, provider="payme", provider_ref="ahead-1",
            actor="payme", locked=True,
        )  # fmt: skip
        arriving.start()
        wait_for(lambda: tickets or waits_for_a_lock(runtime, pids), what="the check-in")
    arriving.join(30)
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).ticket_id == tickets[0]
        assert s.get(Ticket, tickets[0]).paid_at is not None


def test_a_paid_appointment_moved_to_another_doctors_queue_keeps_a_paid_ticket(runtime):
    """The patient paid for his appointment and checked in; the visit moves, the same day,
    to another doctor whose queue calls only paid tickets. His ticket there is a paid one,
    and the invoice is for it, instead of his waiting unpaid in a queue that never calls
    him."""
    clinic = make_clinic(runtime, doctors=2, patients=1, **ALL_DAY)
    with runtime.db.transaction() as s:
        queue_ids = [
            queue_admin.create_queue(
                s,
                {
                    "code": f"pd{doctor_id}", "department_id": clinic.department_id,
                    "prefix": _letters(),
                    "doctor_id": doctor_id, "closes_at": time(23, 59, 59, 999999),
                    "pay_before_doctor": True,
                },
            ).id
            for doctor_id in clinic.doctor_ids
        ]  # fmt: skip
    visit_id = _booked_today(runtime, clinic, 0)
    invoice_id, _ = _invoiced_ahead(runtime, clinic, visit_id, paid=True)
    with runtime.db.transaction() as s:
        first = checkin.check_in(s, s.get(Visit, visit_id), tz=clinic.tz, actor="registrar")
        assert first.paid_at is not None and first.queue_id == queue_ids[0]
    with runtime.db.transaction() as s:  # what a move to the second doctor does to the ticket
        visit = s.get(Visit, visit_id)
        visit.doctor = s.get(Doctor, clinic.doctor_ids[1])
        s.flush()
        moved = checkin.carry_ticket(s, visit, tz=clinic.tz, actor="registrar", now=utcnow())
        assert moved["action"] == "transferred"
    with runtime.db.session() as s:
        new = s.get(Ticket, moved["new_ticket"])
        assert new.queue_id == queue_ids[1] and new.paid_at is not None
        assert s.get(Invoice, invoice_id).ticket_id == new.id
    with runtime.db.transaction() as s:
        called = calls.call_next(s, queue_ids[1], tz=clinic.tz, actor="doctor")
        assert called is not None and called.id == new.id


def test_a_paid_appointment_sent_on_to_a_colleagues_queue_is_called_there_without_paying_again(
    runtime, client
):
    """The patient paid for his appointment and checked in; his doctor calls him and sends
    him on to a colleague (a transfer without return: the visit goes along, and the
    colleague completes it). The colleague's queue calls only paid tickets: the ticket there
    is a paid one, and the invoice is for it, as a move of the visit to that colleague would
    have made it, instead of his waiting there for a payment already made."""
    clinic = make_clinic(runtime, doctors=2, patients=1, **ALL_DAY)
    queue_ids = _doctors_own_queues(runtime, clinic, "pc", pay_first=(True, True))
    visit_id = _booked_today(runtime, clinic, 0)
    invoice_id, _ = _invoiced_ahead(runtime, clinic, visit_id, paid=True)
    checked_in = client.post(f"/api/v1/visits/{visit_id}/check-in", json={})
    assert checked_in.status_code == 200, checked_in.get_json()
    called = client.post(f"/api/v1/queues/{queue_ids[0]}/call-next", json={})
    assert called.status_code == 200, called.get_json()
    sent = client.post(
        f"/api/v1/tickets/{called.get_json()['id']}/transfer", json={"to_queue_id": queue_ids[1]}
    )
    assert sent.status_code == 200, sent.get_json()
    new = sent.get_json()
    assert new["visit_id"] == visit_id and new["paid_at"] is not None
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).ticket_id == new["id"]
        assert s.get(Visit, visit_id).ticket_id == new["id"]
    called = client.post(f"/api/v1/queues/{queue_ids[1]}/call-next", json={})
    assert called.status_code == 200 and called.get_json()["id"] == new["id"]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_patient_sent_on_while_the_desk_takes_his_appointments_payment_gets_a_paid_ticket(
    runtime,
):
    """The cashier is taking the payment of the appointment (its invoice locked) at the
    moment the doctor sends the patient on to a colleague: the transfer waits for the
    payment, before it touches the ticket that the payment marks paid, instead of the two
    waiting for each other (PostgreSQL would end one of them with a deadlock); the ticket in
    the colleague's queue is a paid one."""
    clinic = make_clinic(runtime, doctors=2, patients=1, **ALL_DAY)
    queue_ids = _doctors_own_queues(runtime, clinic, "pw", pay_first=(False, True))
    visit_id = _booked_today(runtime, clinic, 0)
    invoice_id, total = _invoiced_ahead(runtime, clinic, visit_id, paid=False)
    with runtime.db.transaction() as s:
        checkin.check_in(s, s.get(Visit, visit_id), tz=clinic.tz, actor="registrar")
    with runtime.db.transaction() as s:
        ticket_id = calls.call_next(s, queue_ids[0], tz=clinic.tz, actor="doctor").id
    pids, sent, failed = [], [], []

    def send_on():
        try:
            with runtime.db.transaction() as s:
                pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                ticket = s.get(Ticket, ticket_id)
                sent.append(calls.transfer(s, ticket, queue_ids[1], tz=clinic.tz).id)
        except Exception as exc:  # noqa: BLE001 - the test reports what ended it
            failed.append(exc)

    sending = threading.Thread(target=send_on)
    with runtime.db.transaction() as s:
        paying = invoices.lock_invoice(s, invoice_id)
        sending.start()
        wait_for(lambda: sent or failed or waits_for_a_lock(runtime, pids), what="the transfer")
        invoices.record_payment(s, paying, method="card", amount=total, actor="cashier")
    sending.join(30)
    assert failed == [] and len(sent) == 1
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).ticket_id == sent[0]
        assert s.get(Ticket, sent[0]).paid_at is not None


def test_a_paid_appointment_sent_on_to_another_departments_queue_pays_there_for_its_services(
    runtime, client
):
    """Sent on for good to another department (the laboratory, whose queue calls only paid
    tickets), the patient pays there for what it does: the consultation he paid for stays
    with his doctor's ticket, and does not open the laboratory's door."""
    clinic = make_clinic(runtime, patients=1, **ALL_DAY)
    laboratory = make_clinic(runtime, patients=0, **ALL_DAY)
    queue_id = _doctors_own_queues(runtime, clinic, "pl", pay_first=(True,))[0]
    with runtime.db.transaction() as s:
        laboratory_queue = queue_admin.create_queue(
            s,
            {
                "code": "lab", "department_id": laboratory.department_id,
                "room_id": laboratory.room_ids[0], "closes_at": time(23, 59, 59, 999999),
                "pay_before_doctor": True,
            },
        ).id  # fmt: skip
    visit_id = _booked_today(runtime, clinic, 0)
    invoice_id, _ = _invoiced_ahead(runtime, clinic, visit_id, paid=True)
    assert client.post(f"/api/v1/visits/{visit_id}/check-in", json={}).status_code == 200
    called = client.post(f"/api/v1/queues/{queue_id}/call-next", json={})
    assert called.status_code == 200, called.get_json()
    sent = client.post(
        f"/api/v1/tickets/{called.get_json()['id']}/transfer",
        json={"to_queue_id": laboratory_queue},
    )
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["visit_id"] == visit_id and sent.get_json()["paid_at"] is None
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).ticket_id == called.get_json()["id"]
    assert client.post(f"/api/v1/queues/{laboratory_queue}/call-next", json={}).status_code == 204
