"""The price list page in headless Chromium: an import with live progress, and the socket
coming back by itself after the server drops it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic import jobs
from clinic.events import record_event
from clinic.models import Job
from tests.browser.conftest import new_tab, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROWS = 120
BAD_ROWS = {57: "price", 111: "name_en"}  # data row index -> the column made wrong
# The import itself runs on the test's worker: under branch coverage, beside the suite's long
# tests, it has taken more than the default 30 s wait. What is checked is that it ends and how.
IMPORT_WAIT_MS = 90_000


@pytest.fixture
def settings(shared, database_urls, backend):
    # Small batches: the import reports progress several times on its way to 100 %.
    return shared.settings(database_urls, backend, CLINIC_IMPORT_BATCH_SIZE=30)


@pytest.fixture
def page(browser, live_server, make_user):
    make_user("admin", "importer")
    context, tab = new_tab(browser)
    sign_in(tab, live_server, "importer")
    yield tab
    context.close()


def price_list_csv(path):
    """ROWS services, two of them wrong; row numbers as the user sees them (header = 1)."""
    lines = ["code,name_ru,name_uz,name_en,price,duration_minutes"]
    for i in range(ROWS):
        # Both ways people write sums: grouped by spaces, or with tiyin after a point.
        price = f"{(i + 1) * 1000:,}".replace(",", " ") if i % 2 else f"{(i + 1) * 750}.50"
        row = [f"SV-{i:03d}", f"Услуга {i}", f"Xizmat {i}", f"Service {i}", price, "20"]
        if BAD_ROWS.get(i) == "price":
            row[4] = "one hundred"
        if BAD_ROWS.get(i) == "name_en":
            row[3] = ""
        lines.append(",".join(row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def drop_sockets_of(app, channel: str) -> int:
    """Close, from the server side, every socket subscribed to ``channel``."""
    hub = app.extensions["clinic.ws"]["hub"]
    with hub._lock:
        connections = list(hub._subs.get(channel, ()))
    for connection in connections:
        connection.shutdown(1012, "restarting")
    return len(connections)


def test_an_uploaded_price_list_shows_live_progress_then_the_summary_and_the_new_services(
    live_server, worker, page, tmp_path
):
    page.goto(f"{live_server}/services?lang=en")
    page.wait_for_selector("[data-ws-status][data-state='live']")
    assert page.locator("#services-table").count() == 0  # empty before the import
    # Every width the progress bar takes, as the page sets it.
    page.evaluate("""() => {
          window.seenProgress = [];
          const bar = document.getElementById('import-bar');
          new MutationObserver(() => window.seenProgress.push(
            Number(bar.getAttribute('aria-valuenow')))).observe(bar, {attributes: true});
        }""")

    page.set_input_files("#import-file", str(price_list_csv(tmp_path / "prices.csv")))
    page.click("#import-submit")

    page.wait_for_selector("#import-bar[aria-valuenow='100']", timeout=IMPORT_WAIT_MS)
    page.wait_for_selector("#import-summary:not([hidden])")
    assert page.inner_text("#import-state") == "Import finished."
    assert page.inner_text("#import-percent") == "100%"
    # How many steps the page sees depends on how far the import got before the page
    # subscribed (a snapshot may already say 100); it never goes backwards.
    seen = [p for p in page.evaluate("window.seenProgress") if p > 0]
    assert seen == sorted(seen) and seen[-1] == 100

    assert page.inner_text("#tally-created") == str(ROWS - len(BAD_ROWS))
    assert page.inner_text("#tally-rejected") == str(len(BAD_ROWS))
    errors = page.locator("#import-errors-table tbody tr")
    assert errors.count() == len(BAD_ROWS)
    reported = {
        (
            int(errors.nth(i).locator("td").nth(0).inner_text()),
            errors.nth(i).locator("td").nth(1).inner_text(),
        )
        for i in range(errors.count())
    }
    assert reported == {(index + 2, column) for index, column in BAD_ROWS.items()}

    # The table is refreshed in place with the new services, priced in sums.
    page.wait_for_selector(f"#price-table [data-service-count='{ROWS - len(BAD_ROWS)}']")
    assert page.locator("#services-table tbody tr").count() == ROWS - len(BAD_ROWS)
    row = page.locator("#services-table tr[data-code='SV-001']")
    assert "Service 1" in row.inner_text()
    assert "2,000 UZS" in row.inner_text()
    assert "750.50 UZS" in page.inner_text("#services-table tr[data-code='SV-000']")
    assert page.locator("#services-table tr[data-code='SV-057']").count() == 0
    assert page.is_enabled("#import-submit")


def test_the_progress_bar_follows_each_event_of_the_job_it_started(
    live_server, runtime, page, tmp_path
):
    # No worker: the test moves the job itself through the job service, step by step.
    page.goto(f"{live_server}/services?lang=ru")
    page.set_input_files("#import-file", str(price_list_csv(tmp_path / "prices.csv")))
    page.click("#import-submit")
    page.wait_for_selector("#import-progress[data-state='queued']")
    assert page.inner_text("#import-state") == "В очереди на обработку…"
    with runtime.db.session() as s:
        job_id = s.scalars(select(Job.id)).one()

    with runtime.db.transaction() as s:
        job = jobs.claim_job(s, job_id, stale_seconds=60)
    page.wait_for_selector("#import-progress[data-state='running']")
    for done, percent in ((ROWS // 4, "25 %"), (ROWS // 2, "50 %"), (ROWS * 3 // 4, "75 %")):
        with runtime.db.transaction() as s:
            job = s.get(Job, job_id)
            jobs.save_progress(s, job, done=done, total=ROWS)
        page.wait_for_selector(f"#import-bar[aria-valuenow='{percent.split()[0]}']")
        assert page.inner_text("#import-percent") == percent
        assert page.inner_text("#import-rows") == f"Строк: {done} из {ROWS}"
        assert page.is_hidden("#import-summary")

    result = {"created": 1, "updated": 2, "unchanged": 3, "rejected": 5, "errors_not_shown": 4}
    result["errors"] = [{"sheet": "services", "row": 9, "column": None, "reason": "Пусто"}]
    with runtime.db.transaction() as s:
        jobs.finish_job(s, s.get(Job, job_id), result)
    page.wait_for_selector("#import-summary:not([hidden])")
    assert page.get_attribute("#import-bar", "aria-valuenow") == "100"
    assert page.inner_text("#import-state") == "Импорт завершён."
    tallies = [page.inner_text(f"#tally-{n}") for n in ("created", "updated", "unchanged")]
    assert tallies == ["1", "2", "3"]
    cells = page.locator("#import-errors-table tbody td").all_inner_texts()
    assert cells == ["9", "—", "Пусто"]
    assert page.inner_text("#import-errors-more") == "Ещё проблем, не показанных здесь: 4."


def test_the_indicator_shows_reconnecting_then_live_and_no_event_is_lost_or_repeated(
    app, runtime, live_server, page
):
    channel = "job:reconnect-test"
    page.goto(f"{live_server}/services?lang=en")
    page.wait_for_selector("[data-ws-status][data-state='live']")
    assert page.inner_text("[data-ws-status]") == "Live"
    page.evaluate(
        """(channel) => {
          window.seen = {snapshots: 0, events: []};
          window.indicatorTexts = [];
          const indicator = document.querySelector('[data-ws-status]');
          new MutationObserver(() => window.indicatorTexts.push(indicator.textContent))
            .observe(indicator, {childList: true, characterData: true, subtree: true});
          ClinicSocket.subscribe(channel, {
            onSnapshot: () => { window.seen.snapshots += 1; },
            onEvent: (e) => { window.seen.events.push(e.id); },
          });
        }""",
        channel,
    )
    page.wait_for_function("(c) => ClinicSocket.lastEventId(c) === 0", arg=channel)
    with runtime.db.transaction() as s:
        record_event(s, channel, "test.note", {"n": 1})
    page.wait_for_function("(c) => ClinicSocket.lastEventId(c) === 1", arg=channel)

    assert drop_sockets_of(app, channel) == 1
    with runtime.db.transaction() as s:  # published while the page is away or coming back
        record_event(s, channel, "test.note", {"n": 2})
        record_event(s, channel, "test.note", {"n": 3})

    page.wait_for_function("(c) => ClinicSocket.lastEventId(c) === 3", arg=channel)
    page.wait_for_selector("[data-ws-status][data-state='live']")
    texts = page.evaluate("window.indicatorTexts")
    assert "Reconnecting…" in texts
    assert texts[-1] == "Live" and texts.index("Reconnecting…") < len(texts) - 1
    # Resumed from the last event seen: no second snapshot, each event once and in order.
    assert page.evaluate("window.seen") == {"snapshots": 1, "events": [1, 2, 3]}
    assert page.evaluate("(c) => sessionStorage.getItem('clinic.ws.last:' + c)", channel) == "3"


def test_a_file_that_is_not_a_price_list_ends_in_a_failed_import_with_the_reason(
    live_server, worker, page, tmp_path
):
    wrong = tmp_path / "patients.csv"
    wrong.write_text("full_name,phone\nAliyev Vali,+998901234567\n", encoding="utf-8")
    page.goto(f"{live_server}/services?lang=ru")
    page.set_input_files("#import-file", str(wrong))
    page.click("#import-submit")

    page.wait_for_selector("#import-progress[data-state='failed']")
    state = page.inner_text("#import-state")
    assert state.startswith("Импорт не удался:")
    assert "full_name" in state  # the reason names the unknown columns
    assert page.is_hidden("#import-summary")


def test_an_empty_file_is_refused_at_upload_with_the_reason(live_server, page, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    page.goto(f"{live_server}/services?lang=uz")
    page.set_input_files("#import-file", str(empty))
    page.click("#import-submit")

    page.wait_for_selector("#import-error:not([hidden])")
    message = page.inner_text("#import-error")
    # The reason in the page's language, not the API's "file: The file is empty."
    assert message == "Fayl qabul qilinmadi: Fayl bo'sh."
    assert page.is_hidden("#import-progress")
    assert page.is_enabled("#import-submit")
