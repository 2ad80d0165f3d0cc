"""A service's unit of measure code (``units``, Payme's receipt field): kept by the API, its
events, the price-list import and the downloaded workbook that imports back."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from clinic.models import OutboxEvent, Service
from clinic.reference.price_list import create_service
from tests.reference.test_price_import import csv_bytes, run_import, xlsx_bytes

PROBLEM = "application/problem+json"
PIECE = 241092  # a unit of measure code, as Payme's documentation shows one
NAMES = {"name_ru": "Приём", "name_uz": "Qabul", "name_en": "Visit"}
HEADER = ["code", "name_ru", "name_uz", "name_en", "price"]


def _body(code: str, **extra) -> dict:
    return {"code": code, **NAMES, "price": 15_000_000, **extra}


def _units(runtime) -> dict[str, int | None]:
    with runtime.db.session() as s:
        return dict(s.execute(select(Service.code, Service.units)).all())


def _last_service_event(runtime) -> dict:
    with runtime.db.session() as s:
        return s.scalars(
            select(OutboxEvent.data)
            .where(OutboxEvent.channel == "reference:services")
            .order_by(OutboxEvent.seq.desc())
            .limit(1)
        ).one()


# -- the API ---------------------------------------------------------------------------------


def test_a_services_unit_of_measure_code_is_kept_read_back_changed_and_cleared(client, runtime):
    plain = client.post("/api/v1/services", json=_body("P-1"))
    assert plain.status_code == 201, plain.json
    assert plain.json["units"] is None  # none by default

    made = client.post("/api/v1/services", json=_body("U-1", units=PIECE))
    assert made.status_code == 201, made.json
    assert made.json["units"] == PIECE
    assert client.get(made.headers["Location"]).json["units"] == PIECE
    assert _last_service_event(runtime)["units"] == PIECE

    changed = client.patch(made.headers["Location"], json={"units": 796})
    assert changed.status_code == 200, changed.json
    assert changed.json["units"] == 796 and _last_service_event(runtime)["units"] == 796
    untouched = client.patch(made.headers["Location"], json={"price": 16_000_000})
    assert untouched.json["units"] == 796  # a change of another field keeps it

    cleared = client.patch(made.headers["Location"], json={"units": None})
    assert cleared.status_code == 200 and cleared.json["units"] is None
    assert _units(runtime) == {"P-1": None, "U-1": None}


@pytest.mark.parametrize("units", [0, -5, 1_000_000_000, "241092", 241092.5, True, "", [241092]])
def test_a_bad_unit_of_measure_code_is_a_422_naming_units_and_writes_nothing(
    client, runtime, units
):
    response = client.post("/api/v1/services", json=_body("U-2", units=units))
    assert response.status_code == 422 and response.content_type == PROBLEM, response.json
    assert list(response.json["errors"]) == ["units"]
    assert client.get("/api/v1/services").json["total"] == 0

    made = client.post("/api/v1/services", json=_body("U-3", units=PIECE))
    patched = client.patch(made.headers["Location"], json={"units": units})
    assert patched.status_code == 422 and list(patched.json["errors"]) == ["units"]
    assert _units(runtime) == {"U-3": PIECE}


def test_the_domain_refuses_a_bad_unit_of_measure_code_whoever_calls_it(runtime):
    from clinic.errors import ValidationFailed

    with runtime.db.transaction() as s:
        for units in (0, 10**9, "12"):
            with pytest.raises(ValidationFailed) as caught:
                create_service(s, _body("D-1", units=units))
            assert list(caught.value.errors) == ["units"]
        assert create_service(s, _body("D-2", units=9)).units == 9


# -- the price-list import and the downloaded workbook ---------------------------------------


def test_an_imported_price_list_sets_and_changes_the_unit_of_measure_code(runtime):
    first = csv_bytes(
        [
            HEADER + ["units"],
            ["A-1", "Приём", "Qabul", "Visit", "150000", str(PIECE)],
            ["A-2", "УЗИ", "UTT", "Ultrasound", "80000", ""],
            ["A-3", "ЭКГ", "EKG", "ECG", "50000", "796.0"],
        ]
    )
    result = run_import(runtime, "prices.csv", first)
    assert (result["created"], result["rejected"]) == (3, 0), result
    assert _units(runtime) == {"A-1": PIECE, "A-2": None, "A-3": 796}

    again = xlsx_bytes(
        {"services": [HEADER + ["units"], ["A-1", "Приём", "Qabul", "Visit", 150000, 796]]}
    )
    result = run_import(runtime, "prices.xlsx", again)
    assert (result["updated"], result["rejected"]) == (1, 0), result
    assert _units(runtime)["A-1"] == 796
    assert _last_service_event(runtime)["units"] == 796


def test_a_price_list_without_the_units_column_still_imports_and_keeps_the_codes(runtime):
    with runtime.db.transaction() as s:
        create_service(s, _body("K-1", units=PIECE))
    data = csv_bytes(
        [
            HEADER + ["package_code"],
            ["K-1", "Приём", "Qabul", "Visit", "200000", "1545447"],
            ["K-2", "УЗИ", "UTT", "Ultrasound", "80000", "1545447"],
        ]
    )
    result = run_import(runtime, "prices.csv", data)
    assert (result["created"], result["updated"], result["rejected"]) == (1, 1, 0), result
    assert _units(runtime) == {"K-1": PIECE, "K-2": None}


def test_a_row_with_a_bad_unit_of_measure_code_is_rejected_naming_the_column(runtime):
    data = csv_bytes(
        [
            HEADER + ["units"],
            ["B-1", "Приём", "Qabul", "Visit", "150000", "0"],
            ["B-2", "УЗИ", "UTT", "Ultrasound", "80000", "1000000000"],
            ["B-3", "ЭКГ", "EKG", "ECG", "50000", "шт"],
            ["B-4", "МРТ", "MRT", "MRI", "90000", "12"],
        ]
    )
    result = run_import(runtime, "prices.csv", data)
    assert (result["created"], result["rejected"]) == (1, 3), result
    assert [(e["row"], e["column"]) for e in result["errors"]] == [
        (2, "units"),
        (3, "units"),
        (4, "units"),
    ]
    assert [e.get("code") for e in result["errors"]] == ["invalid", "invalid", "not_whole"]
    assert _units(runtime) == {"B-4": 12}


def test_the_downloaded_price_list_carries_the_unit_codes_and_imports_back_unchanged(
    client, runtime
):
    with runtime.db.transaction() as s:
        create_service(s, _body("E-1", units=PIECE))
        create_service(s, _body("E-2"))
    response = client.get("/api/v1/services/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data))["services"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header = rows[0]
    assert header.index("units") == header.index("package_code") + 1
    by_code = {row[0]: dict(zip(header, row)) for row in rows[1:]}
    assert by_code["E-1"]["units"] == PIECE and by_code["E-2"]["units"] is None

    result = run_import(runtime, "price-list.xlsx", response.data)
    assert (result["unchanged"], result["updated"], result["rejected"]) == (2, 0, 0), result

    rows[1][header.index("units")] = 796  # E-1's code changed in Excel
    result = run_import(runtime, "price-list.xlsx", xlsx_bytes({"services": rows}))
    assert (result["unchanged"], result["updated"], result["rejected"]) == (1, 1, 0), result
    assert _units(runtime) == {"E-1": 796, "E-2": None}
