"""An administrator changes a queue or a doctor while the day runs: what the patients of the
day hold stays theirs. A prefix is kept while its tickets are still in the queue (another
queue would number with the letters it gives up), a doctor keeps the queues of a patient he
has called or is seeing, and a closing time set too early by mistake is put back for today."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from clinic.accounts import users
from clinic.base import utcnow
from clinic.events.models import OutboxEvent
from clinic.queue import days
from clinic.queue import tickets as q
from clinic.queue.models import Queue, QueueDay
from clinic.queue.numbering import ensure_day
from tests.conftest import PASSWORD


def _made(answer) -> dict:
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _department(client, code: str, prefix: str) -> int:
    names = {f"name_{language}": code for language in ("ru", "uz", "en")}
    body = {"code": code, "ticket_prefix": prefix, **names}
    return _made(client.post("/api/v1/departments", json=body))["id"]


def _queue(client, code: str, department_id: int, **extra) -> dict:
    body = {"code": code, "department_id": department_id, "closes_at": "24:00", **extra}
    return _made(client.post("/api/v1/queues", json=body))


def _issue(client, queue_id: int) -> dict:
    return _made(client.post(f"/api/v1/queues/{queue_id}/tickets", json={}))


def _doctor(client, app, runtime, name: str, department_id: int, room: str) -> tuple[int, object]:
    """A doctor with a room of his own, and a client signed in as his user."""
    room_id = _made(client.post("/api/v1/rooms", json={"number": room}))["id"]
    body = {"full_name": name, "department_id": department_id, "room_id": room_id}
    doctor_id = _made(client.post("/api/v1/doctors", json=body))["id"]
    username = f"dr-{room}"
    with runtime.db.transaction() as s:
        users.create_user(
            s, username=username, password=PASSWORD, roles=["doctor"], doctor_id=doctor_id
        )
    signed_in = app.test_client()
    signed_in.sign_in(username)
    return doctor_id, signed_in


def _with_him(doctor_client, queue_id: int) -> dict:
    """The next patient of the queue, called by the doctor and with him."""
    called = doctor_client.post(f"/api/v1/queues/{queue_id}/call-next", json={})
    assert called.status_code == 200, called.get_json()
    ticket = called.get_json()
    assert doctor_client.post(f"/api/v1/tickets/{ticket['id']}/start").status_code == 200
    return ticket


def _refused(answer, code: str, field: str, ticket_code: str) -> None:
    body = answer.get_json()
    assert answer.status_code == 409, body
    assert body["code"] == code and body["reasons"] == {field: [code]}, body
    assert ticket_code in body["errors"][field][0]


# -- the prefix -----------------------------------------------------------------------------


def test_a_prefix_is_kept_while_its_tickets_are_in_the_queue(client):
    """T-001 waits in "ther": its letters given up, "card" would take them and issue a second
    T-001 to the same board. The change waits until nobody of the day is in the queue."""
    ther = _queue(client, "ther", _department(client, "THER", "T"))
    card = _queue(client, "card", _department(client, "CARD", "K"))
    waiting = _issue(client, ther["id"])
    assert waiting["code"] == "T-001"

    refused = client.patch(f"/api/v1/queues/{ther['id']}", json={"prefix": "TX"})
    _refused(refused, "queue_in_use", "prefix", "T-001")
    assert client.get(f"/api/v1/queues/{ther['id']}").get_json()["prefix"] == "T"
    taken = client.patch(f"/api/v1/queues/{card['id']}", json={"prefix": "T"})
    assert taken.status_code == 409 and list(taken.get_json()["errors"]) == ["prefix"]
    # Its other settings are saved with the prefix it has.
    kept = client.patch(f"/api/v1/queues/{ther['id']}", json={"prefix": "T", "start_number": 5})
    assert kept.status_code == 200, kept.get_json()

    # Called, or with the doctor, the patient is still on the board by his number.
    assert client.post(f"/api/v1/queues/{ther['id']}/call-next", json={}).status_code == 200
    again = client.patch(f"/api/v1/queues/{ther['id']}", json={"prefix": "TX"})
    _refused(again, "queue_in_use", "prefix", "T-001")
    assert client.post(f"/api/v1/tickets/{waiting['id']}/finish").status_code == 200
    changed = client.patch(f"/api/v1/queues/{ther['id']}", json={"prefix": "TX"})
    assert changed.status_code == 200 and changed.get_json()["prefix"] == "TX"
    assert client.patch(f"/api/v1/queues/{card['id']}", json={"prefix": "T"}).status_code == 200


def test_queues_that_share_a_prefix_are_told_apart_while_their_patients_wait(client, runtime):
    """Configured before a prefix belonged to one queue, two queues number with "T": giving
    one its own letters frees none (the other keeps them), and is what tells them apart."""
    ther = _queue(client, "ther", _department(client, "THER", "T"))
    second = _queue(client, "ther-2", ther["department_id"], prefix="TB")
    with runtime.db.transaction() as s:
        s.get(Queue, second["id"]).prefix = "T"
    for queue in (ther, second):
        assert _issue(client, queue["id"])["code"] == "T-001"
    answer = client.patch(f"/api/v1/queues/{second['id']}", json={"prefix": "TB"})
    assert answer.status_code == 200, answer.get_json()
    assert _issue(client, second["id"])["code"] == "TB-002"
    # The letters left to one queue are its own again: kept while its patients wait.
    refused = client.patch(f"/api/v1/queues/{ther['id']}", json={"prefix": "TA"})
    _refused(refused, "queue_in_use", "prefix", "T-001")


# -- the doctor's patient -------------------------------------------------------------------


def test_a_doctor_is_moved_to_another_department_once_his_patient_is_done(client, app, runtime):
    """The department's shared queue is his no more once he is moved: he could not finish
    the patient with him, who would stay "with the doctor" all day. A colleague's patient in
    the same queue is not his, and does not hold him."""
    ther_id, card_id = _department(client, "THER", "T"), _department(client, "CARD", "K")
    ther = _queue(client, "ther", ther_id)
    doctor_id, doctor = _doctor(client, app, runtime, "Каримов Анвар", ther_id, "101")
    colleague_id, colleague = _doctor(client, app, runtime, "Юсупова Дилноза", ther_id, "102")
    for _patient in range(2):
        _issue(client, ther["id"])
    his = _with_him(doctor, ther["id"])
    theirs = _with_him(colleague, ther["id"])

    path = f"/api/v1/doctors/{doctor_id}"
    moved = client.patch(path, json={"department_id": card_id})
    _refused(moved, "doctor_with_patients", "department_id", his["code"])
    assert theirs["code"] not in moved.get_json()["errors"]["department_id"][0]
    assert client.get(path).get_json()["department_id"] == ther_id
    finished = doctor.post(f"/api/v1/tickets/{his['id']}/finish", json={})
    assert finished.status_code == 200, finished.get_json()

    moved = client.patch(path, json={"department_id": card_id})
    assert moved.status_code == 200 and moved.get_json()["department_id"] == card_id
    # The colleague, her patient still with her, is renamed: that takes no queue from her.
    renamed = client.patch(f"/api/v1/doctors/{colleague_id}", json={"full_name": "Юсупова Д."})
    assert renamed.status_code == 200, renamed.get_json()


def test_a_patient_he_called_to_the_queues_own_room_holds_him_too(client, app, runtime):
    """A shared queue with a room of its own calls every patient there: the patient whose last
    call he made himself is his."""
    ther_id, card_id = _department(client, "THER", "T"), _department(client, "CARD", "K")
    hall = _made(client.post("/api/v1/rooms", json={"number": "100"}))["id"]
    ther = _queue(client, "ther", ther_id, room_id=hall)
    doctor_id, doctor = _doctor(client, app, runtime, "Каримов Анвар", ther_id, "101")
    _issue(client, ther["id"])
    called = doctor.post(f"/api/v1/queues/{ther['id']}/call-next", json={}).get_json()
    assert called["room_id"] == hall
    moved = client.patch(f"/api/v1/doctors/{doctor_id}", json={"department_id": card_id})
    _refused(moved, "doctor_with_patients", "department_id", called["code"])


def test_a_doctors_queue_changes_hands_once_his_patient_is_done(client, app, runtime):
    """Given to a colleague, or to another department, his own queue is his no more."""
    ther_id, card_id = _department(client, "THER", "T"), _department(client, "CARD", "K")
    doctor_id, doctor = _doctor(client, app, runtime, "Каримов Анвар", ther_id, "101")
    colleague_id, _colleague = _doctor(client, app, runtime, "Юсупова Дилноза", ther_id, "102")
    own = _queue(client, "own", ther_id, doctor_id=doctor_id, prefix="TA")
    path = f"/api/v1/queues/{own['id']}"
    # A queue with nobody called changes hands at once, and comes back.
    assert client.patch(path, json={"doctor_id": colleague_id}).status_code == 200
    assert client.patch(path, json={"doctor_id": doctor_id}).status_code == 200
    _issue(client, own["id"])
    ticket = _with_him(doctor, own["id"])

    refused = client.patch(path, json={"doctor_id": colleague_id})
    _refused(refused, "doctor_with_patients", "doctor_id", ticket["code"])
    shared = client.patch(path, json={"doctor_id": None, "department_id": card_id})
    body = shared.get_json()
    assert shared.status_code == 409 and body["code"] == "doctor_with_patients", body
    assert set(body["reasons"]) == {"doctor_id", "department_id"}
    assert client.get(path).get_json()["doctor_id"] == doctor_id
    # Made a shared queue of his own department, it is still his: nothing to refuse.
    assert client.patch(path, json={"doctor_id": None}).status_code == 200
    finished = doctor.post(f"/api/v1/tickets/{ticket['id']}/finish", json={})
    assert finished.status_code == 200, finished.get_json()
    given = client.patch(path, json={"doctor_id": colleague_id})
    assert given.status_code == 200 and given.get_json()["doctor_id"] == colleague_id


def test_a_shared_queue_moves_to_another_department_once_its_doctors_patients_are_done(
    client, app, runtime
):
    ther_id, card_id = _department(client, "THER", "T"), _department(client, "CARD", "K")
    ther = _queue(client, "ther", ther_id)
    _doctor_id, doctor = _doctor(client, app, runtime, "Каримов Анвар", ther_id, "101")
    _issue(client, ther["id"])
    ticket = _with_him(doctor, ther["id"])
    path = f"/api/v1/queues/{ther['id']}"
    refused = client.patch(path, json={"department_id": card_id})
    _refused(refused, "doctor_with_patients", "department_id", ticket["code"])
    assert doctor.post(f"/api/v1/tickets/{ticket['id']}/finish", json={}).status_code == 200
    assert client.patch(path, json={"department_id": card_id}).status_code == 200


# -- the closing time -----------------------------------------------------------------------


def _local_now(runtime) -> datetime:
    return utcnow().astimezone(runtime.settings.tz)


def _queue_changed(runtime, queue_id: int) -> list[str]:
    """The channels told ``queue.changed`` of the queue (the outbox keeps them)."""
    with runtime.db.session() as s:
        rows = s.execute(
            select(OutboxEvent.channel, OutboxEvent.data).where(OutboxEvent.type == "queue.changed")
        ).all()
    return sorted(channel for channel, data in rows if data["queue_id"] == queue_id)


def test_a_closing_time_set_too_early_is_put_back_for_today(client, runtime):
    """Set to 00:01 by mistake, the closing time closed the day; put back, the queue works
    again today and numbers on after its last ticket. Whoever the closing ended stays ended."""
    if _local_now(runtime).time() < time(0, 5):
        pytest.skip("the clinic day's first minutes: 00:01 has not passed yet")
    ther = _queue(client, "ther", _department(client, "THER", "T"))
    path = f"/api/v1/queues/{ther['id']}"
    first = _issue(client, ther["id"])
    assert client.patch(path, json={"closes_at": "00:01"}).status_code == 200
    with runtime.db.transaction() as s:
        assert days.close_due_days(s, tz=runtime.settings.tz)
    closed = client.post(f"/api/v1/queues/{ther['id']}/tickets", json={})
    assert closed.status_code == 409 and closed.get_json()["code"] == "queue_closed"
    # A time still past leaves it closed.
    assert client.patch(path, json={"closes_at": "00:02"}).status_code == 200
    assert client.post(f"/api/v1/queues/{ther['id']}/tickets", json={}).status_code == 409
    assert _queue_changed(runtime, ther["id"]) == []

    put_back = client.patch(path, json={"closes_at": "24:00"})
    assert put_back.status_code == 200 and put_back.get_json()["closes_at"] == "24:00"
    assert _issue(client, ther["id"])["code"] == "T-002"
    assert client.get(f"/api/v1/tickets/{first['id']}").get_json()["status"] == "no_show"
    # The screens cleared the day at its closing: they hear that it works again.
    channels = [f"board:{ther['id']}", f"queue:{ther['id']}", "queues:all"]
    assert _queue_changed(runtime, ther["id"]) == channels
    with runtime.db.session() as s:
        today = q.find_day(s, ther["id"], q.clinic_day(utcnow(), runtime.settings.tz))
        assert today.closed_at is None and today.stats is None  # its figures: at its closing


def test_a_day_past_stays_closed_when_the_closing_time_changes(client, runtime):
    ther = _queue(client, "ther", _department(client, "THER", "T"))
    yesterday = q.clinic_day(utcnow(), runtime.settings.tz) - timedelta(days=1)
    with runtime.db.transaction() as s:
        ensure_day(s, s.get(Queue, ther["id"]), yesterday)
        s.execute(update(QueueDay).values(closed_at=utcnow() - timedelta(days=1)))
    answer = client.patch(f"/api/v1/queues/{ther['id']}", json={"closes_at": "23:00"})
    assert answer.status_code == 200, answer.get_json()
    with runtime.db.session() as s:
        assert q.find_day(s, ther["id"], yesterday).closed_at is not None
    assert _queue_changed(runtime, ther["id"]) == []
