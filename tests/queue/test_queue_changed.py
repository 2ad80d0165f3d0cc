"""What the screens show of a running queue besides its tickets (its name, which is its
department's and its doctor's; its room; its prefix) changing reaches them without a reload:
``queue.changed`` on the queue's ``queue:`` and ``board:`` channels and on ``queues:all``,
with the change's own commit. A change they do not show, a switched-off queue, or a refused
change says nothing."""

from __future__ import annotations

from sqlalchemy import select

from clinic.events.models import OutboxEvent
from clinic.queue import admin as queue_admin
from clinic.queue.models import Queue
from tests.queue.test_api import make_queue


def _changed(runtime) -> list[tuple[str, int]]:
    """Every ``queue.changed`` kept in the outbox, as (channel, queue id)."""
    with runtime.db.session() as s:
        rows = s.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.type == "queue.changed")
            .order_by(OutboxEvent.channel, OutboxEvent.seq)
        ).all()
        return [(row.channel, row.data["queue_id"]) for row in rows]


def _told(queue_id: int) -> list[tuple[str, int]]:
    return sorted(
        [(f"queue:{queue_id}", queue_id), (f"board:{queue_id}", queue_id)]
        + [("queues:all", queue_id)]
    )


def _owners(runtime, queue_id: int) -> tuple[int, int]:
    with runtime.db.session() as s:
        queue = s.get(Queue, queue_id)
        return queue.department_id, queue.room_id


def test_a_department_renamed_redraws_its_running_queues_only(client, runtime):
    queue_id = make_queue(runtime, "therapy")
    department_id, _room = _owners(runtime, queue_id)
    sleeping = make_queue(runtime, "surgery")
    assert client.patch(f"/api/v1/queues/{sleeping}", json={"active": False}).status_code == 200
    assert _changed(runtime) == []

    # Not shown on any screen: nothing to redraw.
    path = f"/api/v1/departments/{department_id}"
    assert client.patch(path, json={"ticket_prefix": "KRD"}).status_code == 200
    assert _changed(runtime) == []

    answer = client.patch(path, json={"name_uz": "Kardiologiya bo'limi"})
    assert answer.status_code == 200, answer.get_json()
    assert sorted(_changed(runtime)) == _told(queue_id)
    published = [m["type"] for m in runtime.bus.history_after("queues:all", 0)]
    assert published.count("queue.changed") == 1

    # The switched-off queue's department renamed: no running queue shows it.
    sleeping_department, _room = _owners(runtime, sleeping)
    answer = client.patch(f"/api/v1/departments/{sleeping_department}", json={"name_ru": "Хир"})
    assert answer.status_code == 200, answer.get_json()
    assert sorted(_changed(runtime)) == _told(queue_id)


def test_a_room_renumbered_and_a_doctor_renamed_redraw_the_queues_showing_them(client, runtime):
    queue_id = make_queue(runtime, "therapy")
    department_id, room_id = _owners(runtime, queue_id)
    answer = client.patch(f"/api/v1/rooms/{room_id}", json={"name": "Procedures"})
    assert answer.status_code == 200, answer.get_json()
    assert _changed(runtime) == []  # the room's name is on no queue screen
    answer = client.patch(f"/api/v1/rooms/{room_id}", json={"number": "214"})
    assert answer.status_code == 200, answer.get_json()
    assert sorted(_changed(runtime)) == _told(queue_id)

    doctor = client.post(
        "/api/v1/doctors", json={"full_name": "Karimov Aziz", "department_id": department_id}
    )
    assert doctor.status_code == 201, doctor.get_json()
    doctor_id = doctor.get_json()["id"]
    own = make_queue(runtime, "karimov", doctor_id=doctor_id)
    assert [told for told in _changed(runtime) if told[1] == own] == []
    answer = client.patch(f"/api/v1/doctors/{doctor_id}", json={"full_name": "Karimova Aziza"})
    assert answer.status_code == 200, answer.get_json()
    assert sorted(told for told in _changed(runtime) if told[1] == own) == _told(own)
    # The department's shared queue does not show its doctors' names.
    assert sorted(told for told in _changed(runtime) if told[1] == queue_id) == _told(queue_id)


def test_a_queue_given_another_room_or_prefix_is_redrawn_and_its_hours_are_not(client, runtime):
    queue_id = make_queue(runtime, "therapy")
    other = make_queue(runtime, "surgery")
    _department, other_room = _owners(runtime, other)
    path = f"/api/v1/queues/{queue_id}"
    assert client.patch(path, json={"closes_at": "21:00"}).status_code == 200
    assert _changed(runtime) == []

    answer = client.patch(path, json={"room_id": other_room})
    assert answer.status_code == 200, answer.get_json()
    assert sorted(_changed(runtime)) == _told(queue_id)
    answer = client.patch(path, json={"prefix": "TX"})
    assert answer.status_code == 200, answer.get_json()
    assert sorted(_changed(runtime)) == sorted(_told(queue_id) * 2)

    # Refused: nothing changed, nothing told.
    refused = client.patch(path, json={"room_id": 10**9})
    assert refused.status_code == 422, refused.get_json()
    assert len(_changed(runtime)) == 6


def test_switching_a_queue_on_with_another_room_says_switched_on_only(client, runtime):
    """A queue switched on is drawn whole by the screens that add it: no second event."""
    queue_id = make_queue(runtime, "therapy")
    other = make_queue(runtime, "surgery")
    _department, other_room = _owners(runtime, other)
    path = f"/api/v1/queues/{queue_id}"
    assert client.patch(path, json={"active": False}).status_code == 200
    answer = client.patch(path, json={"active": True, "room_id": other_room})
    assert answer.status_code == 200, answer.get_json()
    assert _changed(runtime) == []


def test_the_screens_event_is_declared_for_each_channel_it_goes_to():
    from clinic.events.catalogue import event_type

    assert event_type("queue.changed") is queue_admin.queue_events.CHANGED
