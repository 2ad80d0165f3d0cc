"""The desk's registration in headless Chromium (whose date field reads month first, as on a
computer set to English (US)): a date of birth typed day first, as registrars in Tashkent
write it, is registered as that day, and the desk corrects the record; a refused field is
marked and focused, and a registration whose answer was lost is not pressed again blindly."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from clinic.reference.models import Patient
from tests.browser.conftest import new_tab, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_birth_date_typed_day_first_at_the_desk_is_that_day(
    browser, live_server, runtime, make_user
):
    make_user("registrar", "desk-born")
    context, desk = new_tab(browser, locale="en-US")
    try:
        sign_in(desk, live_server, "desk-born")
        desk.goto(f"{live_server}/queue/desk?lang=ru")
        desk.click("#patient-new >> xpath=ancestor::details/summary")
        desk.fill("#patient-new input[name=full_name]", "Oʻralova Dilnoza")
        desk.select_option("#patient-new select[name=sex]", "F")
        desk.click("#patient-new input[name=birth_date]")
        desk.keyboard.type("01.05.1990")
        desk.click("#patient-new button[type=submit]")
        desk.wait_for_selector("#patient-chosen:not([hidden])")
        with runtime.db.session() as s:
            born = s.scalars(
                select(Patient.birth_date).where(Patient.full_name.like("O%ralova Dil%"))
            )
            assert born.all() == [date(1990, 5, 1)]

        # Her record corrected at the desk: a phone given, the day of birth mistyped.
        desk.click("#patient-edit-open")
        assert desk.input_value("#patient-edit input[name=birth_date]") == "01.05.1990"
        desk.fill("#patient-edit input[name=phone]", "8 90 123 45 67")
        desk.fill("#patient-edit input[name=birth_date]", "02.05.1990")
        desk.click("#patient-edit button[type=submit]")
        desk.wait_for_selector("#patient-edit", state="hidden")
        with runtime.db.session() as s:
            found = s.execute(select(Patient.phone, Patient.birth_date)).all()
            assert found == [("+998901234567", date(1990, 5, 2))]
    finally:
        context.close()


def test_a_registration_refused_or_unanswered_leaves_the_registrar_where_to_act(
    browser, live_server, runtime, make_user
):
    make_user("registrar", "desk-lost")
    context, desk = new_tab(browser)
    try:
        sign_in(desk, live_server, "desk-lost")
        desk.goto(f"{live_server}/queue/desk?lang=ru")
        desk.click("#patient-new >> xpath=ancestor::details/summary")
        desk.fill("#patient-new input[name=full_name]", "Toʻrayev Bahodir")
        desk.select_option("#patient-new select[name=sex]", "M")
        phone = "#patient-new input[name=phone]"
        desk.fill(phone, "123")
        desk.focus("#patient-new button[type=submit]")
        desk.keyboard.press("Enter")
        desk.wait_for_selector("#desk-error:not([hidden])")
        # The refused phone has the keyboard, marked for a screen reader, until corrected.
        desk.wait_for_selector(f"{phone}[aria-invalid=true]")
        assert desk.evaluate("document.activeElement.name") == "phone"
        desk.keyboard.type("4567")
        assert desk.get_attribute(phone, "aria-invalid") is None

        # Registered, the answer lost on its way back: "try again" would register him twice.
        def answer_lost(route):
            route.fetch()
            route.abort("connectionreset")

        desk.route("**/api/v1/patients", answer_lost)
        desk.fill(phone, "")
        desk.focus("#patient-new button[type=submit]")
        desk.keyboard.press("Enter")
        desk.wait_for_function(
            "() => document.getElementById('desk-error').textContent.includes('возможно,')"
        )
        assert desk.inner_text("#desk-error") == (
            "Ответ сервера потерян: пациент, возможно, зарегистрирован. Найдите его поиском, "
            "прежде чем регистрировать снова."
        )
        assert desk.evaluate("document.activeElement.textContent.trim()") == "Зарегистрировать"
        with runtime.db.session() as s:
            assert s.scalars(select(Patient.full_name)).all() == ["Toʻrayev Bahodir"]
    finally:
        context.close()
