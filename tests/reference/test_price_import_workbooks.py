"""Workbooks as people keep them: a chart on a sheet of its own beside the price list."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference

from clinic.reference.price_list_file import PriceListRejected, parse_price_list

HEADER = ["code", "name_ru", "name_uz", "name_en", "price"]


def _with_chart_sheets(data_title: str, *chart_titles: str) -> bytes:
    """A workbook whose chart sheets (a chart alone on its sheet) come before its data."""
    book = Workbook()
    data = book.active
    data.title = data_title
    data.append(HEADER)
    data.append(["GP-01", "Приём", "Qabul", "Visit", 150000])
    for position, title in enumerate(chart_titles):
        chart = BarChart()
        chart.add_data(Reference(data, min_col=5, min_row=1, max_row=2))
        book.create_chartsheet(title, position).add_chart(chart)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_chart_sheet_before_the_price_list_is_passed_over():
    """The first sheet is a chart of the prices: the services are on the first sheet of rows,
    not a job failed with "'Chartsheet' object has no attribute 'max_row'"."""
    rows = parse_price_list("prices.xlsx", _with_chart_sheets("Прайс", "Диаграмма"))
    assert [(r.sheet, r.number, r.values["code"]) for r in rows] == [("services", 2, "GP-01")]


def test_a_chart_sheet_named_like_a_sheet_of_rows_is_no_sheet_of_rows():
    rows = parse_price_list("prices.xlsx", _with_chart_sheets("services", "doctors"))
    assert [(r.sheet, r.values["code"]) for r in rows] == [("services", "GP-01")]


def _titled(*above: list, merged: bool = True) -> bytes:
    """A price list under a title merged across its columns (and whatever else is above)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Прайс"
    for row in above:
        sheet.append(row)
    if merged:
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    sheet.append(HEADER)
    sheet.append(["GP-01", "Приём", "Qabul", "Visit", 150000])
    sheet.append(["LAB-01", "Анализ", "Tahlil", "Test", "oops"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_title_merged_above_the_header_is_passed_over_and_rows_keep_their_numbers():
    data = _titled(["Прейскурант на медицинские услуги"], [], ["с 1 января 2027 г."])
    rows = parse_price_list("prices.xlsx", data)
    assert [(r.number, r.values["code"], r.values["price"]) for r in rows] == [
        (5, "GP-01", "150000"),
        (6, "LAB-01", "oops"),
    ]


def test_a_first_row_that_is_neither_a_title_nor_a_header_is_still_refused():
    data = _titled(["Код", "Название", "Цена"], merged=False)
    try:
        parse_price_list("prices.xlsx", data)
    except PriceListRejected as refused:
        assert refused.values["columns"] == "код, название, цена"
    else:
        raise AssertionError("a header in Russian was taken for a title")


def _one_cell_replaced(cell_xml: str) -> bytes:
    """A price list whose price cell of its first row is ``cell_xml`` as written in the
    sheet's XML (what a damaged file, or a program writing it wrongly, leaves there)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "services"
    sheet.append(["code", "name_ru", "name_uz", "name_en", "price"])
    sheet.append(["GP-01", "Приём", "Qabul", "Visit", 1000])
    saved = io.BytesIO()
    book.save(saved)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(saved.getvalue())) as original,
        zipfile.ZipFile(out, "w") as changed,
    ):
        for info in original.infolist():
            part = original.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                cell = b'<c r="E2" t="n"><v>1000</v></c>'
                assert cell in part
                part = part.replace(cell, cell_xml.encode())
            changed.writestr(info, part)
    return out.getvalue()


@pytest.mark.parametrize(
    "cell_xml",
    [
        '<c r="E2" t="s"><v>999</v></c>',  # a shared string past the table
        '<c r="E2" t="d"><v>2026-02-30</v></c>',  # a date cell holding no date
        '<c r="E2" t="n"><v>NaN</v></c>',  # a number cell holding no number
        '<c r="E2" t="n" s="999"><v>1000</v></c>',  # a style past the table
    ],
    ids=["shared-string", "date", "number", "style"],
)
def test_a_damaged_cell_refuses_the_workbook_as_unreadable(cell_xml):
    """Read-only openpyxl reads a cell as its row is read, and raised a ValueError or an
    IndexError there: the import's job failed with that Python error (in English, on a
    Russian page) and a dead letter, instead of the refusal a damaged file gets."""
    with pytest.raises(PriceListRejected) as refused:
        parse_price_list("prices.xlsx", _one_cell_replaced(cell_xml))
    assert refused.value.code == "unreadable"
    assert str(refused.value).startswith("The workbook cannot be read: ")


def test_the_same_workbook_undamaged_is_read():
    rows = parse_price_list("prices.xlsx", _one_cell_replaced('<c r="E2" t="n"><v>1000</v></c>'))
    assert [(r.values["code"], r.values["price"]) for r in rows] == [("GP-01", "1000")]
