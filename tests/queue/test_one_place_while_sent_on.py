"""A patient sent from therapy to the laboratory "to come back" still holds his place in
therapy while he is away: the desk gives him no second therapy ticket then (it names the one
he was sent on from, to print it again), and once the laboratory has served him he waits in
therapy once, on his return. Sent on for good, he holds no place there any more."""

from __future__ import annotations

from sqlalchemy import select

from clinic.queue.models import Ticket
from clinic.queue.models import TicketStatus as S
from tests.queue.test_api import make_queue
from tests.queue.test_desk_patient_in_queue import _issue, _patient, _refused_for
from tests.visits.conftest import ALL_DAY, make_clinic
from tests.visits.test_api import _booked_soon, _department_queue


def _send_on(client, ticket_id: int, to_queue_id: int, return_after: bool) -> dict:
    sent = client.post(
        f"/api/v1/tickets/{ticket_id}/transfer",
        json={"to_queue_id": to_queue_id, "return_after": return_after},
    )
    assert sent.status_code == 200, sent.get_json()
    return sent.get_json()


def _serve(client, queue_id: int, ticket_id: int) -> dict:
    called = client.post(f"/api/v1/queues/{queue_id}/call-next", json={})
    assert called.status_code == 200 and called.get_json()["id"] == ticket_id, called.get_json()
    finished = client.post(f"/api/v1/tickets/{ticket_id}/finish")
    assert finished.status_code == 200, finished.get_json()
    return finished.get_json()


def _his_places(runtime, queue_id: int, patient_id: int) -> list[str]:
    with runtime.db.session() as s:
        return s.scalars(
            select(Ticket.code)
            .where(
                Ticket.queue_id == queue_id,
                Ticket.patient_id == patient_id,
                Ticket.status.in_(S.ACTIVE),
            )
            .order_by(Ticket.id)
        ).all()


def test_a_patient_at_the_lab_to_come_back_is_given_no_second_therapy_ticket(client, runtime):
    therapy, lab, xray = (make_queue(runtime, code) for code in ("therapy", "lab", "xray"))
    patient = _patient(runtime)
    first = _issue(client, therapy, patient).get_json()
    assert client.post(f"/api/v1/queues/{therapy}/call-next", json={}).status_code == 200
    at_lab = _send_on(client, first["id"], lab, return_after=True)

    # Away to come back, he still holds his place in therapy: issued or given a walk-in's
    # ticket, he is refused, by the ticket he was sent on from.
    _refused_for(_issue(client, therapy, patient), first["code"])
    walk_in = _issue(client, therapy).get_json()
    given = client.post(f"/api/v1/tickets/{walk_in['id']}/patient", json={"patient_id": patient})
    _refused_for(given, first["code"])
    # Sent on from the laboratory to the X-ray, he keeps his return, and his place.
    client.post(f"/api/v1/queues/{lab}/call-next", json={})
    at_xray = _send_on(client, at_lab["id"], xray, return_after=False)
    _refused_for(_issue(client, therapy, patient), first["code"])
    # Other queues and other patients are issued as ever.
    assert _issue(client, lab, patient).status_code == 201
    assert _issue(client, therapy, _patient(runtime)).status_code == 201

    # Seen at the X-ray, he comes back to therapy once, on his return.
    back = _serve(client, xray, at_xray["id"])["returned_ticket"]
    assert (back["queue_id"], back["priority"]) == (therapy, "returned")
    assert _his_places(runtime, therapy, patient) == [back["code"]]
    _refused_for(_issue(client, therapy, patient), back["code"])


def test_a_patient_sent_on_for_good_or_served_holds_no_place_in_the_first_queue(client, runtime):
    therapy, lab = make_queue(runtime, "therapy"), make_queue(runtime, "lab")
    patient = _patient(runtime)
    first = _issue(client, therapy, patient).get_json()
    client.post(f"/api/v1/queues/{therapy}/call-next", json={})
    at_lab = _send_on(client, first["id"], lab, return_after=True)
    # Served at the laboratory and back, then seen in therapy: he has left it.
    back = _serve(client, lab, at_lab["id"])["returned_ticket"]
    _serve(client, therapy, back["id"])
    again = _issue(client, therapy, patient)
    assert again.status_code == 201, again.get_json()
    # Sent to the laboratory for good, his place is there, not in therapy.
    client.post(f"/api/v1/queues/{therapy}/call-next", json={})
    _send_on(client, again.get_json()["id"], lab, return_after=False)
    assert _issue(client, therapy, patient).status_code == 201


def test_a_patient_checked_in_there_meanwhile_is_not_sent_back_a_second_time(client, runtime):
    """At the laboratory to come back to his department's queue, he is checked in there for
    his booked visit: once the laboratory has served him, he waits on that ticket alone."""
    clinic = make_clinic(runtime, **ALL_DAY)
    queue = _department_queue(runtime, clinic).id
    lab = make_queue(runtime, "lab")
    patient = clinic.patient_ids[0]
    walk_in = _issue(client, queue, patient).get_json()
    client.post(f"/api/v1/queues/{queue}/call-next", json={})
    at_lab = _send_on(client, walk_in["id"], lab, return_after=True)
    checked_in = client.post(f"/api/v1/visits/{_booked_soon(runtime, clinic)}/check-in", json={})
    assert checked_in.status_code == 200, checked_in.get_json()
    appointment = checked_in.get_json()["ticket"]

    finished = _serve(client, lab, at_lab["id"])
    assert finished["status"] == "served" and "returned_ticket" not in finished, finished
    assert _his_places(runtime, queue, patient) == [appointment["code"]]
