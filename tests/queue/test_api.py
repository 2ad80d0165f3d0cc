"""The queue over HTTP: issuing, calling, doctors' own queues, online joining, patients' page."""

from __future__ import annotations

from datetime import datetime, time, timezone

from clinic.queue import admin as queue_admin
from clinic.queue.models import Queue, Ticket
from clinic.reference import directory as reference
from tests.queue.seeding import close_today

# Open until the day's last minute, so that tests issuing at the real time do not meet closing.
OPEN_ALL_DAY = {"closes_at": time(23, 59, 59, 999999)}


def make_queue(runtime, code="therapy", **extra) -> int:
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {
                "code": f"d-{code}",
                "ticket_prefix": code[:3].upper(),
                "name_ru": "Кардиология",
                "name_uz": "Kardiologiya",
                "name_en": "Cardiology",
            },
        )
        room = reference.create_room(s, {"number": f"12{code[:2]}", "name": ""})
        return queue_admin.create_queue(
            s,
            {
                "code": code,
                "department_id": department.id,
                "room_id": room.id,
                **OPEN_ALL_DAY,
                **extra,
            },
        ).id


def test_desk_issues_and_doctor_calls_serves_and_finishes(client, runtime):
    queue_id = make_queue(runtime)
    issued = client.post(f"/api/v1/queues/{queue_id}/tickets", json={"comment": "first visit"})
    assert issued.status_code == 201, issued.get_json()
    ticket = issued.get_json()
    assert ticket["code"] == "THE-001" and ticket["status"] == "waiting"
    assert ticket["patient_url"].startswith("/t/")

    called = client.post(f"/api/v1/queues/{queue_id}/call-next", json={})
    assert called.status_code == 200 and called.get_json()["id"] == ticket["id"]
    assert called.get_json()["room"] == "12th"
    for step, status in [("recall", "called"), ("start", "in_service"), ("finish", "served")]:
        answer = client.post(f"/api/v1/tickets/{ticket['id']}/{step}")
        assert answer.status_code == 200 and answer.get_json()["status"] == status

    assert client.post(f"/api/v1/queues/{queue_id}/call-next", json={}).status_code == 204
    detail = client.get(f"/api/v1/tickets/{ticket['id']}").get_json()
    assert [h["action"] for h in detail["history"]] == [
        "issued",
        "called",
        "recalled",
        "started",
        "served",
    ]
    assert all(h["actor"] == "admin" for h in detail["history"])


def test_the_api_names_the_priority_as_the_request_does(client, runtime):
    queue_id = make_queue(runtime)
    url = f"/api/v1/queues/{queue_id}/tickets"
    issued = {name: client.post(url, json={"priority": name}) for name in ("urgent", "normal")}
    assert {name: a.get_json()["priority"] for name, a in issued.items()} == {
        "urgent": "urgent",
        "normal": "normal",
    }
    listed = client.get(url).get_json()
    assert [t["priority"] for t in listed] == ["urgent", "normal"]  # and still called first
    one = client.get(f"/api/v1/tickets/{issued['urgent'].get_json()['id']}").get_json()
    assert one["priority"] == "urgent"


def test_a_wrong_transition_is_a_409_naming_the_status(client, runtime):
    queue_id = make_queue(runtime)
    ticket = client.post(f"/api/v1/queues/{queue_id}/tickets", json={}).get_json()
    refused = client.post(f"/api/v1/tickets/{ticket['id']}/finish")
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "wrong_status"
    assert "waiting" in refused.get_json()["detail"]


def test_a_doctor_acts_only_on_his_own_queues(client_as, runtime, client):
    mine = make_queue(runtime, "mine")
    doctor = client_as("doctor")
    doctor_id = doctor.get("/api/v1/me").get_json()["doctor_id"]
    with runtime.db.transaction() as s:
        queue_admin.update_queue(s, queue_admin_get(s, mine), {"doctor_id": doctor_id})
    other = make_queue(runtime, "other")
    client.post(f"/api/v1/queues/{mine}/tickets", json={})
    client.post(f"/api/v1/queues/{other}/tickets", json={})
    assert doctor.post(f"/api/v1/queues/{mine}/call-next", json={}).status_code == 200
    assert doctor.post(f"/api/v1/queues/{other}/call-next", json={}).status_code == 403


def queue_admin_get(session, queue_id):
    from clinic.queue.tickets import get_queue

    return get_queue(session, queue_id)


def test_online_join_refusals_name_the_reason_and_repeats_get_the_same_ticket(anon_client, runtime):
    # A one-minute window twelve hours away from now: closed, whatever the hour (a window of
    # 00:00-00:01 was open in the clinic day's first minute).
    hour = (datetime.now(timezone.utc).astimezone(runtime.settings.tz).hour + 12) % 24
    queue_id = make_queue(
        runtime, online_from=time(hour, 0), online_until=time(hour, 1), online_daily_limit=1
    )
    closed = anon_client.post(f"/api/v1/public/queues/{queue_id}/join", json={"phone": "901112233"})
    assert closed.status_code == 409
    assert closed.get_json()["code"] in ("window_closed", "window_not_open")
    bad = anon_client.post(f"/api/v1/public/queues/{queue_id}/join", json={"phone": "12"})
    assert bad.status_code == 422 and "phone" in bad.get_json()["errors"]


def test_public_online_join_needs_no_session_nor_csrf_token_and_stays_rate_limited(
    anon_client, runtime
):
    queue_id = make_queue(
        runtime,
        online_from=time(0, 0),
        online_until=time(23, 59, 59, 999999),
        online_daily_limit=50,
    )
    url = f"/api/v1/public/queues/{queue_id}/join"
    answers = [
        anon_client.post(url, json={"phone": f"90 111 22 {n:02d}"}, skip_csrf=True)
        for n in range(11)
    ]
    assert answers[0].status_code == 201, answers[0].get_json()
    assert "session" not in (answers[0].headers.get("Set-Cookie") or "")
    # The limit of ten joins a minute from one address still holds.
    assert [a.status_code for a in answers] == [201] * 10 + [429]


def test_a_queue_with_an_online_window_but_no_online_places_says_it_takes_none(
    anon_client, runtime
):
    # The window set, the daily limit left at 0: nobody was ever going to get a place.
    queue_id = make_queue(runtime, online_from=time(0, 0), online_until=time(23, 59, 59, 999999))
    refused = anon_client.post(
        f"/api/v1/public/queues/{queue_id}/join", json={"phone": "+998 90 111 22 33"}
    )
    assert refused.status_code == 409 and refused.get_json()["code"] == "online_disabled"
    page = anon_client.get(f"/join/{queue_id}?lang=en", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Online joining is open" not in page.get_data(as_text=True)


def test_the_join_page_of_a_switched_off_queue_announces_no_window_and_says_why(
    anon_client, runtime
):
    queue_id = make_queue(
        runtime, online_from=time(0, 0), online_until=time(23, 59, 59, 999999), online_daily_limit=5
    )
    with runtime.db.transaction() as s:
        queue_admin.update_queue(s, s.get(Queue, queue_id), {"active": False})
    page = anon_client.get(f"/join/{queue_id}?lang=en", headers={"Accept": "text/html"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Online joining is open" not in text
    assert "This queue is not working now." in text


def test_online_join_and_the_patients_own_page(anon_client, runtime):
    queue_id = make_queue(
        runtime, online_from=time(0, 0), online_until=time(23, 59, 59, 999999), online_daily_limit=1
    )
    url = f"/api/v1/public/queues/{queue_id}/join"
    first = anon_client.post(url, json={"phone": "+998 90 111 22 33"})
    assert first.status_code == 201
    again = anon_client.post(url, json={"phone": "90 111 22 33"})
    assert again.status_code == 409 and again.get_json()["code"] == "already_joined"
    full = anon_client.post(url, json={"phone": "90 999 88 77"})
    assert full.status_code == 409 and full.get_json()["code"] == "online_limit_reached"

    mine = anon_client.get(f"/api/v1/public/tickets/{first.get_json()['token']}").get_json()
    assert mine["status"] == "waiting" and mine["ahead"] == 0
    assert "phone" not in mine and "patient_id" not in mine
    assert anon_client.get("/api/v1/public/tickets/" + "x" * 43).status_code == 404


def test_transfer_answers_the_new_ticket_with_the_original_queue_time(client, runtime):
    first, lab = make_queue(runtime, "therapy"), make_queue(runtime, "lab")
    ticket = client.post(f"/api/v1/queues/{first}/tickets", json={}).get_json()
    moved = client.post(
        f"/api/v1/tickets/{ticket['id']}/transfer",
        json={"to_queue_id": lab, "comment": "анализ крови", "return_after": True},
    )
    assert moved.status_code == 200
    body = moved.get_json()
    assert body["queue_id"] == lab and body["queued_at"] == ticket["queued_at"]
    assert body["transferred_from_id"] == ticket["id"] and body["return_to_queue_id"] == first
    # The patient's old ticket leads to the one he holds now, and the new one to none.
    with runtime.db.session() as s:
        token = s.get(Ticket, ticket["id"]).token
    old = client.get(f"/api/v1/public/tickets/{token}").get_json()
    assert old["status"] == "transferred"
    assert old["now_held"]["code"] == body["code"]
    assert old["now_held"]["patient_url"].endswith("/t/" + old["now_held"]["token"])
    new = client.get(f"/api/v1/public/tickets/{old['now_held']['token']}").get_json()
    assert new["code"] == body["code"] and new["now_held"] is None


def test_issue_and_online_join_after_closing_time_are_refused_as_queue_closed(
    client, anon_client, runtime
):
    queue_id = make_queue(
        runtime, online_from=time(0), online_until=time(23, 59), online_daily_limit=10
    )
    close_today(runtime, queue_id)
    issued = client.post(f"/api/v1/queues/{queue_id}/tickets", json={})
    assert issued.status_code == 409 and issued.get_json()["code"] == "queue_closed"
    joined = anon_client.post(f"/api/v1/public/queues/{queue_id}/join", json={"phone": "901112233"})
    assert joined.status_code == 409 and joined.get_json()["code"] == "queue_closed"
    assert client.get(f"/api/v1/queues/{queue_id}/tickets").get_json() == []


def test_an_online_window_ending_after_closing_time_is_refused(client, runtime):
    queue_id = make_queue(runtime)
    late = client.patch(
        f"/api/v1/queues/{queue_id}",
        json={"online_from": "08:00", "online_until": "19:00", "closes_at": "18:00"},
    )
    assert late.status_code == 422 and "online_until" in late.get_json()["errors"]
    # Moving the closing time alone before a configured window is refused as well.
    assert (
        client.patch(
            f"/api/v1/queues/{queue_id}", json={"online_from": "08:00", "online_until": "17:00"}
        ).status_code
        == 200
    )
    earlier = client.patch(f"/api/v1/queues/{queue_id}", json={"closes_at": "16:00"})
    assert earlier.status_code == 422 and "online_until" in earlier.get_json()["errors"]


def test_queue_and_board_configuration_is_validated(client, runtime):
    queue_id = make_queue(runtime)
    bad = client.patch(
        f"/api/v1/queues/{queue_id}", json={"online_from": "09:00:00", "online_until": "08:00:00"}
    )
    assert bad.status_code == 422 and "online_until" in bad.get_json()["errors"]
    board = client.post(
        "/api/v1/boards", json={"name": "Hall", "queue_ids": [queue_id], "voice_languages": ["uz"]}
    )
    assert board.status_code == 201 and board.get_json()["voice_languages"] == ["uz"]
    unknown = client.post("/api/v1/boards", json={"name": "X", "queue_ids": [999999]})
    assert unknown.status_code == 422 and "queue_ids" in unknown.get_json()["errors"]
    # A title is what the board shows in place of its name: one line, as the name.
    url = f"/api/v1/boards/{board.get_json()['id']}"
    for title in ("\u202eHall", "Hall\nB", "Zal\u200b"):
        turned = client.patch(url, json={"titles": {"en": title}})
        assert turned.status_code == 422, title
        assert list(turned.get_json()["errors"]) == ["titles.en.value"], title
    from clinic.queue.models import Board

    with runtime.db.session() as s:
        assert not s.get(Board, board.get_json()["id"]).titles


def test_a_join_once_the_day_is_closed_is_refused_as_closed_even_with_no_place_left(
    anon_client, runtime
):
    from sqlalchemy import update

    from clinic.base import utcnow
    from clinic.queue.models import QueueDay

    queue_id = make_queue(
        runtime, online_from=time(0, 0), online_until=time(23, 59, 59, 999999), online_daily_limit=1
    )
    url = f"/api/v1/public/queues/{queue_id}/join"
    assert anon_client.post(url, json={"phone": "90 111 22 33"}).status_code == 201
    with runtime.db.transaction() as s:  # what the closing task leaves (clinic.queue.days)
        s.execute(update(QueueDay).where(QueueDay.queue_id == queue_id).values(closed_at=utcnow()))
    refused = anon_client.post(url, json={"phone": "90 999 88 77"})
    assert refused.status_code == 409 and refused.get_json()["code"] == "queue_closed"


def test_a_queue_is_not_configured_on_a_deactivated_department_room_or_doctor(client, runtime):
    """Deactivated reference rows are hidden from new choices: a queue set on one would
    issue tickets for a department that is closed, or call patients into a room not used."""
    queue_id = make_queue(runtime, "live")
    department = client.post(
        "/api/v1/departments",
        json={
            "code": "old-dep",
            "ticket_prefix": "OLD",
            "name_ru": "Старое",
            "name_uz": "Eski",
            "name_en": "Old",
        },
    ).get_json()
    room = client.post("/api/v1/rooms", json={"number": "77"}).get_json()
    doctor = client.post(
        "/api/v1/doctors", json={"full_name": "Old Doctor", "department_id": department["id"]}
    ).get_json()
    # (the doctor first: a department is not switched off with an active doctor in it)
    for kind, row in (("doctors", doctor), ("rooms", room), ("departments", department)):
        assert client.post(f"/api/v1/{kind}/{row['id']}/deactivate").status_code == 200
    made = client.post(
        "/api/v1/queues",
        json={
            "code": "on-old",
            "department_id": department["id"],
            "room_id": room["id"],
            "doctor_id": doctor["id"],
        },
    )
    assert made.status_code == 422, made.get_json()
    assert set(made.get_json()["errors"]) == {"department_id", "room_id", "doctor_id"}
    moved = client.patch(f"/api/v1/queues/{queue_id}", json={"room_id": room["id"]})
    assert moved.status_code == 422 and list(moved.get_json()["errors"]) == ["room_id"]
    assert client.get(f"/api/v1/queues/{queue_id}").get_json()["room_id"] != room["id"]
    # A queue whose room was deactivated since is still edited in its other settings.
    with runtime.db.transaction() as s:
        from clinic.queue.models import Queue

        s.get(Queue, queue_id).room.active = False
    kept = client.patch(f"/api/v1/queues/{queue_id}", json={"default_service_minutes": 15})
    assert kept.status_code == 200, kept.get_json()


def test_a_transfer_the_other_queue_refuses_names_that_queue(client, runtime):
    """The doctor is told it is the queue he sends to that takes no ticket now, not his own."""
    here = make_queue(runtime, "therapy")
    closed = make_queue(runtime, "lab")
    close_today(runtime, closed)
    off = make_queue(runtime, "xray", active=False)
    ticket = client.post(f"/api/v1/queues/{here}/tickets", json={}).get_json()
    for target, code in ((closed, "queue_closed"), (off, "queue_inactive")):
        refused = client.post(
            f"/api/v1/tickets/{ticket['id']}/transfer", json={"to_queue_id": target}
        )
        body = refused.get_json()
        assert refused.status_code == 409 and body["code"] == code
        assert list(body["errors"]) == ["to_queue_id"]
        assert ("lab" if target == closed else "xray") in body["detail"]
    assert client.get(f"/api/v1/tickets/{ticket['id']}").get_json()["status"] == "waiting"


def test_a_tickets_history_says_each_step_from_which_status(client, runtime):
    """The history shows where each step started, as it is kept: a no-show came from a call,
    a postponed ticket was waiting or called."""
    queue_id = make_queue(runtime)
    first = client.post(f"/api/v1/queues/{queue_id}/tickets", json={}).get_json()
    second = client.post(f"/api/v1/queues/{queue_id}/tickets", json={}).get_json()
    client.post(f"/api/v1/tickets/{second['id']}/postpone")
    client.post(f"/api/v1/queues/{queue_id}/call-next", json={})
    client.post(f"/api/v1/tickets/{first['id']}/no-show")
    steps = {
        ticket["id"]: [
            (h["action"], h["from"], h["to"])
            for h in client.get(f"/api/v1/tickets/{ticket['id']}").get_json()["history"]
        ]
        for ticket in (first, second)
    }
    assert steps[first["id"]] == [
        ("issued", None, "waiting"),
        ("called", "waiting", "called"),
        ("no_show", "called", "no_show"),
    ]
    assert steps[second["id"]] == [
        ("issued", None, "waiting"),
        ("postponed", "waiting", "postponed"),
    ]


def test_two_active_queues_never_number_with_one_prefix(client, runtime):
    """Two queues of one department both issuing "THE-001" the same day: the board and the
    voice could not tell whose patient is called. A prefix belongs to one active queue."""
    first = make_queue(runtime, "therapy")
    department_id = client.get(f"/api/v1/queues/{first}").get_json()["department_id"]
    new = {"code": "therapy-2", "department_id": department_id}

    # No prefix given, and the department's is the first queue's: asked for one, nothing made.
    defaulted = client.post("/api/v1/queues", json=new)
    assert defaulted.status_code == 409, defaulted.get_json()
    assert list(defaulted.get_json()["errors"]) == ["prefix"]
    assert "THE" in defaulted.get_json()["errors"]["prefix"][0]
    for taken in ("THE", "ТНЕ"):  # the same letters, or Cyrillic ones drawn alike
        refused = client.post("/api/v1/queues", json={**new, "prefix": taken})
        assert refused.status_code == 409 and list(refused.get_json()["errors"]) == ["prefix"]
    assert [x["code"] for x in client.get("/api/v1/queues").get_json()] == ["therapy"]

    second = client.post("/api/v1/queues", json={**new, "prefix": "TB"})
    assert second.status_code == 201, second.get_json()
    second_id = second.get_json()["id"]
    moved = client.patch(f"/api/v1/queues/{second_id}", json={"prefix": "THE"})
    assert moved.status_code == 409 and list(moved.get_json()["errors"]) == ["prefix"]
    assert client.get(f"/api/v1/queues/{second_id}").get_json()["prefix"] == "TB"
    # A queue keeps its own prefix when its other settings are saved with it.
    kept = client.patch(f"/api/v1/queues/{first}", json={"prefix": "THE", "start_number": 5})
    assert kept.status_code == 200, kept.get_json()

    # A switched-off queue issues nothing: its prefix is free for another...
    assert client.patch(f"/api/v1/queues/{first}", json={"active": False}).status_code == 200
    assert client.patch(f"/api/v1/queues/{second_id}", json={"prefix": "THE"}).status_code == 200
    # ...and it is switched on again only with a prefix no active queue uses.
    back = client.patch(f"/api/v1/queues/{first}", json={"active": True})
    assert back.status_code == 409 and list(back.get_json()["errors"]) == ["prefix"]
    assert client.get(f"/api/v1/queues/{first}").get_json()["active"] is False
    back = client.patch(f"/api/v1/queues/{first}", json={"active": True, "prefix": "TA"})
    assert back.status_code == 200 and back.get_json()["prefix"] == "TA"
    documented = client.get("/api/openapi.json").get_json()["paths"]["/api/v1/queues/{queue_id}"]
    assert "409" in documented["patch"]["responses"]


def test_a_queue_is_switched_on_again_only_on_a_working_department_room_and_doctor(client, runtime):
    """Switched off for the summer, a queue comes back as it was: if its room was closed,
    moved to another department or its doctor left meanwhile, it would call patients to a
    door nobody opens. Switching it on is refused naming the field, until it is chosen anew."""
    queue_id = make_queue(runtime, "summer")
    queue = client.get(f"/api/v1/queues/{queue_id}").get_json()
    doctor = client.post(
        "/api/v1/doctors",
        json={"full_name": "Летний Доктор", "department_id": queue["department_id"]},
    ).get_json()
    assert (
        client.patch(f"/api/v1/queues/{queue_id}", json={"doctor_id": doctor["id"]}).status_code
        == 200
    )
    assert client.patch(f"/api/v1/queues/{queue_id}", json={"active": False}).status_code == 200
    other = client.post(
        "/api/v1/departments",
        json={"code": "winter", "ticket_prefix": "WIN", "name_ru": "Зима", "name_uz": "Qish",
              "name_en": "Winter"},
    ).get_json()  # fmt: skip
    moved = client.patch(f"/api/v1/rooms/{queue['room_id']}", json={"department_id": other["id"]})
    assert moved.status_code == 200, moved.get_json()
    assert client.post(f"/api/v1/doctors/{doctor['id']}/deactivate").status_code == 200

    refused = client.patch(f"/api/v1/queues/{queue_id}", json={"active": True})
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["errors"] == {"doctor_id": ["the doctor is deactivated"]}
    refused = client.patch(f"/api/v1/queues/{queue_id}", json={"active": True, "doctor_id": None})
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["errors"] == {"room_id": ["a room of another department"]}
    assert client.post(f"/api/v1/rooms/{queue['room_id']}/deactivate").status_code == 200
    refused = client.patch(f"/api/v1/queues/{queue_id}", json={"active": True, "doctor_id": None})
    assert list(refused.get_json()["errors"]) == ["room_id"]
    shown = client.get(f"/api/v1/queues/{queue_id}").get_json()
    assert shown["active"] is False and shown["doctor_id"] == doctor["id"]

    back = client.patch(
        f"/api/v1/queues/{queue_id}", json={"active": True, "doctor_id": None, "room_id": None}
    )
    assert back.status_code == 200, back.get_json()
    assert back.get_json()["active"] is True
