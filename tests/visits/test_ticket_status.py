"""The day list says, for each visit, the status of the ticket its patient holds now
(``ticket_status``), so the calendar offers "Check in again" to an arrived patient whose ticket
was cancelled, where check-in issues him a new one; it reads those tickets in one statement
however many visits the day has; and the ticket's cancellation reaches the calendars'
channels, so a calendar open at the time offers it at once."""

from __future__ import annotations

from sqlalchemy import select

from clinic.events.models import OutboxEvent
from clinic.visits import visits as v
from clinic.visits.models import Visit, VisitEvent
from tests.queue.test_bounded_statements import Statements
from tests.visits.conftest import ALL_DAY, clear_of_midnight, make_clinic
from tests.visits.test_api import _booked_soon, _department_queue, _lab_queue


def _day_of(runtime, visit_id: int) -> str:
    with runtime.db.session() as s:
        return s.get(Visit, visit_id).starts_at.astimezone(runtime.settings.tz).date().isoformat()


def _listed(client, clinic, day: str) -> dict[int, str | None]:
    answer = client.get(f"/api/v1/visits?day={day}&department_id={clinic.department_id}")
    assert answer.status_code == 200, answer.get_json()
    return {visit["id"]: visit["ticket_status"] for visit in answer.get_json()}


def _checked_in(client, visit_id: int) -> int:
    answer = client.post(f"/api/v1/visits/{visit_id}/check-in", json={})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["ticket_id"]


def _cancelled(client, ticket_id: int) -> None:
    answer = client.post(f"/api/v1/tickets/{ticket_id}/cancel", json={"reason": "ошибка"})
    assert answer.status_code == 200, answer.get_json()


def test_the_day_list_says_the_status_of_the_ticket_each_patient_holds_now(runtime, client):
    clear_of_midnight(runtime, 300)  # booked, checked in and listed within one clinic day
    clinic = make_clinic(runtime, patients=4, **ALL_DAY)
    queue = _department_queue(runtime, clinic)
    lab = _lab_queue(runtime, clinic)
    booked, waiting, cancelled, sent = (
        _booked_soon(runtime, clinic, patient=i, later_minutes=5 * i) for i in range(4)
    )
    day = _day_of(runtime, booked)
    # One is sent to the laboratory to come back, and leaves its queue there.
    first = _checked_in(client, sent)
    assert client.post(f"/api/v1/queues/{queue.id}/call-next", json={}).get_json()["id"] == first
    to_lab = client.post(
        f"/api/v1/tickets/{first}/transfer", json={"to_queue_id": lab, "return_after": True}
    )
    assert to_lab.status_code == 200, to_lab.get_json()
    _cancelled(client, to_lab.get_json()["id"])
    # The desk cancels another's ticket by mistake; a third waits.
    _checked_in(client, waiting)
    _cancelled(client, _checked_in(client, cancelled))

    assert _listed(client, clinic, day) == {
        booked: None,  # not checked in: no ticket
        waiting: "waiting",
        cancelled: "cancelled",
        # His visit's ticket was transferred: the one he holds, the laboratory's, was not.
        sent: "cancelled",
    }
    assert client.get(f"/api/v1/visits/{sent}").get_json()["ticket_status"] == "cancelled"
    # Both are checked in again, as the calendar offers (a new ticket each, waiting).
    for visit_id in (cancelled, sent):
        again = client.post(f"/api/v1/visits/{visit_id}/check-in", json={})
        assert again.status_code == 200, again.get_json()
        assert again.get_json()["ticket_status"] == "waiting"
    assert _listed(client, clinic, day)[sent] == "waiting"


def _day_list_cost(runtime, client, visits: int) -> int:
    """Statements of the day list of a department whose ``visits`` patients are checked in
    (every other one's ticket cancelled since)."""
    clinic = make_clinic(runtime, patients=visits, **ALL_DAY)
    _department_queue(runtime, clinic, code=f"day{visits}")
    ids = [_booked_soon(runtime, clinic, patient=i, later_minutes=5 * i) for i in range(visits)]
    for n, visit_id in enumerate(ids):
        ticket_id = _checked_in(client, visit_id)
        if n % 2:
            _cancelled(client, ticket_id)
    day = _day_of(runtime, ids[0])
    with Statements(runtime.db.engine) as counted:
        listed = _listed(client, clinic, day)
    assert listed == {i: "cancelled" if n % 2 else "waiting" for n, i in enumerate(ids)}
    return len(counted.sent)


def test_the_day_list_reads_the_tickets_in_statements_that_do_not_grow_with_the_day(
    runtime, client
):
    clear_of_midnight(runtime, 300)
    assert _day_list_cost(runtime, client, 2) == _day_list_cost(runtime, client, 8)


def _calendar_heard(runtime, clinic) -> list[str]:
    """The actions of the ``visit.changed`` events the department's calendar heard."""
    with runtime.db.session() as s:
        rows = s.scalars(
            select(OutboxEvent)
            .where(
                OutboxEvent.channel == v.department_channel(clinic.department_id),
                OutboxEvent.type == "visit.changed",
            )
            .order_by(OutboxEvent.seq)
        )
        return [row.data["action"] for row in rows]


def test_a_cancelled_ticket_of_an_arrived_patient_is_heard_on_the_calendars(runtime, client):
    """The desk cancels his ticket while the calendar is open: the calendar hears it, reads
    the day again and offers "Check in again", without waiting for another change."""
    clear_of_midnight(runtime, 300)
    clinic = make_clinic(runtime, patients=2, **ALL_DAY)
    _department_queue(runtime, clinic)
    arrived = _booked_soon(runtime, clinic)
    _cancelled(client, _checked_in(client, arrived))
    assert _calendar_heard(runtime, clinic) == ["arrived", "ticket_cancelled"]
    # A visit cancelled takes its ticket along: the calendar hears the visit's cancellation,
    # and nothing offers to check the patient in again.
    gone = _booked_soon(runtime, clinic, patient=1, later_minutes=5)
    _checked_in(client, gone)
    cancel = {"by": "patient", "reason": "ушёл"}
    assert client.post(f"/api/v1/visits/{gone}/cancel", json=cancel).status_code == 200
    assert _calendar_heard(runtime, clinic) == ["arrived", "ticket_cancelled", "arrived"]
    assert _listed(client, clinic, _day_of(runtime, gone))[arrived] == "cancelled"


def test_checked_in_again_with_no_queue_to_take_him_the_visit_lets_its_ticket_go(runtime, client):
    """His ticket cancelled, and his queue switched off since (or closed for the day): checked
    in again, he is seen by the calendar, as at a first check-in with no queue; the cancelled
    ticket is his no longer, so the calendar stops offering to check him in again."""
    from clinic.queue.models import Queue

    clear_of_midnight(runtime, 300)
    clinic = make_clinic(runtime, patients=1, **ALL_DAY)
    queue = _department_queue(runtime, clinic)
    visit_id = _booked_soon(runtime, clinic, patient=0)
    _cancelled(client, _checked_in(client, visit_id))
    with runtime.db.transaction() as s:
        s.get(Queue, queue.id).active = False
    again = client.post(f"/api/v1/visits/{visit_id}/check-in", json={})
    assert again.status_code == 200, again.get_json()
    assert (again.get_json()["ticket_id"], again.get_json()["ticket_status"]) == (None, None)
    assert _listed(client, clinic, _day_of(runtime, visit_id))[visit_id] is None
    with runtime.db.session() as s:
        rows = s.scalars(select(VisitEvent.action).where(VisitEvent.visit_id == visit_id))
        assert list(rows).count("checked_in_again") == 1
    # Pressed again (a second screen, a late click): refused, not another row of history.
    assert client.post(f"/api/v1/visits/{visit_id}/check-in", json={}).status_code == 409
