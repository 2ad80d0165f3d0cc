"""A patient marked a no-show who turns up after all (he did not hear the call): the doctor
takes him back, to call him once his room is free."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone

import pytest
from sqlalchemy import update

from clinic.errors import Conflict
from clinic.queue import calls
from clinic.queue import days as queue_days
from clinic.queue import tickets as q
from clinic.queue.models import Ticket
from clinic.queue.tickets import QueueRefused
from tests.queue.test_api import make_queue as make_open_queue
from tests.queue.test_services import MORNING, TZ, issue, make_queue


def test_a_no_show_who_came_after_all_is_called_back_and_served(client, runtime):
    queue_id = make_open_queue(runtime)
    late, next_one = (
        client.post(f"/api/v1/queues/{queue_id}/tickets", json={}).get_json()["id"]
        for _ in range(2)
    )
    assert client.post(f"/api/v1/queues/{queue_id}/call-next", json={}).get_json()["id"] == late
    assert client.post(f"/api/v1/tickets/{late}/no-show").status_code == 200
    assert client.post(f"/api/v1/queues/{queue_id}/call-next", json={}).get_json()["id"] == next_one
    # He knocks while the doctor sees the next one: back on the postponed list.
    back = client.post(f"/api/v1/tickets/{late}/came-back")
    assert back.status_code == 200, back.get_json()
    assert back.get_json()["status"] == "postponed" and back.get_json()["finished_at"] is None
    assert client.post(f"/api/v1/tickets/{next_one}/finish").status_code == 200
    called = client.post(f"/api/v1/tickets/{late}/call-back", json={})
    assert called.status_code == 200 and called.get_json()["status"] == "called"
    assert client.post(f"/api/v1/tickets/{late}/finish").get_json()["status"] == "served"
    history = client.get(f"/api/v1/tickets/{late}").get_json()["history"]
    assert [h["action"] for h in history][-4:] == ["no_show", "came_back", "called_back", "served"]
    # Only a no-show comes back.
    refused = client.post(f"/api/v1/tickets/{late}/came-back")
    assert refused.status_code == 409 and refused.get_json()["code"] == "wrong_status"


def test_a_no_show_of_a_closed_day_does_not_come_back(runtime):
    queue_id = make_queue(runtime, closes_at=time(18, 0))
    ticket_id = issue(runtime, queue_id).id
    with runtime.db.transaction() as s:
        calls.mark_no_show(s, calls.call_next(s, queue_id, tz=TZ, now=MORNING), now=MORNING)
    evening = datetime(2026, 3, 2, 13, 0, tzinfo=timezone.utc)  # 18:00 in Tashkent
    # After the queue's closing time, and once the day is closed, he is told so.
    for now in (evening + timedelta(minutes=1), MORNING + timedelta(days=1)):
        with runtime.db.transaction() as s:
            with pytest.raises(QueueRefused) as refused:
                calls.came_back(s, q.get_ticket(s, ticket_id), tz=TZ, now=now)
            assert refused.value.code == "queue_closed"
    with runtime.db.transaction() as s:
        assert queue_days.close_due_days(s, tz=TZ, now=evening) != []
    with runtime.db.transaction() as s:
        # Even were the queue open until later today, its day is over.
        with pytest.raises(QueueRefused):
            calls.came_back(s, q.get_ticket(s, ticket_id), tz=TZ, now=MORNING)
    with runtime.db.session() as s:
        assert q.get_ticket(s, ticket_id).status == "no_show"


def test_a_no_show_checked_in_for_an_appointment_is_refused_naming_its_visit(runtime):
    queue_id = make_queue(runtime)
    ticket_id = issue(runtime, queue_id).id
    with runtime.db.transaction() as s:
        s.execute(update(Ticket).where(Ticket.id == ticket_id).values(visit_id=77))
        calls.mark_no_show(s, calls.call_next(s, queue_id, tz=TZ, now=MORNING), now=MORNING)
    with runtime.db.transaction() as s:
        with pytest.raises(Conflict) as refused:
            calls.came_back(s, q.get_ticket(s, ticket_id), tz=TZ, now=MORNING)
        assert refused.value.code == "visit_ticket"


def test_an_online_no_show_who_joined_again_is_called_by_his_new_ticket(
    client, anon_client, runtime
):
    """His phone holds one ticket of the queue: the first is not taken back beside the new
    one, and the refusal names the ticket to call him by."""
    queue_id = make_open_queue(
        runtime, online_from=time(0, 0), online_until=time(23, 59), online_daily_limit=5
    )
    join = f"/api/v1/public/queues/{queue_id}/join"
    first = anon_client.post(join, json={"phone": "90 123 45 67"}).get_json()
    assert client.post(f"/api/v1/queues/{queue_id}/call-next", json={}).get_json()["id"] == (
        first["ticket_id"]
    )
    assert client.post(f"/api/v1/tickets/{first['ticket_id']}/no-show").status_code == 200
    again = anon_client.post(join, json={"phone": "+998 90 123-45-67"})
    assert again.status_code == 201, again.get_json()
    refused = client.post(f"/api/v1/tickets/{first['ticket_id']}/came-back")
    assert refused.status_code == 409 and refused.get_json()["code"] == "rejoined"
    assert again.get_json()["code"] in refused.get_json()["errors"]["ticket_id"][0]
    assert client.get(f"/api/v1/tickets/{first['ticket_id']}").get_json()["status"] == "no_show"
    # The same phone asking again is told it holds a ticket (the desk prints it again).
    repeat = anon_client.post(join, json={"phone": "901234567"})
    assert repeat.status_code == 409 and repeat.get_json()["code"] == "already_joined"


def test_the_doctors_screen_lists_the_no_shows_to_take_back_in_its_language(client, runtime):
    queue_id = make_open_queue(runtime)
    page = client.get(f"/queue/doctor?queue={queue_id}&lang=ru", headers={"Accept": "text/html"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="no-show-list"' in html
    assert 'data-action="came-back">Всё-таки пришёл</button>' in html
    config = json.loads(html.split('id="doctor-config">', 1)[1].split("</script>", 1)[0])
    refusals = config["texts"]["cameBackRefusals"]
    assert refusals["queue_closed"] == "Очередь на сегодня закрыта: вернуть его нельзя."
    assert refusals["visit_ticket"].startswith("Его запись отмечена как неявка")
    assert config["texts"]["refusals"]["rejoined"].startswith("Он снова встал в очередь")
