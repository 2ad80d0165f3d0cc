"""Price-list import: reading CSV and XLSX, row errors, upserts, and resuming after a crash."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from clinic import jobs
from clinic.errors import ValidationFailed
from clinic.events import channel_last_seq
from clinic.jobs import ClaimLost
from clinic.models import Department, Doctor, Job, OutboxEvent, Room, Service
from clinic.reference import price_list_file
from clinic.reference.directory import create_department, deactivate_department
from clinic.reference.price_import import (
    PriceListRejected,
    import_batches,
    import_price_list,
    start_import,
)
from clinic.reference.price_list_file import file_kind, parse_price, parse_price_list, parse_whole
from tests.conftest import wipe

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "samples" / "price-list.csv"
HEADER = ["code", "name_ru", "name_uz", "name_en", "price", "vat_percent"]
# A zip's end record pointing at a central directory that is not there (a cut download).
BROKEN_ZIP = b"X" * 46 + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, 46, 0, 0)


def csv_bytes(rows, *, delimiter=",", bom=False) -> bytes:
    text = "\r\n".join(delimiter.join(str(v) for v in row) for row in rows) + "\r\n"
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8")


def xlsx_bytes(sheets: dict[str, list[list]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def run_import(runtime, filename: str, data: bytes, *, batch_size: int = 200) -> dict:
    """What the worker does: create the job, claim it, import, finish."""
    job_id = new_job(runtime, filename, data)
    claim(runtime, job_id)
    result = import_price_list(runtime.db.sessionmaker, job_id, batch_size=batch_size)
    with runtime.db.transaction() as s:
        jobs.finish_job(s, jobs.get_job(s, job_id), result)
    return result


def new_job(runtime, filename: str, data: bytes) -> str:
    with runtime.db.transaction() as s:
        return start_import(s, filename=filename, data=data).id


def claim(runtime, job_id: str) -> None:
    with runtime.db.transaction() as s:
        assert jobs.claim_job(s, job_id, stale_seconds=60) is not None


def count(runtime, model) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


# -- reading files (no database) ------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";"])
@pytest.mark.parametrize("bom", [False, True])
def test_csv_is_read_with_either_delimiter_with_or_without_bom(delimiter, bom):
    data = csv_bytes(
        [
            ["Code", "NAME_RU", "name_uz", "name_en", "Price"],
            ["K-1", "Приём терапевта", "Terapevt qabuli", "GP visit", "150 000"],
            [],
            ["K-2", "УЗИ", "UTT", "Ultrasound", "80000.50"],
        ],
        delimiter=delimiter,
        bom=bom,
    )
    rows = parse_price_list("prices.csv", data)
    assert [(r.number, r.values["code"], r.values["price"]) for r in rows] == [
        (2, "K-1", "150 000"),
        (4, "K-2", "80000.50"),
    ]
    assert rows[0].values["name_ru"] == "Приём терапевта"


@pytest.mark.parametrize(
    "above", ["", "\r\n", "\n\n", "Прейскурант\n", "\nПрейскурант 2026\r\n\r\n"]
)
@pytest.mark.parametrize("delimiter", [",", ";"])
def test_the_delimiter_is_the_header_rows_past_blank_lines_and_a_title_above_it(above, delimiter):
    header = ["code", "name_ru", "name_uz", "name_en", "price"]
    row = ["K-1", "Приём терапевта", "Qabul", "GP visit", "150 000"]
    data = above.encode() + csv_bytes([header, row], delimiter=delimiter, bom=False)
    (read,) = parse_price_list("prices.csv", data)
    assert (read.values["code"], read.values["name_ru"], read.values["price"]) == (
        "K-1", "Приём терапевта", "150 000"
    )  # fmt: skip


@pytest.mark.parametrize("hint", ["sep=;", "SEP=;;;;", '"sep=;"'])
def test_a_first_line_naming_the_delimiter_for_excel_names_it(hint):
    header = ["code", "name_ru", "name_uz", "name_en", "price"]
    row = ["K-1", "Приём, первичный", "Qabul", "GP visit", "150 000,50"]
    data = hint.encode() + b"\r\n" + csv_bytes([header, row], delimiter=";", bom=False)
    (read,) = parse_price_list("prices.csv", b"\xef\xbb\xbf" + data)
    assert (read.number, read.values["name_ru"], read.values["price"]) == (
        2, "Приём, первичный", "150 000,50"
    )  # fmt: skip


@pytest.mark.parametrize(
    "text, tiyin",
    [
        ("150000", 15_000_000),
        ("150 000", 15_000_000),
        ("150\u00a0000", 15_000_000),
        ("150000.50", 15_000_050),
        ("150000.5", 15_000_050),
        ("1 234 567,89", 123_456_789),
        ("0", 0),
        ("0.01", 1),
    ],
)
def test_prices_in_sums_become_integer_tiyin(text, tiyin):
    assert parse_price(text) == tiyin


@pytest.mark.parametrize("text", ["150,000", "1.234", "-5", "abc", "15 00", "1e5", ""])
def test_prices_that_are_not_sums_with_two_decimals_are_refused(text):
    with pytest.raises(ValueError):
        parse_price(text)


def test_unknown_columns_reject_the_whole_file_naming_them():
    data = csv_bytes([HEADER + ["Colour", "size"], ["A", "a", "a", "a", "1", "0", "red", "L"]])
    with pytest.raises(PriceListRejected) as caught:
        parse_price_list("prices.csv", data)
    assert "unknown column(s): colour, size" in caught.value.detail.lower()


def test_missing_required_columns_reject_the_whole_file_naming_them():
    data = csv_bytes([["code", "name_ru", "name_en"], ["A", "a", "a"]])
    with pytest.raises(PriceListRejected) as caught:
        parse_price_list("prices.csv", data)
    assert caught.value.detail == "Required column(s) missing: name_uz, price."


@pytest.mark.parametrize(
    "filename, data, message",
    [
        ("prices.csv", b"", "The file is empty."),
        ("prices.txt", b"code,price\n", "Send a price list as a .csv or .xlsx file."),
        ("prices.xlsx", b"code,price\n", "The file is not an Excel workbook (.xlsx)."),
        ("prices.xlsx", BROKEN_ZIP, "The file is not an Excel workbook (.xlsx)."),
        # Neither UTF-8 nor Windows-1251 (which has no byte 0x98).
        ("prices.csv", b"code,\x98price\n", "The file is not UTF-8 text"),
        ("prices.csv", b"PK\x03\x04binary\x00", "The file is not a CSV text file."),
    ],
)
def test_an_upload_that_is_not_a_price_list_is_refused_naming_the_file_field(
    filename, data, message
):
    with pytest.raises(ValidationFailed) as caught:
        file_kind(filename, data)
    assert caught.value.errors["file"][0].startswith(message)


def test_a_file_with_too_many_rows_is_refused_before_it_is_read_to_the_end(monkeypatch):
    monkeypatch.setattr(price_list_file, "MAX_ROWS", 3)
    rows = [HEADER] + [[f"A{i}", "a", "a", "a", "1", "0"] for i in range(10)]
    with pytest.raises(PriceListRejected, match="More than 3 rows: split the file."):
        parse_price_list("prices.csv", csv_bytes(rows))


def test_xlsx_numbers_too_long_to_be_exact_are_a_row_error_not_wrong_digits():
    data = xlsx_bytes(
        {
            "services": [
                HEADER + ["ikpu_code"],
                ["A", "a", "a", "a", 150000.5, 12, 10_611_001_001_000_001],
            ]
        }
    )
    (row,) = parse_price_list("prices.xlsx", data)
    assert row.values["price"] == "150000.5" and row.values["vat_percent"] == "12"
    assert row.problems == (
        ("ikpu_code", "This number is too long to be exact; format the column as text."),
    )


# -- importing (both databases) -------------------------------------------------------------

GOOD_AND_BAD = [
    HEADER + ["ikpu_code", "department_code"],
    ["S-1", "Приём", "Qabul", "Visit", "150 000", "12", "10611001001000001", ""],  # row 2
    ["S-2", "УЗИ", "UTT", "Ultrasound", "80000.50", "0", "", ""],  # row 3
    ["S-3", "Анализ", "Tahlil", "Test", "a lot", "0", "", ""],  # row 4: price
    ["S-4", "", "Qon", "Blood", "1000", "0", "", ""],  # row 5: name_ru
    ["S-5", "ЭКГ", "EKG", "ECG", "5000", "0", "123", ""],  # row 6: ikpu_code
    ["S-6", "МРТ", "MRT", "MRI", "900000", "0", "", "NOPE"],  # row 7: department_code
    ["S-1", "Повтор", "Takror", "Again", "1", "0", "", ""],  # row 8: repeats row 2
    ["S-7", "Массаж", "Massaj", "Massage", "70 000", "150", "", ""],  # row 9: vat_percent
]


def test_import_stores_good_rows_in_tiyin_and_reports_bad_ones_by_row_and_column(runtime):
    result = run_import(runtime, "prices.csv", csv_bytes(GOOD_AND_BAD))
    assert {k: result[k] for k in ("created", "updated", "unchanged", "rejected")} == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": 6,
    }
    assert [(e["row"], e["column"]) for e in result["errors"]] == [
        (4, "price"),
        (5, "name_ru"),
        (6, "ikpu_code"),
        (7, "department_code"),
        (8, "code"),
        (9, "vat_percent"),
    ]
    assert result["errors"][3]["reason"] == "There is no department with code 'NOPE'."
    assert result["errors"][4]["reason"] == "Repeats row 2; only the first one is imported."
    assert result["sheets"] == {
        "services": {"created": 2, "updated": 0, "unchanged": 0, "rejected": 6}
    }
    with runtime.db.session() as s:
        stored = {
            x.code: (x.price, x.vat_percent, x.ikpu_code, x.name_ru)
            for x in s.scalars(select(Service))
        }
    assert stored == {
        "S-1": (15_000_000, 12, "10611001001000001", "Приём"),
        "S-2": (8_000_050, 0, "", "УЗИ"),
    }


def test_the_documented_sample_file_imports_without_errors(runtime):
    result = run_import(runtime, SAMPLE.name, SAMPLE.read_bytes())
    assert (result["created"], result["rejected"], result["errors"]) == (7, 0, [])
    with runtime.db.session() as s:
        assert s.scalar(select(Service.price).where(Service.code == "CARD-02")) == 8_000_050


def test_importing_the_same_file_again_creates_and_updates_nothing(runtime):
    data = csv_bytes(GOOD_AND_BAD, delimiter=";", bom=True)
    run_import(runtime, "prices.csv", data)
    again = run_import(runtime, "prices.csv", data)
    assert (again["created"], again["updated"], again["unchanged"], again["rejected"]) == (
        0,
        0,
        2,
        6,
    )
    assert count(runtime, Service) == 2


def test_a_changed_price_updates_that_service_only(runtime):
    run_import(runtime, "prices.csv", csv_bytes(GOOD_AND_BAD))
    changed = [list(r) for r in GOOD_AND_BAD[:3]]
    changed[2][4] = "85 000"
    result = run_import(runtime, "prices.csv", csv_bytes(changed))
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 1, 1)
    with runtime.db.session() as s:
        assert s.scalar(select(Service.price).where(Service.code == "S-2")) == 8_500_000


def test_a_service_may_name_an_existing_department(runtime):
    with runtime.db.transaction() as s:
        department = create_department(
            s,
            {
                "code": "LAB",
                "ticket_prefix": "L",
                "name_ru": "Лаб",
                "name_uz": "Lab",
                "name_en": "Lab",
            },
        )
    rows = [HEADER + ["department_code"], ["T-1", "Анализ", "Tahlil", "Test", "1000", "0", "LAB"]]
    result = run_import(runtime, "prices.csv", csv_bytes(rows))
    assert result["created"] == 1 and result["errors"] == []
    with runtime.db.session() as s:
        assert s.scalar(select(Service.department_id)) == department.id


WORKBOOK = {
    "departments": [
        ["code", "ticket_prefix", "name_ru", "name_uz", "name_en"],
        ["CARD", "K", "Кардиология", "Kardiologiya", "Cardiology"],
        ["LAB", "L", "Лаборатория", "Laboratoriya", "Laboratory"],
    ],
    "doctors": [
        ["full_name", "department_code", "room_number", "specialty"],
        ["Каримов Анвар", "CARD", "101", "Кардиолог"],
        ["Usmonova Dilnoza", "LAB", "", ""],
        ["Nobody", "NOPE", "", ""],  # row 4: unknown department
    ],
    "services": [
        HEADER + ["duration_minutes", "department_code"],
        ["ECG", "ЭКГ", "EKG", "ECG", 50000, 0, 20, "CARD"],
        ["CBC", "ОАК", "UQT", "Blood count", "45 000.50", 12, "", "LAB"],
    ],
}


def test_a_workbook_upserts_departments_and_doctors_before_services(runtime):
    result = run_import(runtime, "prices.xlsx", xlsx_bytes(WORKBOOK))
    assert result["sheets"] == {
        "departments": {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0},
        "doctors": {"created": 2, "updated": 0, "unchanged": 0, "rejected": 1},
        "services": {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0},
    }
    assert result["errors"] == [
        {
            "sheet": "doctors",
            "row": 4,
            "column": "department_code",
            "reason": "There is no department with code 'NOPE'.",
            "code": "no_department",
            "values": {"code": "NOPE"},
        }
    ]
    with runtime.db.session() as s:
        card = s.scalar(select(Department).where(Department.code == "CARD"))
        ecg = s.scalar(select(Service).where(Service.code == "ECG"))
        assert (ecg.price, ecg.duration_minutes, ecg.department_id) == (5_000_000, 20, card.id)
        karimov = s.scalar(select(Doctor).where(Doctor.full_name == "Каримов Анвар"))
        assert karimov.department_id == card.id and karimov.room.number == "101"
        assert s.scalar(select(Service.price).where(Service.code == "CBC")) == 4_500_050

    again = run_import(runtime, "prices.xlsx", xlsx_bytes(WORKBOOK))
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 6)
    assert (count(runtime, Doctor), count(runtime, Room), count(runtime, Department)) == (2, 1, 2)


def test_a_workbook_without_a_services_sheet_reads_its_first_sheet():
    data = xlsx_bytes({"Прайс": WORKBOOK["services"]})
    assert [r.values["code"] for r in parse_price_list("prices.xlsx", data)] == ["ECG", "CBC"]


def test_a_rejected_row_changes_nothing_and_publishes_nothing(runtime):
    data = xlsx_bytes(
        {
            "departments": WORKBOOK["departments"][:2],
            "doctors": [WORKBOOK["doctors"][0], ["Д" * 200, "CARD", "777", ""]],
            "services": [HEADER],
        }
    )
    result = run_import(runtime, "prices.xlsx", data)
    assert [(e["sheet"], e["row"], e["column"]) for e in result["errors"]] == [
        ("doctors", 2, "full_name")
    ]
    # The room the row would have needed was rolled back with the row, and so was its event.
    assert count(runtime, Room) == 0
    with runtime.db.session() as s:
        assert channel_last_seq(s, "reference:rooms") == 0
        assert s.scalar(select(func.count()).where(OutboxEvent.channel == "reference:rooms")) == 0


def test_a_file_with_missing_columns_fails_the_import_and_writes_nothing(runtime):
    job_id = new_job(runtime, "prices.csv", csv_bytes([["code", "price"], ["A", "1"]]))
    claim(runtime, job_id)
    with pytest.raises(PriceListRejected, match="Required column"):
        import_price_list(runtime.db.sessionmaker, job_id)
    assert count(runtime, Service) == 0


def big_file(n: int) -> bytes:
    rows = [HEADER]
    for i in range(n):
        price = "oops" if i % 17 == 5 else f"{(1000 + i) * 1000:,}".replace(",", " ")
        rows.append(
            [
                f"C-{i // 3 if i % 40 == 39 else i}",
                f"Услуга {i}",
                f"Xizmat {i}",
                f"Service {i}",
                price,
                "0",
            ]
        )
    return csv_bytes(rows)


def test_a_resumed_import_ends_with_the_counts_of_an_uninterrupted_one(runtime):
    data = big_file(120)
    uninterrupted = run_import(runtime, "prices.csv", data, batch_size=25)
    wipe(runtime)

    job_id = new_job(runtime, "prices.csv", data)
    claim(runtime, job_id)
    batches = import_batches(runtime.db.sessionmaker, job_id, batch_size=25)
    next(batches)
    saved = next(batches)
    batches.close()  # the worker dies after two committed batches
    with runtime.db.session() as s:
        job = s.get(Job, job_id)
        assert (job.done, job.total, job.state["next"]) == (50, 120, 50)
    assert count(runtime, Service) == saved["counts"]["services"]["created"] > 0

    make_stale(runtime, job_id)  # the sweeper hands the job to another worker
    with runtime.db.transaction() as s:
        assert jobs.claim_job(s, job_id, stale_seconds=60).attempts == 2
    resumed = import_price_list(runtime.db.sessionmaker, job_id, batch_size=25)

    assert resumed == uninterrupted
    assert resumed["created"] > 0 and resumed["rejected"] > 0
    with runtime.db.session() as s:
        codes = s.scalars(select(Service.code)).all()
    assert len(codes) == len(set(codes)) == resumed["created"]


def make_stale(runtime, job_id: str) -> None:
    with runtime.db.transaction() as s:
        job = s.get(Job, job_id)
        job.heartbeat_at = job.heartbeat_at.replace(year=2000)


def test_an_attempt_that_lost_its_claim_stops_without_writing(runtime):
    job_id = new_job(runtime, "prices.csv", big_file(10))
    claim(runtime, job_id)
    first = import_batches(runtime.db.sessionmaker, job_id, batch_size=5)
    next(first)
    make_stale(runtime, job_id)  # the first worker looked dead and the job went to another
    claim(runtime, job_id)
    with pytest.raises(ClaimLost):
        next(first)
    with runtime.db.session() as s:
        assert s.get(Job, job_id).state["next"] == 5
    assert count(runtime, Service) == 5  # the first batch only: rows 2 to 6


def test_a_doctors_room_that_cannot_be_made_is_reported_under_room_number(runtime):
    data = xlsx_bytes(
        {
            "departments": WORKBOOK["departments"][:2],
            "doctors": [WORKBOOK["doctors"][0], ["Каримов Анвар", "CARD", "1 01", ""]],
            "services": [HEADER],
        }
    )
    result = run_import(runtime, "prices.xlsx", data)
    assert result["errors"] == [
        {
            "sheet": "doctors",
            "row": 2,
            "column": "room_number",
            "reason": "No spaces.",
            "code": "invalid",  # the page says the column's rule in its language
            "values": {},
        }
    ]
    assert (count(runtime, Doctor), count(runtime, Room)) == (0, 0)


def test_a_price_too_long_to_be_exact_is_reported_once(runtime):
    data = xlsx_bytes({"services": [HEADER, ["S-1", "Приём", "Qabul", "Visit", 1e20, 0]]})
    result = run_import(runtime, "prices.xlsx", data)
    assert [(e["row"], e["column"], e["reason"]) for e in result["errors"]] == [
        (2, "price", "This number is too long to be exact; format the column as text.")
    ]


def test_a_vat_typed_as_a_percentage_in_excel_is_that_percentage(runtime):
    book = Workbook()
    sheet = book.active
    sheet.title = "services"
    sheet.append(HEADER)
    sheet.append(["S-1", "Приём", "Qabul", "Visit", 150000, 0.12])  # typed as "12%"
    sheet.append(["S-2", "УЗИ", "UTT", "Ultrasound", 80000, 0])
    sheet.append(["S-3", "ЭКГ", "EKG", "ECG", 50000, 12])  # 12 shown with a "%" after it
    sheet["F2"].number_format = "0%"
    sheet["F3"].number_format = "0%"
    sheet["F4"].number_format = '0"%"'
    buffer = io.BytesIO()
    book.save(buffer)
    result = run_import(runtime, "prices.xlsx", buffer.getvalue())
    assert (result["created"], result["errors"]) == (3, [])
    with runtime.db.session() as s:
        assert dict(s.execute(select(Service.code, Service.vat_percent)).all()) == {
            "S-1": 12,
            "S-2": 0,
            "S-3": 12,
        }


def with_stored_number(data: bytes, shown: str, stored: str) -> bytes:
    """The workbook with the number written as ``shown`` stored as ``stored`` instead, as
    Excel stores a formula's result: every digit of the double, not what the cell shows."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for part in source.infolist():
            body = source.read(part.filename)
            if part.filename.startswith("xl/worksheets/"):
                body = body.replace(f"<v>{shown}</v>".encode(), f"<v>{stored}</v>".encode())
            target.writestr(part.filename, body)
    return out.getvalue()


def test_a_price_computed_by_a_formula_reads_as_excel_shows_it():
    data = xlsx_bytes({"services": [HEADER, ["S-1", "Приём", "Qabul", "Visit", 168000.5, 12]]})
    data = with_stored_number(data, "168000.5", "168000.00000000003")  # =150000*1.12
    (row,) = parse_price_list("prices.xlsx", data)
    assert (row.values["price"], row.problems) == ("168000", ())
    data = xlsx_bytes({"services": [HEADER, ["S-1", "Приём", "Qabul", "Visit", 5.5, 12]]})
    data = with_stored_number(data, "5.5", "33000.330000000002")  # =11000.11*3
    (row,) = parse_price_list("prices.xlsx", data)
    assert parse_price(row.values["price"]) == 3300033


def test_a_code_excel_wrote_in_scientific_notation_is_refused_saying_so(runtime):
    rows = [
        ["code", "name_ru", "name_uz", "name_en", "price", "ikpu_code", "package_code"],
        ["S-1", "Приём", "Qabul", "Visit", "150000", "1,06110E+16", ""],
        ["S-2", "УЗИ", "UTT", "Ultrasound", "80000", "1.23E+16", "1E+06"],
        ["S-3", "ЭКГ", "EKG", "ECG", "5000", "01061100100100001", "0001000001"],
    ]
    result = run_import(runtime, "prices.csv", csv_bytes(rows, delimiter=";"))
    reason = (
        "Excel wrote this code as a number in scientific notation and lost its digits: "
        "format the column as text and type the codes again."
    )
    assert [(e["row"], e["column"], e["reason"]) for e in result["errors"]] == [
        (2, "ikpu_code", reason),
        (3, "ikpu_code", reason),
        (3, "package_code", reason),
    ]
    with runtime.db.session() as s:
        service = s.scalar(select(Service).where(Service.code == "S-3"))
        assert (service.ikpu_code, service.package_code) == ("01061100100100001", "0001000001")


@pytest.mark.parametrize(
    "text, whole", [("12", 12), ("12%", 12), ("12.0", 12), ("12,0", 12), ("12,00 %", 12)]
)
def test_whole_numbers_are_read_with_a_decimal_point_or_comma(text, whole):
    assert parse_whole(text) == whole


def test_whole_numbers_with_a_fraction_are_refused():
    with pytest.raises(ValueError, match="Not a valid integer."):
        parse_whole("12,5")


def test_an_ikpu_code_that_lost_its_leading_zero_as_a_number_is_refused_saying_so(runtime):
    data = xlsx_bytes(
        {
            "services": [
                HEADER + ["ikpu_code"],
                ["S-1", "Приём", "Qabul", "Visit", 150000, 12, 8601001000000001],  # 08601...
                ["S-2", "УЗИ", "UTT", "Ultrasound", 80000, 12, "08601001000000002"],
            ]
        }
    )
    result = run_import(runtime, "prices.xlsx", data)
    assert [(e["row"], e["column"], e["reason"]) for e in result["errors"]] == [
        (
            2,
            "ikpu_code",
            "The IKPU (MXIK) code is exactly 17 digits; this one has 16. A cell holding a "
            "number loses the code's leading zeros: format the column as text.",
        )
    ]
    assert result["created"] == 1


def test_a_row_naming_an_inactive_department_is_refused_naming_its_code(runtime):
    with runtime.db.transaction() as s:
        department = create_department(
            s,
            {
                "code": "CARD",
                "ticket_prefix": "K",
                "name_ru": "Кардиология",
                "name_uz": "Kardiologiya",
                "name_en": "Cardiology",
            },
        )
        s.flush()
        deactivate_department(s, department.id)
    data = xlsx_bytes(
        {
            "doctors": [["full_name", "department_code"], ["Каримов Анвар", "CARD"]],
            "services": [
                HEADER + ["department_code"],
                ["S-1", "ЭКГ", "EKG", "ECG", 5000, 0, "CARD"],
            ],
        }
    )
    result = run_import(runtime, "prices.xlsx", data)
    assert [(e["sheet"], e["column"], e["reason"]) for e in result["errors"]] == [
        ("doctors", "department_code", "The department 'CARD' is inactive."),
        ("services", "department_code", "The department 'CARD' is inactive."),
    ]


def test_a_refused_sheet_is_named_as_the_workbook_names_it():
    data = xlsx_bytes({"Прайс": [["Код", "Цена"], ["S-1", 1000]], "Инструкция": [["..."]]})
    with pytest.raises(PriceListRejected, match=r"^Sheet 'Прайс': unknown column\(s\): код, цена"):
        parse_price_list("prices.xlsx", data)
    data = xlsx_bytes({"services": [HEADER], "Doctors": [["full_name"]]})
    with pytest.raises(
        PriceListRejected, match=r"^Sheet 'Doctors': required column\(s\) missing: department_code"
    ):
        parse_price_list("prices.xlsx", data)


def test_a_price_is_read_with_the_decimals_its_cell_shows():
    """Prices raised by a formula (=B2*1.124) in a column formatted as whole sums show, and
    are read, as whole sums; in a money format, to the tiyin shown (halves away from zero,
    as Excel shows them). A cell in the General format is read as before."""
    rows = [HEADER]
    for code, stored in (("S-1", 112388.76), ("S-2", 112498.875), ("S-3", 33000.5)):
        rows.append([code, "Приём", "Qabul", "Visit", stored, 12])
    book = Workbook()
    sheet = book.active
    sheet.title = "services"
    for row in rows:
        sheet.append(row)
    sheet["E2"].number_format = "#,##0"
    sheet["E3"].number_format = "#,##0.00\\ [$сум-419];[Red]\\-#,##0.00"
    buffer = io.BytesIO()
    book.save(buffer)
    read = {r.values["code"]: parse_price(r.values["price"]) for r in parse_price_list(
        "prices.xlsx", buffer.getvalue())}  # fmt: skip
    assert read == {"S-1": 112_389_00, "S-2": 112_498_88, "S-3": 33_000_50}


@pytest.mark.parametrize("mark", list("\u02bb\u02bc\u2018\u2019`\u00b4\u2032'"))
def test_the_sums_name_after_a_price_is_taken_with_any_apostrophe(mark):
    assert parse_price(f"150 000 so{mark}m") == 150_000_00
