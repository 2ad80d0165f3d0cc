"""The queue's pages over HTTP: who may open each, the printed ticket's QR code, the board
opened by a display token and the patient's own page by its secret."""

from __future__ import annotations

import json
import re
from datetime import time
from html import unescape

import pytest
import segno

from clinic import channels
from clinic.accounts import tokens, users
from clinic.queue import admin as queue_admin
from clinic.queue import boards as queue_boards
from clinic.queue import calls, screens, ticket_views
from clinic.queue import tickets as q
from clinic.queue.models import Ticket
from clinic.reference import directory as reference
from clinic.reference import patients
from tests.conftest import ONE_BACKEND
from tests.queue.seeding import close_today

# Server-rendered pages, not database rules: they run on one backend (see tests/conftest.py).
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}

# page -> the roles that may open it (every other role is refused)
PAGES = {
    "/queue/desk": {"admin", "registrar"},
    "/kiosk": {"admin", "registrar", "kiosk"},
    "/queue/doctor": {"admin", "doctor"},
    "/board/{board}": {"admin"},  # a display pairs the screen first: see below
    "/ticket/{ticket}/print": {"admin", "registrar"},
}


@pytest.fixture
def hall(runtime):
    """A queue with a room and an online window, a board showing it, and one ticket."""
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {
                "code": "card",
                "ticket_prefix": "K",
                "name_ru": "Кардиология",
                "name_uz": "Kardiologiya",
                "name_en": "Cardiology",
            },
        )
        room = reference.create_room(s, {"number": "12", "name": "Кабинет"})
        queue = queue_admin.create_queue(
            s,
            {
                "code": "card",
                "department_id": department.id,
                "room_id": room.id,
                "online_from": time(0, 0),
                "online_until": time(23, 59),
                "closes_at": time(23, 59),
                "online_daily_limit": 5,
            },
        )
        board = queue_boards.create_board(
            s, {"name": "Холл", "queue_ids": [queue.id], "voice_languages": ["ru", "uz"]}
        )
        ticket = q.issue_ticket(s, queue.id, tz=runtime.settings.tz)
        return {
            "queue": queue.id,
            "board": board.id,
            "ticket": ticket.id,
            "token": ticket.token,
            "code": ticket.code,
        }


def _page(template: str, hall: dict) -> str:
    return template.format(board=hall["board"], ticket=hall["ticket"])


def _token(runtime, user_id: int) -> str:
    with runtime.db.transaction() as s:
        return tokens.create_token(s, users.get_user(s, user_id), name="hall screen")[1]


@pytest.mark.parametrize("role", ["admin", "registrar", "doctor", "cashier", "manager", "display"])
def test_each_queue_page_opens_for_the_roles_that_may_see_it_and_no_other(client_as, hall, role):
    signed_in = client_as(role)
    # The board last: a display account's sign-in pairs the screen there, and ends.
    for template, roles in sorted(PAGES.items(), key=lambda page: page[0].startswith("/board/")):
        answer = signed_in.get(_page(template, hall), headers=HTML)
        expected = 200 if role in roles else 403
        if role == "display" and template.startswith("/board/"):
            expected = 303
        assert answer.status_code == expected, (role, template, answer.status_code)


def test_anonymous_visitors_are_sent_to_sign_in_except_on_the_public_pages(anon_client, hall):
    for template in PAGES:
        answer = anon_client.get(_page(template, hall), headers=HTML)
        assert answer.status_code == 302 and "/login?next=" in answer.headers["Location"]
    patient = anon_client.get(f"/t/{hall['token']}?lang=en", headers=HTML)
    assert patient.status_code == 200 and hall["code"] in patient.get_data(as_text=True)
    joining = anon_client.get(f"/join/{hall['queue']}?lang=en", headers=HTML)
    assert joining.status_code == 200 and "Cardiology" in joining.get_data(as_text=True)
    assert anon_client.get("/t/" + "x" * 43, headers=HTML).status_code == 404
    assert anon_client.get("/join/999999", headers=HTML).status_code == 404


def _device_cookie(answer) -> str:
    (cookie,) = [c for c in answer.headers.getlist("Set-Cookie") if c.startswith("clinic_board=")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    return cookie.split(";")[0].split("=", 1)[1]


def test_a_display_token_pairs_the_screen_and_the_board_then_runs_on_its_device_cookie(
    app, anon_client, runtime, make_user, hall
):
    url = f"/board/{hall['board']}"
    display = _token(runtime, make_user("display"))
    paired = anon_client.get(f"{url}?token={display}&lang=en", headers=HTML)
    # The token is exchanged once for a device cookie; the board's address keeps no secret.
    assert paired.status_code == 303 and paired.headers["Location"] == url
    secret = _device_cookie(paired)
    assert secret.startswith("clb_") and display not in paired.headers["Location"]

    screen = app.test_client()
    screen.set_cookie("clinic_board", secret)
    shown = screen.get(f"{url}?lang=en", headers=HTML)
    assert shown.status_code == 200
    assert shown.headers["Referrer-Policy"] == "no-referrer"
    page = unescape(shown.get_data(as_text=True))
    # The board's language is its own (ru by default), not the one the browser asks for.
    assert "Холл" in page and "Сейчас вызываются" in page
    assert "clk_" not in page and "clb_" not in page and "data-ws-query" not in page
    # The call-out is spoken in the board's languages, with the prefix's letters named.
    config = json.loads(re.search(r'id="board-config">(.*?)</script>', page, re.S).group(1))
    assert config["voice"] == ["ru", "uz"]
    assert config["speech"]["ru"]["withRoom"] == "Талон {code}, кабинет {room}"
    assert config["speech"]["uz"]["withRoom"] == "{code} raqamli talon, {room}-xona"
    assert config["speech"]["ru"]["letters"]["K"] == "Ка"
    check = screen.get(f"{url}/check")
    assert check.status_code == 200 and check.get_json()["version"] == config["version"]

    registrar = _token(runtime, make_user("registrar"))
    stranger = app.test_client()
    refused = stranger.get(f"{url}?token={registrar}", headers=HTML)
    assert refused.status_code == 403
    invalid = stranger.get(f"{url}?token=clk_not-a-token", headers=HTML)
    assert invalid.status_code == 401
    # The token opens board pages only, and only for reading them.
    elsewhere = stranger.get(f"/queue/desk?token={registrar}", headers=HTML)
    assert elsewhere.status_code == 302


def test_a_screen_name_the_api_would_refuse_is_refused_on_the_page_too_not_cut(
    client, runtime, hall
):
    """The boards page names a screen as the API does: one line of at most 100 characters.
    A longer name, or one with a tab, a line break or a mark that turns text around, is said
    on the page in its language, and no screen or code is made."""
    board = hall["board"]
    for label, words in (
        ("L" * 101, "не длиннее 100 символов"),
        ("\u202eHall", "одной строкой"),
        ("Hall\tleft", "одной строкой"),
    ):
        answer = client.post(
            f"/admin/boards/{board}/screens?lang=ru", data={"label": label}, headers=HTML
        )
        page = answer.get_data(as_text=True)
        assert answer.status_code == 422 and words in page, label
        assert 'id="pairing-code"' not in page
    with runtime.db.session() as s:
        assert screens.list_screens(s, board) == []
    kept = client.post(f"/admin/boards/{board}/screens", data={"label": "  Hall, left  "})
    assert kept.status_code == 303
    with runtime.db.session() as s:
        assert [screen.label for screen in screens.list_screens(s, board)] == ["Hall, left"]


def test_an_administrator_pairs_a_screen_by_code_renames_the_board_and_revokes_the_screen(
    app, client, runtime, hall
):
    board = hall["board"]
    page = client.get("/admin/boards?lang=en", headers=HTML).get_data(as_text=True)
    assert "Холл" in page and "Cardiology" in page and "Pair a screen" in page
    answer = client.post(f"/admin/boards/{board}/screens", data={"label": "Hall, left"})
    assert answer.status_code == 303
    shown = client.get(answer.headers["Location"], headers=HTML).get_data(as_text=True)
    code = re.search(r'id="pairing-code">([A-Z0-9-]+)<', shown).group(1)

    screen = app.test_client()
    wrong = screen.post("/board/pair", data={"pairing_code": "AAAA-AAAA"}, headers=HTML)
    assert wrong.status_code == 400
    paired = screen.post("/board/pair", data={"pairing_code": code.lower()}, headers=HTML)
    assert paired.status_code == 303 and paired.headers["Location"] == f"/board/{board}"
    secret = _device_cookie(paired)
    again = app.test_client().post("/board/pair", data={"pairing_code": code}, headers=HTML)
    assert again.status_code == 400  # a code works once
    # Its screen follows the board's language and its name in that language.
    client.patch(f"/api/v1/boards/{board}", json={"language": "uz", "titles": {"uz": "Zal"}})
    shown = screen.get(f"/board/{board}", headers=HTML).get_data(as_text=True)
    assert '<h1 class="board__name">Zal</h1>' in shown and "Kardiologiya" in shown

    listed = client.get("/admin/boards?lang=en", headers=HTML).get_data(as_text=True)
    screen_id = re.search(r'data-screen-id="(\d+)"', listed).group(1)
    assert "Hall, left" in listed and "paired" in listed
    revoked = client.post(f"/admin/boards/screens/{screen_id}/revoke")
    assert revoked.status_code == 302
    assert screen.get(f"/board/{board}/check").status_code == 401
    gone = screen.get(f"/board/{board}", headers=HTML)
    assert gone.status_code == 302 and gone.headers["Location"] == "/board/pair"
    assert secret  # the cookie is still in the browser; it proves nothing any more


def test_the_printed_ticket_carries_a_qr_code_of_the_patients_own_page(client, runtime, hall):
    """At the clinic's public address (CLINIC_PUBLIC_URL), as the thermal ticket's QR code:
    not at the address the desk reached the server at, which a phone may not reach."""
    answer = client.get(f"/ticket/{hall['ticket']}/print?lang=ru", headers=HTML)
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    patient_url = f"{runtime.settings.public_url}/t/{hall['token']}"
    assert patient_url.startswith("http://localhost:5000/") and "http://localhost/t/" not in page
    assert patient_url in page
    expected = segno.make(patient_url, error="m").svg_inline(
        scale=4, border=2, title=patient_url, svgclass="ticket-qr"
    )
    assert expected in page
    assert '<svg width="' in page and 'class="qrline"' in page
    text = unescape(page)
    assert hall["code"] in text and "Кардиология" in text and "Кабинет 12" in text
    assert client.get("/ticket/999999/print", headers=HTML).status_code == 404


@pytest.mark.parametrize(
    "lang, texts",
    [
        ("ru", ["Регистратура", "Выдать талон", "Срочно"]),
        ("uz", ["Registratura", "Talon berish", "Shoshilinch"]),
        ("en", ["Reception desk", "Issue a ticket", "Urgent"]),
    ],
)
def test_the_desk_speaks_the_chosen_language(client, hall, lang, texts):
    page = unescape(client.get(f"/queue/desk?lang={lang}", headers=HTML).get_data(as_text=True))
    for text in texts:
        assert text in page


def test_the_navigation_offers_each_role_its_own_screens(client_as, hall):
    def links(role):
        page = client_as(role).get("/queue/desk?lang=en", headers=HTML).get_data(as_text=True)
        nav = page.split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]
        return set(re.findall(r'href="([^"]+)"', nav))

    admin = links("admin")
    expected = {"/queue/desk", "/queue/doctor", "/kiosk", "/admin/users", "/admin/tokens"}
    assert expected | {"/account/tokens", "/admin/audit"} <= admin
    registrar = links("registrar")
    assert {"/queue/desk", "/kiosk", "/account/tokens"} <= registrar
    assert not {"/queue/doctor", "/admin/users", "/admin/audit"} & registrar


def test_a_doctor_sees_only_his_own_queues(client_as, runtime, hall):
    doctor = client_as("doctor")
    page = doctor.get("/queue/doctor?lang=en", headers=HTML).get_data(as_text=True)
    assert "You have no queue" in page  # the fixture's doctor works in another department
    doctor_id = doctor.get("/api/v1/me").get_json()["doctor_id"]
    with runtime.db.transaction() as s:
        queue_admin.update_queue(s, q.get_queue(s, hall["queue"]), {"doctor_id": doctor_id})
    page = doctor.get("/queue/doctor?lang=en", headers=HTML).get_data(as_text=True)
    assert f'data-queue-id="{hall["queue"]}"' in page and "Call next" in page


def test_board_calls_carry_their_call_time_so_several_queues_can_be_merged(runtime, hall):
    with runtime.db.transaction() as s:
        called = calls.call_next(s, hall["queue"], tz=runtime.settings.tz)
        assert ticket_views.board_view(called)["called_at"].endswith("Z")
    with runtime.db.session() as s:
        data, _ = channels.snapshot(s, f"board:{hall['queue']}", runtime.settings.tz)
    assert [c["code"] for c in data["calling"]] == [hall["code"]]
    assert data["calling"][0]["called_at"] is not None


def test_a_postponed_ticket_is_called_back_to_the_room_the_doctor_names(client, runtime, hall):
    with runtime.db.transaction() as s:
        other_room = reference.create_room(s, {"number": "14", "name": ""}).id
    ticket = hall["ticket"]
    assert client.post(f"/api/v1/tickets/{ticket}/postpone").status_code == 200
    back = client.post(f"/api/v1/tickets/{ticket}/call-back", json={"room_id": other_room})
    assert back.status_code == 200
    assert (back.get_json()["status"], back.get_json()["room"]) == ("called", "14")
    # Without a room it goes to the queue's own room, as before.
    client.post(f"/api/v1/tickets/{ticket}/postpone")
    again = client.post(f"/api/v1/tickets/{ticket}/call-back")
    assert again.status_code == 200 and again.get_json()["room"] == "12"
    refused = client.post(f"/api/v1/tickets/{ticket}/call-back", json={"room_id": "x"})
    assert refused.status_code == 422 and "room_id" in refused.get_json()["errors"]

    # Pressed twice: the second press is told the ticket is called already, not that the
    # room is busy with that same ticket.
    twice = client.post(f"/api/v1/tickets/{ticket}/call-back")
    assert twice.status_code == 409 and twice.get_json()["code"] == "wrong_status", twice.json


def test_the_patients_pages_name_the_clinic_and_send_no_referrer(anon_client, runtime, hall):
    with runtime.db.transaction() as s:
        reference.update_clinic_profile(
            s, {"legal_name": "Shifo Med", "address": "Toshkent, Navoiy 1", "phone": ""}
        )
    for url in (f"/t/{hall['token']}?lang=en", f"/join/{hall['queue']}?lang=en"):
        answer = anon_client.get(url, headers=HTML)
        page = answer.get_data(as_text=True)
        assert answer.status_code == 200 and answer.headers["Referrer-Policy"] == "no-referrer"
        assert '<span class="brand__name">Shifo Med</span>' in page
        assert "Navoiy 1" in page
        assert "API documentation" not in page and "/api/docs" not in page
        assert "one clinic's day" not in page


def test_the_patients_page_follows_him_to_the_queue_he_was_sent_to_and_back(
    anon_client, runtime, hall
):
    tz = runtime.settings.tz
    with runtime.db.transaction() as s:
        lab = reference.create_department(
            s,
            {
                "code": "lab",
                "ticket_prefix": "L",
                "name_ru": "Лаборатория",
                "name_uz": "Laboratoriya",
                "name_en": "Laboratory",
            },
        )
        lab_queue = queue_admin.create_queue(
            s, {"code": "lab", "department_id": lab.id, "closes_at": time(23, 59)}
        )
        sent = calls.transfer(
            s, s.get(Ticket, hall["ticket"]), lab_queue.id, tz=tz, return_after=True
        )
        sent_token, sent_code = sent.token, sent.code
    moved = anon_client.get(f"/t/{hall['token']}?lang=en", headers=HTML)
    assert moved.status_code == 303
    assert moved.headers["Location"] == f"/t/{sent_token}?lang=en"
    page = anon_client.get(moved.headers["Location"], headers=HTML)
    assert page.status_code == 200 and sent_code in page.get_data(as_text=True)

    with runtime.db.transaction() as s:
        called = calls.call_next(s, lab_queue.id, tz=tz)
        back = calls.finish_service(s, called, tz=tz)
        back_token = back.token
    for token in (hall["token"], sent_token):  # the first page and the second both follow
        answer = anon_client.get(f"/t/{token}", headers=HTML)
        assert (answer.status_code, answer.headers["Location"]) == (303, f"/t/{back_token}")
    assert anon_client.get(f"/t/{back_token}", headers=HTML).status_code == 200


def _screen_texts(client, path: str, config_id: str, lang: str) -> dict:
    """The texts a screen's script gets from its page (its configuration block)."""
    page = client.get(f"{path}?lang={lang}", headers=HTML).get_data(as_text=True)
    block = page.split(f'<script type="application/json" id="{config_id}">', 1)[1]
    return json.loads(block.split("</script>", 1)[0])["texts"]


def _worded(texts: dict, answer) -> str | None:
    """What the screen says of a refused call, as web/static/js/queue.js's problem() picks
    it: the refusal by its code, else the first field it names that the screen words."""
    body = answer.get_json()
    if body.get("code"):
        return texts.get("refusals", {}).get(body["code"])
    fields = texts.get("fields", {})
    return next((fields[name] for name in body.get("errors", {}) if name in fields), None)


def _said_in_each_language(client, path: str, config_id: str, answers: dict) -> None:
    english = _screen_texts(client, path, config_id, "en")
    for lang in ("ru", "uz"):
        texts = _screen_texts(client, path, config_id, lang)
        for what, answer in answers.items():
            assert answer.status_code in (403, 404, 409, 422), (what, answer.get_json())
            said = _worded(texts, answer)
            assert said and said != _worded(english, answer), (lang, what, answer.get_json())


def test_the_doctors_screen_words_every_refusal_of_its_buttons_in_its_language(
    client, client_as, runtime, hall
):
    open_all_day = time(23, 59, 59, 999999)  # the test runs at the real time
    with runtime.db.transaction() as s:
        queue = q.get_queue(s, hall["queue"])
        department = queue.department_id
        paid_first = queue_admin.create_queue(
            s,
            {
                "code": "card-paid",
                "department_id": department,
                "prefix": "KP",
                "pay_before_doctor": True,
                "closes_at": open_all_day,
            },
        )
        unpaid = q.issue_ticket(s, paid_first.id, tz=runtime.settings.tz)
        closed = queue_admin.create_queue(
            s,
            {"code": "card-late", "department_id": department, "prefix": "KL",
             "closes_at": open_all_day},
        )  # fmt: skip
        off = queue_admin.create_queue(
            s,
            {"code": "card-off", "department_id": department, "prefix": "KO",
             "closes_at": open_all_day},
        )  # fmt: skip
        queue_admin.update_queue(s, off, {"active": False})
        room = reference.create_room(s, {"number": "13", "name": "Кабинет"})
        reference.deactivate_room(s, room.id)
        ids = (paid_first.id, unpaid.id, closed.id, off.id, room.id)
    paid_first, unpaid, closed, off, room = ids
    close_today(runtime, closed)
    ticket = f"/api/v1/tickets/{hall['ticket']}"
    assert client.post(f"/api/v1/tickets/{unpaid}/postpone", json={}).status_code == 200
    doctor = client_as("doctor")  # the fixture's doctor works in another department
    answers = {
        "recall a waiting ticket": client.post(f"{ticket}/recall", json={}),
        "call back unpaid": client.post(f"/api/v1/tickets/{unpaid}/call-back", json={}),
        "transfer to a closed queue": client.post(
            f"{ticket}/transfer", json={"to_queue_id": closed}
        ),
        "transfer to a queue switched off": client.post(
            f"{ticket}/transfer", json={"to_queue_id": off}
        ),
        "transfer to its own queue": client.post(
            f"{ticket}/transfer", json={"to_queue_id": hall["queue"]}
        ),
        "transfer to no queue": client.post(f"{ticket}/transfer", json={"to_queue_id": 999999}),
        "call to a deactivated room": client.post(
            f"/api/v1/queues/{hall['queue']}/call-next", json={"room_id": room}
        ),
        "another's queue": doctor.post(f"/api/v1/queues/{hall['queue']}/call-next", json={}),
    }
    assert {a.get_json().get("code") for a in answers.values()} >= {
        "wrong_status",
        "not_paid",
        "queue_closed",
        "queue_inactive",
        "not_your_queue",
    }
    _said_in_each_language(client, "/queue/doctor", "doctor-config", answers)
    # A transfer refused by the other queue names that queue, not the doctor's own.
    texts = _screen_texts(client, "/queue/doctor", "doctor-config", "ru")
    assert "{queue}" in texts["refusals"]["queue_closed"]


def test_the_desk_words_every_refusal_of_its_buttons_in_its_language(client, runtime, hall):
    with runtime.db.transaction() as s:
        gone = patients.create_patient(s, {"full_name": "Каримов Азиз", "sex": "M"})
        patients.deactivate_patient(s, gone.id)
        gone = gone.id
    ticket = f"/api/v1/tickets/{hall['ticket']}"
    assert client.post(f"{ticket}/cancel", json={}).status_code == 200
    answers = {
        "cancel a cancelled ticket": client.post(f"{ticket}/cancel", json={}),
        "attach to a cancelled ticket": client.post(f"{ticket}/patient", json={"patient_id": 1}),
        "issue for a deactivated patient": client.post(
            f"/api/v1/queues/{hall['queue']}/tickets", json={"source": "desk", "patient_id": gone}
        ),
        "register without a name": client.post(
            "/api/v1/patients", json={"full_name": " ", "sex": "M"}
        ),
        "register with a bad phone": client.post(
            "/api/v1/patients", json={"full_name": "Юсупова Нилуфар", "sex": "F", "phone": "12"}
        ),
        "register with a bad birth date": client.post(
            "/api/v1/patients",
            json={"full_name": "Юсупова Нилуфар", "sex": "F", "birth_date": "2999-01-01"},
        ),
    }
    _said_in_each_language(client, "/queue/desk", "desk-config", answers)


def test_the_boards_page_shows_when_a_screen_was_paired_and_last_seen_in_clinic_time(
    client, runtime, hall
):
    """An administrator in Tashkent reads the clinic's clock, not UTC: a screen seen at 19:40
    UTC was seen at 00:40 the next day in Tashkent."""
    from datetime import datetime, timezone

    from clinic.queue import screens
    from clinic.queue.models import Board

    with runtime.db.transaction() as s:
        screen, _ = screens.pair_directly(s, s.get(Board, hall["board"]), label="Hall, left")
        screen.paired_at = datetime(2026, 3, 2, 4, 5, tzinfo=timezone.utc)
        screen.last_seen_at = datetime(2026, 3, 2, 19, 40, tzinfo=timezone.utc)
    page = client.get("/admin/boards?lang=ru", headers=HTML).get_data(as_text=True)
    row = page.split('data-screen-id="', 1)[1].split("</tr>", 1)[0]
    assert "02.03.2026 09:05" in row and "03.03.2026 00:40" in row
    assert "2026-03-02T" not in row
    # The board's languages by their names, not their codes.
    facts = page.split('<dl class="facts">', 1)[1].split("</dl>", 1)[0]
    assert "Русский" in facts and "O'zbekcha" in unescape(facts)


def test_the_desks_registration_form_makes_the_registrar_choose_the_sex(client, hall):
    """No sex is chosen in advance: a registrar who skips the field is asked for it by the
    browser instead of registering a woman as a man."""
    page = client.get("/queue/desk?lang=ru", headers=HTML).get_data(as_text=True)
    form = page.split('id="patient-new"', 1)[1].split("</form>", 1)[0]
    select = form.split('<select name="sex"', 1)[1].split("</select>", 1)[0]
    assert " required" in select.split(">", 1)[0]
    options = re.findall(r"<option([^>]*)>", select)
    assert options[0].split('value="', 1)[1].startswith('"')  # an empty first choice
    assert not [option for option in options[1:] if "selected" in option]


def test_a_patient_sent_on_reads_that_his_ticket_now_has_another_number(anon_client, runtime, hall):
    with runtime.db.transaction() as s:
        other = reference.create_department(
            s,
            {
                "code": "lab",
                "ticket_prefix": "L",
                "name_ru": "Лаборатория",
                "name_uz": "Laboratoriya",
                "name_en": "Laboratory",
            },
        )
        lab = queue_admin.create_queue(
            s, {"code": "lab", "department_id": other.id, "closes_at": time(23, 59)}
        )
        first = s.get(Ticket, hall["ticket"])
        new = calls.transfer(s, first, lab.id, tz=runtime.settings.tz, return_after=True)
        new_code = new.code
    page = anon_client.get(f"/t/{hall['token']}?lang=en", headers=HTML, follow_redirects=True)
    text = unescape(page.get_data(as_text=True))
    said = f"Your ticket {hall['code']} was sent on here: the board now calls you as {new_code}."
    assert page.status_code == 200 and said in text
    # A ticket never sent on says nothing of the kind.
    with runtime.db.transaction() as s:
        plain = q.issue_ticket(s, hall["queue"], tz=runtime.settings.tz).token
    assert "was sent on here" not in anon_client.get(f"/t/{plain}?lang=en", headers=HTML).get_data(
        as_text=True
    )


def test_a_board_tells_one_departments_two_queues_apart_by_their_rooms_in_its_language(
    runtime, client
):
    """As the kiosk and the desk name them ("Терапия · кабинет 21"), whatever the language of
    the request that drew the page: the board's own."""
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s, {"code": "d-two", "ticket_prefix": "TW", "name_ru": "Терапия",
                "name_uz": "Terapiya", "name_en": "Therapy"},
        )  # fmt: skip
        queue_ids = []
        for number, prefix in (("7", "TA"), ("21", "TB")):
            room = reference.create_room(s, {"number": number, "name": ""})
            queue_ids.append(
                queue_admin.create_queue(
                    s, {"code": f"two-{number}", "department_id": department.id,
                        "room_id": room.id, "prefix": prefix, "closes_at": time.max},
                ).id  # fmt: skip
            )
        board = queue_boards.create_board(
            s, {"name": "Hall", "queue_ids": queue_ids, "language": "ru"}
        )
        board_id = board.id
    page = client.get(f"/board/{board_id}?lang=en", headers={"Accept": "text/html"})
    found = re.search(
        r'<script type="application/json" id="board-config">(.*?)</script>',
        page.get_data(as_text=True),
        re.S,
    )
    config = json.loads(unescape(found.group(1)))
    assert [q["name"] for q in config["queues"]] == ["Терапия · кабинет 7", "Терапия · кабинет 21"]
