"""Price-list files as people's programs save them, read as the sheet shows them: a workbook
recording a stale size, codes shown with leading zeros, a title holding the other delimiter,
a UTF-8 file with a line from a Windows-1251 one, a cell longer than Python's csv allows."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from clinic.errors import ValidationFailed
from clinic.models import Service
from clinic.reference import price_list_file
from clinic.reference.price_list import create_service
from clinic.reference.price_list_file import (
    MAX_CELL_CHARS,
    PriceListRejected,
    file_kind,
    parse_price_list,
)
from tests.reference.test_price_import import run_import
from tests.reference.test_price_import_bombs import _rewrite

HEADER = ["code", "name_ru", "name_uz", "name_en", "price"]
SHEET = "xl/worksheets/sheet1.xml"
NOT_UTF_8 = "The file is not UTF-8 text: save it as 'CSV UTF-8'."


def workbook(*rows, formats: dict[str, str] | None = None, header=HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "services"
    for row in (header, *rows):
        sheet.append(list(row))
    for ref, number_format in (formats or {}).items():
        sheet[ref].number_format = number_format
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_sheet_xml(data: bytes, change) -> bytes:
    """``data`` with its sheet's XML passed through ``change``."""
    return _rewrite(data, SHEET, lambda xml, stream: stream.write(change(xml)))


def declaring(data: bytes, ref: str) -> bytes:
    """The workbook with its sheet declaring the used range ``ref``, whatever it holds."""
    dimension = f'<dimension ref="{ref}"/>'.encode()
    return with_sheet_xml(data, lambda xml: re.sub(rb"<dimension [^>]*/>", dimension, xml))


def entries(count: int) -> list[list]:
    return [[f"SV-{i}", "Приём", "Qabul", "Visit", 1000 + i] for i in range(1, count + 1)]


# -- a workbook's declared size -------------------------------------------------------------


@pytest.mark.parametrize("ref", ["A1:E2", "A1", "A1:B100"])
def test_a_stale_size_recorded_in_the_sheet_drops_no_rows_or_columns(ref):
    data = declaring(workbook(*entries(99)), ref)
    rows = parse_price_list("prices.xlsx", data)
    assert [row.values["code"] for row in rows] == [f"SV-{i}" for i in range(1, 100)]
    assert rows[-1].number == 100 and rows[-1].values["price"] == "1099"


def test_a_sheet_declaring_one_cell_still_counts_the_rows_it_holds(monkeypatch):
    monkeypatch.setattr(price_list_file, "MAX_SHEET_ROWS", 50)
    data = declaring(workbook(*entries(60)), "A1")
    with pytest.raises(PriceListRejected) as refused:
        parse_price_list("prices.xlsx", data)
    assert refused.value.code == "too_many_sheet_rows"


def test_a_row_reaching_the_last_column_is_read_no_wider_than_the_column_limit(monkeypatch):
    # A stale "A1" lets a row run out to column XFD (16,384): it is read 100 cells wide.
    far = b'<c r="XFD2" t="inlineStr"><is><t>far</t></is></c></row></sheetData>'
    data = with_sheet_xml(
        declaring(workbook(*entries(1)), "A1"),
        lambda xml: xml.replace(b"</row></sheetData>", far),
    )
    read = []
    original = price_list_file.cell_value
    monkeypatch.setattr(price_list_file, "cell_value", lambda c: read.append(c) or original(c))
    [row] = parse_price_list("prices.xlsx", data)
    assert row.values["code"] == "SV-1" and row.values["price"] == "1001"
    assert len(read) == len(HEADER) + price_list_file.MAX_COLUMNS


# -- numbers shown with leading zeros -------------------------------------------------------


@pytest.mark.parametrize(
    "value, number_format, shown",
    [
        (7, "000", "007"),
        (1, "0000", "0001"),
        (7.0, "000", "007"),
        (7.6, "000", "008"),  # rounded as shown, then padded
        (7, "[Blue]000", "007"),
        (12345, "000", "12345"),
        (7, "0", "7"),
        (7, "#,##0", "7"),
        (7, "General", "7"),
        (7.5, "0.00", "7.5"),
    ],
)
def test_a_code_is_read_with_the_leading_zeros_its_cell_shows(value, number_format, shown):
    data = workbook(
        ["SV-1", "Приём", "Qabul", "Visit", 1000, value],
        formats={"F2": number_format},
        header=HEADER + ["package_code"],
    )
    [row] = parse_price_list("prices.xlsx", data)
    assert row.values["package_code"] == shown


def test_a_package_code_shown_as_0001_is_stored_as_0001(runtime):
    data = workbook(
        ["SV-1", "Приём", "Qabul", "Visit", 150000, 1, 241092],
        formats={"F2": "0000"},
        header=HEADER + ["package_code", "units"],
    )
    result = run_import(runtime, "prices.xlsx", data)
    assert (result["created"], result["rejected"]) == (1, 0), result
    with runtime.db.session() as s:
        assert s.scalars(select(Service.package_code)).all() == ["0001"]


def test_a_code_shown_as_007_updates_service_007_rather_than_adding_service_7(runtime):
    with runtime.db.transaction() as s:
        create_service(
            s,
            {
                "code": "007",
                "name_ru": "Приём",
                "name_uz": "Qabul",
                "name_en": "Visit",
                "price": 10_000_000,
            },
        )
    data = workbook([7, "Приём", "Qabul", "Visit", 150000], formats={"A2": "000"})
    result = run_import(runtime, "prices.xlsx", data)
    assert (result["created"], result["updated"]) == (0, 1), result
    with runtime.db.session() as s:
        assert s.execute(select(Service.code, Service.price)).all() == [("007", 15_000_000)]


# -- the delimiter, past a title ------------------------------------------------------------


@pytest.mark.parametrize(
    "title, delimiter",
    [("Прейскурант клиники, 2026", ";"), ("Прейскурант; 2026", ","), ("Цены, 2026, сум", ";")],
)
def test_a_title_holding_the_other_delimiter_does_not_decide_the_columns(title, delimiter):
    lines = [
        title,
        "",
        delimiter.join(HEADER),
        delimiter.join(
            [
                "SV-1",
                "Приём",
                "Qabul",
                "Visit",
                '"150 000,50"' if delimiter == "," else "150 000,50",
            ]
        ),
    ]
    [row] = parse_price_list("prices.csv", "\r\n".join(lines).encode())
    assert row.number == 4
    assert (row.values["code"], row.values["name_ru"], row.values["price"]) == (
        "SV-1",
        "Приём",
        "150 000,50",
    )


def test_a_header_naming_no_column_is_still_split_by_the_delimiter_it_has_more_of():
    data = "Код;Название;Цена\r\nSV-1;Приём;1000\r\n".encode()
    with pytest.raises(PriceListRejected) as refused:
        parse_price_list("prices.csv", data)
    assert refused.value.code == "unknown_columns"
    assert refused.value.values["columns"] == "код, название, цена"


# -- a UTF-8 file holding bytes from a Windows-1251 one -------------------------------------


def utf8_with_a_windows_line() -> bytes:
    text = ",".join(HEADER) + "\r\nSV-1,Приём терапевта,Terapevt qabuli,GP visit,150000\r\n"
    return text.encode() + "SV-2,Анализ №1,Tahlil,Test,5000\r\n".encode("cp1251")


def test_a_utf8_file_with_a_line_in_windows_1251_is_refused_not_read_as_mojibake():
    with pytest.raises(ValidationFailed) as refused:
        file_kind("prices.csv", utf8_with_a_windows_line())
    assert refused.value.errors["file"] == [NOT_UTF_8]
    with pytest.raises(PriceListRejected, match="not UTF-8 text"):
        parse_price_list("prices.csv", utf8_with_a_windows_line())


def test_the_upload_of_a_half_utf8_file_is_refused_and_creates_nothing(runtime):
    with pytest.raises(ValidationFailed):
        run_import(runtime, "prices.csv", utf8_with_a_windows_line())
    with runtime.db.session() as s:
        assert s.scalars(select(Service.name_ru)).all() == []


def test_a_windows_1251_file_whose_letters_happen_to_look_like_utf8_once_is_still_read():
    # "С»" is 0xD1 0xBB, a UTF-8 letter ("ѻ") on its own; the file is Windows-1251 through.
    text = ",".join(HEADER) + "\r\nSV-1,Анализ «ЭКСПРЕСС»,Tahlil,Test,5000\r\n"
    [row] = parse_price_list("prices.csv", text.encode("cp1251"))
    assert row.values["name_ru"] == "Анализ «ЭКСПРЕСС»" and not row.problems


# -- a very long CSV cell -------------------------------------------------------------------


def test_a_csv_cell_longer_than_pythons_csv_allows_is_cut_and_its_row_reported():
    text = "\r\n".join(
        [
            ",".join(HEADER),
            f"SV-1,Приём,Qabul,{'x' * 140_000},150000",
            "SV-2,Анализ,Tahlil,Test,5000",
        ]
    )
    first, second = parse_price_list("prices.csv", text.encode())
    assert len(first.values["name_en"]) == MAX_CELL_CHARS
    assert [(column, reason.code) for column, reason in first.problems] == [
        ("name_en", "cell_too_long")
    ]
    assert second.values["name_en"] == "Test" and not second.problems
