"""A room number that reads like a taken one (a letter in other capitals, or a Cyrillic letter
drawn like a Latin one, typed with the Russian layout on: "101а" or "101А" beside "101A") is
taken: the board would send patients to two rooms that read the same."""

from __future__ import annotations

import pytest

from tests.reference.test_price_import import run_import, xlsx_bytes

NAMES = {"name_ru": "Кардиология", "name_uz": "Kardiologiya", "name_en": "Cardiology"}


@pytest.mark.parametrize("number", ["101a", "101А", "101а"])  # the last two Cyrillic
def test_a_room_number_that_reads_like_a_taken_one_is_a_conflict(client, number):
    assert client.post("/api/v1/rooms", json={"number": "101A"}).status_code == 201
    second = client.post("/api/v1/rooms", json={"number": number})
    assert second.status_code == 409, second.get_json()
    assert list(second.get_json()["errors"]) == ["number"]
    assert "101A" in second.get_json()["errors"]["number"][0]
    other = client.post("/api/v1/rooms", json={"number": "102"}).get_json()
    renamed = client.patch(f"/api/v1/rooms/{other['id']}", json={"number": number})
    assert renamed.status_code == 409 and list(renamed.get_json()["errors"]) == ["number"]
    listed = client.get("/api/v1/rooms").get_json()
    assert sorted(r["number"] for r in listed["items"]) == ["101A", "102"]


def test_a_room_may_write_its_own_number_in_other_capitals(client):
    made = client.post("/api/v1/rooms", json={"number": "101A"}).get_json()
    changed = client.patch(f"/api/v1/rooms/{made['id']}", json={"number": "101a"})
    assert changed.status_code == 200 and changed.get_json()["number"] == "101a"


def test_a_doctors_room_typed_with_a_cyrillic_letter_is_the_room_on_file(client, runtime):
    made = client.post("/api/v1/departments", json={"code": "CARD", "ticket_prefix": "K", **NAMES})
    room = client.post(
        "/api/v1/rooms", json={"number": "101A", "department_id": made.get_json()["id"]}
    ).get_json()
    data = xlsx_bytes(
        {
            "doctors": [
                ["full_name", "department_code", "room_number"],
                ["Каримов Анвар", "CARD", "101А"],  # Cyrillic А
            ],
            "services": [["code", "name_ru", "name_uz", "name_en", "price"]],
        }
    )
    result = run_import(runtime, "prices.xlsx", data)
    assert (result["created"], result["rejected"]) == (1, 0), result
    assert [r["number"] for r in client.get("/api/v1/rooms").get_json()["items"]] == ["101A"]
    [doctor] = client.get("/api/v1/doctors").get_json()["items"]
    assert doctor["room_id"] == room["id"]
