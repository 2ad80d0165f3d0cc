"""A kiosk touch or an online join whose answer the network lost is sent again with its
idempotency key, and answered with the ticket the first made: the kiosk issues no second
ticket for one patient, and the joining patient gets his ticket's link rather than
``already_joined``. The key used for another queue or another phone is refused naming it."""

from __future__ import annotations

import threading
from datetime import time

import pytest
from sqlalchemy import select, text

from clinic.events.models import OutboxEvent
from clinic.queue.models import QueueDay, Ticket
from tests.queue.test_api import make_queue
from tests.queue.test_bounded_statements import Statements
from tests.races import wait_for

ONLINE = {
    "online_from": time(0, 0),
    "online_until": time(23, 59, 59, 999999),
    "online_daily_limit": 10,
}
KEY = "3f0c9a52-7d41-4c1e-9b8e-5a2d6f1e0c77"


def _numbers(runtime, queue_id: int) -> list[int]:
    with runtime.db.session() as s:
        return sorted(s.scalars(select(Ticket.number).where(Ticket.queue_id == queue_id)))


def _print_requests(runtime, ticket_id: int) -> int:
    with runtime.db.session() as s:
        rows = s.scalars(select(OutboxEvent).where(OutboxEvent.channel == "printing:tickets"))
        return sum(1 for row in rows if row.data.get("ticket_id") == ticket_id)


def test_a_kiosk_touch_sent_again_with_its_key_is_answered_with_the_first_ticket(
    client_as, runtime
):
    queue_id = make_queue(runtime)
    kiosk = client_as("kiosk")
    url = f"/api/v1/kiosk/queues/{queue_id}/tickets"
    first = kiosk.post(url, json={"idempotency_key": KEY})
    assert first.status_code == 201, first.get_json()
    again = kiosk.post(url, json={"idempotency_key": KEY})
    assert again.status_code == 201, again.get_json()
    assert again.get_json() == first.get_json()
    assert _numbers(runtime, queue_id) == [1]
    # Printed once: the answer sent again is no second ticket to print.
    assert _print_requests(runtime, first.get_json()["id"]) == 1

    # A new touch, with a new key or none, is a new ticket, numbered on.
    other = kiosk.post(url, json={"idempotency_key": KEY[::-1]})
    plain = kiosk.post(url, json={})
    assert (other.get_json()["number"], plain.get_json()["number"]) == (2, 3)
    # Another kiosk account's same key is its own touch.
    hall = client_as("kiosk").post(url, json={"idempotency_key": KEY})
    assert hall.status_code == 201 and hall.get_json()["number"] == 4


def test_a_kiosk_key_used_for_another_queue_is_refused_naming_it(client_as, runtime):
    lab = make_queue(runtime, code="lab")
    xray = make_queue(runtime, code="xray")
    kiosk = client_as("kiosk")
    issued = kiosk.post(f"/api/v1/kiosk/queues/{lab}/tickets", json={"idempotency_key": KEY})
    assert issued.status_code == 201, issued.get_json()
    refused = kiosk.post(f"/api/v1/kiosk/queues/{xray}/tickets", json={"idempotency_key": KEY})
    assert refused.status_code == 422, refused.get_json()
    assert list(refused.get_json()["errors"]) == ["idempotency_key"]
    assert _numbers(runtime, xray) == []
    short = kiosk.post(f"/api/v1/kiosk/queues/{xray}/tickets", json={"idempotency_key": "1234567"})
    assert short.status_code == 422 and list(short.get_json()["errors"]) == ["idempotency_key"]


def test_a_join_sent_again_with_its_key_gets_its_ticket_and_link(anon_client, runtime):
    queue_id = make_queue(runtime, **ONLINE)
    url = f"/api/v1/public/queues/{queue_id}/join"
    first = anon_client.post(url, json={"phone": "90 111 22 33", "idempotency_key": KEY})
    assert first.status_code == 201, first.get_json()
    # The same phone, however it is typed again, with the same key: the first answer.
    again = anon_client.post(url, json={"phone": "+998 (90) 111-22-33", "idempotency_key": KEY})
    assert again.status_code == 201, again.get_json()
    assert again.get_json() == first.get_json()
    assert again.get_json()["patient_url"] == f"/t/{first.get_json()['token']}"
    assert _numbers(runtime, queue_id) == [1]

    # Without the key (or with another), the phone is refused without the link, as ever.
    for body in ({}, {"idempotency_key": KEY[::-1]}):
        refused = anon_client.post(url, json={"phone": "901112233", **body})
        assert refused.status_code == 409 and refused.get_json()["code"] == "already_joined"
        assert first.get_json()["token"] not in refused.get_data(as_text=True)


def test_a_join_key_used_for_another_phone_or_queue_is_refused_naming_it(anon_client, runtime):
    queue_id = make_queue(runtime, **ONLINE)
    elsewhere = make_queue(runtime, code="xray", **ONLINE)
    joined = anon_client.post(
        f"/api/v1/public/queues/{queue_id}/join",
        json={"phone": "90 111 22 33", "idempotency_key": KEY},
    )
    assert joined.status_code == 201, joined.get_json()
    for where, phone in ((queue_id, "90 444 55 66"), (elsewhere, "90 111 22 33")):
        refused = anon_client.post(
            f"/api/v1/public/queues/{where}/join", json={"phone": phone, "idempotency_key": KEY}
        )
        assert refused.status_code == 422, refused.get_json()
        assert list(refused.get_json()["errors"]) == ["idempotency_key"]
        assert joined.get_json()["token"] not in refused.get_data(as_text=True)
    assert (_numbers(runtime, queue_id), _numbers(runtime, elsewhere)) == ([1], [])


def test_a_kiosk_ticket_costs_the_same_statements_with_a_key_or_without(client_as, runtime):
    queue_id = make_queue(runtime)
    kiosk = client_as("kiosk")
    url = f"/api/v1/kiosk/queues/{queue_id}/tickets"
    kiosk.post(url, json={})  # the day's row is made

    def sent(body) -> list[str]:
        with Statements(runtime.db.engine) as counted:
            assert kiosk.post(url, json=body).status_code == 201
        return counted.sent

    plain, keyed = sent({}), sent({"idempotency_key": KEY})
    assert not [s for s in plain if "request_key" in s], plain
    # The key goes with the ticket's insert; it is looked up only when a repeat is refused.
    assert len(keyed) == len(plain), (plain, keyed)


def _hold_the_day(runtime, queue_id: int, race) -> None:
    """``race()`` started while this holds the queue day's counter row, released once two
    requests wait for it: neither has written its key yet."""
    with runtime.db.transaction() as s:
        s.execute(select(QueueDay.id).where(QueueDay.queue_id == queue_id).with_for_update()).all()
        race()
        waiting = (
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )

        def both_wait():
            with runtime.db.session() as other:
                return other.scalar(text(waiting)) >= 2

        wait_for(both_wait, what="both requests at the counter")


def _race(runtime, queue_id: int, *sends) -> list:
    """The answers of ``sends``, each in a thread of its own, let through the counter
    together."""
    answers: list = [None] * len(sends)

    def run(i):
        try:
            answers[i] = sends[i]()
        except Exception as exc:  # noqa: BLE001 - asserted by the caller
            answers[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(sends))]

    def start():
        for thread in threads:
            thread.start()

    _hold_the_day(runtime, queue_id, start)
    for thread in threads:
        thread.join(30)
    return answers


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_two_kiosk_touches_racing_with_one_key_issue_one_ticket_and_both_get_it(
    app, client_as, make_user, runtime
):
    queue_id = make_queue(runtime)
    name = f"kiosk-{queue_id}"
    make_user("kiosk", name)
    url = f"/api/v1/kiosk/queues/{queue_id}/tickets"
    touches = []
    for _ in range(2):
        touch = app.test_client()
        touch.sign_in(name)
        touches.append(touch)
    assert touches[0].post(url, json={}).get_json()["number"] == 1  # the day's row is made

    def touch(i):
        answer = touches[i].post(url, json={"idempotency_key": KEY})
        return answer.status_code, answer.get_json()

    answers = _race(runtime, queue_id, lambda: touch(0), lambda: touch(1))
    assert [status for status, _ in answers] == [201, 201], answers
    assert answers[0][1] == answers[1][1] and answers[0][1]["number"] == 2
    # The second's number went back with its transaction: the next ticket takes it.
    assert touches[0].post(url, json={}).get_json()["number"] == 3
    assert _numbers(runtime, queue_id) == [1, 2, 3]


def _joins_racing(app, client, runtime, first_phone: str, second_phone: str):
    """Two joins with one key, held at the day's counter row until both wait on it: the
    queue, the desk's issuing address and the two answers (status, body)."""
    queue_id = make_queue(runtime, **ONLINE)
    desk = f"/api/v1/queues/{queue_id}/tickets"
    assert client.post(desk, json={}).get_json()["number"] == 1  # the day's row is made
    url = f"/api/v1/public/queues/{queue_id}/join"

    def join(phone):
        answer = app.test_client().post(url, json={"phone": phone, "idempotency_key": KEY})
        return answer.status_code, answer.get_json()

    answers = _race(runtime, queue_id, lambda: join(first_phone), lambda: join(second_phone))
    return queue_id, desk, answers


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_two_joins_racing_with_one_key_make_one_ticket_and_both_get_its_link(app, client, runtime):
    queue_id, desk, answers = _joins_racing(app, client, runtime, "90 111 22 33", "+998901112233")
    assert [status for status, _ in answers] == [201, 201], answers
    assert answers[0][1] == answers[1][1] and answers[0][1]["code"].endswith("-002")
    assert client.post(desk, json={}).get_json()["number"] == 3
    assert _numbers(runtime, queue_id) == [1, 2, 3]


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_one_key_racing_for_two_phones_gives_one_ticket_and_refuses_the_other(app, client, runtime):
    queue_id, desk, answers = _joins_racing(app, client, runtime, "90 111 22 33", "90 444 55 66")
    assert sorted(status for status, _ in answers) == [201, 422], answers
    refused = next(body for status, body in answers if status == 422)
    assert list(refused["errors"]) == ["idempotency_key"]
    assert client.post(desk, json={}).get_json()["number"] == 3
    assert _numbers(runtime, queue_id) == [1, 2, 3]


def test_a_repeat_after_the_queue_was_switched_off_gets_its_ticket(client_as, runtime):
    """The touch was answered after all, just before the queue was switched off: the repeat
    of its key is answered with the ticket it made, not with the queue's refusal."""
    from clinic.queue.models import Queue

    queue_id = make_queue(runtime)
    kiosk = client_as("kiosk")
    url = f"/api/v1/kiosk/queues/{queue_id}/tickets"
    first = kiosk.post(url, json={"idempotency_key": KEY})
    assert first.status_code == 201, first.get_json()
    with runtime.db.transaction() as s:
        s.get(Queue, queue_id).active = False
    again = kiosk.post(url, json={"idempotency_key": KEY})
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["id"] == first.get_json()["id"]
    refused = kiosk.post(url, json={"idempotency_key": KEY[::-1]})
    assert refused.status_code == 409 and refused.get_json()["code"] == "queue_inactive"
