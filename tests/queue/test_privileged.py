"""Privileged patients (veterans, people with disabilities, pregnant women, a parent with a
small child): called after the urgent ones and those who come back, before the walk-ins."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape

from clinic.queue import calls
from clinic.queue import tickets as q
from clinic.queue.models import Priority
from tests.queue.test_api import make_queue as make_open_queue
from tests.queue.test_services import MORNING, TZ, issue, make_queue

N, P, R, U = Priority.NORMAL, Priority.PRIVILEGED, Priority.RETURNED, Priority.URGENT


def test_the_calling_order_is_urgent_returned_privileged_normal_then_queue_time(runtime):
    queue_id = make_queue(runtime)
    arrivals = (N, P, N, R, P, U, N, R, U, P)
    issued = [
        issue(runtime, queue_id, now=MORNING + timedelta(minutes=i), priority=priority)
        for i, priority in enumerate(arrivals)
    ]
    called = []
    with runtime.db.transaction() as s:
        while ticket := calls.call_next(s, queue_id, tz=TZ, now=MORNING + timedelta(hours=1)):
            called.append((ticket.priority, ticket.id))
            calls.finish_service(s, ticket, tz=TZ, now=MORNING + timedelta(hours=1))
    by_arrival = {ticket.id: i for i, ticket in enumerate(issued)}
    assert [priority for priority, _ in called] == [U, U, R, R, P, P, P, N, N, N]
    # Within one priority, the one who came first.
    for rank in (U, R, P, N):
        same = [by_arrival[tid] for priority, tid in called if priority == rank]
        assert same == sorted(same)


def test_a_privileged_patient_keeps_his_place_when_sent_on_after_his_return(runtime):
    """Privileged in therapy, sent to the laboratory to come back: privileged there too, ahead
    of the laboratory's walk-ins; back in therapy as any returning patient; sent on from there
    to cardiology for good, privileged again, where a walk-in who came first still comes
    after him. An ordinary patient's return gives him no privilege there."""
    therapy = make_queue(runtime, "therapy", "T")
    lab = make_queue(runtime, "lab", "L")
    cardio = make_queue(runtime, "cardio", "C")
    walk_in = issue(runtime, cardio, now=MORNING - timedelta(minutes=10))
    privileged = issue(runtime, therapy, now=MORNING, priority=P)
    ordinary = issue(runtime, therapy, now=MORNING)
    with runtime.db.transaction() as s:
        for ticket_id, then in ((privileged.id, P), (ordinary.id, N)):
            in_lab = calls.transfer(
                s, q.get_ticket(s, ticket_id), lab, tz=TZ, return_after=True, now=MORNING
            )
            assert in_lab.priority == then
            calls.call_next(s, lab, tz=TZ, now=MORNING)
            back = calls.finish_service(s, in_lab, tz=TZ, now=MORNING)
            assert (back.queue_id, back.priority) == (therapy, R)
            on = calls.transfer(s, back, cardio, tz=TZ, now=MORNING)
            assert on.priority == then
        first = calls.call_next(s, cardio, tz=TZ, now=MORNING)
        assert first.priority == P
        calls.finish_service(s, first, tz=TZ, now=MORNING)
        assert calls.call_next(s, cardio, tz=TZ, now=MORNING).id == walk_in.id


def test_the_desk_issues_a_privileged_ticket_and_every_view_names_it(client, runtime):
    queue_id = make_open_queue(runtime)
    url = f"/api/v1/queues/{queue_id}/tickets"
    names = ("normal", "privileged", "returned", "urgent")
    issued = {name: client.post(url, json={"priority": name}) for name in names}
    assert {name: a.status_code for name, a in issued.items()} == dict.fromkeys(names, 201)
    assert {name: a.get_json()["priority"] for name, a in issued.items()} == {
        name: name for name in names
    }
    listed = client.get(url).get_json()
    assert [t["priority"] for t in listed] == ["urgent", "returned", "privileged", "normal"]
    one = client.get(f"/api/v1/tickets/{issued['privileged'].get_json()['id']}").get_json()
    assert one["priority"] == "privileged"
    refused = client.post(url, json={"priority": "vip"})
    assert refused.status_code == 422
    called = client.post(f"/api/v1/queues/{queue_id}/call-next", json={}).get_json()
    assert called["priority"] == "urgent"


def test_the_api_document_offers_the_privileged_priority(client):
    document = client.get("/api/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    issue_in = next(s for name, s in schemas.items() if name.startswith("IssueIn"))
    assert issue_in["properties"]["priority"]["enum"] == [
        "normal",
        "privileged",
        "returned",
        "urgent",
    ]


def _page_config(client, path: str, block: str) -> tuple[str, dict]:
    page = unescape(client.get(path).get_data(as_text=True))
    found = re.search(rf'id="{block}">(.*?)</script>', page, re.S)
    return page, json.loads(found.group(1))


def test_the_desk_offers_the_privileged_priority_and_the_screens_name_it_in_each_language(
    client, runtime
):
    make_open_queue(runtime)
    page, desk = _page_config(client, "/queue/desk?lang=ru", "desk-config")
    assert re.search(r'value="privileged"> Льготный</label>', page)
    assert desk["texts"]["privileged"] == "Льготный"
    _, doctor = _page_config(client, "/queue/doctor?lang=uz", "doctor-config")
    assert doctor["texts"]["privileged"] == "Imtiyozli"
    _, desk = _page_config(client, "/queue/desk?lang=en", "desk-config")
    assert desk["texts"]["privileged"] == "Privileged"


def test_a_privileged_patient_keeps_his_privilege_after_returns_from_returns(runtime):
    """Therapy sends him to the laboratory to come back, the laboratory to the X-ray to come
    back: back in the laboratory, then in therapy, he comes back each time; sent on from
    therapy to cardiology for good, he is privileged there, as before his first return."""
    therapy, lab, xray, cardio = (
        make_queue(runtime, code, code[0].upper()) for code in ("therapy", "lab", "xray", "cardio")
    )
    privileged = issue(runtime, therapy, now=MORNING, priority=P)
    ordinary = issue(runtime, therapy, now=MORNING)
    with runtime.db.transaction() as s:
        for ticket_id, then in ((privileged.id, P), (ordinary.id, N)):
            ticket = q.get_ticket(s, ticket_id)
            for there in (lab, xray):
                ticket = calls.transfer(s, ticket, there, tz=TZ, return_after=True, now=MORNING)
                assert ticket.priority == then
                calls.call_next(s, there, tz=TZ, now=MORNING)
            for back_in in (lab, therapy):
                ticket = calls.finish_service(s, ticket, tz=TZ, now=MORNING)
                assert (ticket.queue_id, ticket.priority) == (back_in, R)
                calls.call_next(s, back_in, tz=TZ, now=MORNING)
            on = calls.transfer(s, ticket, cardio, tz=TZ, now=MORNING)
            assert on.priority == then
