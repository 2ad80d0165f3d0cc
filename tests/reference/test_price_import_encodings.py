"""CSV files as Excel saves them on a Windows set to Russian: "CSV (разделители — точка с
запятой)" writes Windows-1251, not UTF-8, and replaces each letter that code page has not
(the Uzbek Ў, Қ, Ғ, Ҳ, and ʻ) with a question mark; and it writes each cell as it shows it,
a price formatted as money with its currency."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.errors import ValidationFailed
from clinic.models import Service
from clinic.reference.price_list_file import file_kind, parse_price, parse_price_list
from tests.reference.test_price_import import run_import

HEADER = "code;name_ru;name_uz;name_en;price;vat_percent"


def windows_csv(*lines: str) -> bytes:
    # What Excel does with a letter the code page lacks: a question mark in its place.
    return "\r\n".join((HEADER, *lines, "")).encode("cp1251", errors="replace")


def test_a_csv_saved_by_excel_in_windows_1251_is_read_as_cyrillic():
    data = windows_csv("GP-01;Приём терапевта;Terapevt qabuli;GP visit;150 000,00;12")
    assert file_kind("prices.csv", data) == "csv"
    [row] = parse_price_list("prices.csv", data)
    assert row.values["name_ru"] == "Приём терапевта" and not row.problems
    assert row.values["price"] == "150 000,00"


def test_a_windows_1251_price_list_is_imported_with_its_russian_names(runtime):
    data = windows_csv(
        "GP-01;Приём терапевта;Terapevt qabuli;GP visit;150 000,00;12",
        "LAB-01;Общий анализ крови;Qon tahlili;Blood count;45000;0",
    )
    result = run_import(runtime, "prices.csv", data)
    assert (result["created"], result["rejected"]) == (2, 0), result
    with runtime.db.session() as s:
        names = dict(s.execute(select(Service.code, Service.name_ru)).all())
        prices = dict(s.execute(select(Service.code, Service.price)).all())
    assert names == {"GP-01": "Приём терапевта", "LAB-01": "Общий анализ крови"}
    assert prices == {"GP-01": 15_000_000, "LAB-01": 4_500_000}
    assert run_import(runtime, "prices.csv", data)["unchanged"] == 2


def test_letters_windows_1251_lost_are_a_row_error_naming_the_column(runtime):
    data = windows_csv(
        "US-01;УЗИ брюшной полости;Qorin boʻshligʻi UTT;Abdominal ultrasound;200000;12",
        "GP-01;Приём терапевта;Terapevt qabuli;GP visit;150000;12",
    )
    result = run_import(runtime, "prices.csv", data)
    assert (result["created"], result["rejected"]) == (1, 1), result
    [error] = result["errors"]
    assert (error["row"], error["column"], error["code"]) == (2, "name_uz", "lost_letters")
    assert "CSV UTF-8" in error["reason"]
    with runtime.db.session() as s:
        assert s.scalars(select(Service.code)).all() == ["GP-01"]


@pytest.mark.parametrize(
    "text",
    [
        "150 000,00 сум",
        "150 000,00 сўм",
        "150 000 so'm",
        "150 000 soʻm",
        "150000 UZS",
        "150 000 сум.",
    ],
)
def test_a_price_saved_with_its_currency_as_excel_shows_it_is_read_as_sums(text):
    # Excel writes a CSV cell as the cell shows it: a column formatted as money keeps its unit.
    assert parse_price(text) == 15_000_000


@pytest.mark.parametrize("text", ["150 000 руб.", "150 000 $", "сум", "150 000 сум сум"])
def test_a_price_in_another_currency_or_a_unit_alone_is_refused(text):
    with pytest.raises(ValueError):
        parse_price(text)


def test_a_file_marked_as_utf_8_with_a_broken_byte_is_refused_not_read_as_windows_1251():
    # The byte-order mark says UTF-8: read as Windows-1251 its header would be "п»їcode".
    data = "\ufeffcode;name_ru\nGP-01;Приём\n".encode() + b"\xd0"
    with pytest.raises(ValidationFailed) as refused:
        file_kind("prices.csv", data)
    assert refused.value.errors["file"] == ["The file is not UTF-8 text: save it as 'CSV UTF-8'."]
