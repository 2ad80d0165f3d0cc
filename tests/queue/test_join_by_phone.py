"""A patient joins from his phone, and only he holds the link it gives him: a phone number is
no secret (it is on business cards, in group chats), so typing it again gives nobody his
ticket's page, which reads his ticket and gives up his place. A patient who lost his link is
helped at the desk, which finds his ticket by the phone and prints it again."""

from __future__ import annotations

import json
from datetime import time

import pytest

from clinic.queue import calls
from clinic.queue import days as queue_days
from clinic.queue import joining
from clinic.queue.joining import AlreadyJoined
from tests.queue.test_api import make_queue

ALL_DAY = {"online_from": time(0, 0), "online_until": time(23, 59, 59, 999999)}
HTML = {"Accept": "text/html"}


def test_a_phone_number_typed_again_opens_nobody_elses_ticket(client, anon_client, runtime):
    queue_id = make_queue(runtime, online_daily_limit=5, **ALL_DAY)
    url = f"/api/v1/public/queues/{queue_id}/join"
    mine = anon_client.post(url, json={"phone": "90 111 22 33"})
    assert mine.status_code == 201, mine.get_json()
    secret = mine.get_json()["token"]

    # Someone else who knows the number, however he spells it.
    again = anon_client.post(url, json={"phone": "+998 (90) 111-22-33"})
    assert again.status_code == 409, again.get_json()
    body = again.get_json()
    assert body["code"] == "already_joined" and list(body["errors"]) == ["phone"]
    said = again.get_data(as_text=True)
    assert secret not in said and "/t/" not in said and mine.get_json()["code"] not in said
    # Nothing changed: the patient still waits, and no second place was taken.
    state = anon_client.get(f"/api/v1/public/tickets/{secret}").get_json()
    assert state["status"] == "waiting"
    assert len(client.get(f"/api/v1/queues/{queue_id}/tickets").get_json()) == 1

    # The patient who lost his link: the desk finds his ticket by the phone and prints it
    # again, with his page's link in its QR code.
    listed = client.get(f"/api/v1/queues/{queue_id}/tickets?status=waiting").get_json()
    found = [t for t in listed if t["phone"] == "+998901112233"]
    assert [t["patient_url"] for t in found] == [f"/t/{secret}"]
    printed = client.get(f"/ticket/{found[0]['id']}/print?autoprint=0", headers=HTML)
    assert printed.status_code == 200 and f"/t/{secret}" in printed.get_data(as_text=True)


def test_the_join_page_says_in_its_language_that_the_desk_gives_a_lost_link(anon_client, runtime):
    queue_id = make_queue(runtime, online_daily_limit=5, **ALL_DAY)
    said = {}
    for language in ("ru", "uz", "en"):
        page = anon_client.get(f"/join/{queue_id}?lang={language}", headers=HTML)
        config = page.get_data(as_text=True).split('id="join-config">', 1)[1]
        said[language] = json.loads(config.split("</script>", 1)[0])["refusals"]["already_joined"]
    assert "регистратур" in said["ru"] and "registratura" in said["uz"]
    assert "reception desk will print" in said["en"]


def test_a_phone_sent_on_to_the_laboratory_is_not_given_its_ticket_either(runtime):
    therapy = make_queue(runtime, "therapy", online_daily_limit=5, **ALL_DAY)
    lab = make_queue(runtime, "lab")
    tz = runtime.settings.tz
    with runtime.db.transaction() as s:
        joined = joining.join_online(s, therapy, "90 111 22 33", tz=tz)
        called = calls.call_next(s, therapy, tz=tz)
        assert called.id == joined.id
        calls.transfer(s, called, lab, tz=tz, return_after=True)
    with runtime.db.transaction() as s:
        with pytest.raises(AlreadyJoined) as refused:
            joining.join_online(s, therapy, "901112233", tz=tz)
    assert refused.value.status == 409 and list(refused.value.errors) == ["phone"]
    # ...nor a second place in therapy while he is in the laboratory.
    with runtime.db.session() as s:
        assert [t.status for t in queue_days.today_tickets(s, therapy, tz=tz)] == ["transferred"]


def sent_to_the_laboratory(client, anon_client, runtime) -> tuple[int, int, dict]:
    """A patient joins therapy from his phone (90 111 22 33), is called and sent to the
    laboratory to come back: therapy's and the laboratory's ids and his ticket there."""
    therapy = make_queue(runtime, "therapy", online_daily_limit=5, **ALL_DAY)
    lab = make_queue(runtime, "lab")
    joined = anon_client.post(
        f"/api/v1/public/queues/{therapy}/join", json={"phone": "90 111 22 33"}
    ).get_json()
    client.post(f"/api/v1/queues/{therapy}/call-next", json={})
    sent = client.post(
        f"/api/v1/tickets/{joined['ticket_id']}/transfer",
        json={"to_queue_id": lab, "return_after": True},
    ).get_json()
    return therapy, lab, sent


def test_the_desk_finds_by_his_phone_a_patient_sent_on_to_the_laboratory(
    client, anon_client, runtime
):
    """He joined therapy from his phone, was sent to the laboratory to come back, and lost
    his link: the laboratory's ticket, and the one that brings him back, carry his phone, so
    the desk finds them by it and prints the one he holds."""
    therapy, lab, sent = sent_to_the_laboratory(client, anon_client, runtime)
    in_lab = client.get(f"/api/v1/queues/{lab}/tickets?status=waiting").get_json()
    assert [(t["id"], t["phone"]) for t in in_lab] == [(sent["id"], "+998901112233")]
    client.post(f"/api/v1/queues/{lab}/call-next", json={})
    back = client.post(f"/api/v1/tickets/{sent['id']}/finish").get_json()["returned_ticket"]
    waiting = client.get(f"/api/v1/queues/{therapy}/tickets?status=waiting").get_json()
    assert [(t["id"], t["phone"]) for t in waiting] == [(back["id"], "+998901112233")]


def test_a_patient_who_joined_the_laboratory_himself_is_still_sent_there(
    client, anon_client, runtime
):
    """His phone holds the laboratory's online ticket already: the one the transfer opens
    there does not carry it (a phone holds one online ticket of a queue's day), and the
    transfer is not refused for it."""
    therapy = make_queue(runtime, "therapy", online_daily_limit=5, **ALL_DAY)
    lab = make_queue(runtime, "lab", online_daily_limit=5, **ALL_DAY)
    own = anon_client.post(f"/api/v1/public/queues/{lab}/join", json={"phone": "901112233"})
    assert own.status_code == 201, own.get_json()
    joined = anon_client.post(
        f"/api/v1/public/queues/{therapy}/join", json={"phone": "901112233"}
    ).get_json()
    sent = client.post(f"/api/v1/tickets/{joined['ticket_id']}/transfer", json={"to_queue_id": lab})
    assert sent.status_code == 200, sent.get_json()
    in_lab = client.get(f"/api/v1/queues/{lab}/tickets?status=waiting").get_json()
    assert {t["id"]: t["phone"] for t in in_lab} == {
        own.get_json()["ticket_id"]: "+998901112233",
        sent.get_json()["id"]: None,
    }


# A number copied from the phone's contacts or a messenger's profile carries invisible marks
# that keep it left to right in Arabic or Hebrew text (iOS: U+202A ... U+202C; Android and
# web pages: U+2068 ... U+2069, U+200E), or a zero-width space.
PASTED = (
    "\u202a+998 90 123 45 67\u202c",
    "\u2068+998 90 123 45 67\u2069",
    "\u200e+998901234567",
    "90 123 45 67\u200b",
    "\ufeff90 123 45 67",
)


@pytest.mark.parametrize("pasted", PASTED)
def test_a_phone_number_pasted_from_the_contacts_joins_as_the_number_it_shows(
    client, anon_client, runtime, pasted
):
    queue_id = make_queue(runtime, online_daily_limit=5, **ALL_DAY)
    joined = anon_client.post(f"/api/v1/public/queues/{queue_id}/join", json={"phone": pasted})
    assert joined.status_code == 201, joined.get_json()
    listed = client.get(f"/api/v1/queues/{queue_id}/tickets").get_json()
    assert [t["phone"] for t in listed] == ["+998901234567"]
