"""The writers on their own: a long table breaks over PDF pages with its header, formula-like
text is neutralised, empty figures stay empty, totals recompute rates; and a whole render."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from clinic.errors import NotFound
from clinic.events.models import OutboxEvent
from clinic.jobs import create_job
from clinic.reports import building, output
from clinic.reports.definitions import Built, Column
from tests.reports.fixtures import DAY, NEXT, TZ, make_day, params

LATER = NEXT + (NEXT - DAY)
COLUMNS = (
    Column("by.day", "text"),
    Column("visits"),
    Column("no_shows"),
    Column("no_show_rate", "percent", ("no_shows", "visits")),
    Column("wait_p50", "minutes"),
    Column("received", "money"),
)


def built(rows) -> Built:
    return Built(params("visits", "day"), COLUMNS, iter(rows))


def test_writers_handle_long_tables_formula_text_and_missing_figures():
    rows = [(f"=day{i}", 2, 1, 50.0, None, 150) for i in range(120)]
    headings = [c.key for c in COLUMNS]
    csv_writer = output.CsvWriter(built([]), headings)
    xlsx = output.XlsxWriter(built([]), headings, "Очередь: показатели [*?/\\] и ещё много слов")
    pdf = output.PdfWriter(built([]), headings, ["T", "p"])
    totals = output.Totals(COLUMNS)
    for row in rows:
        totals.add(row)
        for writer in (csv_writer, xlsx, pdf):
            writer.add(row)
    total = totals.row("en")
    assert total == ("Total", 240, 120, 50.0, None, 18000)
    text = csv_writer.finish(total).decode("utf-8-sig").splitlines()
    assert text[1] == "'=day0,2,1,50.0,,1.50"
    sheet = load_workbook(io.BytesIO(xlsx.finish(total))).active
    assert sheet.title == "Очередь  показатели        и ещ"  # 31 characters, none forbidden
    assert sheet["A2"].value == "'=day0" and sheet["D2"].number_format == "0.0"
    assert sheet["E2"].value is None
    chart = output.chart_png([(f"d{i}", i) for i in range(10)], "T")
    document = PdfReader(io.BytesIO(pdf.finish(total, chart)))
    assert len(document.pages) > 3
    assert "no_shows" in document.pages[1].extract_text()  # the header on every page
    assert output.Totals(COLUMNS).row("ru")[3] is None  # no visits: no rate
    assert output.chart_png([], "T") is None


def test_a_render_writes_headings_filters_progress_and_caps_chart_and_preview(
    runtime, make_user, monkeypatch
):
    day = make_day(runtime, make_user)
    monkeypatch.setattr(output, "CHART_ROWS", 1)
    monkeypatch.setattr(output, "PREVIEW_ROWS", 1)
    heard = []
    p = params("revenue", "day", DAY, NEXT, department_id=day.departments["A"],
               doctor_id=day.doctors["D1"], language="uz")  # fmt: skip
    with runtime.db.session() as s:
        rendered = building.render(s, p, ["pdf"], TZ, on_rows=heard.append, every=1)
    assert heard == [1, 2] and rendered.rows == 2 and len(rendered.preview) == 1
    text = PdfReader(io.BytesIO(rendered.files["pdf"][1])).pages[0].extract_text()
    assert "2026-03-10 — 2026-03-11" in text
    assert "A bo'lim" in text and "Доктор D1" in text
    assert rendered.totals == ("Jami", 2, 16_000_000, 0, 16_000_000)


def test_a_report_job_saves_progress_and_an_empty_one_has_files_and_no_chart(
    runtime, make_user, monkeypatch
):
    make_day(runtime, make_user)
    monkeypatch.setattr(building, "PROGRESS_EVERY", 1)
    with runtime.db.transaction() as s:
        job = building.start_report(s, params("queue", "hour"), ["csv"], created_by="m")
        empty = building.start_report(
            s, params("queue", "hour", LATER, LATER), ["csv"], created_by="m"
        )
        other = create_job(s, kind="import", task_name="x")
    result = building.build_report(runtime.db.sessionmaker, job.id, TZ)
    assert result["rows"] == 3 and result["chart"] == building.CHART_NAME
    with runtime.db.session() as s:
        progress = s.scalars(
            select(OutboxEvent.data)
            .where(OutboxEvent.channel == f"job:{job.id}", OutboxEvent.type == "job.progress")
            .order_by(OutboxEvent.seq)
        ).all()
    # Every row on PostgreSQL; SQLite (one writer) saves progress when the rows are read.
    expected = [3] if runtime.db.engine.dialect.name == "sqlite" else [1, 2, 3, 3]
    assert [d["done"] for d in progress] == expected
    result = building.build_report(runtime.db.sessionmaker, empty.id, TZ)
    assert result["rows"] == 0 and result["chart"] is None
    assert result["files"] == {"csv": "queue-hour-2026-03-12-2026-03-12.csv"}
    with runtime.db.session() as s:
        assert building.report_file(s, empty.id, "csv").data.startswith(b"\xef\xbb\xbf")
        with pytest.raises(NotFound):
            building.report_file(s, empty.id, "pdf")
        with pytest.raises(NotFound):
            building.report_job(s, other.id)


def test_every_report_and_grouping_writes_spreadsheets_that_open(runtime, make_user):
    from clinic.reports.params import GROUPINGS, LANGUAGES

    make_day(runtime, make_user)
    combos = [(r, b) for r, groupings in GROUPINGS.items() for b in groupings]
    with runtime.db.session() as s:
        for i, (report, by) in enumerate(combos):
            p = params(report, by, DAY, NEXT, language=LANGUAGES[i % 3])
            # The PDF writer is the same for every report (above); no chart: it is slow.
            rendered = building.render(s, p, ["csv", "xlsx"], TZ, chart=False)
            assert rendered.chart is None
            sheet = load_workbook(io.BytesIO(rendered.files["xlsx"][1])).active
            assert sheet.max_row == rendered.rows + 2, (report, by)
            csv_text = rendered.files["csv"][1].decode("utf-8-sig")
            assert len(csv_text.splitlines()) == rendered.rows + 2, (report, by)
