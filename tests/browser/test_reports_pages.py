"""The report page and the manager's dashboard in headless Chromium: a report built by a
worker shows its figures, chart and downloads; the dashboard follows a payment live."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.payments import desk, invoices, shifts
from clinic.reports.models import ReportSubscription
from tests.browser.conftest import new_tab, sign_in, wait_live
from tests.payments.fixtures import make_patient, make_service
from tests.reports.fixtures import make_day

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def page(browser, live_server, make_user):
    make_user("manager", "boss")
    context, tab = new_tab(browser)
    sign_in(tab, live_server, "boss")
    yield tab
    context.close()


def test_a_report_is_built_by_a_worker_and_shown_with_its_chart_and_files(
    page, live_server, runtime, make_user, worker
):
    make_day(runtime, make_user)
    page.goto(f"{live_server}/reports?lang=en")
    page.select_option("#report-kind", "revenue")
    page.select_option("#report-by", "method")
    page.fill("input[name=start]", "2026-03-10")
    page.fill("input[name=end]", "2026-03-10")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("#report-foot td")
    assert page.inner_text("#report-foot").split("\t") == [
        "Total", "2", "120,000", "20,000", "100,000",
    ]  # fmt: skip
    assert page.locator("#report-body tr").count() == 2
    page.wait_for_function(
        "() => { const i = document.getElementById('report-chart');"
        " return !i.hidden && i.complete && i.naturalWidth > 0; }"
    )
    links = page.locator("#report-downloads a")
    assert [links.nth(i).inner_text() for i in range(links.count())] == [
        "Download CSV", "Download XLSX", "Download PDF",
    ]  # fmt: skip

    # The same report by e-mail, weekly.
    page.select_option("#subscribe-form select[name=frequency]", "weekly")
    page.fill("#subscribe-form input[name=email]", "boss@example.test")
    page.click("#subscribe-form button[type=submit]")
    page.wait_for_selector("#subscriptions li")
    assert "boss@example.test" in page.inner_text("#subscriptions")
    with runtime.db.session() as s:
        [sub] = s.scalars(select(ReportSubscription)).all()
    assert (sub.frequency, sub.params["report"], sub.params["by"]) == (
        "weekly",
        "revenue",
        "method",
    )
    page.click("#subscriptions button")
    page.wait_for_function("() => !document.querySelector('#subscriptions li')")


def test_a_refused_report_is_said_in_the_page_language(page, live_server):
    """The API's reasons are English for scripts; the page words them in Russian."""
    page.goto(f"{live_server}/reports?lang=ru")
    page.fill("input[name=start]", "2026-03-10")
    page.fill("input[name=end]", "2026-03-01")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("#report-error:not([hidden])")
    assert page.inner_text("#report-error") == (
        "Проверьте параметры: Период заканчивается раньше, чем начинается."
    )

    # The page goes by the reasons' codes, not by the English words: reworded messages, and
    # two fields refused for one reason, read as the page's own words, each once.
    reworded = {
        "type": "about:blank",
        "title": "Validation failed",
        "status": 422,
        "detail": "The report parameters are not valid.",
        "errors": {
            "end": ["Ends before it begins."],
            "department_id": ["No filter here."],
            "doctor_id": ["No filter here."],
        },
        "reasons": {
            "end": ["period_reversed"],
            "department_id": ["not_filtered"],
            "doctor_id": ["not_filtered"],
        },
    }
    page.route(
        "**/api/v1/reports",
        lambda route: route.fulfill(
            json=reworded, status=422, content_type="application/problem+json"
        ),
    )
    page.evaluate("document.getElementById('report-error').hidden = true")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("#report-error:not([hidden])")
    assert page.inner_text("#report-error") == (
        "Проверьте параметры: Период заканчивается раньше, чем начинается."
        " Этот отчёт не фильтруется по отделению или врачу."
    )


def test_the_dashboard_follows_a_payment_live(page, live_server, runtime, make_user):
    cashier = make_user("cashier", "kassa")
    with runtime.db.transaction() as s:
        service = make_service(s, 15_000_000)
        patient = make_patient(s)
        shifts.open_shift(s, cashier_id=cashier, opening_cash=0)
    page.goto(f"{live_server}/reports/dashboard?lang=en")
    wait_live(page)
    page.wait_for_function("() => document.getElementById('dash-payments').textContent === '0'")
    with runtime.db.transaction() as s:
        invoice = invoices.create_invoice(
            s, patient_id=patient, lines=[{"service_id": service}], actor="kassa"
        )
        desk.take_payment(s, invoice.id, cashier_id=cashier, actor="kassa", method="card")
    page.wait_for_function("() => document.getElementById('dash-payments').textContent === '1'")
    assert page.inner_text("#dash-revenue") == "150,000 UZS"


def test_the_dashboard_names_the_visit_statuses_in_the_page_language(page, live_server):
    """Today's visits by status read "Неявка: 1", not the status's code "no_show: 1"."""
    today = {
        "day": "2026-03-10",
        "at": "2026-03-10T05:00:00+00:00",
        "revenue": {"received": 0, "refunded": 0, "net": 0, "payments": 0},
        "visits": {"total": 3, "by_status": {"scheduled": 2, "no_show": 1}},
        "queue": {"waiting": 0, "queues": []},
        "channels": [],
    }
    page.route("**/api/v1/reports/dashboard", lambda route: route.fulfill(json=today, status=200))
    page.goto(f"{live_server}/reports/dashboard?lang=ru")
    page.wait_for_function("() => document.getElementById('dash-visits').textContent === '3'")
    assert page.inner_text("#dash-visit-statuses") == "Запланирован: 2, Неявка: 1"


def test_the_dashboard_writes_its_tiyin_in_the_page_language_as_the_reports_do(
    page, live_server, runtime, make_user
):
    """1 250 000,50 сум received and 0,50 сум given back read so, not 1 250 000 and 0."""
    cashier = make_user("cashier", "kassa")
    with runtime.db.transaction() as s:
        service = make_service(s, 125_000_050)
        patient = make_patient(s)
        shifts.open_shift(s, cashier_id=cashier, opening_cash=0)
        invoice = invoices.create_invoice(
            s, patient_id=patient, lines=[{"service_id": service}], actor="kassa"
        )
        desk.take_payment(s, invoice.id, cashier_id=cashier, actor="kassa", method="card")
    page.goto(f"{live_server}/reports/dashboard?lang=ru")
    wait_live(page)
    page.wait_for_function("() => document.getElementById('dash-payments').textContent === '1'")
    assert page.inner_text("#dash-revenue") == "1 250 000,50 сум"
    with runtime.db.transaction() as s:
        desk.refund_at_desk(
            s, invoice.id, cashier_id=cashier, actor="kassa", amount=50, reason="сдача",
            may_refund_large=False, large_from=runtime.settings.refund_approval_from,
        )  # fmt: skip
    page.wait_for_function(
        "() => document.getElementById('dash-refunded').textContent === '0,50 сум'"
    )
    assert page.inner_text("#dash-revenue") == "1 250 000 сум"
