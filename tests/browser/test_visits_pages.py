"""The appointments calendar in headless Chromium: a registrar books a slot and another
registrar's calendar shows it taken within a second; the reschedule dialog follows the job
and moves only to a time chosen for the day it shows, and cancels with a reason of its own; a
patient booked for now is checked in from the calendar (one whose record was deactivated
since is told why not), and again once the desk cancelled his ticket by mistake; a reload or
a booking whose answer is lost is made good."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select, update

from clinic.accounts.models import User
from clinic.base import iso
from clinic.queue import admin as queue_admin
from clinic.queue import calls
from clinic.queue.models import Ticket
from clinic.reference import directory as reference
from clinic.reference import patients as patient_records
from clinic.reference import price_list
from clinic.visits import booking, schedules
from clinic.visits.models import Visit
from tests.browser.conftest import LateAnswer, new_tab, sign_in, wait_live
from tests.visits.conftest import (
    ALL_DAY,
    WEEKDAYS,
    clear_of_midnight,
    make_clinic,
    next_week_day,
    slot_near,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def signed_in(browser, live_server, make_user):
    """``signed_in(name)``: a registrar's calendar tab, in a browser context of its own."""
    contexts = []

    def open_as(name: str):
        make_user("registrar", name)
        context, tab = new_tab(browser)
        contexts.append(context)
        sign_in(tab, live_server, name)
        return tab

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def registrars(signed_in):
    """Two registrars at their own desks."""
    return [signed_in("reg-a"), signed_in("reg-b")]


@pytest.fixture
def registrar(signed_in):
    """One registrar: what the others would see is not the question."""
    return signed_in("reg-a")


def _pick(tab, slot: str) -> None:
    """Click the free slot ``slot`` until the booking form holds it: the calendar draws its
    slots again when its socket's first snapshot arrives, and a click that meets a slot
    while it is replaced picks nothing (the registrar would click again)."""
    for _ in range(3):
        tab.click(slot)
        try:
            tab.wait_for_function(
                "() => document.querySelector('#booking-form [name=starts_at]').value !== ''",
                timeout=3000,
            )
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"the booking form never held {slot}")


def _open_move(tab, slot: str) -> None:
    """Click the taken slot ``slot`` until its move dialog is open: as :func:`_pick`, a click
    that meets the slot while the calendar draws it again opens nothing."""
    for _ in range(3):
        tab.click(slot)
        try:
            tab.wait_for_selector("#reschedule-dialog[open]", timeout=3000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"the move dialog of {slot} never opened")


@pytest.mark.timed
def test_a_booking_shows_taken_on_another_registrars_calendar_within_a_second_and_moves(
    live_server, runtime, registrars, worker
):
    clinic = make_clinic(runtime, doctors=2, hours=("09:00", "11:00"))
    day = next_week_day(runtime.settings.tz)
    doctor = clinic.doctor_ids[0]
    slot = iso(clinic.at(day, 9, 40))
    url = f"{live_server}/visits/calendar?lang=en&department={clinic.department_id}&day={day}"
    first, second = registrars
    for tab in registrars:
        tab.goto(url)
        wait_live(tab)
        tab.wait_for_selector(f"section[data-doctor='{doctor}'] .slot--free[data-starts='{slot}']")

    _pick(first, f"section[data-doctor='{doctor}'] .slot--free[data-starts='{slot}']")
    # The patient is found by his phone as he says it, and chosen: his number fills the form.
    with runtime.db.session() as s:
        phone = patient_records.get_patient(s, clinic.patient_ids[0]).phone
    first.fill("#booking-patient-search input[name=q]", f"{phone[4:6]} {phone[6:9]} {phone[9:]}")
    first.click("#booking-patient-search button[type=submit]")
    first.click(f"#booking-patients [data-patient-id='{clinic.patient_ids[0]}'] button")
    assert first.input_value("#booking-form input[name=patient_id]") == str(clinic.patient_ids[0])
    first.click("#booking-form button[type=submit]")
    first.wait_for_selector("#calendar-message:not([hidden])")
    taken = f"section[data-doctor='{doctor}'] .slot--taken[data-starts='{slot}']"
    second.wait_for_selector(taken, timeout=1000)
    free = f"section[data-doctor='{doctor}'] .slot--free[data-starts='{slot}']"
    assert second.locator(free).count() == 0

    with runtime.db.session() as s:
        visit = s.scalars(select(Visit)).one()

    _open_move(second, taken)
    second.select_option("#reschedule-form select[name=starts_at]", iso(clinic.at(day, 10, 20)))
    second.fill("#reschedule-form input[name=reason]", "просьба пациента")
    second.click("#reschedule-form button[value=move]")
    second.wait_for_selector("#reschedule-dialog [data-progress]:not([hidden])")
    second.wait_for_function(
        "() => document.querySelector('#reschedule-dialog [data-result]').textContent"
        ".startsWith('Moved to')"
    )
    assert "10:20" in second.inner_text("#reschedule-dialog [data-result]")
    moved = iso(clinic.at(day, 10, 20))
    first.wait_for_selector(f"section[data-doctor='{doctor}'] .slot--taken[data-starts='{moved}']")
    with runtime.db.session() as s:
        assert s.get(Visit, visit.id).starts_at == clinic.at(day, 10, 20)


def test_a_refusal_at_a_field_is_shown_in_the_page_language(live_server, runtime, registrar):
    clinic = make_clinic(runtime, hours=("09:00", "10:00"))
    day = next_week_day(runtime.settings.tz)
    doctor = clinic.doctor_ids[0]
    slot = f"section[data-doctor='{doctor}'] .slot--free[data-starts='{iso(clinic.at(day, 9))}']"
    with runtime.db.transaction() as s:  # a price list's long name, as clinics write them
        names = {f"name_{lang}": "Ультразвуковое исследование органов брюшной полости" * 2
                 for lang in ("ru", "uz", "en")}  # fmt: skip
        price_list.create_service(
            s,
            {"code": "USI-1", "price": 20_000_000, "department_id": clinic.department_id, **names},
        )
    tab = registrar
    for lang, words in (("ru", "Пациента с таким номером нет."), ("uz", "Bu raqamli bemor yo'q.")):
        tab.goto(f"{live_server}/visits/calendar?lang={lang}&doctor={doctor}&day={day}")
        wait_live(tab)
        # Its name in the service list does not push the form past its card.
        card = tab.locator(".booking").bounding_box()
        chooser = tab.locator("#booking-form select[name=service_id]").bounding_box()
        assert chooser["x"] + chooser["width"] <= card["x"] + card["width"] - 8
        _pick(tab, slot)
        tab.fill("#booking-form input[name=patient_id]", "999999")  # nobody has it
        tab.click("#booking-form button[type=submit]")
        error = "#booking-form [data-error-for=patient_id]:not([hidden])"
        tab.wait_for_selector(error)
        # The API says "no such patient" for scripts; the registrar reads her own language.
        assert tab.inner_text(error) == words
    with runtime.db.session() as s:
        assert s.scalars(select(Visit)).first() is None


def test_a_patient_number_left_empty_or_mistyped_is_said_so_and_a_deactivated_one_too(
    live_server, runtime, registrar
):
    clinic = make_clinic(runtime, hours=("09:00", "10:00"))
    with runtime.db.transaction() as s:
        patient_records.deactivate_patient(s, clinic.patient_ids[0])
    day = next_week_day(runtime.settings.tz)
    doctor = clinic.doctor_ids[0]
    slot = f"section[data-doctor='{doctor}'] .slot--free[data-starts='{iso(clinic.at(day, 9))}']"
    tab = registrar
    bookings = []
    tab.on("request", lambda r: r.method == "POST" and bookings.append(r.url))
    tab.goto(f"{live_server}/visits/calendar?lang=ru&doctor={doctor}&day={day}")
    wait_live(tab)
    _pick(tab, slot)
    error = "#booking-form [data-error-for=patient_id]"
    # Said at the field before anything is sent: the API's refusal of such a number came at
    # the same field with the same status as a deactivated record's, and was worded as one.
    for typed, words in (
        ("", "Введите номер пациента или найдите пациента."),
        ("12a", "Номер пациента пишется только цифрами."),
    ):
        tab.fill("#booking-form input[name=patient_id]", typed)
        tab.click("#booking-form button[type=submit]")
        tab.wait_for_function(
            "([node, words]) => document.querySelector(node).textContent === words",
            arg=[error, words],
        )
        assert tab.is_visible(error)
    assert bookings == []
    tab.fill("#booking-form input[name=patient_id]", str(clinic.patient_ids[0]))
    tab.click("#booking-form button[type=submit]")
    deactivated = "Карта этого пациента отключена. Найдите пациента заново."
    tab.wait_for_function(
        "([node, words]) => document.querySelector(node).textContent === words",
        arg=[error, deactivated],
    )
    # On file but deactivated: not "nobody has this number", which sends her to register him.
    assert len(bookings) == 1
    with runtime.db.session() as s:
        assert s.scalars(select(Visit)).first() is None


def test_a_visit_booked_for_a_service_dropped_since_still_says_what_it_is_for(
    live_server, runtime, registrar
):
    clinic = make_clinic(runtime, hours=("09:00", "10:00"))
    day = next_week_day(runtime.settings.tz)
    with runtime.db.transaction() as s:
        visit = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
            starts_at=clinic.at(day, 9), tz=clinic.tz, service_ids=[clinic.service_id],
        )  # fmt: skip
        price_list.deactivate_service(s, clinic.service_id)
    tab = registrar
    tab.goto(f"{live_server}/visits/calendar?lang=ru&doctor={clinic.doctor_ids[0]}&day={day}")
    wait_live(tab)
    booked = f".slot--taken[data-visit='{visit.id}']"
    tab.wait_for_selector(booked)
    # The doctor reads what the patient comes for, though the price list offers it no more.
    assert tab.inner_text(f"{booked} .slot__service") == "Консультация · 20 мин"


def test_a_move_refused_without_a_field_is_said_in_the_dialog(live_server, runtime, registrar):
    """The dialog covers the page: a refusal it has no field for (here the registrar's
    session has ended) is said inside it, not in the page's error line behind it."""
    clinic = make_clinic(runtime, hours=("09:00", "10:00"))
    day = next_week_day(runtime.settings.tz)
    doctor = clinic.doctor_ids[0]
    with runtime.db.transaction() as s:
        booking.book(
            s,
            patient_id=clinic.patient_ids[0],
            doctor_id=doctor,
            starts_at=clinic.at(day, 9),
            tz=runtime.settings.tz,
            actor="desk",
        )
    tab = registrar
    tab.goto(f"{live_server}/visits/calendar?lang=ru&doctor={doctor}&day={day}")
    wait_live(tab)
    _open_move(
        tab, f"section[data-doctor='{doctor}'] .slot--taken[data-starts='{iso(clinic.at(day, 9))}']"
    )
    tab.select_option("#reschedule-form select[name=starts_at]", iso(clinic.at(day, 9, 40)))
    tab.fill("#reschedule-form input[name=reason]", "просьба пациента")
    # Ended on the server, as a password change ends it: clearing the browser's cookies would
    # race a response still on its way that sets the session cookie again.
    with runtime.db.transaction() as s:
        s.execute(
            update(User)
            .where(User.username == "reg-a")
            .values(session_version=User.session_version + 1)
        )
    tab.click("#reschedule-form button[value=move]")
    said = "#reschedule-dialog [data-result]:not(:empty)"
    tab.wait_for_selector(said)
    assert tab.inner_text(said) == "Сеанс завершён. Войдите снова."


def test_the_move_dialog_moves_only_to_a_time_chosen_and_cancels_with_a_reason_of_its_own(
    live_server, runtime, registrar
):
    clinic = make_clinic(runtime, hours=("09:00", "10:00"))
    day = next_week_day(runtime.settings.tz)
    other_day = day + timedelta(days=1)
    doctor = clinic.doctor_ids[0]
    with runtime.db.transaction() as s:
        visit_id = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=doctor, starts_at=clinic.at(day, 9),
            tz=clinic.tz,
        ).id  # fmt: skip
        # The other day's 09:20 is taken: its free times are not the calendar day's.
        booking.book(
            s, patient_id=clinic.patient_ids[1], doctor_id=doctor,
            starts_at=clinic.at(other_day, 9, 20), tz=clinic.tz,
        )  # fmt: skip
    tab = registrar
    tab.goto(f"{live_server}/visits/calendar?lang=ru&doctor={doctor}&day={day}")
    wait_live(tab)
    late = LateAnswer()  # the calendar day's free times, answered once the other day's are in
    tab.route("**/api/v1/visits/slots?*visit_id=*", late)
    tab.click(f".slot--taken[data-visit='{visit_id}']")
    assert any(slot["starts_at"] == iso(clinic.at(day, 9, 20)) for slot in late.read(tab).json())
    tab.fill("#reschedule-form input[name=day]", other_day.isoformat())
    tab.dispatch_event("#reschedule-form input[name=day]", "change")
    times = "#reschedule-form select[name=starts_at] option"
    offered = [iso(clinic.at(other_day, 9)), iso(clinic.at(other_day, 9, 40))]  # 09:20 taken
    tab.wait_for_function(f"() => document.querySelectorAll('{times}').length === 3")
    late.give()
    tab.wait_for_timeout(300)  # time for the page to draw what it was answered
    # The list starts on "choose a time", then the other day's times, not the calendar day's.
    listed = tab.locator(times).evaluate_all("(all) => all.map((o) => [o.value, o.text])")
    assert listed == [["", "— выберите время —"], [offered[0], "09:00"], [offered[1], "09:40"]]

    # The move and the cancellation each have their reason, and Enter in one presses its own
    # form's button only. The move's, without a time chosen: refused at the field, in the
    # page's language, and nothing is sent.
    sent = []
    tab.on("request", lambda r: r.method == "POST" and sent.append((r.url, r.post_data_json)))
    tab.fill("#reschedule-form input[name=reason]", "просьба пациента")
    tab.press("#reschedule-form input[name=reason]", "Enter")
    refused = "#reschedule-form [data-error-for=starts_at]:not([hidden])"
    tab.wait_for_selector(refused)
    assert tab.inner_text(refused) == "Выберите время, на которое переносится визит."
    assert tab.inner_text("#reschedule-dialog [data-result]") == ""
    assert sent == []
    # The cancellation's cancels, with its own reason: not the one typed for the move.
    tab.select_option("#cancel-visit-form select[name=by]", "patient")
    tab.fill("#cancel-visit-form input[name=reason]", "пациент отказался")
    tab.press("#cancel-visit-form input[name=reason]", "Enter")
    tab.wait_for_function(
        "() => document.querySelector('#reschedule-dialog [data-result]').textContent"
        " === 'Визит отменён.'"
    )
    assert [(url.rsplit("/", 2)[-2:], body) for url, body in sent] == [
        ([str(visit_id), "cancel"], {"by": "patient", "reason": "пациент отказался"})
    ]
    with runtime.db.session() as s:
        assert s.get(Visit, visit_id).cancel_reason == "пациент отказался"


def test_a_patient_booked_for_now_is_checked_in_from_the_calendar_unless_his_record_is_off(
    live_server, runtime, registrar
):
    clear_of_midnight(runtime)  # booked, checked in and seen within one clinic day
    clinic = make_clinic(runtime, doctors=2, **ALL_DAY)
    doctor = clinic.doctor_ids[0]
    with runtime.db.transaction() as s:
        queue_admin.create_queue(
            s,
            {
                "code": "ther",
                "department_id": clinic.department_id,
                "closes_at": time(23, 59, 59, 999999),
            },
        )
    starts = slot_near(runtime)
    with runtime.db.transaction() as s:
        visit_id = booking.book(
            s,
            patient_id=clinic.patient_ids[0],
            doctor_id=doctor,
            starts_at=starts,
            tz=runtime.settings.tz,
            now=starts - timedelta(hours=1),
        ).id
    day = starts.astimezone(runtime.settings.tz).date()
    tab = registrar
    tab.goto(f"{live_server}/visits/calendar?lang=ru&department={clinic.department_id}&day={day}")
    wait_live(tab)
    visit = f"section[data-doctor='{doctor}'] .slot--taken[data-visit='{visit_id}']"
    tab.wait_for_selector(f"{visit}[data-status=scheduled]")
    assert tab.inner_text(f"{visit} .slot__status") == "Запланирован"
    # His record deactivated since the booking: not checked in, and said so, not "no patient
    # has this number".
    with runtime.db.transaction() as s:
        patient_records.deactivate_patient(s, clinic.patient_ids[0])
    tab.click(f"button[data-check-in='{visit_id}']")
    tab.wait_for_selector("#calendar-error:not([hidden])")
    assert tab.inner_text("#calendar-error") == (
        "Карта этого пациента отключена. Найдите пациента заново."
    )
    with runtime.db.transaction() as s:
        patient_records.activate_patient(s, clinic.patient_ids[0])

    # "Отметить приход" stays inside its doctor's column, not under the next doctor's slots.
    # Both measured in one reading of the page: the calendar redraws its columns when its
    # second load answers, and a box read between two redraws would be of a detached one.
    check_in = f"button[data-check-in='{visit_id}']"
    column, button = tab.evaluate(
        """([column, button]) => [column, button].map((selector) => {
             const box = document.querySelector(selector).getBoundingClientRect();
             return { x: box.left, width: box.width };
           })""",
        [f"section[data-doctor='{doctor}']", check_in],
    )
    assert column["x"] <= button["x"]
    assert button["x"] + button["width"] <= column["x"] + column["width"]
    tab.click(check_in)
    tab.wait_for_selector("#calendar-message:not([hidden])")
    with runtime.db.session() as s:
        saved = s.get(Visit, visit_id)
        code = s.get(Ticket, saved.ticket_id).code
        assert saved.status == "arrived"
    assert tab.inner_text("#calendar-message") == f"Пациент отмечен: талон {code}"
    tab.wait_for_selector(f"{visit}[data-status=arrived]")
    assert tab.inner_text(f"{visit} .slot__status") == "Пришёл"
    assert tab.locator(f"button[data-check-in='{visit_id}']").count() == 0

    # The desk cancels his ticket by mistake while he waits: the open calendar hears it and
    # offers to check him in again, which issues a new ticket and says its code.
    with runtime.db.transaction() as s:
        calls.cancel(s, s.get(Ticket, saved.ticket_id), actor="desk", reason="ошибка")
    tab.click(f"button[data-check-in-again='{visit_id}']")
    tab.wait_for_function(
        "(said) => { const m = document.getElementById('calendar-message');"
        " return !m.hidden && m.textContent !== said; }",
        arg=f"Пациент отмечен: талон {code}",
    )
    with runtime.db.session() as s:
        again = s.get(Ticket, s.get(Visit, visit_id).ticket_id)
        assert again.status == "waiting" and again.code != code
        new_code = again.code
    assert tab.inner_text("#calendar-message") == f"Пациент отмечен: талон {new_code}"
    assert tab.locator(f"button[data-check-in-again='{visit_id}']").count() == 0


def test_the_calendar_takes_a_doctor_who_joins_and_one_renamed_without_a_reload(
    live_server, runtime, registrar
):
    clinic = make_clinic(runtime, doctors=1, hours=("09:00", "10:00"))
    day = next_week_day(runtime.settings.tz)
    first = clinic.doctor_ids[0]
    tab = registrar
    renamed = []

    def rename_then_serve(route):
        # Asked for once the page's HTML, naming the doctor as he was, is in: the change comes
        # before the calendar's subscription, as no event.
        if not renamed:
            with runtime.db.transaction() as s:
                reference.update_doctor(s, first, {"full_name": "Каримова Нилуфар"})
            renamed.append(True)
        route.continue_()

    tab.route("**/static/js/visits.js*", rename_then_serve)
    tab.goto(f"{live_server}/visits/calendar?lang=en&department={clinic.department_id}&day={day}")
    wait_live(tab)
    assert renamed
    tab.wait_for_selector(f"section[data-doctor='{first}'] h2:text-is('Каримова Нилуфар')")
    tab.wait_for_selector(f"section[data-doctor='{first}'] .slot--free")
    tab.evaluate("window.notReloaded = true")

    # A doctor joins the department with his hours.
    with runtime.db.transaction() as s:
        joined = reference.create_doctor(
            s, {"full_name": "Ёқубов Жасур", "department_id": clinic.department_id}
        ).id
        week = [{"weekday": d, "starts": "11:00", "ends": "12:00"} for d in WEEKDAYS]
        schedules.set_week(s, joined, week)
    eleven = iso(clinic.at(day, 11, 0))
    tab.wait_for_selector(f"section[data-doctor='{joined}'] .slot--free[data-starts='{eleven}']")
    assert tab.locator(f"section[data-doctor='{first}'] .slot--free").count() == 3
    # The booking form names a slot's doctor as the calendar does now, not as it loaded.
    _pick(tab, f"section[data-doctor='{joined}'] .slot--free[data-starts='{eleven}']")
    assert tab.inner_text("#booking-slot") == "11:00 · Ёқубов Жасур"
    tab.click(f"section[data-doctor='{first}'] .slot--free[data-starts='{iso(clinic.at(day, 9))}']")
    assert tab.inner_text("#booking-slot") == "09:00 · Каримова Нилуфар"
    moving_to = tab.locator("#reschedule-form select[name=doctor_id] option")
    assert set(moving_to.evaluate_all("(all) => all.map((o) => Number(o.value))")) == {
        first,
        joined,
    }
    assert tab.evaluate("window.notReloaded") is True


def test_an_answer_older_than_a_booking_does_not_show_its_slot_free_again(
    live_server, runtime, registrar
):
    """The calendar loads its day again at each change it hears. Changes close together make
    loads that overlap, and their answers may come in any order: one asked before a booking
    and answered after the load that followed it would show the booked slot free again. It
    is not drawn."""
    clinic = make_clinic(runtime, doctors=1, hours=("09:00", "10:00"))
    day = next_week_day(runtime.settings.tz)
    doctor = clinic.doctor_ids[0]
    nine = iso(clinic.at(day, 9, 0))
    free = f"section[data-doctor='{doctor}'] .slot--free[data-starts='{nine}']"
    taken = f"section[data-doctor='{doctor}'] .slot--taken[data-starts='{nine}']"
    tab = registrar
    tab.goto(f"{live_server}/visits/calendar?lang=en&department={clinic.department_id}&day={day}")
    wait_live(tab)
    tab.wait_for_selector(free)
    late = LateAnswer()  # read now, before the booking, and given after it is shown
    tab.route("**/api/v1/visits/slots?*", late)
    # A change that frees or takes no slot (the doctor renamed): the day is loaded again.
    with runtime.db.transaction() as s:
        reference.update_doctor(s, doctor, {"full_name": "Каримова Нилуфар"})
    stale = late.read(tab)
    with runtime.db.transaction() as s:
        booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=doctor, starts_at=clinic.at(day, 9),
            tz=clinic.tz, service_ids=[clinic.service_id],
        )  # fmt: skip
    tab.wait_for_selector(taken)

    assert any(slot["starts_at"] == nine for slot in stale.json())
    late.give()
    tab.wait_for_timeout(500)  # time for the page to draw what it was answered
    assert tab.locator(taken).count() == 1 and tab.locator(free).count() == 0


def test_a_reload_or_a_booking_whose_answer_is_lost_is_made_good(live_server, runtime, registrar):
    clinic = make_clinic(runtime, hours=("09:00", "10:00"))
    day = next_week_day(runtime.settings.tz)
    doctor = clinic.doctor_ids[0]
    nine, nine_twenty = iso(clinic.at(day, 9)), iso(clinic.at(day, 9, 20))
    tab = registrar
    tab.goto(f"{live_server}/visits/calendar?lang=uz&doctor={doctor}&day={day}")
    wait_live(tab)
    tab.wait_for_selector(f".slot--free[data-starts='{nine}']")

    # The reloads that follow a booking at another desk fail (one or more: a change may be
    # heard twice) until the failure is shown: the reload is asked again (no other change
    # comes to ask it), and what its failure said goes.
    network = {"down": True}

    def fail_while_down(route):
        if network["down"]:
            route.abort()
        else:
            route.continue_()

    tab.route("**/api/v1/visits/slots?*", fail_while_down)
    with runtime.db.transaction() as s:
        booking.book(
            s, patient_id=clinic.patient_ids[1], doctor_id=doctor, starts_at=clinic.at(day, 9),
            tz=clinic.tz,
        )  # fmt: skip
    tab.wait_for_selector("#calendar-error:not([hidden])")
    network["down"] = False
    tab.wait_for_selector(f".slot--taken[data-starts='{nine}']")
    # The visits' reading may draw the slot taken before the slots are asked again.
    tab.wait_for_selector("#calendar-error", state="hidden")

    # A booking reaches the server and its answer is lost: pressed again, it is found booked
    # (sent again, it would be refused, the doctor busy with this very visit).
    _pick(tab, f".slot--free[data-starts='{nine_twenty}']")
    tab.fill("#booking-form input[name=patient_id]", str(clinic.patient_ids[0]))
    lost = []

    def lose_the_answer(route):
        if route.request.method != "POST" or lost:
            route.continue_()
        else:
            lost.append(route.fetch())
            route.abort()

    tab.route("**/api/v1/visits", lose_the_answer)
    tab.click("#booking-form button[type=submit]")
    tab.wait_for_selector("#calendar-error:not([hidden])")
    assert lost[0].status == 201
    tab.click("#booking-form button[type=submit]")
    tab.wait_for_selector("#calendar-message:not([hidden])")
    assert tab.inner_text("#calendar-message") == "Yozildi."
    assert tab.is_hidden("#calendar-error") and tab.is_hidden("[data-error-for=starts_at]")
    with runtime.db.session() as s:
        booked = s.scalars(select(Visit).where(Visit.patient_id == clinic.patient_ids[0])).all()
        assert [visit.starts_at for visit in booked] == [clinic.at(day, 9, 20)]
