"""Booking through the API: typed refusals at their fields, cancellation, check-in, and a
doctor who sees only his own schedule."""

from __future__ import annotations

from datetime import time, timedelta, timezone

from sqlalchemy import select

from clinic.base import iso
from clinic.models import OutboxEvent
from clinic.payments.models import Invoice
from clinic.queue import admin as queue_admin
from clinic.queue.models import Ticket, TicketSource
from clinic.reference import directory as reference
from clinic.reference import patients as patient_records
from clinic.visits import booking, schedules
from clinic.visits.models import Visit
from tests.queue.seeding import close_today
from tests.visits.conftest import ALL_DAY, clear_of_midnight, make_clinic, next_week_day, slot_near


def _book(client, clinic, day, hour, minute=0, *, patient=0, doctor=0, **extra):
    body = {
        "patient_id": clinic.patient_ids[patient],
        "doctor_id": clinic.doctor_ids[doctor],
        "starts_at": iso(clinic.at(day, hour, minute)),
        **extra,
    }
    return client.post("/api/v1/visits", json=body)


def _refusal(response, status, code, field):
    body = response.get_json()
    assert response.status_code == status, body
    assert response.mimetype == "application/problem+json"
    assert body["code"] == code and field in body["errors"], body


def test_a_booking_takes_the_slot_and_every_refusal_names_its_code_and_field(runtime, client):
    clinic = make_clinic(runtime, doctors=2, hours=("09:00", "12:00"), slot=20)
    day = next_week_day(runtime.settings.tz)
    booked = _book(client, clinic, day, 9, service_ids=[clinic.service_id])
    assert booked.status_code == 201, booked.get_json()
    visit = booked.get_json()
    assert visit["status"] == "scheduled" and visit["kind"] == "scheduled"
    assert visit["starts_at"] == iso(clinic.at(day, 9)) and visit["ends_at"] == iso(
        clinic.at(day, 9, 20)
    )
    assert visit["services"] == [{"service_id": clinic.service_id, "price": 15_000_000}]

    _refusal(_book(client, clinic, day, 9, 0, patient=1), 409, "doctor_busy", "starts_at")
    _refusal(_book(client, clinic, day, 9, 0, doctor=1), 409, "patient_busy", "patient_id")
    _refusal(_book(client, clinic, day, 12, 0, patient=1), 422, "outside_hours", "starts_at")
    yesterday = day - timedelta(days=8)
    _refusal(_book(client, clinic, yesterday, 9, patient=1), 422, "in_past", "starts_at")
    with runtime.db.transaction() as s:
        other = make_clinic(runtime)
        schedules.add_exception(
            s, kind="sick", first_day=day, last_day=day, doctor_id=clinic.doctor_ids[1]
        )
    _refusal(_book(client, clinic, day, 10, patient=1, doctor=1), 422, "doctor_away", "starts_at")
    _refusal(
        _book(client, clinic, day, 10, patient=1, service_ids=[other.service_id]),
        422,
        "service_not_offered",
        "service_ids",
    )
    with runtime.db.session() as s:
        assert s.query(Visit).count() == 1


def test_bad_input_is_a_422_naming_the_field_and_books_nothing(runtime, client):
    clinic = make_clinic(runtime)
    response = client.post(
        "/api/v1/visits",
        json={"patient_id": clinic.patient_ids[0], "doctor_id": clinic.doctor_ids[0],
              "starts_at": "2030-01-01T09:00:00"},
    )  # fmt: skip
    assert response.status_code == 422 and "starts_at" in response.get_json()["errors"]
    with runtime.db.session() as s:
        assert s.query(Visit).count() == 0


def test_a_patient_cancelling_inside_the_window_is_flagged_late_and_the_slot_frees(runtime, client):
    clinic = make_clinic(runtime, **ALL_DAY)
    tz = runtime.settings.tz
    starts = slot_near(runtime, timedelta(hours=3))
    with runtime.db.transaction() as s:
        early = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
            starts_at=starts, tz=tz,
        )  # fmt: skip
    response = client.post(
        f"/api/v1/visits/{early.id}/cancel", json={"by": "patient", "reason": "не успевает"}
    )
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "cancelled" and body["late_cancellation"] is True
    assert [h["action"] for h in body["history"]] == ["booked", "cancelled"]
    assert body["history"][1]["actor"] == "admin"
    again = client.post(
        "/api/v1/visits",
        json={"patient_id": clinic.patient_ids[1], "doctor_id": clinic.doctor_ids[0],
              "starts_at": iso(starts)},
    )  # fmt: skip
    assert again.status_code == 201, again.get_json()


def test_a_visit_the_clinic_cancels_is_told_to_the_patient_once_and_his_own_is_not(
    runtime, client, worker, mailbox
):
    clinic = make_clinic(runtime, patients=2)
    day = next_week_day(runtime.settings.tz)
    with runtime.db.transaction() as s:
        ours, his = (
            booking.book(
                s, patient_id=clinic.patient_ids[i], doctor_id=clinic.doctor_ids[0],
                starts_at=clinic.at(day, 9 + i), tz=clinic.tz,
                notify_email=f"patient{i}@example.test",
            ).id
            for i in range(2)
        )  # fmt: skip
    cancel = {"by": "clinic", "reason": "врач на конференции"}
    assert client.post(f"/api/v1/visits/{ours}/cancel", json=cancel).status_code == 200
    patients = {"by": "patient", "reason": "уезжает"}
    assert client.post(f"/api/v1/visits/{his}/cancel", json=patients).status_code == 200
    (mail,) = mailbox.wait_for(1)
    assert mail["to"] == ["patient0@example.test"] and "отменён" in mail["subject"]
    text = mail["raw"].get_content()
    when = clinic.at(day, 9).astimezone(clinic.tz).strftime("%d.%m.%Y %H:%M")
    assert when in text and "cancelled" in text and "bekor" in text
    # The staff's reason is theirs: the patient is not mailed it.
    assert "конференции" not in text
    assert len(mailbox.wait_for(2, timeout=2)) == 1


def _department_queue(runtime, clinic, **extra):
    """The department's shared queue, open all day (check-in issues its tickets there)."""
    with runtime.db.transaction() as s:
        return queue_admin.create_queue(
            s,
            {
                "code": "ther", "department_id": clinic.department_id,
                "closes_at": time(23, 59, 59, 999999), **extra,
            },
        )  # fmt: skip


def _lab_queue(runtime, clinic) -> int:
    """The department's laboratory queue, open all day (the doctor sends patients there)."""
    with runtime.db.transaction() as s:
        return queue_admin.create_queue(
            s, {"code": "lab", "department_id": clinic.department_id, "prefix": "LAB",
                "closes_at": time(23, 59, 59, 999999)},
        ).id  # fmt: skip


def _booked_soon(runtime, clinic, *, patient=0, later_minutes=0) -> int:
    """A visit of the clinic's first doctor at the slot near now, or ``later_minutes`` away
    from it towards midday, so that it is on today's clinic day (checked in today) whatever
    the hour: in the evening "later" would cross midnight into tomorrow. The slot is read
    once for the clinic: its visits booked one after another stay ``later_minutes`` apart
    when the clock passes a five-minute boundary between them."""
    if clinic.near is None:
        clinic.near = slot_near(runtime)
    near = clinic.near
    evening = near.astimezone(runtime.settings.tz).hour >= 12
    starts = near + timedelta(minutes=-later_minutes if evening else later_minutes)
    with runtime.db.transaction() as s:
        return booking.book(
            s, patient_id=clinic.patient_ids[patient], doctor_id=clinic.doctor_ids[0],
            starts_at=starts, tz=runtime.settings.tz, now=starts - timedelta(hours=1),
        ).id  # fmt: skip


def test_a_booking_whose_email_field_was_left_empty_mails_nothing(runtime, client):
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    booked = _book(client, clinic, day, 9, notify_email="")
    assert booked.status_code == 201, booked.get_json()
    assert booked.get_json()["notify_email"] is None


def test_a_mistyped_address_or_comment_is_corrected_while_the_visit_is_ahead(runtime, client):
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    booked = _book(client, clinic, day, 9, notify_email="patient@exmaple.test", comment="ЭКГ")
    visit_id = booked.get_json()["id"]
    url = f"/api/v1/visits/{visit_id}"

    fixed = client.patch(url, json={"notify_email": "patient@example.test"})
    assert fixed.status_code == 200, fixed.get_json()
    assert (fixed.get_json()["notify_email"], fixed.get_json()["comment"]) == (
        "patient@example.test",
        "ЭКГ",
    )
    changed = [h for h in fixed.get_json()["history"] if h["action"] == "details_changed"]
    assert [h["data"] for h in changed] == [
        {"before": {"notify_email": "patient@exmaple.test"}, "notify_email": "patient@example.test"}
    ]
    # No e-mails at all: null, or the field left empty on a form.
    assert client.patch(url, json={"notify_email": ""}).get_json()["notify_email"] is None
    assert client.patch(url, json={"comment": "ЭКГ и ЭхоКГ"}).get_json()["comment"] == "ЭКГ и ЭхоКГ"

    for body, field in (
        ({}, "_schema"),
        ({"notify_email": "no address"}, "notify_email"),
        ({"comment": "x" * 2001}, "comment"),
        ({"starts_at": iso(clinic.at(day, 10))}, "starts_at"),  # moved by rescheduling only
    ):
        refused = client.patch(url, json=body)
        assert refused.status_code == 422 and field in refused.get_json()["errors"], body
    assert client.patch("/api/v1/visits/999999", json={"comment": "?"}).status_code == 404

    cancel = {"by": "patient", "reason": "передумал"}
    assert client.post(f"{url}/cancel", json=cancel).status_code == 200
    kept = client.patch(url, json={"comment": "после отмены"})
    assert kept.status_code == 409 and kept.get_json()["code"] == "status_changed"
    with runtime.db.session() as s:
        visit = s.get(Visit, visit_id)
        assert (visit.comment, visit.notify_email) == ("ЭКГ и ЭхоКГ", None)


def test_check_in_issues_the_ticket_with_appointment_priority(runtime, client):
    clinic = make_clinic(runtime, **ALL_DAY)
    _department_queue(runtime, clinic)
    visit_id = _booked_soon(runtime, clinic)
    response = client.post(f"/api/v1/visits/{visit_id}/check-in", json={})
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "arrived"
    assert body["ticket"]["source"] == TicketSource.APPOINTMENT
    assert body["ticket"]["priority"] == "returned"
    assert body["ticket"]["visit_id"] == visit_id
    with runtime.db.session() as s:
        assert s.get(Ticket, body["ticket_id"]).patient_id == clinic.patient_ids[0]


def test_a_patient_who_comes_after_his_queue_has_closed_is_checked_in_for_the_doctor(
    runtime, client
):
    clinic = make_clinic(runtime, **ALL_DAY)
    # The doctor sees patients later than his queue calls them: its day has closed.
    close_today(runtime, _department_queue(runtime, clinic).id)
    visit_id = _booked_soon(runtime, clinic)
    arrived = client.post(f"/api/v1/visits/{visit_id}/check-in", json={})
    assert arrived.status_code == 200, arrived.get_json()
    assert (arrived.get_json()["status"], arrived.get_json()["ticket_id"]) == ("arrived", None)
    # He is no no-show: the doctor sees him by the calendar.
    assert client.post(f"/api/v1/visits/{visit_id}/start", json={}).status_code == 200
    assert client.post(f"/api/v1/visits/{visit_id}/complete", json={}).status_code == 200
    with runtime.db.session() as s:
        assert s.get(Visit, visit_id).status == "completed"
        assert s.scalar(select(Ticket.id).where(Ticket.visit_id == visit_id)) is None


def test_an_appointment_ticket_is_not_given_to_another_patient_at_the_desk(runtime, client):
    clinic = make_clinic(runtime, patients=2, **ALL_DAY)
    _department_queue(runtime, clinic)
    visit_id = _booked_soon(runtime, clinic)
    ticket_id = client.post(f"/api/v1/visits/{visit_id}/check-in", json={}).get_json()["ticket_id"]
    url = f"/api/v1/tickets/{ticket_id}/patient"
    # The desk has chosen the next patient, and clicks "attach" on this ticket's row.
    refused = client.post(url, json={"patient_id": clinic.patient_ids[1]})
    _refusal(refused, 409, "visit_ticket", "patient_id")
    assert client.post(url, json={"patient_id": clinic.patient_ids[0]}).status_code == 200
    with runtime.db.session() as s:
        assert s.get(Ticket, ticket_id).patient_id == clinic.patient_ids[0]


def test_a_patient_whose_doctor_is_off_today_is_not_checked_in_to_wait_for_him(runtime, client):
    clinic = make_clinic(runtime, **ALL_DAY)
    _department_queue(runtime, clinic)
    clear_of_midnight(runtime)
    visit_id = _booked_soon(runtime, clinic)
    today = slot_near(runtime).astimezone(runtime.settings.tz).date()
    sick = client.post(
        "/api/v1/schedule-exceptions",
        json={"doctor_id": clinic.doctor_ids[0], "kind": "sick", "first_day": iso(today),
              "last_day": iso(today)},
    )  # fmt: skip
    assert sick.status_code == 201 and sick.get_json()["visits_to_move"] == [visit_id]
    refused = client.post(f"/api/v1/visits/{visit_id}/check-in", json={})
    _refusal(refused, 409, "doctor_away", "visit_id")
    with runtime.db.session() as s:
        assert s.get(Visit, visit_id).status == "scheduled"
        assert s.scalar(select(Ticket.id).where(Ticket.visit_id == visit_id)) is None
    # Taken back (declared by mistake): the patient checks in as usual.
    client.delete(f"/api/v1/schedule-exceptions/{sick.get_json()['id']}")
    assert client.post(f"/api/v1/visits/{visit_id}/check-in", json={}).status_code == 200


def test_an_invoice_for_a_checked_in_ticket_is_for_its_visit_and_a_named_visit_is_checked(
    runtime, client
):
    clinic = make_clinic(runtime, patients=2, **ALL_DAY)
    _department_queue(runtime, clinic)
    visit_id = _booked_soon(runtime, clinic)
    ticket_id = client.post(f"/api/v1/visits/{visit_id}/check-in", json={}).get_json()["ticket_id"]
    lines = [{"service_id": clinic.service_id}]
    body = {"patient_id": clinic.patient_ids[0], "lines": lines}
    # The revenue reports count an invoice for its visit's doctor (clinic/reports/revenue.py).
    by_ticket = client.post("/api/v1/payments/invoices", json={**body, "ticket_id": ticket_id})
    assert by_ticket.status_code == 201, by_ticket.get_json()
    assert by_ticket.get_json()["visit_id"] == visit_id
    named = client.post("/api/v1/payments/invoices", json={**body, "visit_id": visit_id})
    assert named.status_code == 201 and named.get_json()["visit_id"] == visit_id
    for sent, status, field in (
        ({**body, "visit_id": 999999}, 404, "visit_id"),
        ({**body, "patient_id": clinic.patient_ids[1], "visit_id": visit_id}, 422, "visit_id"),
    ):
        refused = client.post("/api/v1/payments/invoices", json=sent)
        assert refused.status_code == status, refused.get_json()
        assert field in refused.get_json()["errors"]
    with runtime.db.session() as s:
        assert {v for v, in s.execute(select(Invoice.visit_id))} == {visit_id}


def test_a_checked_in_visit_and_its_ticket_move_together_from_either_screen(runtime, client):
    clinic = make_clinic(runtime, patients=3, **ALL_DAY)
    queue = _department_queue(runtime, clinic)
    visits = []
    for patient in range(3):
        visits.append(_booked_soon(runtime, clinic, patient=patient, later_minutes=20 * patient))
        assert client.post(f"/api/v1/visits/{visits[-1]}/check-in", json={}).status_code == 200

    def visit(n):
        return client.get(f"/api/v1/visits/{visits[n]}").get_json()

    def ticket(n):
        return client.get(f"/api/v1/tickets/{visit(n)['ticket_id']}").get_json()

    def call_next():
        called = client.post(f"/api/v1/queues/{queue.id}/call-next", json={})
        assert called.status_code == 200, called.get_json()
        return called.get_json()["id"]

    # The doctor works from the visit: the ticket follows, and the room is free again.
    assert call_next() == visit(0)["ticket_id"]
    assert client.post(f"/api/v1/visits/{visits[0]}/start", json={}).status_code == 200
    assert ticket(0)["status"] == "in_service"
    assert client.post(f"/api/v1/visits/{visits[0]}/complete", json={}).status_code == 200
    assert ticket(0)["status"] == "served"
    # He works from the queue: the visit follows.
    served = call_next()
    assert client.post(f"/api/v1/tickets/{served}/start").status_code == 200
    assert visit(1)["status"] == "in_progress"
    assert client.post(f"/api/v1/tickets/{served}/finish").status_code == 200
    assert visit(1)["status"] == "completed"
    absent = call_next()
    assert client.post(f"/api/v1/tickets/{absent}/no-show").status_code == 200
    assert visit(2)["status"] == "no_show"
    actions = [entry["action"] for entry in visit(1)["history"]]
    assert actions[-3:] == ["arrived", "started", "completed"]


def test_a_patient_sent_to_the_laboratory_comes_back_to_his_visit_which_serving_him_completes(
    runtime, client
):
    clinic = make_clinic(runtime, patients=2, **ALL_DAY)
    queue = _department_queue(runtime, clinic)
    lab = _lab_queue(runtime, clinic)
    visits = [_booked_soon(runtime, clinic, patient=p, later_minutes=20 * p) for p in (0, 1)]
    for visit_id in visits:
        assert client.post(f"/api/v1/visits/{visit_id}/check-in", json={}).status_code == 200

    def visit(n):
        return client.get(f"/api/v1/visits/{visits[n]}").get_json()

    def call_next(queue_id):
        called = client.post(f"/api/v1/queues/{queue_id}/call-next", json={})
        assert called.status_code == 200, called.get_json()
        return called.get_json()["id"]

    def lab_and_back(n):
        """The doctor starts, sends the patient to the laboratory to come back; served there."""
        first = call_next(queue.id)
        assert first == visit(n)["ticket_id"]
        assert client.post(f"/api/v1/tickets/{first}/start").status_code == 200
        sent = client.post(
            f"/api/v1/tickets/{first}/transfer", json={"to_queue_id": lab, "return_after": True}
        )
        assert sent.status_code == 200, sent.get_json()
        there = call_next(lab)
        assert client.post(f"/api/v1/tickets/{there}/finish").status_code == 200
        assert visit(n)["status"] == "in_progress"  # the laboratory completes no appointment
        back = visit(n)["ticket_id"]
        assert back not in (first, there)
        returned = client.get(f"/api/v1/tickets/{back}").get_json()
        assert (returned["queue_id"], returned["status"]) == (queue.id, "waiting")
        assert returned["visit_id"] == visits[n]
        return back

    # Back from the laboratory, served from the queue: the visit is completed.
    back = lab_and_back(0)
    assert call_next(queue.id) == back
    assert client.post(f"/api/v1/tickets/{back}/finish").status_code == 200
    assert visit(0)["status"] == "completed"
    # Back, called, and completed from the calendar: the ticket is served with it.
    back = lab_and_back(1)
    assert call_next(queue.id) == back
    assert client.post(f"/api/v1/visits/{visits[1]}/complete", json={}).status_code == 200
    assert client.get(f"/api/v1/tickets/{back}").get_json()["status"] == "served"


def test_a_patient_the_laboratory_sends_back_by_hand_comes_back_to_his_visit(runtime, client):
    clinic = make_clinic(runtime, **ALL_DAY)
    queue = _department_queue(runtime, clinic)
    lab = _lab_queue(runtime, clinic)
    visit_id = _booked_soon(runtime, clinic)
    assert client.post(f"/api/v1/visits/{visit_id}/check-in", json={}).status_code == 200
    first = client.post(f"/api/v1/queues/{queue.id}/call-next", json={}).get_json()["id"]
    sent = client.post(
        f"/api/v1/tickets/{first}/transfer", json={"to_queue_id": lab, "return_after": True}
    )
    assert sent.status_code == 200, sent.get_json()
    # The laboratory sends him back with "transfer" rather than "finish".
    back = client.post(
        f"/api/v1/tickets/{sent.get_json()['id']}/transfer", json={"to_queue_id": queue.id}
    )
    assert back.status_code == 200, back.get_json()
    assert back.get_json()["visit_id"] == visit_id
    assert client.post(f"/api/v1/queues/{queue.id}/call-next", json={}).get_json()["id"] == (
        back.get_json()["id"]
    )
    assert client.post(f"/api/v1/tickets/{back.get_json()['id']}/finish").status_code == 200
    assert client.get(f"/api/v1/visits/{visit_id}").get_json()["status"] == "completed"


def test_a_patient_sent_on_for_good_takes_his_visit_along_which_serving_him_there_completes(
    runtime, client
):
    clinic = make_clinic(runtime, doctors=2, patients=3, **ALL_DAY)
    queue = _department_queue(runtime, clinic)
    with runtime.db.transaction() as s:  # the second doctor's own queue
        other = queue_admin.create_queue(
            s, {"code": "ther2", "department_id": clinic.department_id, "prefix": "TB",
                "doctor_id": clinic.doctor_ids[1], "closes_at": time(23, 59, 59, 999999)},
        ).id  # fmt: skip
    visits = [_booked_soon(runtime, clinic, patient=p, later_minutes=20 * p) for p in (0, 1, 2)]
    for visit_id in visits:
        assert client.post(f"/api/v1/visits/{visit_id}/check-in", json={}).status_code == 200

    def visit(n):
        return client.get(f"/api/v1/visits/{visits[n]}").get_json()

    # Still waiting, he is sent to a colleague's queue: seen there, his visit is over.
    first = visit(0)["ticket_id"]
    sent = client.post(f"/api/v1/tickets/{first}/transfer", json={"to_queue_id": other})
    assert sent.status_code == 200, sent.get_json()
    there = sent.get_json()["id"]
    assert sent.get_json()["visit_id"] == visits[0] and visit(0)["ticket_id"] == there
    assert client.post(f"/api/v1/queues/{other}/call-next", json={}).get_json()["id"] == there
    assert client.post(f"/api/v1/tickets/{there}/finish").status_code == 200
    assert visit(0)["status"] == "completed"
    # Begun by his doctor and sent on: the visit ends when he is seen there.
    called = client.post(f"/api/v1/queues/{queue.id}/call-next", json={}).get_json()["id"]
    assert client.post(f"/api/v1/tickets/{called}/start").status_code == 200
    sent = client.post(f"/api/v1/tickets/{called}/transfer", json={"to_queue_id": other})
    assert sent.status_code == 200, sent.get_json()
    there = sent.get_json()["id"]
    assert client.post(f"/api/v1/queues/{other}/call-next", json={}).get_json()["id"] == there
    assert visit(1)["status"] == "in_progress"
    assert client.post(f"/api/v1/tickets/{there}/finish").status_code == 200
    assert visit(1)["status"] == "completed"
    # His doctor closes the visit on his calendar meanwhile: the colleague's patient is left
    # in his room, not served from another doctor's screen.
    called = client.post(f"/api/v1/queues/{queue.id}/call-next", json={}).get_json()["id"]
    assert client.post(f"/api/v1/tickets/{called}/start").status_code == 200
    there = client.post(f"/api/v1/tickets/{called}/transfer", json={"to_queue_id": other})
    there = there.get_json()["id"]
    assert client.post(f"/api/v1/queues/{other}/call-next", json={}).get_json()["id"] == there
    assert client.post(f"/api/v1/visits/{visits[2]}/complete", json={}).status_code == 200
    assert client.get(f"/api/v1/tickets/{there}").get_json()["status"] == "called"
    assert client.post(f"/api/v1/tickets/{there}/finish").status_code == 200


def test_a_checked_in_visit_whose_day_closes_before_his_call_is_a_no_show(runtime, client):
    from clinic.base import utcnow
    from clinic.queue import days

    clinic = make_clinic(runtime, **ALL_DAY)
    _department_queue(runtime, clinic, close_action="no_show")
    visit_id = _booked_soon(runtime, clinic)
    assert client.post(f"/api/v1/visits/{visit_id}/check-in", json={}).status_code == 200
    with runtime.db.transaction() as s:  # the closing task, the next morning
        tomorrow = utcnow() + timedelta(days=1)
        assert days.close_due_days(s, tz=runtime.settings.tz, now=tomorrow)
    assert client.get(f"/api/v1/visits/{visit_id}").get_json()["status"] == "no_show"


def test_a_holiday_or_an_absence_declared_over_booked_visits_lists_them(runtime, client):
    clinic = make_clinic(runtime, doctors=2)
    day = next_week_day(runtime.settings.tz)
    mine = _book(client, clinic, day, 9, doctor=0).get_json()["id"]
    theirs = _book(client, clinic, day, 9, doctor=1, patient=1).get_json()["id"]
    _book(client, clinic, day + timedelta(days=1), 9, doctor=0, patient=2)  # the day after
    cancelled = _book(client, clinic, day, 10, doctor=0, patient=2).get_json()["id"]
    assert (
        client.post(
            f"/api/v1/visits/{cancelled}/cancel", json={"by": "patient", "reason": "уехал"}
        ).status_code
        == 200
    )
    declared = client.post(
        "/api/v1/schedule-exceptions",
        json={"kind": "holiday", "first_day": day.isoformat(), "last_day": day.isoformat()},
    )
    assert declared.status_code == 201, declared.get_json()
    assert declared.get_json()["visits_to_move"] == sorted([mine, theirs])
    away = client.post(
        "/api/v1/schedule-exceptions",
        json={
            "kind": "day_off", "doctor_id": clinic.doctor_ids[1],
            "first_day": day.isoformat(), "last_day": day.isoformat(),
        },
    )  # fmt: skip
    assert away.status_code == 201, away.get_json()
    assert away.get_json()["visits_to_move"] == [theirs]


def test_a_visit_booked_with_any_offset_is_answered_in_utc_as_it_is_read_back(runtime, client):
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    elsewhere = clinic.at(day, 9).astimezone(timezone(timedelta(hours=2))).isoformat()
    booked = client.post(
        "/api/v1/visits",
        json={
            "patient_id": clinic.patient_ids[0], "doctor_id": clinic.doctor_ids[0],
            "starts_at": elsewhere,
        },
    )  # fmt: skip
    assert booked.status_code == 201, booked.get_json()
    read = client.get(f"/api/v1/visits/{booked.get_json()['id']}").get_json()
    assert booked.get_json()["starts_at"] == read["starts_at"] == iso(clinic.at(day, 9))
    assert read["starts_at"].endswith("Z")


def test_a_doctor_reads_his_own_schedule_and_not_another_doctors(runtime, client_as, make_user):
    clinic = make_clinic(runtime, doctors=2)
    day = next_week_day(runtime.settings.tz)
    doctor_client = client_as("doctor")
    from clinic.accounts.models import User

    with runtime.db.transaction() as s:
        user = s.query(User).filter(User.username == doctor_client.username).one()
        reference.update_doctor(s, user.doctor_id, {"department_id": clinic.department_id})
        schedules.set_week(
            s, user.doctor_id, [{"weekday": day.weekday(), "starts": "09:00", "ends": "10:00"}]
        )
        own = user.doctor_id
    mine = doctor_client.get(f"/api/v1/visits/slots?doctor_id={own}&from={day}&to={day}")
    assert mine.status_code == 200, mine.get_json()
    assert len(mine.get_json()) == 3
    assert {s["doctor_id"] for s in mine.get_json()} == {own}
    other = doctor_client.get(
        f"/api/v1/visits/slots?doctor_id={clinic.doctor_ids[0]}&from={day}&to={day}"
    )
    assert other.status_code == 403
    department = doctor_client.get(f"/api/v1/visits?day={day}&department_id={clinic.department_id}")
    assert department.status_code == 403
    booking_try = doctor_client.post("/api/v1/visits", json={})
    assert booking_try.status_code == 403


def test_a_doctor_refused_another_doctors_calendar_is_told_why_at_the_field(
    runtime, client, client_as
):
    clinic = make_clinic(runtime, doctors=1)
    day = next_week_day(runtime.settings.tz)
    visit = client.post(
        "/api/v1/visits",
        json={"patient_id": clinic.patient_ids[0], "doctor_id": clinic.doctor_ids[0],
              "starts_at": iso(clinic.at(day, 9))},
    ).get_json()  # fmt: skip
    doctor_client = client_as("doctor")
    for url, field in (
        (f"/api/v1/visits/slots?doctor_id={clinic.doctor_ids[0]}&from={day}&to={day}",
         "doctor_id"),
        (f"/api/v1/visits?day={day}&department_id={clinic.department_id}", "department_id"),
        (f"/api/v1/visits/{visit['id']}", "visit_id"),
    ):  # fmt: skip
        refused = doctor_client.get(url)
        assert refused.status_code == 403, (url, refused.get_json())
        body = refused.get_json()
        assert field in body["errors"], (url, body)
        assert "your" in body["detail"] or "own" in body["detail"], (url, body)


def test_a_patient_whose_ticket_was_cancelled_at_the_desk_is_checked_in_again(runtime, client):
    """The desk cancelled his ticket by mistake (or the day's closing did) while he sits in
    the hall: the registrar checks him in again and he waits with a new ticket, instead of
    an arrived visit nobody can call nor check in."""
    clinic = make_clinic(runtime, **ALL_DAY)
    _department_queue(runtime, clinic)
    visit_id = _booked_soon(runtime, clinic)
    first = client.post(f"/api/v1/visits/{visit_id}/check-in", json={}).get_json()["ticket_id"]
    cancelled = client.post(f"/api/v1/tickets/{first}/cancel", json={"reason": "ошибка"})
    assert cancelled.status_code == 200, cancelled.get_json()

    again = client.post(f"/api/v1/visits/{visit_id}/check-in", json={})
    assert again.status_code == 200, again.get_json()
    body = again.get_json()
    assert body["status"] == "arrived" and body["ticket_id"] not in (None, first)
    assert [h["action"] for h in body["history"]][-2:] == ["arrived", "checked_in_again"]
    with runtime.db.session() as s:
        assert s.get(Ticket, body["ticket_id"]).status == "waiting"
    # While that ticket waits, he is checked in already.
    _refusal(
        client.post(f"/api/v1/visits/{visit_id}/check-in", json={}),
        409,
        "status_changed",
        "visit_id",
    )


def test_the_desks_hear_a_checked_in_ticket_issued_for_its_visit(runtime, client):
    clinic = make_clinic(runtime, **ALL_DAY)
    _department_queue(runtime, clinic)
    visit_id = _booked_soon(runtime, clinic)
    ticket_id = client.post(f"/api/v1/visits/{visit_id}/check-in", json={}).get_json()["ticket_id"]
    with runtime.db.session() as s:
        issued = s.scalar(
            select(OutboxEvent).where(
                OutboxEvent.type == "ticket.issued", OutboxEvent.channel.like("queue:%")
            )
        )
    # The desk's row offers no "attach the chosen patient" for an appointment's ticket.
    assert issued.data["id"] == ticket_id and issued.data["visit_id"] == visit_id


def test_booking_a_deactivated_patient_is_refused_at_the_field_as_inactive_not_unknown(
    runtime, client
):
    clinic = make_clinic(runtime, **ALL_DAY)
    with runtime.db.transaction() as s:
        patient_records.deactivate_patient(s, clinic.patient_ids[0])
    refused = _book(client, clinic, next_week_day(runtime.settings.tz), 10)
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["errors"] == {"patient_id": ["inactive patient"]}
    starts = iso(clinic.at(next_week_day(runtime.settings.tz), 10))
    body = {"patient_id": 999999, "doctor_id": clinic.doctor_ids[0], "starts_at": starts}
    unknown = client.post("/api/v1/visits", json=body)
    assert unknown.status_code == 404 and "patient_id" in unknown.get_json()["errors"]


def test_a_patient_who_left_the_laboratory_queue_he_was_sent_to_is_checked_in_again(
    runtime, client
):
    """Sent to the laboratory to come back, he gave up his place there (from his page, or the
    desk cancelled it): nothing brings him back, and the registrar checks him in again."""
    clinic = make_clinic(runtime, **ALL_DAY)
    queue = _department_queue(runtime, clinic)
    lab = _lab_queue(runtime, clinic)
    visit_id = _booked_soon(runtime, clinic)
    first = client.post(f"/api/v1/visits/{visit_id}/check-in", json={}).get_json()["ticket_id"]
    assert client.post(f"/api/v1/queues/{queue.id}/call-next", json={}).get_json()["id"] == first
    sent = client.post(
        f"/api/v1/tickets/{first}/transfer", json={"to_queue_id": lab, "return_after": True}
    ).get_json()
    assert client.post(f"/api/v1/tickets/{sent['id']}/cancel", json={}).status_code == 200

    again = client.post(f"/api/v1/visits/{visit_id}/check-in", json={})
    assert again.status_code == 200, again.get_json()
    ticket = again.get_json()["ticket"]
    assert (ticket["queue_id"], ticket["status"], ticket["visit_id"]) == (
        queue.id, "waiting", visit_id,
    )  # fmt: skip
