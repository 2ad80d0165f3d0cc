"""The queue's screens in headless Chromium: the desk issues and sees tickets live, the doctor
calls, postpones, calls back and transfers, the patient follows his place, online joining
answers in the patient's language, and the kiosk issues a ticket."""

from __future__ import annotations

from datetime import date, datetime, time
from time import monotonic as time_now

import pytest
from sqlalchemy import select

from clinic.models import Ticket, User
from clinic.printing import printers
from clinic.printing.models import PrinterState
from clinic.queue import admin as queue_admin
from clinic.queue import calls
from clinic.queue import tickets as q
from clinic.queue.models import Priority, Queue
from clinic.reference import directory as reference
from clinic.reference import patients
from tests.browser.conftest import LateAnswer, new_tab, sign_in, wait_live
from tests.queue.seeding import close_today, seed_waiting

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def issue(runtime, queue_id: int, **kwargs):
    with runtime.db.transaction() as s:
        ticket = q.issue_ticket(s, queue_id, tz=runtime.settings.tz, **kwargs)
        return ticket.code, ticket.token


def call_next(runtime, queue_id: int, room_id: int | None = None) -> str:
    """The doctor sees whoever holds the room (a room holds one patient), then calls next."""
    with runtime.db.transaction() as s:
        tz = runtime.settings.tz
        holder = calls.holder_now(s, q.get_queue(s, queue_id), room_id, tz=tz)
        if holder is not None:
            calls.finish_service(s, holder, tz=tz)
        return calls.call_next(s, queue_id, tz=tz, room_id=room_id).code


def ticket_by_code(runtime, code: str) -> Ticket:
    from sqlalchemy import select

    with runtime.db.session() as s:
        return s.scalars(select(Ticket).where(Ticket.code == code)).one()


def another_queue(runtime, code: str, prefix: str, **extra) -> int:
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {
                "code": code,
                "ticket_prefix": prefix,
                "name_ru": "Лаборатория",
                "name_uz": "Laboratoriya",
                "name_en": "Laboratory",
            },
        )
        # Open to the day's end (unless told): the browser tests issue at the real time.
        return queue_admin.create_queue(
            s,
            {
                "code": code,
                "department_id": department.id,
                "closes_at": time(23, 59, 59, 999999),
                **extra,
            },
        ).id


@pytest.fixture
def staff(browser, live_server, make_user):
    """``staff(role_or_username)``: a signed-in tab of its own browser context."""
    contexts = []

    def open_as(username: str, role: str | None = None, **options):
        if role is not None:
            make_user(role, username)
        context, tab = new_tab(browser, **options)
        contexts.append(context)
        sign_in(tab, live_server, username)
        return tab

    yield open_as
    for context in contexts:
        context.close()


def test_the_registrar_issues_a_ticket_from_the_desk_and_sees_the_queue_live(
    live_server, runtime, queue_hall, staff
):
    desk = staff("desk-1", "registrar")
    desk.goto(f"{live_server}/queue/desk?lang=ru")
    wait_live(desk)
    card = desk.locator(f".desk-queue[data-queue-id='{queue_hall['queue']}']")
    card.locator("input[value=urgent]").check()
    card.locator("input[name=comment]").fill("после ЭКГ")
    with desk.expect_popup() as printing:
        card.locator("button[type=submit]").click()
    desk.wait_for_selector("#desk-issued[data-code='K-001']")
    printed = ticket_by_code(runtime, "K-001").id
    printing.value.wait_for_url(f"**/ticket/{printed}/print")
    assert "Выдан талон K-001." in desk.inner_text("#desk-issued")
    row = card.locator("[data-tickets] [data-code='K-001']")
    row.wait_for()
    assert "Срочно" in row.inner_text() and "после ЭКГ" in row.inner_text()
    assert card.locator("[data-waiting]").inner_text() == "1"

    # A ticket issued elsewhere (another desk, the kiosk) appears without a reload.
    issue(runtime, queue_hall["queue"])
    card.locator("[data-tickets] [data-code='K-002']").wait_for()
    assert card.locator("[data-waiting]").inner_text() == "2"
    call_next(runtime, queue_hall["queue"], queue_hall["room"])
    card.locator("[data-tickets] [data-code='K-001'][data-status='called']").wait_for()
    assert card.locator("[data-waiting]").inner_text() == "1"
    ticket = ticket_by_code(runtime, "K-001")
    assert (ticket.source, ticket.priority, ticket.comment) == (
        "desk",
        Priority.URGENT,
        "после ЭКГ",
    )

    # The department renamed and the queue given a room elsewhere: the card's name and room
    # follow in place, with what the registrar is typing and the tickets kept.
    card.locator("input[name=comment]").fill("повторно")
    rename(runtime, queue_hall, name_ru="Кардиология и ЭКГ")
    card.locator("h2:text-is('Кардиология и ЭКГ')").wait_for()
    with runtime.db.transaction() as s:
        queue = s.get(Queue, queue_hall["queue"])
        queue_admin.update_queue(s, queue, {"room_id": queue_hall["room"]})
    card.locator("[data-queue-label]:has-text('Кабинет 12')").wait_for()
    assert card.locator("input[name=comment]").input_value() == "повторно"
    assert card.locator("[data-tickets] [data-code='K-002']").count() == 1


def test_the_registrar_finds_a_patient_and_gives_him_a_kiosk_ticket(
    live_server, runtime, queue_hall, staff
):
    """Found by a Latin part of his Cyrillic name or by his phone as people type it, listed
    with his date of birth as the page's language writes dates, then attached to a ticket
    the kiosk issued: the row says so without a reload. A refused "Attach" can be tried again,
    and its refusal goes once it succeeds."""
    with runtime.db.transaction() as s:
        patient = patients.create_patient(
            s,
            {
                "full_name": "Ғуломов Ўткир",
                "sex": "M",
                "phone": "90 123 45 67",
                "birth_date": date(1990, 5, 1),
            },
        ).id
    code, _ = issue(runtime, queue_hall["queue"], source="kiosk")
    desk = staff("desk-2", "registrar")
    desk.goto(f"{live_server}/queue/desk?lang=ru")
    wait_live(desk)
    # The search sent empty is refused before it goes, in the page's language, not the
    # browser's (which speaks English here).
    desk.evaluate(
        "document.querySelector('#patient-search [name=q]').addEventListener('invalid',"
        " e => { window.refusedWith = e.target.validationMessage; })"
    )
    desk.click("#patient-search button[type=submit]")
    assert desk.evaluate("window.refusedWith") == "Заполните это поле."
    found = desk.locator(".patient-result")
    for query in ("+998 (90) 123-45-67", "Каримов", "utkir"):
        desk.fill("#patient-search input[name=q]", query)
        desk.press("#patient-search input[name=q]", "Enter")
        if query == "Каримов":  # nobody: the list says so
            found.wait_for(state="detached")
            continue
        found.wait_for()
        assert found.inner_text().startswith("Ғуломов Ўткир · +998901234567 · 01.05.1990")
    found.locator("button").click()
    # Refused (his record was deactivated meanwhile), "Attach" can be pressed again, and the
    # refusal is said until it succeeds, not beyond.
    with runtime.db.transaction() as s:
        patients.deactivate_patient(s, patient)
    row = desk.locator(f"[data-tickets] [data-code='{code}']")
    row.locator("[data-action=attach]").click()
    desk.wait_for_selector("#desk-error:not([hidden])")
    assert desk.inner_text("#desk-error").startswith("Карта этого пациента отключена.")
    row.locator("[data-action=attach]:enabled").wait_for()
    with runtime.db.transaction() as s:
        patients.activate_patient(s, patient)
    row.locator("[data-action=attach]").click()
    row.locator("[data-action=attach]").wait_for(state="detached")
    desk.wait_for_selector(f"[data-tickets] [data-code='{code}'][data-patient-id]")
    # The socket's event may redraw the row before the answer to the click arrives: the
    # refusal goes with that answer.
    desk.wait_for_selector("#desk-error", state="hidden", timeout=5000)
    # Seen by the doctor on that ticket (while it is in the queue, the desk gives him no
    # second one there), he is chosen for another: it is issued in his name; then the choice
    # ends, and the next person's ticket is nobody's until the registrar chooses again.
    call_next(runtime, queue_hall["queue"], queue_hall["room"])
    seen = ticket_by_code(runtime, code).id
    with runtime.db.transaction() as s:
        calls.finish_service(s, q.get_ticket(s, seen), tz=runtime.settings.tz)
    card = desk.locator(f".desk-queue[data-queue-id='{queue_hall['queue']}']")

    def desk_tickets():
        with runtime.db.session() as s:
            query = select(Ticket.patient_id).where(Ticket.source == "desk")
            return s.scalars(query.order_by(Ticket.id)).all()

    for issued in (1, 2):
        with desk.expect_popup() as printing:
            card.locator("button[type=submit]").click()
        printing.value.close()
        desk.wait_for_selector("#patient-chosen", state="hidden")
        deadline = time_now() + 10
        while len(desk_tickets()) < issued and time_now() < deadline:
            desk.wait_for_timeout(50)
    assert desk_tickets() == [patient, None]


def test_the_doctor_calls_postpones_calls_back_and_transfers(
    live_server, runtime, queue_hall, staff
):
    lab = another_queue(runtime, "lab", "L")
    first, _ = issue(runtime, queue_hall["queue"])
    second, _ = issue(runtime, queue_hall["queue"])
    doctor = staff(queue_hall["doctor"])
    opened = []

    def open_then_serve(route):
        # Asked for once the page's HTML is in: a queue made now is told before the screen
        # subscribes, as no event.
        if not opened:
            opened.append(another_queue(runtime, "ent", "E"))
            with runtime.db.transaction() as s:
                ent = s.get(Queue, opened[0]).department_id
                reference.update_department(s, ent, {"name_en": "ENT", "name_ru": "ЛОР"})
        route.continue_()

    doctor.route("**/static/js/doctor.js*", open_then_serve)
    doctor.goto(f"{live_server}/queue/doctor?lang=en")
    wait_live(doctor)
    doctor.wait_for_selector(f"#waiting-list [data-code='{second}']")
    offered = "[...document.getElementById('current-template').content.querySelectorAll('option')]"
    doctor.wait_for_function(f"() => {offered}.some((o) => o.value === '{opened[0]}')")

    doctor.click("#call-next")
    current = doctor.locator(f"#current [data-code='{first}']")
    current.wait_for()
    assert "Called · Room 12" in current.inner_text()
    current.locator("[data-action=postpone]").click()
    doctor.wait_for_selector(f"#postponed-list [data-code='{first}']")
    assert current.count() == 0

    doctor.click("#call-next")
    doctor.locator(f"#current [data-code='{second}'] [data-action=start]").click()
    doctor.wait_for_selector(f"#current [data-code='{second}'][data-status='in_service']")
    doctor.locator(f"#current [data-code='{second}'] [data-action=finish]").click()
    doctor.wait_for_selector(f"#current [data-code='{second}']", state="detached")
    assert doctor.is_visible("#current-empty")

    doctor.click(f"#postponed-list [data-code='{first}'] [data-action=call-back]")
    doctor.wait_for_selector(f"#current [data-code='{first}'][data-status='called']")
    assert doctor.is_visible("#postponed-empty")
    assert ticket_by_code(runtime, first).room_id == queue_hall["room"]

    # The laboratory renamed and an X-ray queue opened while he is with the patient: where he
    # may send him follows without a reload.
    with runtime.db.transaction() as s:
        department_id = s.get(Queue, lab).department_id
        reference.update_department(s, department_id, {"name_en": "Blood laboratory"})
    xray = another_queue(runtime, "xray", "X")
    card = doctor.locator(f"#current [data-code='{first}']")
    targets = card.locator("select[name=to_queue_id]")
    targets.locator(f"option[value='{xray}']").wait_for(state="attached")
    targets.locator(f"option[value='{lab}']:text-is('Blood laboratory')").wait_for(state="attached")
    # One chosen in the open form, then switched off, stays chosen there: nothing changes under
    # his hand. The next cards no longer offer it.
    card.locator("[data-action=transfer]").click()
    targets.select_option(str(xray))
    for switch_off, name in ((False, "Laboratory No. 1"), (True, "Laboratory")):
        with runtime.db.transaction() as s:
            if switch_off:
                queue_admin.update_queue(s, s.get(Queue, xray), {"active": False})
            reference.update_department(s, department_id, {"name_en": name})
        targets.locator(f"option[value='{lab}']:text-is('{name}')").wait_for(state="attached")
        assert targets.input_value() == str(xray)
    card.locator(".transfer-form button[type=submit]").click()
    refused = "Laboratory is not working now: the patient stays in your queue."
    doctor.wait_for_selector(f"#doctor-error:text-is('{refused}')")
    offers = doctor.evaluate(f"{offered}.map((o) => Number(o.value))")
    assert lab in offers and xray not in offers

    # Transfer to the laboratory, coming back to this queue afterwards.
    card.locator("[data-action=transfer]").click()
    card.locator("select[name=to_queue_id]").select_option(str(lab))
    card.locator("input[name=comment]").fill("blood test")
    card.locator("input[name=return_after]").check()
    card.locator(".transfer-form button[type=submit]").click()
    doctor.wait_for_selector(f"#current [data-code='{first}']", state="detached")
    doctor.wait_for_selector("#doctor-message:not([hidden])")
    assert doctor.inner_text("#doctor-message") == f"{first} was sent to Laboratory as L-001."
    moved = ticket_by_code(runtime, "L-001")
    assert (moved.queue_id, moved.return_to_queue_id) == (lab, queue_hall["queue"])
    assert moved.comment == "blood test"

    doctor.click("#call-next")
    doctor.wait_for_selector("#doctor-message:text-is('Nobody is waiting.')")

    # His department renamed meanwhile: the heading follows without a reload.
    rename(runtime, queue_hall, name_en="Cardiology and ECG")
    doctor.wait_for_selector("#doctor-queue:text-is('Cardiology and ECG')")
    assert doctor.is_visible("#doctor-message")  # the page was not loaded again


def test_a_refused_call_names_who_holds_the_room_before_the_screen_hears_of_him(
    live_server, runtime, queue_hall, staff
):
    """His room taken by a call this screen has not heard of yet (from another tab of the same
    queue, its event still on its way): "Call next" refused names that patient, as of this
    queue, and once he has left the room the refusal goes. Taken by a call from another of
    the queues calling into his room, the refusal names the patient and that queue."""
    with runtime.db.transaction() as s:
        other = queue_admin.create_queue(
            s,
            {
                "code": "echo",
                "department_id": s.get(Queue, queue_hall["queue"]).department_id,
                "room_id": queue_hall["room"],
                "prefix": "G",
                "closes_at": time(23, 59, 59, 999999),
            },
        ).id
    first, _ = issue(runtime, queue_hall["queue"])
    issue(runtime, queue_hall["queue"])
    issue(runtime, other)
    doctor = staff(queue_hall["doctor"])
    gate = {"holding": False, "kept": [], "socket": None}

    def through(socket):
        # The server's frames go on to the page, unless the gate holds them.
        server = socket.connect_to_server()
        gate["socket"] = socket

        def to_page(frame):
            if gate["holding"]:
                gate["kept"].append(frame)
            else:
                socket.send(frame)

        server.on_message(to_page)

    doctor.route_web_socket("**/ws*", through)
    doctor.goto(f"{live_server}/queue/doctor?queue={queue_hall['queue']}&lang=en")
    wait_live(doctor)
    doctor.wait_for_selector(f"#waiting-list [data-code='{first}']")

    gate["holding"] = True  # the call's event does not reach the screen yet
    with runtime.db.transaction() as s:
        calls.call_next(s, queue_hall["queue"], tz=runtime.settings.tz, room_id=queue_hall["room"])
    doctor.click("#call-next")
    still = (
        f"{first} is still with you: finish, mark a no-show or postpone before calling the next."
    )
    doctor.wait_for_selector(f"#doctor-error:text-is('{still}')")
    while gate["kept"]:  # in their order, those coming meanwhile too
        gate["socket"].send(gate["kept"].pop(0))
    gate["holding"] = False
    doctor.wait_for_selector(f"#current [data-code='{first}']")
    assert doctor.inner_text("#doctor-error") == still
    with runtime.db.transaction() as s:
        ticket = s.get(Ticket, ticket_by_code(runtime, first).id)
        calls.finish_service(s, ticket, tz=runtime.settings.tz)
    doctor.wait_for_selector("#doctor-error", state="hidden")

    call_next(runtime, other, queue_hall["room"])
    doctor.click("#call-next")
    elsewhere = (
        "Your room still holds G-001, called from Cardiology · room 12: finish, mark a no-show"
        " or postpone him there first."
    )
    doctor.wait_for_selector(f"#doctor-error:text-is('{elsewhere}')")


def test_the_doctors_screen_takes_his_queue_switched_on_and_one_made_for_him(
    live_server, runtime, queue_hall, staff
):
    def switch(on: bool) -> None:
        with runtime.db.transaction() as s:
            queue_admin.update_queue(s, s.get(Queue, queue_hall["queue"]), {"active": on})

    switch(False)
    doctor = staff(queue_hall["doctor"])
    doctor.goto(f"{live_server}/queue/doctor?lang=en")
    doctor.wait_for_selector("text=You have no queue")
    wait_live(doctor)
    switch(True)  # the page loads itself again, with his queue
    doctor.wait_for_selector("#doctor-queue:text-is('Cardiology')")
    wait_live(doctor)
    assert doctor.locator("#queue-picker").count() == 0

    # A queue of his own made: he may choose it, without a reload of the screen he works in.
    doctor.evaluate("window.notReloaded = true")
    with runtime.db.transaction() as s:
        hall = s.get(Queue, queue_hall["queue"])
        own = queue_admin.create_queue(
            s,
            {
                "code": "own",
                "department_id": hall.department_id,
                "doctor_id": s.scalar(
                    select(User.doctor_id).where(User.username == queue_hall["doctor"])
                ),
                "prefix": "G",
                "closes_at": time(23, 59, 59, 999999),
            },
        ).id
    doctor.wait_for_selector(f"#queue-picker option[value='{own}']", state="attached")
    assert doctor.evaluate("window.notReloaded") is True


def rename(runtime, queue_hall, **names) -> None:
    """Rename the hall's department (``names``), as the admin does."""
    with runtime.db.transaction() as s:
        queue = s.get(Queue, queue_hall["queue"])
        reference.update_department(s, queue.department_id, names)


def test_the_patient_page_shows_the_place_and_follows_the_queue_live(
    browser, live_server, runtime, queue_hall
):
    for _ in range(2):
        issue(runtime, queue_hall["queue"])
    code, token = issue(runtime, queue_hall["queue"])
    context, phone = new_tab(
        browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        phone.goto(f"{live_server}/t/{token}?lang=uz")
        wait_live(phone)
        assert phone.inner_text("#patient-code") == code
        assert phone.inner_text("#patient-status") == "Kutmoqda"
        assert phone.inner_text("#patient-ahead") == "2"
        assert phone.inner_text("#patient-wait") == "taxminan 20 daqiqa"

        call_next(runtime, queue_hall["queue"], queue_hall["room"])  # someone ahead is called
        phone.wait_for_selector("#patient-ahead:text-is('1')")
        assert phone.inner_text("#patient-wait") == "taxminan 10 daqiqa"

        # His queue's department renamed: the name above his ticket follows, unloaded.
        phone.evaluate("window.notReloaded = true")
        rename(runtime, queue_hall, name_uz="Kardiologiya markazi")
        phone.wait_for_selector(".patient__queue:has-text('Kardiologiya markazi')")
        assert phone.evaluate("window.notReloaded") is True

        call_next(runtime, queue_hall["queue"], queue_hall["room"])
        phone.wait_for_selector("#patient-ahead:text-is('0')")
        call_next(runtime, queue_hall["queue"], queue_hall["room"])  # this patient
        phone.wait_for_selector("#patient[data-status='called']")
        assert phone.inner_text("#patient-call") == "12-xonaga kiring"
        assert phone.inner_text("#patient-status") == "Chaqirildi"
        assert phone.is_hidden("#patient-figures")

        # The doctor sends him to the laboratory: the page follows him to his new ticket.
        lab = another_queue(runtime, "labpat", "L")
        with runtime.db.transaction() as s:
            held = s.get(Ticket, ticket_by_code(runtime, code).id)
            sent = calls.transfer(s, held, lab, tz=runtime.settings.tz, return_after=True)
            sent_code = sent.code
        phone.wait_for_selector(f"#patient-code:text-is('{sent_code}')")
        assert phone.inner_text("#patient-status") == "Kutmoqda"
    finally:
        context.close()


def test_online_joining_names_the_refusal_when_closed_and_gives_the_ticket_when_open(
    browser, live_server, runtime, queue_hall
):
    now = datetime.now(runtime.settings.tz).time()
    # A window that is over for today (or, just after midnight, still to come).
    window, reason = (
        ((time(0, 0), time(1, 0)), "Bugungi onlayn navbat yopildi. U soat 01:00 gacha ochiq edi.")
        if now >= time(1, 5)
        else ((time(22, 0), time(23, 0)), "Bugungi onlayn navbat hali ochilmagan.")
    )
    closed = another_queue(
        runtime,
        "lab",
        "L",
        online_from=window[0],
        online_until=window[1],
        online_daily_limit=9,
        closes_at=time(23, 59, 59, 999999),
    )
    with runtime.db.transaction() as s:
        queue_admin.update_queue(
            s,
            q.get_queue(s, queue_hall["queue"]),
            {
                "online_from": time(0),
                "online_until": time(23, 59, 59, 999999),
                "online_daily_limit": 9,
                "closes_at": time(23, 59, 59, 999999),
            },
        )
    context, phone = new_tab(browser, viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        phone.goto(f"{live_server}/join/{closed}?lang=uz")
        phone.fill("input[name=phone]", "90 123 45 67")
        phone.click("#join-form button[type=submit]")
        phone.wait_for_selector("#join-error:not([hidden])")
        assert phone.inner_text("#join-error").startswith(reason)
        assert phone.is_hidden("#join-ticket")

        phone.goto(f"{live_server}/join/{queue_hall['queue']}?lang=ru")
        phone.fill("input[name=phone]", "12345")
        phone.click("#join-form button[type=submit]")
        phone.wait_for_selector(
            "#join-error:text-is('Это не похоже на номер телефона. Пример: 90 123 45 67.')"
        )

        # The join's answer is lost on the way back (the ticket made): the page says the
        # server was not reached, and pressed again it lands on that ticket, not on
        # "already joined".
        def lost(route):
            route.fetch()
            route.abort()

        phone.route("**/api/v1/public/queues/*/join", lost, times=1)
        phone.fill("input[name=phone]", "+998 90 123 45 67")
        phone.click("#join-form button[type=submit]")
        phone.wait_for_selector("#join-error:not([hidden])")
        assert phone.is_hidden("#join-ticket")
        # Pressed again into the address's rate limit (a clinic's Wi-Fi shared by many): the
        # 429 says nothing of the lost attempt, whose key the next press still sends.
        too_many = {"status": 429, "title": "Too Many Requests", "code": "too_many"}
        phone.route(
            "**/api/v1/public/queues/*/join",
            lambda route: route.fulfill(status=429, json=too_many),
            times=1,
        )
        phone.click("#join-form button[type=submit]")
        phone.wait_for_selector("#join-error[data-code='too_many']")
        phone.click("#join-form button[type=submit]")
        phone.wait_for_selector("#join-ticket[data-code='K-001']")
        assert phone.inner_text("#join-lead") == "Вы в очереди. Ваш талон:"
        assert phone.is_hidden("#join-error")
        phone.click("#join-link")
        phone.wait_for_selector("#patient-code:text-is('K-001')")
        wait_live(phone)
        assert phone.inner_text("#patient-status") == "Ожидает"

        # Someone else typing the same number is told the desk prints a lost ticket, and is
        # shown nothing of it.
        phone.goto(f"{live_server}/join/{queue_hall['queue']}?lang=ru")
        phone.fill("input[name=phone]", "90 123 45 67")
        phone.click("#join-form button[type=submit]")
        phone.wait_for_selector("#join-error[data-code='already_joined']")
        assert "регистратуре талон распечатают" in phone.inner_text("#join-error")
        assert phone.is_hidden("#join-ticket") and "K-001" not in phone.content()
    finally:
        context.close()
    ticket = ticket_by_code(runtime, "K-001")
    assert (ticket.source, ticket.phone) == ("online", "+998901234567")


def test_the_kiosk_issues_a_ticket_at_a_touch_and_shows_it(live_server, runtime, queue_hall, staff):
    kiosk = staff("kiosk-hall", "kiosk", viewport={"width": 1080, "height": 1920})
    kiosk.goto(f"{live_server}/kiosk?lang=ru")
    wait_live(kiosk)
    button = kiosk.locator(f".kiosk__button[data-queue-id='{queue_hall['queue']}']")
    assert "Кардиология" in button.inner_text()
    with kiosk.expect_popup() as printing:
        button.click()
    kiosk.wait_for_selector("#kiosk-result[data-code='K-001']")
    assert kiosk.inner_text("#kiosk-code") == "K-001"
    assert kiosk.inner_text("#kiosk-queue") == "Кардиология"
    ticket = ticket_by_code(runtime, "K-001")
    assert ticket.source == "kiosk"
    printing.value.wait_for_url(f"**/kiosk/ticket/{ticket.id}/print")
    printing.value.wait_for_selector("#ticket-print[data-code='K-001']")
    button.locator("[data-waiting]:text-is('1')").wait_for()
    kiosk.click("#kiosk-done")
    assert kiosk.is_hidden("#kiosk-result")
    assert kiosk.is_hidden("#kiosk-printer")

    # A patient who reads Uzbek touches it; once his ticket is done the kiosk is Russian again.
    printing.value.close()  # printed: the next ticket opens a print window of its own
    kiosk.click(".kiosk__languages a[lang=uz]")
    kiosk.wait_for_selector("h1.kiosk__title:text-is('Talon oling')")
    wait_live(kiosk)
    with kiosk.expect_popup() as printing:
        button.click()
    kiosk.wait_for_selector("#kiosk-result[data-code='K-002']")
    printing.value.wait_for_selector("#ticket-print[data-code='K-002']")
    assert "Sizning taloningiz" in printing.value.inner_text("#ticket-print")
    with kiosk.expect_navigation():
        kiosk.click("#kiosk-done")
    kiosk.wait_for_selector("h1.kiosk__title:text-is('Возьмите талон')")
    wait_live(kiosk)

    # The queue's thermal printer, given since, is out of paper: no paper may come, so the
    # screen asks the patient to keep his number and shows the code the paper would carry.
    with runtime.db.transaction() as s:
        printer = printers.create_printer(
            s, {"name": "Холл", "host": "127.0.0.1", "targets": [f"queue:{queue_hall['queue']}"]}
        )
        printer.state = PrinterState.FAILING
    button.click()
    kiosk.wait_for_selector("#kiosk-result[data-code='K-003']")
    assert "запомните свой номер" in kiosk.inner_text("#kiosk-printer")
    second = ticket_by_code(runtime, "K-003")
    code = kiosk.locator("#kiosk-qr")
    assert code.get_attribute("src") == f"/kiosk/ticket/{second.id}/code.svg"
    kiosk.wait_for_function(
        "() => document.getElementById('kiosk-qr').complete"
        " && document.getElementById('kiosk-qr').naturalWidth > 0"
    )

    # The department renamed meanwhile: its button, and the ticket it gives, say the new name.
    kiosk.click("#kiosk-done")
    rename(runtime, queue_hall, name_ru="Кардиологический центр")
    button.locator(".kiosk__name:text-is('Кардиологический центр')").wait_for()
    button.click()
    kiosk.wait_for_selector("#kiosk-result[data-code='K-004']")
    assert kiosk.inner_text("#kiosk-queue") == "Кардиологический центр"


def test_a_long_department_name_stays_inside_its_kiosk_button(
    live_server, runtime, queue_hall, staff
):
    """One long word of a name ("Оториноларингология") breaks inside its button, on a kiosk
    standing or lying, in each of its languages, and the page is no wider than the screen."""
    names = {"ru": "Оториноларингология", "uz": "Otorinolaringologiya", "en": "Otorhinolaryngology"}
    rename(runtime, queue_hall, **{f"name_{language}": name for language, name in names.items()})
    for code, prefix in (("lab", "L"), ("xray", "X"), ("ther", "T")):
        another_queue(runtime, code, prefix)  # buttons enough for three columns
    kiosk = staff("kiosk-words", "kiosk")
    for width, height in ((1080, 1920), (1280, 1024), (1024, 768), (768, 1024)):
        kiosk.set_viewport_size({"width": width, "height": height})
        for language, name in names.items():
            kiosk.goto(f"{live_server}/kiosk?lang={language}&visitor=1")
            button = kiosk.locator(f".kiosk__button[data-queue-id='{queue_hall['queue']}']")
            fit = button.evaluate("""(button) => {
                  const name = button.querySelector('.kiosk__name');
                  const words = document.createRange();
                  words.selectNodeContents(name);
                  const text = words.getBoundingClientRect();
                  const box = button.getBoundingClientRect();
                  return {
                    name: name.textContent,
                    inside: text.left >= box.left && text.right <= box.right,
                    onScreen: box.left >= 0 && box.right <= innerWidth,
                    page: document.documentElement.scrollWidth,
                  };
                }""")
            size = (width, height, language)
            assert fit["name"] == name
            assert fit["inside"] and fit["onScreen"], (size, fit)
            assert fit["page"] <= width, (size, fit)


def test_the_kiosk_says_in_its_language_why_a_queue_gives_no_ticket(
    live_server, runtime, queue_hall, staff
):
    """A patient touching a queue that has closed for the day reads why in the kiosk's
    language, not the API's English. (A kiosk set up as a registrar, before the kiosk role.)"""
    closed = another_queue(runtime, "lab", "L")
    close_today(runtime, closed)
    kiosk = staff("kiosk-late", "registrar", viewport={"width": 1080, "height": 1920})
    kiosk.goto(f"{live_server}/kiosk?lang=ru")
    wait_live(kiosk)
    with kiosk.expect_popup():
        kiosk.locator(f".kiosk__button[data-queue-id='{closed}']").click()
    error = kiosk.locator("#kiosk-error")
    error.wait_for()
    assert error.inner_text() == "Эта очередь на сегодня закрыта."


def test_a_kiosk_touch_whose_answer_was_lost_shows_its_ticket_at_the_next_touch(
    live_server, runtime, queue_hall, staff
):
    """The network lost the answer of a touch that issued a ticket: the kiosk says the server
    was not reached, and the patient's next touch of the queue, also after he touched his
    language, shows him that ticket instead of issuing a second one; a touch after an answer
    is a new ticket."""
    kiosk = staff("kiosk-lost", "kiosk", viewport={"width": 1080, "height": 1920})
    kiosk.goto(f"{live_server}/kiosk?lang=ru")
    wait_live(kiosk)
    keys = []
    kiosk.on(
        "request",
        lambda r: r.method == "POST" and keys.append(r.post_data_json["idempotency_key"]),
    )

    def lost(route):
        route.fetch()  # the server issues the ticket, and its answer never comes back
        route.abort()

    kiosk.route("**/api/v1/kiosk/queues/*/tickets", lost, times=1)
    button = kiosk.locator(f".kiosk__button[data-queue-id='{queue_hall['queue']}']")
    for shown in (None, "K-001", "K-002"):
        with kiosk.expect_popup() as printing:
            button.click()
        if shown is None:
            kiosk.locator("#kiosk-error").wait_for()
            # He touches his language (the page is loaded again in it): the key is kept.
            kiosk.click(".kiosk__languages a[lang='uz']")
            kiosk.wait_for_url("**lang=uz**")
            wait_live(kiosk)
            continue
        kiosk.wait_for_selector(f"#kiosk-result[data-code='{shown}']")
        printing.value.close()  # printed: the next ticket opens a print window of its own
        if "visitor=1" in kiosk.url:
            # Done with his own language: the kiosk goes back to its own (a page loaded
            # again), which the next touch waits for.
            with kiosk.expect_navigation():
                kiosk.click("#kiosk-done")
            wait_live(kiosk)
        else:
            kiosk.click("#kiosk-done")
    assert keys[0] == keys[1] != keys[2]
    with runtime.db.session() as s:
        issued = s.scalars(select(Ticket.code).where(Ticket.queue_id == queue_hall["queue"]))
        assert sorted(issued) == ["K-001", "K-002"]


def test_the_doctor_reads_in_his_language_why_a_transfer_was_refused(
    live_server, runtime, queue_hall, staff
):
    """A transfer the other queue refuses (closed for the day) is said in the screen's
    language and names that queue, not in the API's English nor as the doctor's own queue."""
    closed = another_queue(runtime, "lab", "L")
    close_today(runtime, closed)
    issue(runtime, queue_hall["queue"])
    called = call_next(runtime, queue_hall["queue"], queue_hall["room"])
    doctor = staff(queue_hall["doctor"])
    doctor.goto(f"{live_server}/queue/doctor?lang=ru")
    wait_live(doctor)

    card = doctor.locator(f"#current [data-code='{called}']")
    card.locator("[data-action=transfer]").click()
    card.locator("select[name=to_queue_id]").select_option(str(closed))
    card.locator(".transfer-form button[type=submit]").click()
    error = doctor.locator("#doctor-error")
    error.wait_for()
    expected = "Лаборатория: очередь на сегодня закрыта, пациент остаётся в вашей очереди."
    assert error.inner_text() == expected
    assert ticket_by_code(runtime, called).status == "called"


def test_the_desk_finds_a_patient_who_lost_his_link_by_his_phone_as_he_says_it(
    live_server, runtime, queue_hall, staff
):
    """He joined from his phone and lost the link: the registrar types his number as he says
    it, with dashes or the country code, finds his ticket and prints it again."""
    issue(runtime, queue_hall["queue"], phone="+998901112233", source="online")
    issue(runtime, queue_hall["queue"], phone="+998907654321", source="online")
    desk = staff("desk-1", "registrar")
    desk.goto(f"{live_server}/queue/desk?lang=ru")
    wait_live(desk)
    card = desk.locator(f".desk-queue[data-queue-id='{queue_hall['queue']}']")
    rows = card.locator("[data-tickets] [data-code]")
    for typed in ("90-111-22-33", "+998 (90) 111 22 33", "901112233", "111-22-33"):
        card.locator("[data-filter]").fill(typed)
        desk.wait_for_function(
            "n => document.querySelectorAll(n).length === 1",
            arg=f".desk-queue[data-queue-id='{queue_hall['queue']}'] [data-tickets] [data-code]",
        )
        assert rows.first.get_attribute("data-code") == "K-001", typed
        assert rows.first.locator("[data-action=reprint]").count() == 1


def test_the_desks_long_list_keeps_what_its_events_said_over_an_older_reading(
    live_server, runtime, queue_hall, staff
):
    """The channel's snapshot holds the first hundred waiting; the rest of a long day comes
    from the API when the registrar searches. A ticket cancelled while that list is read is
    heard of as cancelled, and the reading, older than that, does not bring it back."""
    with runtime.db.transaction() as s:
        for _ in range(105):
            q.issue_ticket(s, queue_hall["queue"], tz=runtime.settings.tz)
    desk = staff("desk-1", "registrar")
    desk.goto(f"{live_server}/queue/desk?lang=en")
    wait_live(desk)
    card = desk.locator(f".desk-queue[data-queue-id='{queue_hall['queue']}']")
    card.locator("[data-tickets] [data-code='K-001']").wait_for()
    late = LateAnswer()  # read now, before the cancelling, and given once it is heard of
    desk.route(f"**/api/v1/queues/{queue_hall['queue']}/tickets?status=waiting*", late)
    card.locator("[data-filter]").fill("K-10")
    assert "K-105" in [ticket["code"] for ticket in late.read(desk).json()]

    with runtime.db.transaction() as s:
        calls.cancel(s, q.get_ticket(s, ticket_by_code(runtime, "K-105").id))
    issue(runtime, queue_hall["queue"])  # K-106: heard after the cancelling
    card.locator("[data-tickets] [data-code='K-106']").wait_for()

    late.give()
    card.locator("[data-tickets] [data-code='K-104']").wait_for()
    assert card.locator("[data-tickets] [data-code='K-105']").count() == 0


def test_the_desk_lists_the_patients_of_its_last_search_whichever_answer_comes_first(
    live_server, runtime, queue_hall, staff
):
    """The registrar searches, then searches again with more of the name before the first
    answer came (a large file answers slowly): the first answer, come last, is not listed."""
    with runtime.db.transaction() as s:
        for name in ("Каримов Анвар", "Каримова Нилуфар"):
            patients.create_patient(s, {"full_name": name, "sex": "M" if "ов " in name else "F"})
    desk = staff("desk-3", "registrar")
    desk.goto(f"{live_server}/queue/desk?lang=ru")
    wait_live(desk)
    late = LateAnswer()
    desk.route("**/api/v1/patients?*", late)
    search = "#patient-search input[name=q]"
    desk.fill(search, "Каримов")
    desk.press(search, "Enter")
    first_answer = late.read(desk)
    desk.fill(search, "Каримова")
    desk.press(search, "Enter")
    found = desk.locator(".patient-result")
    found.first.wait_for()
    assert found.count() == 1

    assert first_answer.json()["total"] == 2
    late.give()
    desk.wait_for_timeout(500)  # time for the page to list what it was answered
    assert found.count() == 1 and found.first.inner_text().startswith("Каримова Нилуфар")


def test_the_desk_looks_for_a_ticket_whose_answer_was_lost_before_saying_anything(
    live_server, runtime, queue_hall, staff
):
    """The press reached the server and his ticket was issued, but its answer was lost on the
    way back: the desk finds it in the queue's list and shows it as issued, so a second press
    does not give him a second ticket. What the desk cannot find it says honestly."""
    with runtime.db.transaction() as s:
        patient = patients.create_patient(s, {"full_name": "Oʻralov Gʻayrat", "sex": "M"}).id
    desk = staff("desk-1", "registrar")
    desk.goto(f"{live_server}/queue/desk?lang=ru")
    wait_live(desk)
    card = desk.locator(f".desk-queue[data-queue-id='{queue_hall['queue']}']")
    issuing = f"**/api/v1/queues/{queue_hall['queue']}/tickets"  # the list's reading has a query

    def choose_him():
        desk.fill("#patient-search input[name=q]", "oralov")
        desk.press("#patient-search input[name=q]", "Enter")
        desk.locator(".patient-result button").click()

    def answer_lost(route):
        route.fetch()  # the server issues the ticket
        route.abort("connectionreset")

    def desk_tickets():
        with runtime.db.session() as s:
            query = select(Ticket.code, Ticket.patient_id).order_by(Ticket.id)
            return [tuple(found) for found in s.execute(query)]

    choose_him()
    desk.route(issuing, answer_lost)
    card.locator("button[type=submit]").click()
    desk.wait_for_selector("#desk-issued[data-code='K-001']")
    assert desk.is_hidden("#desk-error") and desk.is_hidden("#patient-chosen")
    # The Issue button, disabled while the call was on its way, has the keyboard again.
    assert desk.evaluate("document.activeElement.textContent.trim()") == "Выдать талон"
    with desk.expect_popup() as printing:
        desk.click("#desk-issued a")
    printing.value.wait_for_selector("#ticket-print[data-code='K-001']")
    printing.value.close()
    assert desk_tickets() == [("K-001", patient)]

    # Nothing reached the server: nothing was issued, and the desk says so.
    choose_him()
    desk.unroute(issuing)
    desk.route(issuing, lambda route: route.abort("connectionreset"))
    card.locator("button[type=submit]").click()
    desk.wait_for_selector("#desk-error:not([hidden])")
    assert desk.inner_text("#desk-error").startswith("Ответ сервера потерян: талон не выдан.")
    assert desk.is_visible("#patient-chosen")

    # A walk-in's ticket names no one: the list cannot tell, and the desk says to look at it.
    keys = []
    desk.on(
        "request",
        lambda r: r.method == "POST"
        and r.url.endswith("/tickets")
        and keys.append(r.post_data_json.get("idempotency_key")),
    )
    desk.click("#patient-clear")
    desk.unroute(issuing)
    desk.route(issuing, answer_lost)
    card.locator("button[type=submit]").click()
    desk.wait_for_function(
        "() => document.getElementById('desk-error').textContent.includes('возможно, выдан')"
    )
    assert desk_tickets() == [("K-001", patient), ("K-002", None)]
    # Pressed again, it sends that press's key again: the ticket it issued is shown, to
    # print, and no second one is issued; the press after that is a new ticket.
    desk.unroute(issuing)
    for shown in ("K-002", "K-003"):
        with desk.expect_popup() as printing:
            card.locator("button[type=submit]").click()
        desk.wait_for_selector(f"#desk-issued[data-code='{shown}']")
        printing.value.close()
    assert desk_tickets() == [("K-001", patient), ("K-002", None), ("K-003", None)]
    assert len(keys) == 3 and keys[0] == keys[1] != keys[2]


def test_the_desk_searches_a_queue_longer_than_a_page_of_the_api(
    live_server, runtime, queue_hall, staff
):
    """The API gives 500 tickets a call: the desk reads the waiting on past them, so the last
    of a day of 620 is found by its number."""
    seed_waiting(runtime, queue_hall["queue"], 620)
    desk = staff("desk-1", "registrar")
    desk.goto(f"{live_server}/queue/desk?lang=ru")
    wait_live(desk)
    card = desk.locator(f".desk-queue[data-queue-id='{queue_hall['queue']}']")
    card.locator("[data-tickets] [data-code='K-001']").wait_for()
    card.locator("[data-filter]").fill("K-61")
    card.locator("[data-tickets] [data-code='K-619']").wait_for()
    codes = card.locator("[data-tickets] [data-code]").evaluate_all(
        "rows => rows.map(row => row.getAttribute('data-code'))"
    )
    assert codes == [f"K-{n}" for n in range(610, 620)]
    assert card.locator("[data-more]").is_hidden()
