"""The report page and the manager's dashboard in headless Chromium: a report built by a
worker shows its figures, chart and downloads; the dashboard follows a payment live."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from clinic import jobs
from clinic.jobs.models import Job
from clinic.payments import desk, invoices, shifts
from clinic.reports.models import ReportSubscription
from tests.browser.conftest import LateAnswer, new_tab, sign_in, wait_live
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

    # The same report by e-mail, weekly. A double click subscribes once: the second click
    # meets the button disabled until the first is answered, not a refusal as subscribed.
    posts = []
    page.on(
        "request",
        lambda r: posts.append(r.url) if r.method == "POST" and "subscriptions" in r.url else None,
    )
    late = LateAnswer()
    page.route("**/api/v1/reports/subscriptions", late)
    page.select_option("#subscribe-form select[name=frequency]", "weekly")
    page.fill("#subscribe-form input[name=email]", "boss@example.test")
    page.dblclick("#subscribe-form button[type=submit]")
    late.read(page)
    assert page.is_disabled("#subscribe-form button[type=submit]")
    late.give()
    page.wait_for_selector("#subscriptions li")
    page.unroute("**/api/v1/reports/subscriptions")
    assert "boss@example.test" in page.inner_text("#subscriptions")
    assert page.is_hidden("#report-error") and len(posts) == 1
    with runtime.db.session() as s:
        [sub] = s.scalars(select(ReportSubscription)).all()
    assert (sub.frequency, sub.params["report"], sub.params["by"]) == (
        "weekly",
        "revenue",
        "method",
    )

    # Unsubscribing from the keyboard: a refusal is said and the focus stays on the button;
    # once done, the focus goes to the next subscription's button, after the last to the
    # list's heading, never back to the page's top.
    page.fill("#subscribe-form input[name=email]", "second@example.test")
    page.click("#subscribe-form button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('#subscriptions li').length === 2")
    page.route("**/api/v1/reports/subscriptions/*", lambda route: route.abort("connectionreset"))
    page.focus("#subscriptions li:first-child button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#report-error:not([hidden])")
    assert page.inner_text("#report-error") == (
        "The server could not be reached. Check the connection and try again."
    )
    focused = "() => document.activeElement === document.querySelector('#subscriptions li button')"
    page.wait_for_function(focused)
    page.unroute("**/api/v1/reports/subscriptions/*")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#subscriptions li').length === 1")
    page.wait_for_function(focused)
    assert page.is_hidden("#report-error")
    page.keyboard.press("Enter")
    page.wait_for_function("() => !document.querySelector('#subscriptions li')")
    page.wait_for_function("() => document.activeElement.id === 'subscribe-title'")


def test_a_refused_report_is_said_in_the_page_language(page, live_server):
    """The API's reasons are English for scripts; the page words them in Russian, each
    after the field it is about, marks those fields and takes the focus to the first."""
    page.goto(f"{live_server}/reports?lang=ru")
    # A day out of range: the first day of the period, not the last, is the one to correct.
    page.fill("input[name=start]", "1800-03-10")
    page.fill("input[name=end]", "2026-03-01")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("#report-error:not([hidden])")
    assert page.inner_text("#report-error") == (
        "Проверьте параметры: С (день клиники): День от 1900-01-01 до 2999-12-31."
    )
    page.wait_for_function("() => document.activeElement.name === 'start'")
    assert page.get_attribute("input[name=start]", "aria-invalid") == "true"
    assert page.get_attribute("input[name=end]", "aria-invalid") is None
    page.fill("input[name=start]", "2026-03-10")  # corrected: no longer marked
    assert page.get_attribute("input[name=start]", "aria-invalid") is None

    page.click("#report-form button[type=submit]")
    page.wait_for_function("() => document.activeElement.name === 'end'")
    assert page.inner_text("#report-error") == (
        "Проверьте параметры: По (включительно): Период заканчивается раньше, чем начинается."
    )
    assert page.get_attribute("input[name=end]", "aria-invalid") == "true"
    assert page.get_attribute("input[name=start]", "aria-invalid") is None

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
        "Проверьте параметры: По (включительно): Период заканчивается раньше, чем начинается."
        " Отделение, Врач: Этот отчёт не фильтруется по отделению или врачу."
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


JOB_ANSWER = re.compile(r".*/api/v1/reports/[0-9a-f]{32}$")


def test_one_build_is_one_job_and_an_earlier_reports_late_figures_replace_nothing(
    page, live_server, runtime, make_user, worker
):
    make_day(runtime, make_user)
    posts, sent = [], []
    page.on(
        "request",
        lambda r: posts.append(r) if r.method == "POST" and r.url.endswith("/reports") else None,
    )
    page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(frame)))
    page.goto(f"{live_server}/reports?lang=en")
    page.select_option("#report-kind", "revenue")
    page.select_option("#report-by", "method")
    page.fill("input[name=start]", "2026-03-10")
    page.fill("input[name=end]", "2026-03-10")

    # A double click, then Enter, while the first Build is being answered: one job.
    building = LateAnswer()
    page.route("**/api/v1/reports", building)
    page.dblclick("#report-form button[type=submit]")
    first = building.read(page).json()["id"]
    assert page.is_disabled("#report-form button[type=submit]")
    page.press("input[name=end]", "Enter")
    page.wait_for_timeout(300)
    assert len(posts) == 1

    # The first report's figures come late, after a second report was asked for and shown:
    # they are not shown over it.
    figures = LateAnswer()
    page.route(JOB_ANSWER, figures)
    building.give()
    figures.read(page)
    page.select_option("#report-kind", "visits")
    page.select_option("#report-by", "status")
    page.click("#report-form button[type=submit]")
    page.wait_for_function(
        "() => document.getElementById('report-result-title').textContent.startsWith('Visits')"
    )
    figures.give()
    page.wait_for_timeout(1000)
    assert page.inner_text("#report-result-title").startswith("Visits")
    assert len(posts) == 2
    # The first report's channel was left: one channel more for each report built would
    # reach the socket's limit of channels.
    left = [json.loads(f) for f in sent if '"unsubscribe"' in f]
    assert {"op": "unsubscribe", "channel": f"job:{first}"} in left


def test_a_failed_report_is_said_by_its_code_and_lost_figures_are_asked_again(
    page, live_server, runtime
):
    """Without a worker: the test fails and finishes the jobs itself."""
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{live_server}/reports?lang=en")

    def build() -> str:
        with page.expect_response(
            lambda r: r.url.endswith("/api/v1/reports") and r.request.method == "POST"
        ) as answer:
            page.click("#report-form button[type=submit]")
        return answer.value.json()["id"]

    failures = [
        (
            {
                "type": "TooManyAttempts",
                "code": "too_many_attempts",
                "detail": "The job was given up after 3 attempts.",
            },
            "The report could not be built: its building broke off again and again."
            " Try again later.",
        ),
        (
            {"type": "TimedOut", "code": "time_limit", "detail": "The job took longer than 600 s."},
            "The report took longer than its time limit and was stopped."
            " Build it for a shorter period.",
        ),
        (
            {"type": "ProgrammingError", "detail": "(psycopg.errors.UndefinedColumn) SELECT x"},
            "The report could not be built. Try again.",
        ),
    ]
    for error, words in failures:
        job_id = build()
        with runtime.db.transaction() as s:
            jobs.fail_job(s, job_id, error)
        page.wait_for_function(
            "words => document.getElementById('report-error').textContent === words", arg=words
        )
        assert error["detail"] not in page.inner_text("body")
        page.wait_for_function("() => !document.querySelector('#report-form button').disabled")
    # The worker's words are for whoever looks into the console.
    assert any("SELECT x" in text for text in console)

    # The finished report's figures are lost twice on the way: said, and asked again.
    asked = []

    def lossy(route):
        asked.append(route.request.url)
        if len(asked) <= 2:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(JOB_ANSWER, lossy)
    job_id = build()
    with runtime.db.transaction() as s:
        result = {
            "report": {"report": "revenue", "start": "2026-03-10", "end": "2026-03-10"},
            "rows": 1,
            "headings": ["Method", "Payments"],
            "preview": [["card", "1"]],
            "totals": ["Total", "1"],
            "files": {},
            "chart": None,
        }
        jobs.finish_job(s, s.get(Job, job_id), result)
    page.wait_for_function(
        "() => document.getElementById('report-error').textContent.startsWith("
        "'The server could not be reached')"
    )
    page.wait_for_selector("#report-foot td", timeout=10_000)
    assert page.inner_text("#report-foot").split("\t") == ["Total", "1"]
    assert page.is_hidden("#report-error") and len(asked) == 3


def test_the_dashboard_reads_the_new_day_at_the_clinics_midnight_and_every_few_minutes(
    page, live_server
):
    """Left open overnight, the dashboard does not keep yesterday's figures under "Today"."""

    def figures(day: str, at: str, visits: int) -> dict:
        return {
            "day": day,
            "at": at,
            "revenue": {"received": 0, "refunded": 0, "net": 0, "payments": 0},
            "visits": {"total": visits, "by_status": {}},
            "queue": {"waiting": 0, "queues": []},
            "channels": [],
        }

    answers = [
        # Ten seconds before midnight in Tashkent (UTC+5).
        figures("2026-03-10", "2026-03-10T18:59:50+00:00", 3),
        figures("2026-03-11", "2026-03-10T19:00:01+00:00", 0),
        figures("2026-03-11", "2026-03-10T19:05:02+00:00", 1),
    ]
    reads = []

    def answer(route):
        reads.append(route.request.url)
        route.fulfill(json=answers[min(len(reads), len(answers)) - 1], status=200)

    page.route("**/api/v1/reports/dashboard", answer)
    page.clock.install(time=datetime(2026, 3, 10, 18, 59, 50, tzinfo=timezone.utc))
    page.goto(f"{live_server}/reports/dashboard?lang=en")
    page.wait_for_function("() => document.getElementById('dash-visits').textContent === '3'")
    assert page.inner_text("h1") == "Today 2026-03-10"

    page.clock.run_for(15_000)  # past the clinic's midnight, with no event on any channel
    page.wait_for_function(
        "() => document.getElementById('dash-visits').textContent === '0'", timeout=5_000
    )
    assert page.inner_text("h1") == "Today 2026-03-11" and len(reads) == 2

    page.clock.run_for(5 * 60 * 1000 + 1000)  # and a few minutes later, again
    page.wait_for_function(
        "() => document.getElementById('dash-visits').textContent === '1'", timeout=5_000
    )
    assert len(reads) == 3
