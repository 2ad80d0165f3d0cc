"""A name, a code or a title is one line: a line break, a tab or an invisible character (a
zero-width space, a mark turning the text around) is a 422 naming the field and changes
nothing, where it was stored to break a printed line or hide what the name says."""

from __future__ import annotations

import pytest

from clinic.demo import load_demo_data
from tests.conftest import ONE_BACKEND

# What is checked is the reading of the fields, before any rule of the database.
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])
# A control character pasted from a word processor (a vertical tab for its line break, an
# escape) is as invisible as a zero-width space.
NOT_ONE_LINE = [
    "Hall\nB",
    "Hall\tB",
    "\u202eHall",
    "Hall\u200b",
    "Hall\u2028B",
    "Hall\x0bB",
    "\x1bHall",
]


@pytest.fixture
def clinic(runtime, client):
    with runtime.db.session() as session:
        load_demo_data(session)


def _refused(response, field: str) -> None:
    assert response.status_code == 422, response.get_data(as_text=True)
    assert list(response.get_json()["errors"]) == [field], response.get_json()


@pytest.mark.parametrize("text", NOT_ONE_LINE)
def test_a_users_full_name_is_one_line_created_or_changed(client, text):
    new = {"username": "nurse.one", "password": "Zs8#kq!pLw2x", "roles": ["registrar"]}
    refused = client.post("/api/v1/users", json={**new, "full_name": text})
    _refused(refused, "full_name")
    assert refused.get_json()["reasons"] == {"full_name": ["full_name_one_line"]}
    assert len(client.get("/api/v1/users").get_json()) == 1  # the administrator alone
    user = client.post("/api/v1/users", json={**new, "full_name": "Karimova Dilnoza"})
    assert user.status_code == 201, user.get_data(as_text=True)
    changed = client.patch(f"/api/v1/users/{user.get_json()['id']}", json={"full_name": text})
    _refused(changed, "full_name")
    shown = client.get(f"/api/v1/users/{user.get_json()['id']}").get_json()
    assert shown["full_name"] == "Karimova Dilnoza"


@pytest.mark.parametrize("text", NOT_ONE_LINE)
def test_queue_board_printer_and_token_names_are_one_line(clinic, client, text):
    _refused(client.post("/api/v1/queues", json={"code": text, "department_id": 1}), "code")
    _refused(client.patch("/api/v1/queues/1", json={"prefix": text}), "prefix")
    _refused(client.post("/api/v1/boards", json={"name": text, "queue_ids": [1]}), "name")
    _refused(client.post("/api/v1/printing/printers", json={"name": text}), "name")
    _refused(client.post("/api/v1/tokens", json={"name": text}), "name")
    assert client.get("/api/v1/tokens").get_json() == []
