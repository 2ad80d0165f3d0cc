"""Which tickets come out of the desk's printer: those issued to someone standing at the desk
or the kiosk, not those of a patient joining from his phone."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select

from clinic.models import OutboxEvent
from tests.queue.test_api import make_queue

WHOLE_DAY = {"online_from": time(0, 0), "online_until": time(23, 59), "online_daily_limit": 5}


def _printed(runtime) -> list[str]:
    with runtime.db.session() as s:
        return [
            data["code"]
            for data in s.scalars(
                select(OutboxEvent.data)
                .where(OutboxEvent.type == "ticket.print_requested")
                .order_by(OutboxEvent.id)
            )
        ]


def test_a_ticket_joined_from_a_phone_is_not_printed_at_the_desk(client, anon_client, runtime):
    queue_id = make_queue(runtime, **WHOLE_DAY)
    at_desk = client.post(f"/api/v1/queues/{queue_id}/tickets", json={}).get_json()
    joined = anon_client.post(f"/api/v1/public/queues/{queue_id}/join", json={"phone": "901112233"})
    assert joined.status_code == 201, joined.get_json()
    # The patient is at home: a paper with his page's secret would lie on the desk's printer.
    assert _printed(runtime) == [at_desk["code"]]
