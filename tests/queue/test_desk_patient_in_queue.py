"""The desk gives a patient one place in a queue's day: a second ticket for him while his first
is still in the queue (waiting, called, with the doctor, postponed) is refused with that
ticket's code, to print it again. A ticket he has left with (served, cancelled, a no-show,
sent on) frees his place; his check-in, his transfer and his return from the laboratory open
their tickets as ever, and the desk then finds him in the queue by them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.base import utcnow
from clinic.queue import tickets as q
from clinic.queue.models import Ticket
from clinic.queue.one_place import PatientInQueue
from clinic.reference import patients
from tests.conftest import ONE_BACKEND
from tests.queue.test_api import make_queue
from tests.queue.test_bounded_statements import Statements
from tests.visits.conftest import ALL_DAY, make_clinic
from tests.visits.test_api import _booked_soon, _department_queue
from tests.web.test_refusal_words import _config


def _patient(runtime, name: str = "Каримов Шерзод") -> int:
    with runtime.db.transaction() as s:
        return patients.create_patient(s, {"full_name": name, "sex": "M"}).id


def _issue(client, queue_id: int, patient_id: int | None = None):
    return client.post(f"/api/v1/queues/{queue_id}/tickets", json={"patient_id": patient_id})


def _refused_for(answer, ticket_code: str) -> None:
    body = answer.get_json()
    assert answer.status_code == 409, body
    assert (body["code"], body["values"]) == ("patient_in_queue", {"ticket_code": ticket_code})
    assert list(body["errors"]) == ["patient_id"]


def _codes(runtime, queue_id: int) -> list[str]:
    with runtime.db.session() as s:
        query = select(Ticket.code).where(Ticket.queue_id == queue_id).order_by(Ticket.number)
        return s.scalars(query).all()


def test_the_desk_gives_a_patient_in_the_queue_no_second_ticket_there(client, runtime):
    therapy, xray = make_queue(runtime, "therapy"), make_queue(runtime, "xray")
    patient, another = _patient(runtime), _patient(runtime, "Ғуломов Ўткир")
    first = _issue(client, therapy, patient).get_json()
    _refused_for(_issue(client, therapy, patient), first["code"])
    # Called, postponed, called back and with the doctor, he is still in the queue.
    assert client.post(f"/api/v1/queues/{therapy}/call-next", json={}).status_code == 200
    for step in (None, "postpone", "call-back", "start"):
        if step is not None:
            moved = client.post(f"/api/v1/tickets/{first['id']}/{step}", json={})
            assert moved.status_code == 200, (step, moved.get_json())
        _refused_for(_issue(client, therapy, patient), first["code"])
    # Another queue, another patient and a walk-in are given their tickets as ever.
    assert _issue(client, xray, patient).status_code == 201
    assert _issue(client, therapy, another).status_code == 201
    assert [_issue(client, therapy).status_code for _ in range(2)] == [201, 201]
    assert _codes(runtime, therapy) == ["THE-001", "THE-002", "THE-003", "THE-004"]

    # Served, he has left the queue: he may come again.
    assert client.post(f"/api/v1/tickets/{first['id']}/finish").get_json()["status"] == "served"
    again = _issue(client, therapy, patient)
    assert again.status_code == 201, again.get_json()
    _refused_for(_issue(client, therapy, patient), again.get_json()["code"])


def test_a_ticket_he_left_with_frees_his_place_and_yesterdays_is_not_todays(client, runtime):
    therapy, lab = make_queue(runtime, "therapy"), make_queue(runtime, "lab")
    patient = _patient(runtime)
    cancelled = _issue(client, therapy, patient).get_json()
    client.post(f"/api/v1/tickets/{cancelled['id']}/cancel", json={})
    missed = _issue(client, therapy, patient)
    assert missed.status_code == 201, missed.get_json()
    client.post(f"/api/v1/queues/{therapy}/call-next", json={})
    client.post(f"/api/v1/tickets/{missed.get_json()['id']}/no-show")
    sent_on = _issue(client, therapy, patient)
    assert sent_on.status_code == 201, sent_on.get_json()
    # Sent on to the laboratory for good, he holds his place there, not here.
    moved = client.post(
        f"/api/v1/tickets/{sent_on.get_json()['id']}/transfer", json={"to_queue_id": lab}
    ).get_json()
    _refused_for(_issue(client, lab, patient), moved["code"])
    assert _issue(client, therapy, patient).status_code == 201

    # Yesterday's ticket of his, still waiting past midnight, is not a place in today's day.
    elsewhere = make_queue(runtime, "xray")
    with runtime.db.transaction() as s:
        yesterday = utcnow() - timedelta(days=1)
        q.issue_ticket(s, elsewhere, tz=runtime.settings.tz, now=yesterday, patient_id=patient)
    assert _issue(client, elsewhere, patient).status_code == 201


def test_his_check_in_and_his_return_open_their_tickets_and_the_desk_finds_him_by_them(
    client, runtime
):
    clinic = make_clinic(runtime, **ALL_DAY)
    queue = _department_queue(runtime, clinic).id
    patient = clinic.patient_ids[0]
    # A walk-in's ticket of his at the desk does not keep his booked visit from its own.
    walk_in = _issue(client, queue, patient).get_json()
    visit_id = _booked_soon(runtime, clinic)
    checked_in = client.post(f"/api/v1/visits/{visit_id}/check-in", json={})
    assert checked_in.status_code == 200, checked_in.get_json()
    assert checked_in.get_json()["ticket"]["patient_id"] == patient
    client.post(f"/api/v1/tickets/{walk_in['id']}/cancel", json={})
    appointment = checked_in.get_json()["ticket"]
    _refused_for(_issue(client, queue, patient), appointment["code"])

    # Sent to the laboratory to come back, he is given his return as ever.
    lab = make_queue(runtime, "lab")
    client.post(f"/api/v1/queues/{queue}/call-next", json={})
    client.post(f"/api/v1/tickets/{appointment['id']}/start")
    sent = client.post(
        f"/api/v1/tickets/{appointment['id']}/transfer",
        json={"to_queue_id": lab, "return_after": True},
    ).get_json()
    _refused_for(_issue(client, lab, patient), sent["code"])
    client.post(f"/api/v1/queues/{lab}/call-next", json={})
    client.post(f"/api/v1/tickets/{sent['id']}/start")
    finished = client.post(f"/api/v1/tickets/{sent['id']}/finish").get_json()
    back = finished["returned_ticket"]
    assert (back["queue_id"], back["patient_id"], back["status"]) == (queue, patient, "waiting")
    _refused_for(_issue(client, queue, patient), back["code"])


def test_the_check_costs_a_statement_only_when_a_patient_is_given(client, runtime):
    queue_id = make_queue(runtime)
    patient = _patient(runtime)
    _issue(client, queue_id)  # the day's row is made

    def sent(patient_id) -> int:
        with Statements(runtime.db.engine) as counted:
            assert _issue(client, queue_id, patient_id).status_code == 201
        return len(counted.sent)

    # The patient read (on PostgreSQL: his row taken, then his tickets read).
    assert sent(patient) == sent(None) + (
        2 if runtime.db.engine.dialect.name == "postgresql" else 1
    )


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_the_desk_words_the_refusal_with_the_code_of_his_ticket(client_as):
    desk = client_as("registrar")
    for language in ("en", "ru", "uz"):
        page = desk.get(f"/queue/desk?lang={language}").get_data(as_text=True)
        refusals = _config(page, "desk-config")["texts"]["refusals"]
        assert "{ticket_code}" in refusals.get("patient_in_queue", ""), (language, refusals)


def test_a_walk_ins_ticket_is_not_given_a_patient_who_holds_one_in_the_queue(client, runtime):
    """The kiosk's walk-in ticket, given at the desk to a patient already waiting in the same
    queue, would be a second place for him: refused as issuing him one is."""
    therapy, xray = make_queue(runtime, "therapy"), make_queue(runtime, "xray")
    patient = _patient(runtime)
    held = _issue(client, therapy, patient).get_json()
    walk_in = _issue(client, therapy).get_json()
    _refused_for(
        client.post(f"/api/v1/tickets/{walk_in['id']}/patient", json={"patient_id": patient}),
        held["code"],
    )
    # Attached again to the ticket he holds, or given another queue's ticket: as ever.
    again = client.post(f"/api/v1/tickets/{held['id']}/patient", json={"patient_id": patient})
    assert again.status_code == 200, again.get_json()
    elsewhere = _issue(client, xray).get_json()
    given = client.post(f"/api/v1/tickets/{elsewhere['id']}/patient", json={"patient_id": patient})
    assert given.status_code == 200, given.get_json()
    # Once he has left the queue, the walk-in's ticket may be his.
    assert client.post(f"/api/v1/tickets/{held['id']}/cancel", json={}).status_code == 200
    given = client.post(f"/api/v1/tickets/{walk_in['id']}/patient", json={"patient_id": patient})
    assert given.status_code == 200, given.get_json()


def test_a_no_show_given_a_new_ticket_meanwhile_does_not_come_back_on_the_old_one(client, runtime):
    """Marked a no-show, he was issued a new ticket when he turned up at the desk: the doctor
    pressing "came back" on the old one would give him a second place. Refused, naming the
    ticket he waits on; without a new ticket he comes back as ever."""
    therapy = make_queue(runtime, "therapy")
    patient = _patient(runtime)
    old = _issue(client, therapy, patient).get_json()
    assert client.post(f"/api/v1/queues/{therapy}/call-next", json={}).status_code == 200
    assert client.post(f"/api/v1/tickets/{old['id']}/no-show").status_code == 200
    new = _issue(client, therapy, patient).get_json()
    _refused_for(client.post(f"/api/v1/tickets/{old['id']}/came-back"), new["code"])
    assert client.post(f"/api/v1/tickets/{new['id']}/cancel", json={}).status_code == 200
    back = client.post(f"/api/v1/tickets/{old['id']}/came-back")
    assert back.status_code == 200 and back.get_json()["status"] == "postponed", back.get_json()


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_two_desks_issuing_for_one_patient_at_once_give_him_one_place(runtime):
    """Two registrars press Issue for the same patient at the same moment (each his own key):
    the second waits for the first's commit, then finds his ticket and is refused naming it."""
    import threading

    from sqlalchemy import event, text

    from clinic.queue.issued_once import issue_ticket_once
    from clinic.queue.models import Priority
    from tests.races import wait_for, waits_for_a_lock

    queue_id = make_queue(runtime, "therapy")
    patient = _patient(runtime)
    asked = {
        "tz": runtime.settings.tz, "priority": Priority.NORMAL, "patient_id": patient,
        "comment": "", "one_per_patient": True,
    }  # fmt: skip
    first_thread, taken, go_on = {}, threading.Event(), threading.Event()

    def hold(_conn, _cursor, statement, *_args):
        if threading.get_ident() == first_thread.get("id") and "FROM patients" in statement:
            taken.set()
            go_on.wait(30)

    answers, second_pids = {}, []

    def first():
        first_thread["id"] = threading.get_ident()
        with runtime.db.session() as s:
            answers["first"] = issue_ticket_once(s, queue_id, request_key=None, **asked)[0].code

    def second():
        try:
            with runtime.db.session() as s:
                second_pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                answers["second"] = issue_ticket_once(s, queue_id, request_key=None, **asked)
        except PatientInQueue as refused:
            answers["second"] = refused

    event.listen(runtime.db.engine, "after_cursor_execute", hold)
    try:
        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        threads[0].start()
        assert taken.wait(30)
        threads[1].start()
        wait_for(lambda: "second" in answers or waits_for_a_lock(runtime, second_pids))
        go_on.set()
        for thread in threads:
            thread.join(30)
    finally:
        go_on.set()
        event.remove(runtime.db.engine, "after_cursor_execute", hold)
    assert isinstance(answers["second"], PatientInQueue), answers
    assert answers["second"].values == {"ticket_code": answers["first"]}
    assert _codes(runtime, queue_id) == [answers["first"]]
