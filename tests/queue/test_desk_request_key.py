"""A desk's press whose answer the network lost (or a double click) is sent again with its
idempotency key, and answered with the ticket the first issued: the registrar gives no patient
a second ticket by pressing again. The key is the user's own; used for another queue or
another body, it is refused naming it."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from clinic.queue import tickets as q
from clinic.queue.issued_once import issue_ticket_once, request_key_of
from clinic.queue.models import Priority, Ticket
from clinic.reference import patients
from tests.queue.test_api import make_queue
from tests.queue.test_bounded_statements import Statements
from tests.queue.test_ticket_request_key import KEY, _numbers, _print_requests


def _patient(runtime, name: str = "Каримов Шерзод") -> int:
    with runtime.db.transaction() as s:
        return patients.create_patient(s, {"full_name": name, "sex": "M"}).id


def test_a_desk_press_sent_again_with_its_key_is_answered_with_the_first_ticket(client_as, runtime):
    queue_id = make_queue(runtime)
    patient = _patient(runtime)
    desk = client_as("registrar")
    url = f"/api/v1/queues/{queue_id}/tickets"
    body = {"priority": "urgent", "comment": "после ЭКГ", "patient_id": patient}
    first = desk.post(url, json={**body, "idempotency_key": KEY})
    assert first.status_code == 201, first.get_json()
    # Sent again, it is the same press: not a second ticket, nor "already in the queue".
    again = desk.post(url, json={**body, "idempotency_key": KEY})
    assert again.status_code == 201, again.get_json()
    assert again.get_json() == first.get_json()
    assert _numbers(runtime, queue_id) == [1]
    assert _print_requests(runtime, first.get_json()["id"]) == 1  # printed once

    # A new press, with a new key or none, is a new ticket, numbered on; so is another
    # registrar's press with the same key (his own).
    other = desk.post(url, json={"idempotency_key": KEY[::-1]})
    plain = desk.post(url, json={})
    assert (other.get_json()["number"], plain.get_json()["number"]) == (2, 3)
    colleague = client_as("registrar").post(url, json={"idempotency_key": KEY})
    assert colleague.status_code == 201 and colleague.get_json()["number"] == 4


def test_a_desk_key_used_for_another_queue_or_body_is_refused_naming_it(client_as, runtime):
    therapy = make_queue(runtime, code="therapy")
    xray = make_queue(runtime, code="xray")
    patient, another = _patient(runtime), _patient(runtime, "Ғуломов Ўткир")
    desk = client_as("registrar")
    body = {"priority": "privileged", "comment": "анализ", "patient_id": patient}
    issued = desk.post(f"/api/v1/queues/{therapy}/tickets", json={**body, "idempotency_key": KEY})
    assert issued.status_code == 201, issued.get_json()
    for where, changed in (
        (xray, {}),
        (therapy, {"priority": "normal"}),
        (therapy, {"comment": "другое"}),
        (therapy, {"patient_id": another}),
        (therapy, {"patient_id": None}),
        (therapy, {"source": "kiosk"}),
    ):
        refused = desk.post(
            f"/api/v1/queues/{where}/tickets", json={**body, **changed, "idempotency_key": KEY}
        )
        assert refused.status_code == 422, (changed, refused.get_json())
        assert list(refused.get_json()["errors"]) == ["idempotency_key"], changed
    assert (_numbers(runtime, therapy), _numbers(runtime, xray)) == ([1], [])
    short = desk.post(f"/api/v1/queues/{xray}/tickets", json={"idempotency_key": "1234567"})
    assert short.status_code == 422 and list(short.get_json()["errors"]) == ["idempotency_key"]


def test_a_press_sent_again_after_its_ticket_was_given_a_patient_is_still_that_press(
    client_as, runtime
):
    """A walk-in's ticket (or a kiosk's) given its patient at the desk since: the same key
    again is compared with what the press asked, not with the patient the ticket has now."""
    queue_id = make_queue(runtime)
    patient = _patient(runtime)
    desk, kiosk = client_as("registrar"), client_as("kiosk")
    desk_url = f"/api/v1/queues/{queue_id}/tickets"
    kiosk_url = f"/api/v1/kiosk/queues/{queue_id}/tickets"
    walk_in = desk.post(desk_url, json={"idempotency_key": KEY}).get_json()
    touched = kiosk.post(kiosk_url, json={"idempotency_key": KEY}).get_json()
    for ticket in (walk_in, touched):
        attached = desk.post(
            f"/api/v1/tickets/{ticket['id']}/patient", json={"patient_id": patient}
        )
        assert attached.status_code == 200, attached.get_json()
        patient = _patient(runtime, f"Пациент {ticket['id']}")  # one ticket each
    for client, url, ticket in ((desk, desk_url, walk_in), (kiosk, kiosk_url, touched)):
        again = client.post(url, json={"idempotency_key": KEY})
        assert again.status_code == 201, again.get_json()
        assert again.get_json()["id"] == ticket["id"]
    assert _numbers(runtime, queue_id) == [1, 2]


def test_a_new_ticket_costs_the_same_statements_with_a_key_or_without(client_as, runtime):
    queue_id = make_queue(runtime)
    desk = client_as("registrar")
    url = f"/api/v1/queues/{queue_id}/tickets"
    desk.post(url, json={})  # the day's row is made

    def sent(body) -> list[str]:
        with Statements(runtime.db.engine) as counted:
            answer = desk.post(url, json=body)
            assert answer.status_code == 201, answer.get_json()
        return counted.sent

    plain, keyed = sent({"comment": "без ключа"}), sent({"idempotency_key": KEY})
    assert not [s for s in plain if "request_key" in s], plain
    # The key goes with the ticket's insert; it is looked up only when a repeat is refused.
    assert len(keyed) == len(plain), (plain, keyed)


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_a_press_whose_repeat_finds_its_patient_in_the_queue_gets_the_first_ticket(runtime):
    """The repeat looked for its key before the first press was committed, and reads its
    patient after: he holds the first press's ticket by then. That ticket is the answer, not
    ``patient_in_queue``."""
    queue_id = make_queue(runtime)
    patient = _patient(runtime)
    key = request_key_of("desk:registrar", KEY)
    asked = {
        "tz": runtime.settings.tz,
        "priority": Priority.NORMAL,
        "patient_id": patient,
        "comment": "",
        "one_per_patient": True,
    }
    landed = []

    def first_lands(_conn, _cursor, statement, *_args):
        # The repeat is about to read the patient: the first press is committed now.
        if "FROM patients" in statement and not landed:
            landed.append(None)
            with runtime.db.session() as first:
                landed[0] = issue_ticket_once(first, queue_id, request_key=key, **asked)[0].id

    with runtime.db.session() as repeat:
        event.listen(runtime.db.engine, "before_cursor_execute", first_lands)
        try:
            ticket, made = issue_ticket_once(repeat, queue_id, request_key=key, **asked)
        finally:
            event.remove(runtime.db.engine, "before_cursor_execute", first_lands)
        assert (ticket.id, made) == (landed[0], False)
    with runtime.db.session() as s:
        assert s.scalars(select(Ticket.id).where(Ticket.queue_id == queue_id)).all() == landed
        assert q.get_ticket(s, landed[0]).request_key == key
