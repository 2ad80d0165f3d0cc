"""A patient checked in who left the queue unseen (from his phone, or the desk cancelled his
ticket) keeps his visit arrived for the rest of the day, to be checked in again; once the
day is over, beat's sweep makes it a no-show, so the calendar of that day, the visit
figures and the payments say he was not seen. A patient checked in again, one still in the
laboratory's queue, and one the calendar sees without a ticket are left as they are."""

from __future__ import annotations

from datetime import date, timedelta

from clinic.base import utcnow
from clinic.payments import invoices
from clinic.queue.models import Ticket
from clinic.visits import cancelling
from clinic.visits.cancelling import LEFT_UNSEEN_DAYS
from clinic.visits.models import Visit
from tests.visits.conftest import ALL_DAY, clear_of_midnight, make_clinic
from tests.visits.test_api import _booked_soon, _department_queue, _lab_queue
from tests.visits.test_ticket_status import _calendar_heard, _cancelled, _checked_in, _day_of

PRICE = 15_000_000  # the clinic's consultation (tests/visits/conftest.py)


def _left_from_his_phone(runtime, anon_client, ticket_id: int) -> None:
    with runtime.db.session() as s:
        token = s.get(Ticket, ticket_id).token
    left = anon_client.post(f"/api/v1/public/tickets/{token}/leave")
    assert left.status_code == 200 and left.get_json()["status"] == "cancelled", left.get_json()


def _sent_to_the_laboratory(client, queue_id: int, ticket_id: int, lab_id: int) -> int:
    """The doctor calls the patient and sends him to the laboratory, to come back: the
    laboratory's ticket."""
    called = client.post(f"/api/v1/queues/{queue_id}/call-next", json={}).get_json()
    assert called["id"] == ticket_id, called
    sent = client.post(
        f"/api/v1/tickets/{ticket_id}/transfer", json={"to_queue_id": lab_id, "return_after": True}
    )
    assert sent.status_code == 200, sent.get_json()
    return sent.get_json()["id"]


def _swept(runtime, at) -> list[int]:
    with runtime.db.transaction() as s:
        return cancelling.mark_no_shows(s, grace_minutes=30, tz=runtime.settings.tz, now=at)


def _statuses(client, *visit_ids: int) -> list[tuple[str, str | None]]:
    """Each visit's status and the status of the ticket its patient holds, as the API says."""
    shown = [client.get(f"/api/v1/visits/{visit_id}").get_json() for visit_id in visit_ids]
    return [(visit["status"], visit["ticket_status"]) for visit in shown]


def _the_day(runtime, visit_id: int) -> date:
    return date.fromisoformat(_day_of(runtime, visit_id))


def test_a_patient_who_left_unseen_is_a_no_show_once_his_day_is_over(runtime, client, anon_client):
    clear_of_midnight(runtime, 300)  # checked in and left within one clinic day
    clinic = make_clinic(runtime, patients=2, **ALL_DAY)
    queue = _department_queue(runtime, clinic)
    lab = _lab_queue(runtime, clinic)
    # One is sent to the laboratory to come back, and leaves its queue there; the other
    # leaves his doctor's queue.
    from_lab = _booked_soon(runtime, clinic, patient=1, later_minutes=5)
    lab_ticket = _sent_to_the_laboratory(client, queue.id, _checked_in(client, from_lab), lab)
    _left_from_his_phone(runtime, anon_client, lab_ticket)
    left = _booked_soon(runtime, clinic, patient=0)
    _left_from_his_phone(runtime, anon_client, _checked_in(client, left))
    day = _the_day(runtime, left)

    # The day is not over: he may come back to the desk and be checked in again.
    assert _swept(runtime, clinic.at(day, 23, 59)) == []
    assert _statuses(client, left, from_lab) == [("arrived", "cancelled")] * 2
    # The sweep looks a week back (it runs every few minutes): no further.
    past_its_reach = clinic.at(day + timedelta(days=LEFT_UNSEEN_DAYS + 1), 0, 1)
    assert _swept(runtime, past_its_reach) == []

    next_day = clinic.at(day + timedelta(days=1), 0, 1)
    assert _swept(runtime, next_day) == sorted([left, from_lab])
    assert _statuses(client, left, from_lab) == [("no_show", "cancelled")] * 2
    for visit_id in (left, from_lab):
        last = client.get(f"/api/v1/visits/{visit_id}").get_json()["history"][-1]
        assert (last["action"], last["from_status"], last["to_status"], last["actor"]) == (
            "no_show",
            "arrived",
            "no_show",
            "system",
        )
        assert last["data"] == {"reason": f"left unseen: {day.isoformat()}"}
    # The calendars heard both, once the sweep was done.
    assert _calendar_heard(runtime, clinic)[-2:] == ["no_show", "no_show"]
    assert _calendar_heard(runtime, clinic).count("no_show") == 2
    # Swept once: the next run finds nothing.
    assert _swept(runtime, next_day + timedelta(minutes=5)) == []


def test_a_patient_checked_in_again_or_still_in_the_laboratory_is_left_as_he_is(runtime, client):
    clear_of_midnight(runtime, 300)
    clinic = make_clinic(runtime, patients=2, **ALL_DAY)
    queue = _department_queue(runtime, clinic)
    lab = _lab_queue(runtime, clinic)
    # Sent to the laboratory to come back, he waits there: his visit's own ticket was sent
    # on, the one he holds is in the queue.
    in_lab = _booked_soon(runtime, clinic, patient=1, later_minutes=5)
    _sent_to_the_laboratory(client, queue.id, _checked_in(client, in_lab), lab)
    # The desk cancels another's ticket by mistake, and checks him in again.
    again = _booked_soon(runtime, clinic, patient=0)
    _cancelled(client, _checked_in(client, again))
    assert _statuses(client, again) == [("arrived", "cancelled")]
    _checked_in(client, again)
    day = _the_day(runtime, again)

    assert _swept(runtime, clinic.at(day + timedelta(days=1), 0, 1)) == []
    assert _statuses(client, again, in_lab) == [("arrived", "waiting")] * 2


def test_a_patient_the_calendar_sees_without_a_ticket_is_left_as_he_is(runtime, client):
    """No queue working for his doctor: checked in without a ticket, the doctor may still
    complete his visit by the calendar, after the day too."""
    clear_of_midnight(runtime, 300)
    clinic = make_clinic(runtime, patients=1, **ALL_DAY)
    arrived = _booked_soon(runtime, clinic)
    checked_in = client.post(f"/api/v1/visits/{arrived}/check-in", json={})
    assert checked_in.status_code == 200 and checked_in.get_json()["ticket_id"] is None
    day = _the_day(runtime, arrived)

    assert _swept(runtime, clinic.at(day + timedelta(days=1), 0, 1)) == []
    assert _statuses(client, arrived) == [("arrived", None)]


def test_the_money_of_a_patient_who_left_unseen_stays_owed_once_his_visit_is_a_no_show(
    runtime, client, anon_client
):
    """He paid for his appointment ahead, checked in, and left from his phone. From the day
    after, the cashier's desk owes him the money; marked a no-show, it still does."""
    clear_of_midnight(runtime, 300)
    clinic = make_clinic(runtime, patients=1, **ALL_DAY)
    _department_queue(runtime, clinic)
    visit_id = _booked_soon(runtime, clinic)
    with runtime.db.transaction() as s:
        invoice = invoices.create_invoice(
            s, patient_id=clinic.patient_ids[0], visit_id=visit_id,
            lines=[{"service_id": clinic.service_id}], actor="registrar",
        )  # fmt: skip
        invoices.record_payment(s, invoice, method="cash", amount=invoice.total, actor="kassa")
        invoice_id = invoice.id
    _left_from_his_phone(runtime, anon_client, _checked_in(client, visit_id))

    def owed() -> tuple:
        shown = client.get(f"/api/v1/payments/invoices/{invoice_id}").get_json()
        return shown["ticket_status"], shown["not_seen"], shown["to_give_back"]

    assert owed() == ("cancelled", None, 0)  # his day: he may be checked in again
    # His day is over (the visit moved a day back stands for the clock moved a day on).
    with runtime.db.transaction() as s:
        visit = s.get(Visit, visit_id)
        visit.starts_at -= timedelta(days=1)
        visit.ends_at -= timedelta(days=1)
    assert owed() == ("cancelled", "cancelled", PRICE)

    assert _swept(runtime, utcnow()) == [visit_id]
    assert _statuses(client, visit_id) == [("no_show", "cancelled")]
    assert owed() == ("cancelled", "cancelled", PRICE)
