"""The queue under real parallel HTTP requests to a real server: desks and doctors racing."""

from __future__ import annotations

import threading
from datetime import time

import requests
from sqlalchemy import select

from clinic.models import Ticket
from clinic.queue import admin as queue_admin
from clinic.reference import directory as reference


def make_queue(runtime) -> int:
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {
                "code": "lor",
                "ticket_prefix": "L",
                "name_ru": "ЛОР",
                "name_uz": "LOR",
                "name_en": "ENT",
            },
        )
        return queue_admin.create_queue(
            s,
            {"code": "lor", "department_id": department.id, "closes_at": time(23, 59, 59, 999999)},
        ).id


def in_parallel(count: int, work) -> list:
    results, errors = [None] * count, []
    barrier = threading.Barrier(count)

    def run(i):
        try:
            barrier.wait(10)
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - collected and asserted by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    return results


def test_fifty_concurrent_issue_requests_get_fifty_consecutive_numbers(
    runtime, live_server, admin_token
):
    queue_id = make_queue(runtime)
    headers = {"Authorization": f"Bearer {admin_token}"}

    def issue(_i):
        response = requests.post(
            f"{live_server}/api/v1/queues/{queue_id}/tickets", json={}, headers=headers, timeout=30
        )
        assert response.status_code == 201, response.text
        return response.json()["number"]

    numbers = in_parallel(50, issue)
    assert sorted(numbers) == list(range(1, 51))


def test_ten_doctors_calling_at_once_never_share_or_skip_a_ticket(
    runtime, live_server, admin_token
):
    queue_id = make_queue(runtime)
    headers = {"Authorization": f"Bearer {admin_token}"}
    url = f"{live_server}/api/v1/queues/{queue_id}"
    urgent = {3, 11, 20}
    for i in range(30):
        priority = "urgent" if i in urgent else "normal"
        assert (
            requests.post(
                f"{url}/tickets", json={"priority": priority}, headers=headers, timeout=30
            ).status_code
            == 201
        )

    with runtime.db.transaction() as s:
        rooms = [reference.create_room(s, {"number": f"d{i}", "name": ""}).id for i in range(10)]

    def doctor(i):
        mine = []
        while True:
            response = requests.post(
                f"{url}/call-next", json={"room_id": rooms[i]}, headers=headers, timeout=30
            )
            if response.status_code == 204:
                return mine
            assert response.status_code == 200, response.text
            mine.append(response.json()["number"])
            # His room holds one patient at a time: seen, it is free for the next call.
            finished = requests.post(
                f"{live_server}/api/v1/tickets/{response.json()['id']}/finish",
                headers=headers,
                timeout=30,
            )
            assert finished.status_code == 200, finished.text

    called = [n for numbers in in_parallel(10, doctor) for n in numbers]
    assert sorted(called) == list(range(1, 31))  # each ticket once, none left behind
    with runtime.db.session() as s:
        order = s.scalars(
            select(Ticket.number).where(Ticket.queue_id == queue_id).order_by(Ticket.called_at)
        ).all()
    expected = [n + 1 for n in sorted(urgent)] + [n + 1 for n in range(30) if n not in urgent]
    assert order == expected  # urgent first, then by queue time
