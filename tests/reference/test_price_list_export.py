"""The price list downloaded as a workbook, and that workbook imported back as it is."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from clinic.reference.directory import create_department, deactivate_department
from clinic.reference.price_list import create_service, deactivate_service
from tests.reference.test_price_import import run_import

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _fill_price_list(runtime) -> None:
    with runtime.db.transaction() as s:
        lab = create_department(
            s,
            {"code": "LAB", "ticket_prefix": "L", "name_ru": "Лаборатория"}
            | {"name_uz": "Laboratoriya", "name_en": "Laboratory"},
        )
        s.flush()
        names = {"name_ru": "ЭКГ", "name_uz": "EKG", "name_en": "Electrocardiogram"}
        create_service(
            s,
            {"code": "CARD-02", **names, "price": 8_000_050, "duration_minutes": 20}
            | {"ikpu_code": "00000000000000003", "package_code": "0001", "vat_percent": 12},
        )
        create_service(
            s,
            {"code": "LAB-01", "name_ru": "=Анализ", "name_uz": "Qon tahlili"}
            | {"name_en": "Blood count", "price": 4_500_000, "department_id": lab.id},
        )
        old = create_service(
            s,
            {"code": "OLD-1", "name_ru": "Старое", "name_uz": "Eski", "name_en": "Old"}
            | {"price": 0},
        )
        closed = create_department(
            s,
            {"code": "OLDDEP", "ticket_prefix": "OD", "name_ru": "Закрыто"}
            | {"name_uz": "Yopiq", "name_en": "Closed"},
        )
        s.flush()
        deactivate_service(s, old.id)
        # A service of a department switched off since: its row names that department.
        create_service(
            s,
            {"code": "X-1", "name_ru": "Икс", "name_uz": "Iks", "name_en": "X"}
            | {"price": 1, "department_id": closed.id},
        )
        s.flush()
        deactivate_department(s, closed.id)


def test_the_downloaded_price_list_imports_back_as_it_is_changing_nothing(client, runtime):
    _fill_price_list(runtime)
    response = client.get("/api/v1/services/export.xlsx")
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == XLSX
    assert "price-list.xlsx" in response.headers["Content-Disposition"]

    sheet = load_workbook(io.BytesIO(response.data))["services"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header = rows[0]
    assert header[:5] == ["code", "name_ru", "name_uz", "name_en", "price"]
    ecg = dict(zip(header, rows[1]))
    # Every digit of the IKPU and package codes, leading zeros too: text, not a number.
    assert (ecg["ikpu_code"], ecg["package_code"]) == ("00000000000000003", "0001")
    assert float(ecg["price"]) == 80_000.50  # sums, as the import reads them
    assert dict(zip(header, rows[2]))["department_code"] == "LAB"

    result = run_import(runtime, "price-list.xlsx", response.data)
    assert (result["created"], result["updated"], result["rejected"]) == (0, 0, 0), result
    assert result["unchanged"] == 4


def test_the_price_list_download_needs_reference_read(client_as):
    assert client_as("cashier").get("/api/v1/services/export.xlsx").status_code == 200
    assert client_as("display").get("/api/v1/services/export.xlsx").status_code == 403


def test_the_price_list_page_links_the_download(client):
    page = client.get("/services").get_data(as_text=True)
    assert 'href="/api/v1/services/export.xlsx"' in page
