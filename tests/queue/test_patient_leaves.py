"""The patient leaves the queue from his own page (the QR on his ticket, or the link online
joining gave him): the doctor does not call him in vain."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select

from clinic.accounts.models import AuditEntry
from clinic.queue.models import Ticket
from tests.queue.test_api import make_queue
from tests.queue.test_join_by_phone import sent_to_the_laboratory

ALL_DAY = {"online_from": time(0, 0), "online_until": time(23, 59, 59, 999999)}


def _token(runtime, ticket_id: int) -> str:
    with runtime.db.session() as s:
        return s.get(Ticket, ticket_id).token


def test_a_patient_who_joined_online_leaves_and_the_doctor_calls_the_next_one(
    client, anon_client, runtime
):
    queue_id = make_queue(runtime, online_daily_limit=5, **ALL_DAY)
    joined = anon_client.post(
        f"/api/v1/public/queues/{queue_id}/join", json={"phone": "90 111 22 33"}
    ).get_json()
    behind = client.post(f"/api/v1/queues/{queue_id}/tickets", json={}).get_json()
    mine = client.get(f"/api/v1/public/tickets/{_token(runtime, behind['id'])}").get_json()
    assert mine["ahead"] == 1

    left = anon_client.post(f"/api/v1/public/tickets/{joined['token']}/leave")
    assert left.status_code == 200, left.get_json()
    assert left.get_json()["status"] == "cancelled" and left.get_json()["ahead"] == 0
    assert "phone" not in left.get_json()
    # The one behind him moves up, and is the next called.
    mine = client.get(f"/api/v1/public/tickets/{_token(runtime, behind['id'])}").get_json()
    assert mine["ahead"] == 0
    called = client.post(f"/api/v1/queues/{queue_id}/call-next", json={}).get_json()
    assert called["id"] == behind["id"]
    # The desk sees who cancelled it, and the same phone may join again.
    history = client.get(f"/api/v1/tickets/{joined['ticket_id']}").get_json()["history"]
    assert (history[-1]["action"], history[-1]["actor"]) == ("cancelled", "patient")
    again = anon_client.post(
        f"/api/v1/public/queues/{queue_id}/join", json={"phone": "90 111 22 33"}
    )
    assert again.status_code == 201 and again.get_json()["code"] != joined["code"]
    # The secret in the address is no record's business.
    with runtime.db.session() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == "queue.leave_queue")).all()
    assert len(rows) == 1 and joined["token"] not in repr((rows[0].summary, rows[0].object_id))


def test_a_called_patient_who_leaves_frees_the_room_but_one_with_the_doctor_does_not_leave(
    client, anon_client, runtime
):
    queue_id = make_queue(runtime)
    first, second = (
        client.post(f"/api/v1/queues/{queue_id}/tickets", json={}).get_json()["id"]
        for _ in range(2)
    )
    assert client.post(f"/api/v1/queues/{queue_id}/call-next", json={}).get_json()["id"] == first
    left = anon_client.post(f"/api/v1/public/tickets/{_token(runtime, first)}/leave")
    assert left.status_code == 200 and left.get_json()["status"] == "cancelled"
    # His room is free for the next one; that one comes in, and may leave no more.
    assert client.post(f"/api/v1/queues/{queue_id}/call-next", json={}).get_json()["id"] == second
    assert client.post(f"/api/v1/tickets/{second}/start").status_code == 200
    refused = anon_client.post(f"/api/v1/public/tickets/{_token(runtime, second)}/leave")
    assert refused.status_code == 409 and refused.get_json()["code"] == "wrong_status"
    assert client.get(f"/api/v1/tickets/{second}").get_json()["status"] == "in_service"
    # Out of the queue already: the same.
    again = anon_client.post(f"/api/v1/public/tickets/{_token(runtime, first)}/leave")
    assert again.status_code == 409 and again.get_json()["code"] == "wrong_status"
    assert anon_client.post("/api/v1/public/tickets/" + "x" * 43 + "/leave").status_code == 404


def test_a_postponed_patient_leaves_too(client, anon_client, runtime):
    queue_id = make_queue(runtime)
    ticket = client.post(f"/api/v1/queues/{queue_id}/tickets", json={}).get_json()["id"]
    assert client.post(f"/api/v1/tickets/{ticket}/postpone").status_code == 200
    left = anon_client.post(f"/api/v1/public/tickets/{_token(runtime, ticket)}/leave")
    assert left.status_code == 200 and left.get_json()["status"] == "cancelled"


def test_the_patients_page_offers_to_leave_in_his_language_while_he_may(
    client, anon_client, runtime
):
    queue_id = make_queue(runtime)
    ticket = client.post(f"/api/v1/queues/{queue_id}/tickets", json={}).get_json()
    token = _token(runtime, ticket["id"])
    html = {"Accept": "text/html"}
    page = anon_client.get(f"/t/{token}?lang=ru", headers=html).get_data(as_text=True)
    leave = page.split('id="patient-leave"', 1)[1].split("</p>", 1)[0]
    assert not leave.startswith(" hidden") and "Выйти из очереди" in leave
    assert f"Талон {ticket['code']} будет отменён" in leave
    assert f"/api/v1/public/tickets/{token}/leave" in page
    uz = anon_client.get(f"/t/{token}?lang=uz", headers=html).get_data(as_text=True)
    assert "Navbatdan chiqish" in uz
    # With the doctor, the page offers it no more.
    client.post(f"/api/v1/queues/{queue_id}/call-next", json={})
    client.post(f"/api/v1/tickets/{ticket['id']}/start")
    page = anon_client.get(f"/t/{token}?lang=ru", headers=html).get_data(as_text=True)
    assert page.split('id="patient-leave"', 1)[1].startswith(" hidden")


def test_an_online_place_given_up_is_free_again_and_a_served_one_is_not(
    client, anon_client, runtime
):
    queue_id = make_queue(runtime, online_daily_limit=1, **ALL_DAY)

    def join(phone):
        return anon_client.post(f"/api/v1/public/queues/{queue_id}/join", json={"phone": phone})

    # One phone joins and leaves three times: it never holds more than the one place.
    for _ in range(3):
        joined = join("90 111 22 33")
        assert joined.status_code == 201, joined.get_json()
        left = anon_client.post(f"/api/v1/public/tickets/{joined.get_json()['token']}/leave")
        assert left.status_code == 200, left.get_json()
    # The place he gave up is another patient's now; the desk cancelling it frees it too.
    other = join("90 444 55 66")
    assert other.status_code == 201, other.get_json()
    assert join("90 777 88 99").get_json()["code"] == "online_limit_reached"
    cancelled = client.post(
        f"/api/v1/tickets/{other.get_json()['ticket_id']}/cancel", json={"reason": "by phone"}
    )
    assert cancelled.status_code == 200, cancelled.get_json()
    served = join("90 777 88 99")
    assert served.status_code == 201, served.get_json()
    # Seen by the doctor, the place was used: it is not given back.
    ticket_id = served.get_json()["ticket_id"]
    assert client.post(f"/api/v1/queues/{queue_id}/call-next", json={}).get_json()["id"] == (
        ticket_id
    )
    for step in ("start", "finish"):
        answer = client.post(f"/api/v1/tickets/{ticket_id}/{step}", json={})
        assert answer.status_code == 200, answer.get_json()
    assert join("90 000 11 22").get_json()["code"] == "online_limit_reached"


def test_a_patient_sent_on_from_his_online_ticket_who_leaves_frees_no_online_place_there(
    client, anon_client, runtime
):
    therapy = make_queue(runtime, "therapy", online_daily_limit=1, **ALL_DAY)
    lab = make_queue(runtime, "lab", online_daily_limit=1, **ALL_DAY)

    def join(queue_id, phone):
        return anon_client.post(f"/api/v1/public/queues/{queue_id}/join", json={"phone": phone})

    assert join(lab, "90 444 55 66").status_code == 201  # the laboratory's one online place
    joined = join(therapy, "90 111 22 33").get_json()
    assert client.post(f"/api/v1/queues/{therapy}/call-next", json={}).get_json()["id"] == (
        joined["ticket_id"]
    )
    sent = client.post(
        f"/api/v1/tickets/{joined['ticket_id']}/transfer", json={"to_queue_id": lab}
    ).get_json()
    # He never took one of the laboratory's online places: leaving it gives none back.
    left = anon_client.post(f"/api/v1/public/tickets/{sent['patient_url'].split('/')[-1]}/leave")
    assert left.status_code == 200, left.get_json()
    assert join(lab, "90 777 88 99").get_json()["code"] == "online_limit_reached"


def test_a_phone_sent_on_to_the_laboratory_that_joins_again_takes_no_second_place(
    client, anon_client, runtime
):
    therapy, lab, sent = sent_to_the_laboratory(client, anon_client, runtime)
    # He joins again: not a second place in therapy (nor the link of the one he holds,
    # which anyone typing his number would get: the desk prints it for him).
    again = anon_client.post(
        f"/api/v1/public/queues/{therapy}/join", json={"phone": "90 111 22 33"}
    )
    assert again.status_code == 409 and again.get_json()["code"] == "already_joined"
    assert sent["patient_url"] not in again.get_data(as_text=True)
    assert client.get(f"/api/v1/queues/{therapy}/tickets?status=waiting").get_json() == []
    # Seen in the laboratory and back in therapy: still his place, held by the return.
    client.post(f"/api/v1/queues/{lab}/call-next", json={})
    back = client.post(f"/api/v1/tickets/{sent['id']}/finish").get_json()["returned_ticket"]
    again = anon_client.post(
        f"/api/v1/public/queues/{therapy}/join", json={"phone": "90 111 22 33"}
    )
    assert again.status_code == 409 and again.get_json()["code"] == "already_joined"
    waiting = client.get(f"/api/v1/queues/{therapy}/tickets?status=waiting").get_json()
    assert [t["id"] for t in waiting] == [back["id"]]
