"""A department's code that reads like a taken one (in small letters, or with Cyrillic
letters drawn like Latin ones) is taken: it would be two departments that read the same on
every screen, and a price list naming either could not tell which."""

from __future__ import annotations

import pytest

from tests.reference.test_price_import import run_import, xlsx_bytes

NAMES = {"name_ru": "Кардиология", "name_uz": "Kardiologiya", "name_en": "Cardiology"}


@pytest.mark.parametrize("code", ["card", "Card", "САRD"])  # the last with Cyrillic С and А
def test_a_department_code_that_reads_like_a_taken_one_is_a_conflict(client, code):
    first = client.post("/api/v1/departments", json={"code": "CARD", "ticket_prefix": "K", **NAMES})
    assert first.status_code == 201
    second = client.post("/api/v1/departments", json={"code": code, "ticket_prefix": "KA", **NAMES})
    assert second.status_code == 409, second.get_json()
    assert list(second.get_json()["errors"]) == ["code"]
    assert "CARD" in second.get_json()["errors"]["code"][0]
    other = client.post("/api/v1/departments", json={"code": "LAB", "ticket_prefix": "L", **NAMES})
    renamed = client.patch(f"/api/v1/departments/{other.get_json()['id']}", json={"code": code})
    assert renamed.status_code == 409 and list(renamed.get_json()["errors"]) == ["code"]
    listed = client.get("/api/v1/departments").get_json()
    assert sorted(d["code"] for d in listed["items"]) == ["CARD", "LAB"]


def test_a_department_may_write_its_own_code_in_other_capitals(client):
    made = client.post("/api/v1/departments", json={"code": "CARD", "ticket_prefix": "K", **NAMES})
    changed = client.patch(f"/api/v1/departments/{made.get_json()['id']}", json={"code": "Card"})
    assert changed.status_code == 200 and changed.get_json()["code"] == "Card"


def test_a_workbooks_department_in_small_letters_is_the_department_on_file(client, runtime):
    assert (
        client.post(
            "/api/v1/departments", json={"code": "CARD", "ticket_prefix": "K", **NAMES}
        ).status_code
        == 201
    )
    header = ["code", "ticket_prefix", "name_ru", "name_uz", "name_en"]
    data = xlsx_bytes(
        {
            "departments": [header, ["card", "K", "Кардиология", "Kardiologiya", "Cardiology."]],
            "services": [["code", "name_ru", "name_uz", "name_en", "price"]],
        }
    )
    result = run_import(runtime, "prices.xlsx", data)
    assert (result["created"], result["updated"], result["rejected"]) == (0, 1, 0), result
    [department] = client.get("/api/v1/departments").get_json()["items"]
    assert (department["code"], department["name_en"]) == ("CARD", "Cardiology.")
