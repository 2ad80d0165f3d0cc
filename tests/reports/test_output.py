"""The writers on their own: a long table breaks over PDF pages with its header, formula-like
text is neutralised, empty figures stay empty, totals recompute rates; and a whole render."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from clinic.accounts import users
from clinic.errors import NotFound
from clinic.events.models import OutboxEvent
from clinic.jobs import create_job
from clinic.reports import building, output
from clinic.reports.definitions import Built, Column
from tests.conftest import PASSWORD
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
    # In the spreadsheet the text as it is, held as text: shown, never run, even on an edit.
    assert (sheet["A2"].value, sheet["A2"].data_type, sheet["A2"].quotePrefix) == (
        "=day0", "s", True,
    )  # fmt: skip
    assert sheet["D2"].number_format == "0.0" and not sheet["A1"].quotePrefix
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
    heard, titles, chart_png = [], [], output.chart_png
    monkeypatch.setattr(
        output, "chart_png", lambda *args: titles.append(args[1]) or chart_png(*args)
    )
    p = params("revenue", "day", DAY, NEXT, department_id=day.departments["A"],
               doctor_id=day.doctors["D1"], language="uz")  # fmt: skip
    with runtime.db.session() as s:
        rendered = building.render(s, p, ["pdf"], TZ, on_rows=heard.append, every=1)
        building.render(s, params("visits", "day", language="uz"), ["csv"], TZ)
    # The chart of money says it is in sums; one of visits counts them.
    assert titles == ["Tushum — Qabul qilindi, so'm", "Tashriflar — Tashriflar"]
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


def test_spreadsheet_days_and_shift_times_are_dates_not_text(runtime, make_user):
    make_day(runtime, make_user)
    with runtime.db.session() as s:
        by_day = building.render(s, params("revenue", "day", DAY, NEXT), ["xlsx"], TZ, chart=False)
        shifts = building.render(s, params("shifts", "shift"), ["xlsx"], TZ, chart=False)
    sheet = load_workbook(io.BytesIO(by_day.files["xlsx"][1])).active
    assert [sheet.cell(row, 1).value for row in (2, 3)] == [
        datetime(2026, 3, 10),
        datetime(2026, 3, 11),
    ]
    assert sheet["A2"].is_date and sheet["A2"].number_format == "yyyy-mm-dd"
    assert sheet["A4"].value == "Итого"
    sheet = load_workbook(io.BytesIO(shifts.files["xlsx"][1])).active
    assert sheet["B2"].value == datetime(2026, 3, 10, 8, 0) and sheet["B2"].is_date
    assert sheet["C2"].value == datetime(2026, 3, 10, 18, 0)
    assert sheet["C3"].value == "ещё открыта"  # said in words, not left blank
    # Wide enough for the time to show: a spreadsheet shows ### for a date it cannot fit.
    for column in "BC":
        assert sheet.column_dimensions[column].width >= len("2026-03-10 08:00") + 2


def test_a_week_by_day_is_seven_days_in_every_file_and_the_chart_totals_unchanged(
    runtime, make_user, monkeypatch
):
    from datetime import date

    make_day(runtime, make_user)
    charted = []
    chart_png = output.chart_png
    monkeypatch.setattr(
        output, "chart_png", lambda *args: charted.append(args[0]) or chart_png(*args)
    )
    week = [f"2026-03-{d:02d}" for d in range(8, 15)]
    p = params("revenue", "day", date(2026, 3, 8), date(2026, 3, 14), language="en")
    with runtime.db.session() as s:
        rendered = building.render(s, p, ["csv", "xlsx", "pdf"], TZ)
    assert rendered.rows == 7 and [r[0] for r in rendered.preview] == week
    assert rendered.totals == ("Total", 4, 36_000_000, 2_000_000, 34_000_000)
    assert charted == [[(d, v) for d, v in zip(week, (0, 130_000, 120_000, 110_000, 0, 0, 0))]]
    lines = rendered.files["csv"][1].decode("utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in lines[1:8]] == week
    assert lines[5] == "2026-03-12,0,0.00,0.00,0.00"
    sheet = load_workbook(io.BytesIO(rendered.files["xlsx"][1])).active
    assert [sheet.cell(row, 1).value for row in range(2, 9)] == [
        datetime(2026, 3, d) for d in range(8, 15)
    ]
    assert sheet["B8"].value == 0 and sheet["A9"].value == "Total"
    text = PdfReader(io.BytesIO(rendered.files["pdf"][1])).pages[0].extract_text()
    assert all(d in text for d in week)


def test_pdf_cells_keep_long_names_and_headings_inside_their_borders():
    headings = ["Возврат наличными", "Kech bekor qilish ulushi, %"] + ["Ожидается в кассе"] * 4
    name = "УЗИ органов брюшной полости и почек с допплерографией, Gʻijduvon boʻlimi"
    writer = output.PdfWriter(built([]), headings, ["T", "p"])
    written = []
    cell = writer.doc.cell

    def measured(w, h, text, **kwargs):
        written.append((w, text, writer.doc.get_string_width(text)))
        return cell(w, h, text, **kwargs)

    writer.doc.cell = measured
    writer._header()
    header = list(written)
    written.clear()
    writer.add((name, 2, 1, 50.0, 12.5, 1_234_567_890))
    assert all(width <= w for w, _text, width in header + written), header + written
    # Wrapped or shrunk to fit, never cut: every word of every heading is on the page, and
    # of the name (over two lines of its cell), each figure on one line.
    assert " ".join(text for _w, text, _width in header) == " ".join(headings)
    assert " ".join(text for _w, text, _width in written[:2]) == name
    assert len(written) == len(COLUMNS) + 1


def test_pdf_headings_of_a_wide_table_are_wrapped_whole_not_cut():
    """Nine columns on landscape A4 (the Z report's): long headings take two or three lines."""
    headings = ["Смена", "Доля поздних отмен, %", "Late cancellation rate, %",
                "Возврат наличными", "Ожидается в кассе", "Пересчитано", "Расхождение",
                "Kech bekor qilish ulushi, %", "Наличные"]  # fmt: skip
    columns = (Column("by.shift", "text"),) + tuple(Column(f"c{i}") for i in range(8))
    table = Built(params("shifts", "shift"), columns, iter([]))
    writer = output.PdfWriter(table, headings, ["T", "p"])
    written, cell = [], writer.doc.cell

    def measured(w, h, text, **kwargs):
        written.append((w, text, writer.doc.get_string_width(text)))
        return cell(w, h, text, **kwargs)

    writer.doc.cell = measured
    writer._header()
    assert " ".join(text for _w, text, _width in written) == " ".join(headings)
    assert all(width <= w for w, _text, width in written), written
    assert len(written) > len(headings)  # some took more than one line
    assert not any("…" in text for _w, text, _width in written)


def test_csv_quotes_formulas_hidden_behind_a_tab_or_a_carriage_return():
    columns = (Column("by.doctor", "text"), Column("visits"))
    writer = output.CsvWriter(Built(params("visits", "doctor"), columns, iter([])), ["d", "n"])
    for name in ("\t=1+1", "\r@SUM(A1)", "Gʻulomov"):
        writer.add((name, 1))
    data = writer.finish(("Итого", 3)).decode("utf-8-sig")
    cells = [row[0] for row in csv.reader(io.StringIO(data, newline=""))]
    assert cells == ["d", "'\t=1+1", "'\r@SUM(A1)", "Gʻulomov", "Итого"]


@pytest.mark.parametrize(
    "language, rate, wait, money",
    [
        ("ru", "12,5", "7,5", "1 500,50"),
        ("uz", "12,5", "7,5", "1 500,50"),
        ("en", "12.5", "7.5", "1,500.50"),
    ],
)
def test_rates_and_minutes_on_the_page_and_in_the_pdf_use_the_decimal_mark_of_the_money(
    language, rate, wait, money
):
    columns = (
        Column("by.doctor", "text"),
        Column("no_show_rate", "percent", ("no_shows", "visits")),
        Column("wait_p50", "minutes"),
        Column("received", "money"),
    )
    row = ("Gʻulomov", 12.5, 7.5, 150_050)
    shown = [output.display(c, v, language) for c, v in zip(columns, row)]
    assert shown == ["Gʻulomov", rate, wait, money]
    p = params("visits", "doctor", language=language)
    writer = output.PdfWriter(Built(p, columns, iter([])), ["d", "r", "w", "m"], ["T", "p"])
    writer.add(row)
    document = PdfReader(io.BytesIO(writer.finish(("Σ", 12.5, None, 150_050), None)))
    text = document.pages[0].extract_text()
    assert rate in text and wait in text and money in text


@pytest.mark.parametrize("language, eighty_million", [("ru", "80 000 000"), ("en", "80,000,000")])
def test_the_charts_scale_reads_as_sums_grouped_not_in_powers_of_ten(language, eighty_million):
    week = [(f"2026-03-0{i}", i * 12_345_678.5) for i in range(1, 8)]  # sums a day
    figure = output.chart_figure(week, "Выручка — Получено", language)
    figure.canvas.draw()
    [axes] = figure.axes
    assert axes.yaxis.get_offset_text().get_text() == ""  # no "1e7" above the scale
    assert eighty_million in [label.get_text() for label in axes.get_yticklabels()]
    few = output.chart_figure([("a", 1), ("b", 3)], "T", language)  # counts stay whole
    few.canvas.draw()
    ticks = [t.get_text() for t in few.axes[0].get_yticklabels()]
    assert "3" in ticks and all(t.isdigit() for t in ticks), ticks


def test_a_name_pasted_with_a_control_character_is_a_space_in_the_spreadsheet_and_the_pdf(
    runtime, make_user
):
    """A cashier's full name pasted from a word processor with its manual line break (a
    vertical tab), kept from before names were checked for it, is a character no XLSX cell
    may hold: the spreadsheet and the PDF show a space there, instead of the whole report
    failing (every format is written in the one pass)."""
    make_day(runtime, make_user)
    with runtime.db.transaction() as s:  # the user who took the day's first payments
        user = users.create_user(
            s, username="kassir1", password=PASSWORD, roles=["cashier"],
            full_name="Каримова Дилноза",
        )  # fmt: skip
        user.full_name = "Каримова\x0bДилноза"  # as an older release kept it
    with runtime.db.session() as s:
        p = params("revenue", "cashier", language="en")
        rendered = building.render(s, p, ["csv", "xlsx", "pdf"], TZ, chart=False)
    sheet = load_workbook(io.BytesIO(rendered.files["xlsx"][1])).active
    names = [sheet.cell(row, 1).value for row in range(2, sheet.max_row + 1)]
    assert "Каримова Дилноза" in names
    text = PdfReader(io.BytesIO(rendered.files["pdf"][1])).pages[0].extract_text()
    assert "Каримова Дилноза" in text and "\x0b" not in text
    assert rendered.totals[2] == 12_000_000  # the day's money, as in the other formats


def test_a_name_too_long_for_its_pdf_cell_is_wrapped_whole_not_cut():
    # A service's full name (up to 200 characters) is in the PDF as in the CSV and the XLSX.
    words = ["УЗИ", "органов", "брюшной", "полости"] * 12 + ["Gʻijduvon", "boʻlimi", "oxiri"]
    name = " ".join(words)
    writer = output.PdfWriter(built([]), [c.key for c in COLUMNS], ["T", "p"])
    written, cell = [], writer.doc.cell

    def measured(w, h, text, **kwargs):
        written.append((w, text, writer.doc.get_string_width(text)))
        return cell(w, h, text, **kwargs)

    writer.doc.cell = measured
    for _ in range(30):  # rows of several lines, over more than one page
        writer.add((name, 2, 1, 50.0, 12.5, 1_234_567_890))
    writer.doc.cell = cell
    reader = PdfReader(io.BytesIO(writer.finish(("Total", 60, 30, 50.0, None, 0), None)))
    assert len(reader.pages) > 1
    assert all(width <= w for w, _text, width in written), written
    page = " ".join(reader.pages[0].extract_text().split())
    assert name in page and "…" not in page


def test_a_pdfs_filter_line_naming_a_long_name_is_wrapped_whole_within_the_page(monkeypatch):
    """The lines above the table (title, period, filters) stay inside the page, a doctor's
    or a department's long name wrapped over lines, whole, not run off the page's edge."""
    from fpdf import FPDF

    doctor = ("Абдурахмонова-Каримова Гулчехра Шавкатовна, " * 4)[:160].strip()
    department = "Отделение функциональной диагностики, Gʻijduvon boʻlimi " * 2
    lines = ["Выручка", "Период: 2026-03-10", f"Врач: {doctor}", f"Отделение: {department}"]
    headings = ["Heading"] * len(COLUMNS)
    written = []
    cell = FPDF.cell

    def measured(doc, w=None, h=None, text="", *args, **kwargs):
        room = w if w else doc.w - doc.r_margin - doc.get_x()
        written.append((room - 2 * doc.c_margin, text, doc.get_string_width(text)))
        return cell(doc, w, h, text, *args, **kwargs)

    monkeypatch.setattr(FPDF, "cell", measured)
    output.PdfWriter(built([]), headings, lines)
    above = written[: [text for _room, text, _width in written].index("Heading")]
    said = " ".join(text for _room, text, _width in above)
    assert said.split() == " ".join(lines).split()
    assert all(width <= room + 0.01 for room, _text, width in above), above


def test_a_charts_bars_of_two_long_names_alike_are_told_apart():
    """Two doctors whose names begin alike (a family name and the same first name) are two
    bars named each by the whole name, over lines, not one cut short twice the same."""
    first, second = "Абдурахмонова Гулчехра Шавкатовна", "Абдурахмонова Гулчехра Шухратовна"
    figure = output.chart_figure([(first, 5), (second, 3)], "Визиты — Визитов", "ru")
    labels = [label.get_text() for label in figure.axes[0].get_xticklabels()]
    assert [" ".join(label.split()) for label in labels] == [first, second]
