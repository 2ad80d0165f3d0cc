"""Reference data at its edges: field readers, pages, and price-list files and imports that go
wrong in the less common ways."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from clinic import jobs
from clinic.errors import ValidationFailed
from clinic.models import Department, Doctor, Service
from clinic.reference import directory as reference
from clinic.reference import patients, price_import, price_list, price_list_file
from clinic.reference.catalogue import catalogue_page
from clinic.reference.editing import ONE_LINE, FieldReader, paginate
from clinic.reference.price_import import import_price_list
from clinic.reference.price_list_file import PriceListRejected, parse_price_list
from tests.reference.test_price_import import (
    claim,
    count,
    csv_bytes,
    new_job,
    run_import,
    xlsx_bytes,
)

TODAY = date(2026, 3, 2)
SERVICE_HEADER = ["code", "name_ru", "name_uz", "name_en", "price", "vat_percent"]


def refused(call) -> dict:
    with pytest.raises(ValidationFailed) as exc:
        call()
    return exc.value.errors


# --- field readers --------------------------------------------------------------------------


def test_a_name_that_is_not_text_is_refused(db):
    errors = refused(
        lambda: patients.create_patient(db, {"full_name": 123, "sex": "M"}, today=TODAY)
    )
    assert errors == {"full_name": ["Not a valid string."]}


NO_LETTER = "A name has letters."


@pytest.mark.parametrize(
    "name, message",
    [("90 123 45 67", NO_LETTER), ("-", NO_LETTER), ("\u200b", ONE_LINE), ("\u0301", NO_LETTER),
     ("№ 5", NO_LETTER)],  # fmt: skip
)
def test_a_name_without_a_letter_is_refused_and_nothing_is_registered(db, name, message):
    errors = refused(lambda: patients.create_patient(db, {"full_name": name, "sex": "M"}))
    assert errors == {"full_name": [message]}
    assert patients.list_patients(db)[1] == 0
    ali = patients.create_patient(db, {"full_name": "Ali", "sex": "M"})
    errors = refused(lambda: patients.update_patient(db, ali.id, {"full_name": name}))
    assert errors == {"full_name": [message]}
    assert patients.create_patient(db, {"full_name": "O‘g‘iloy 2-", "sex": "F"}).id


@pytest.mark.parametrize(
    "birth_date, message",
    [
        ("02.03.1990", "Not a valid date (YYYY-MM-DD)."),
        (datetime(1990, 3, 2, 10, 0), "Not a valid date (YYYY-MM-DD)."),
        (19900302, "Not a valid date (YYYY-MM-DD)."),
        ("1899-12-31", "Must not be before 1900-01-01."),
        (date(2026, 3, 3), "Must not be after 2026-03-02."),
    ],
)
def test_a_birth_date_is_a_real_day_within_bounds(db, birth_date, message):
    errors = refused(
        lambda: patients.create_patient(
            db, {"full_name": "Ali Valiyev", "sex": "M", "birth_date": birth_date}, today=TODAY
        )
    )
    assert errors == {"birth_date": [message]}


def test_an_empty_birth_date_is_no_birth_date(db):
    for empty in ("", None):
        patient = patients.create_patient(
            db, {"full_name": "Ali Valiyev", "sex": "M", "birth_date": empty}, today=TODAY
        )
        assert patient.birth_date is None
    patient = patients.create_patient(
        db, {"full_name": "Ali Valiyev", "sex": "M", "birth_date": date(1990, 3, 2)}, today=TODAY
    )
    assert patient.birth_date == date(1990, 3, 2)


def test_a_required_day_and_number_may_not_be_null():
    reader = FieldReader({"day": None, "count": None, "kept": None})
    reader.day("day", earliest=date(2000, 1, 1), latest=TODAY, required=True)
    reader.integer("count", minimum=0, maximum=9)
    reader.integer("kept", minimum=0, maximum=9, nullable=True)
    assert reader.errors == {
        "day": ["Field may not be null."],
        "count": ["Field may not be null."],
    }
    assert reader.clean == {"kept": None}


def test_changing_a_patient_without_the_name_keeps_the_search_name(db):
    patient = patients.create_patient(db, {"full_name": "Ali Valiyev", "sex": "M"}, today=TODAY)
    before = patient.search_name
    patients.update_patient(db, patient.id, {"notes": "allergic to penicillin"}, today=TODAY)
    assert patient.search_name == before and patient.notes == "allergic to penicillin"


def test_pages_are_numbered_within_bounds(db):
    from sqlalchemy import select

    for page in (0, "1", 10**9):
        assert "page" in refused(lambda: paginate(db, select(Service), [Service.id], page, 10))
    rows, total = paginate(db, select(Service), [Service.id], 1, 10)
    assert rows == [] and total == 0


def test_the_catalogue_is_read_in_an_interface_language_only(db):
    with pytest.raises(ValueError, match="'de'"):
        catalogue_page(db, language="de")


def test_a_room_is_renamed(db):
    room = reference.create_room(db, {"number": "101", "name": "Кабинет"})
    changed = reference.update_room(db, room.id, {"name": "Процедурная"})
    assert changed.id == room.id and changed.name == "Процедурная" and changed.number == "101"


# --- price-list files -----------------------------------------------------------------------


def _rewrite(data: bytes, part: str, content: bytes) -> bytes:
    """The workbook ``data`` with one part replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, content if item.filename == part else source.read(item))
    return out.getvalue()


def test_a_price_list_file_of_the_wrong_kind_is_rejected_as_a_whole():
    with pytest.raises(PriceListRejected) as rejected:
        parse_price_list("prices.txt", b"code,price\n")
    assert rejected.value.errors == {"file": ["Send a price list as a .csv or .xlsx file."]}


def test_more_rows_than_the_limit_reject_the_file(monkeypatch):
    monkeypatch.setattr(price_list_file, "MAX_ROWS", 2)
    rows = [SERVICE_HEADER] + [[f"s{i}", "a", "b", "c", "1", "0"] for i in range(3)]
    with pytest.raises(PriceListRejected, match="More than 2 rows"):
        parse_price_list("prices.csv", csv_bytes(rows))


def test_more_rows_than_the_limit_over_all_sheets_reject_the_workbook(monkeypatch):
    monkeypatch.setattr(price_list_file, "MAX_ROWS", 2)
    data = xlsx_bytes(
        {
            "departments": [
                ["code", "ticket_prefix", "name_ru", "name_uz", "name_en"],
                ["lab", "L", "Лаборатория", "Laboratoriya", "Laboratory"],
                ["xray", "X", "Рентген", "Rentgen", "X-ray"],
            ],
            "services": [SERVICE_HEADER, ["s1", "a", "b", "c", "1", "0"]],
        }
    )
    with pytest.raises(PriceListRejected, match="More than 2 rows: split the file"):
        parse_price_list("prices.xlsx", data)


def test_a_workbook_without_sheets_is_rejected():
    data = xlsx_bytes({"services": [SERVICE_HEADER]})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        workbook = archive.read("xl/workbook.xml").decode()
    start, end = workbook.index("<sheets>"), workbook.index("</sheets>") + len("</sheets>")
    emptied = _rewrite(
        data, "xl/workbook.xml", (workbook[:start] + "<sheets/>" + workbook[end:]).encode()
    )
    with pytest.raises(PriceListRejected, match="no 'services' sheet"):
        parse_price_list("prices.xlsx", emptied)


@pytest.mark.parametrize(
    "header, complaint",
    [
        (["", "", ""], "The first row must name the columns."),
        (["code", "", "price"], "Column(s) 2 have no name."),
        (["code", "price", "CODE"], "Repeated column(s): code."),
    ],
)
def test_a_header_without_names_or_with_repeats_rejects_the_file(header, complaint):
    with pytest.raises(PriceListRejected) as rejected:
        parse_price_list("prices.csv", csv_bytes([header, ["a"] * len(header)]))
    assert complaint in str(rejected.value)


def test_trailing_blank_header_cells_are_no_columns_and_extra_values_are_row_problems():
    data = csv_bytes(
        [
            SERVICE_HEADER + ["", ""],
            ["s1", "a", "b", "c", "100", "0", "", ""],
            ["s2", "a", "b", "c", "100", "0", "", "surplus"],
        ]
    )
    first, second = parse_price_list("prices.csv", data)
    assert first.problems == () and set(first.values) == set(SERVICE_HEADER)
    assert second.problems == ((None, "The row has more values than the 6 columns."),)


def test_workbook_cells_of_every_kind_become_text():
    rows = price_list_file._table(
        "services",
        [
            SERVICE_HEADER,
            ["s1", True, date(2026, 3, 2), Decimal("1.50"), 150000.0, 12],
            ["s2", False, datetime(2026, 3, 2, 10, 30), "  x  ", 0.5, None],
        ],
    )
    assert [r.values for r in rows] == [
        {
            "code": "s1",
            "name_ru": "TRUE",
            "name_uz": "2026-03-02",
            "name_en": "1.50",
            "price": "150000",
            "vat_percent": "12",
        },
        {
            "code": "s2",
            "name_ru": "FALSE",
            "name_uz": "2026-03-02T10:30:00",
            "name_en": "x",
            "price": "0.5",
            "vat_percent": "",
        },
    ]


def test_a_workbook_too_large_once_unpacked_is_rejected_before_it_is_read(monkeypatch):
    data = xlsx_bytes({"services": [SERVICE_HEADER, ["s1", "a", "b", "c", "100", "0"]]})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = [p.file_size for p in archive.infolist()]
    monkeypatch.setattr(price_list_file, "MAX_PART_BYTES", max(parts))
    monkeypatch.setattr(price_list_file, "MAX_UNPACKED_BYTES", sum(parts) - 1)
    with pytest.raises(PriceListRejected, match="too large once unpacked"):
        parse_price_list("prices.xlsx", data)


def test_a_damaged_workbook_is_rejected():
    data = xlsx_bytes({"services": [SERVICE_HEADER]})
    broken = _rewrite(data, "xl/workbook.xml", b"<not a workbook")
    with pytest.raises(PriceListRejected, match="The workbook cannot be read"):
        parse_price_list("prices.xlsx", broken)


def test_a_workbook_whose_sheet_breaks_off_midway_is_rejected_as_a_whole():
    rows = [[f"S-{i}", "Приём", "Qabul", "Visit", "1000", "0"] for i in range(300)]
    data = xlsx_bytes({"services": [SERVICE_HEADER, *rows]})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    broken = _rewrite(data, "xl/worksheets/sheet1.xml", sheet[: len(sheet) // 2])
    with pytest.raises(PriceListRejected, match="The workbook cannot be read"):
        parse_price_list("prices.xlsx", broken)


def test_a_workbook_with_known_sheets_but_no_services_imports_what_it_has():
    data = xlsx_bytes(
        {
            "Departments": [
                ["code", "ticket_prefix", "name_ru", "name_uz", "name_en"],
                ["lab", "L", "Лаборатория", "Laboratoriya", "Laboratory"],
            ],
            "notes": [["not", "a", "price", "list"]],
        }
    )
    rows = parse_price_list("prices.xlsx", data)
    assert [(r.sheet, r.values["code"]) for r in rows] == [("departments", "lab")]


# --- importing ------------------------------------------------------------------------------


def test_a_job_without_its_file_cannot_import(runtime):
    with runtime.db.transaction() as s:
        job_id = jobs.create_job(s, kind="price_import", task_name="reference.import").id
    with pytest.raises(PriceListRejected, match="no file"):
        import_price_list(runtime.db.sessionmaker, job_id)


def test_importing_a_finished_job_again_changes_nothing_and_reports_the_same(runtime):
    data = csv_bytes([SERVICE_HEADER, ["s1", "Приём", "Qabul", "Visit", "100", "0"]])
    job_id = new_job(runtime, "prices.csv", data)
    claim(runtime, job_id)
    first = import_price_list(runtime.db.sessionmaker, job_id)
    again = import_price_list(runtime.db.sessionmaker, job_id)
    assert first == again and first["created"] == 1
    assert count(runtime, Service) == 1


def test_rows_with_empty_or_bad_values_are_rejected_one_by_one(runtime, monkeypatch):
    monkeypatch.setattr(price_import, "MAX_REPORTED_ERRORS", 2)
    data = csv_bytes(
        [
            SERVICE_HEADER,
            ["", "Приём", "Qabul", "Visit", "100", "0"],
            ["s2", "Приём", "Qabul", "Visit", "", "0"],
            ["s3", "Приём", "Qabul", "Visit", "100", "twelve"],
            ["s4", "Приём", "Qabul", "Visit", "100", "12"],
        ]
    )
    result = run_import(runtime, "prices.csv", data)
    assert result["created"] == 1 and result["rejected"] == 3
    assert len(result["errors"]) == 2 and result["errors_not_shown"] == 1
    assert [(e["row"], e["column"]) for e in result["errors"]] == [(2, "code"), (3, "price")]
    assert count(runtime, Service) == 1


def test_department_and_doctor_rows_with_problems_write_nothing(runtime):
    data = xlsx_bytes(
        {
            "departments": [
                ["code", "ticket_prefix", "name_ru", "name_uz", "name_en"],
                ["lab", "L", "Лаборатория", "Laboratoriya", "Laboratory", "surplus"],
            ],
            "doctors": [["full_name", "department_code"], ["Ali Valiyev", ""]],
            "services": [SERVICE_HEADER],
        }
    )
    result = run_import(runtime, "prices.xlsx", data)
    assert result["rejected"] == 2 and result["created"] == 0
    assert {(e["sheet"], e["column"]) for e in result["errors"]} == {
        ("departments", None),
        ("doctors", "department_code"),
    }
    assert count(runtime, Department) == 0


def test_column_names_typed_with_cyrillic_letters_that_look_latin_are_those_columns():
    # "сode" and "РRICE" typed with the Russian layout on: they read as code and price.
    header = ["сode", "nаme_ru", "name_uz", "name_en", "РRICE", "vаt_percent"]
    data = csv_bytes(
        [header, ["S-1", "Приём", "Qabul", "Visit", "150 000,00", "12"]], delimiter=";"
    )
    (row,) = parse_price_list("prices.csv", data)
    assert row.values == {
        "code": "S-1",
        "name_ru": "Приём",
        "name_uz": "Qabul",
        "name_en": "Visit",
        "price": "150 000,00",
        "vat_percent": "12",
    }
    # Russian names are not guessed at: the file is refused naming them as they are written.
    russian = csv_bytes([["Код", "Цена"], ["S-1", "1"]])
    with pytest.raises(PriceListRejected, match="Unknown column\\(s\\): код, цена"):
        parse_price_list("prices.csv", russian)


def test_a_department_code_typed_with_cyrillic_letters_that_look_latin_is_that_department(
    runtime,
):
    with runtime.db.transaction() as s:
        names = {"name_ru": "Кардиология", "name_uz": "Kardiologiya", "name_en": "Cardiology"}
        card = reference.create_department(s, {"code": "CARD", "ticket_prefix": "C", **names}).id
    header = ["code", "name_ru", "name_uz", "name_en", "price", "department_code"]
    rows = [header, ["ECG", "ЭКГ", "EKG", "ECG", "50000", "СARD"]]  # a Cyrillic С
    rows.append(["ECHO", "ЭхоКГ", "ExoKG", "Echo", "90000", "NOPE"])
    result = run_import(runtime, "prices.csv", csv_bytes(rows))
    assert (result["created"], result["rejected"]) == (1, 1)
    assert [(e["row"], e["values"]) for e in result["errors"]] == [(3, {"code": "NOPE"})]
    with runtime.db.session() as s:
        assert s.scalar(select(Service.department_id).where(Service.code == "ECG")) == card


def test_a_department_code_typed_in_small_letters_is_that_department(runtime):
    with runtime.db.transaction() as s:
        names = {"name_ru": "Кардиология", "name_uz": "Kardiologiya", "name_en": "Cardiology"}
        card = reference.create_department(s, {"code": "CARD", "ticket_prefix": "C", **names}).id
    header = ["code", "name_ru", "name_uz", "name_en", "price", "department_code"]
    rows = [header, ["ECG", "ЭКГ", "EKG", "ECG", "50000", "card"]]
    rows.append(["ECHO", "ЭхоКГ", "ExoKG", "Echo", "90000", "Сard"])  # a Cyrillic С
    result = run_import(runtime, "prices.csv", csv_bytes(rows))
    assert (result["created"], result["rejected"]) == (2, 0), result
    with runtime.db.session() as s:
        assert set(s.scalars(select(Service.department_id))) == {card}


def test_a_service_code_typed_in_small_or_cyrillic_letters_is_the_service_on_file(runtime):
    with runtime.db.transaction() as s:
        for code in ("CT-01", "GP-01"):
            price_list.create_service(
                s, {"code": code, "name_ru": "КТ", "name_uz": "KT", "name_en": "CT", "price": 100}
            )
    header = ["code", "name_ru", "name_uz", "name_en", "price"]
    rows = [header, ["СТ-01", "КТ", "KT", "CT", "2000"]]  # a Cyrillic С and Т
    rows += [["gp-01", "КТ", "KT", "CT", "1"], ["NEW-1", "а", "b", "c", "5"]]
    rows += [["new-1", "а", "b", "c", "6"]]
    result = run_import(runtime, "prices.csv", csv_bytes(rows))
    assert [result[o] for o in ("created", "updated", "unchanged", "rejected")] == [1, 1, 1, 1]
    assert [(e["row"], e["code"]) for e in result["errors"]] == [(5, "repeats")]
    with runtime.db.session() as s:
        prices = dict(s.execute(select(Service.code, Service.price)).all())
    assert prices == {"CT-01": 200_000, "GP-01": 100, "NEW-1": 500}


def test_a_doctor_written_in_other_capitals_or_spaces_is_the_doctor_on_file(runtime):
    with runtime.db.transaction() as s:
        names = {"name_ru": "Кардиология", "name_uz": "Kardiologiya", "name_en": "Cardiology"}
        card = reference.create_department(s, {"code": "CARD", "ticket_prefix": "C", **names}).id
        doctor = {"full_name": "Каримов  Анвар", "department_id": card}  # two spaces
        karimov = reference.create_doctor(s, doctor).id
    header = ["full_name", "department_code", "specialty"]
    rows = [header, ["КАРИМОВ Анвар", "CARD", "Кардиолог"], ["каримов анвар", "card", ""]]
    data = xlsx_bytes({"doctors": rows, "services": [SERVICE_HEADER]})
    result = run_import(runtime, "prices.xlsx", data)
    assert result["sheets"]["doctors"] == {
        "created": 0, "updated": 1, "unchanged": 0, "rejected": 1
    }, result  # fmt: skip
    assert [(e["row"], e["code"]) for e in result["errors"]] == [(3, "repeats")]
    with runtime.db.session() as s:
        doctors = s.execute(select(Doctor.id, Doctor.full_name, Doctor.specialty)).all()
    assert doctors == [(karimov, "КАРИМОВ Анвар", "Кардиолог")]
