"""Text is stored as one spelling of what was typed: composed (NFC), whichever way a phone or
a paste sent its letters ("й" as "и" and a combining breve). A patient's name keeps the
apostrophe it was typed with, and search finds "Oʻralov" whichever of the look-alike
apostrophes was typed on either side."""

from __future__ import annotations

import unicodedata

import pytest

from tests.conftest import ONE_BACKEND

# ʻ (U+02BB, the Uzbek letter sign), ', ‘, ’, ` and ʼ: all typed for it.
APOSTROPHES = ["\u02bb", "'", "\u2018", "\u2019", "`", "\u02bc"]
DECOMPOSED = "Йўлдошев Бахтиёр"  # й, ў and ё as a letter and a combining mark
DECOMPOSED = unicodedata.normalize("NFD", DECOMPOSED)


def _created(response) -> dict:
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _found(client, q: str) -> list[int]:
    response = client.get("/api/v1/patients", query_string={"q": q})
    assert response.status_code == 200, response.get_data(as_text=True)
    return sorted(p["id"] for p in response.get_json()["items"])


def test_a_decomposed_name_is_stored_composed_and_found_either_way(client):
    assert len(DECOMPOSED) == len("Йўлдошев Бахтиёр") + 3
    patient = _created(client.post("/api/v1/patients", json={"full_name": DECOMPOSED, "sex": "M"}))
    assert patient["full_name"] == "Йўлдошев Бахтиёр"
    assert client.get(f"/api/v1/patients/{patient['id']}").get_json()["full_name"] == (
        "Йўлдошев Бахтиёр"
    )
    assert _found(client, "Йўлдошев") == [patient["id"]]
    assert _found(client, unicodedata.normalize("NFD", "Йўлдошев")) == [patient["id"]]
    assert _found(client, "Yo'ldoshev") == [patient["id"]]


def test_a_decomposed_department_name_and_patient_note_are_stored_composed(client):
    decomposed = unicodedata.normalize("NFD", "Нейрохирургия")
    department = _created(
        client.post(
            "/api/v1/departments",
            json={"code": "NEURO", "ticket_prefix": "N", "name_ru": decomposed,
                  "name_uz": "Neyroxirurgiya", "name_en": "Neurosurgery"},
        )
    )  # fmt: skip
    assert department["name_ru"] == "Нейрохирургия"
    note = unicodedata.normalize("NFD", "Аллергия на пенициллин: сыпь, зуд. Ёд не переносит.")
    patient = _created(
        client.post("/api/v1/patients", json={"full_name": "Karimov Anvar", "sex": "M",
                                              "notes": note})
    )  # fmt: skip
    assert patient["notes"] == unicodedata.normalize("NFC", note) != note


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_oralov_is_found_whichever_apostrophe_was_typed_on_either_side(client):
    typed = {}
    for first, apostrophe in zip(("Anvar", "Bobur", "Dilshod", "Eldor", "Farrux", "G'ayrat"),
                                 APOSTROPHES):  # fmt: skip
        name = f"O{apostrophe}ralov {first}"
        typed[_created(client.post("/api/v1/patients", json={"full_name": name, "sex": "M"}))[
            "id"
        ]] = name  # fmt: skip
    # Each name is kept as it was typed, its own apostrophe included.
    for patient_id, name in typed.items():
        assert client.get(f"/api/v1/patients/{patient_id}").get_json()["full_name"] == name
    for apostrophe in APOSTROPHES:
        assert _found(client, f"O{apostrophe}ralov") == sorted(typed), apostrophe
        assert _found(client, f"o{apostrophe}RALOV") == sorted(typed), apostrophe
    assert _found(client, "Ўралов") == sorted(typed)
    assert _found(client, "Uralov") == sorted(typed)


def test_query_and_form_fields_are_read_composed_but_passwords_as_typed(app):
    decomposed = unicodedata.normalize("NFD", "й")
    with app.test_request_context(
        "/login", method="POST", query_string={"q": decomposed},
        data={"username": decomposed, "password": decomposed},
    ):  # fmt: skip
        from flask import request

        assert request.args["q"] == "й" and request.form["username"] == "й"
        assert request.form["password"] == decomposed
    with app.test_request_context(
        "/api/v1/session", method="POST",
        json={"username": decomposed, "password": decomposed, "items": [decomposed]},
    ):  # fmt: skip
        from flask import request

        body = request.get_json()
        assert body["username"] == "й" and body["items"] == ["й"]
        assert body["password"] == decomposed


@pytest.mark.parametrize(
    "name",
    ["Karimov\nAnvar", "Karimov\tAnvar", "Karimov\u2028Anvar", "\u202eKarimov Anvar",
     "Karimov\u200b Anvar", "Kari\u2066mov Anvar", "\ufeffKarimov Anvar"],  # fmt: skip
    ids=["line-break", "tab", "line-separator", "turned-around", "zero-width", "isolate", "bom"],
)
def test_a_name_is_one_line_without_invisible_characters(client, name):
    response = client.post("/api/v1/patients", json={"full_name": name, "sex": "M"})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert list(response.get_json()["errors"]) == ["full_name"]
    department = {"code": "NEURO", "ticket_prefix": "N", "name_ru": "Неврология",
                  "name_uz": name, "name_en": "Neurology"}  # fmt: skip
    response = client.post("/api/v1/departments", json=department)
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["name_uz"]
    assert client.get("/api/v1/patients").get_json()["total"] == 0


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_notes_keep_their_lines_and_a_name_its_trimmed_line(client):
    patient = _created(
        client.post("/api/v1/patients", json={"full_name": " Karimov Anvar\n", "sex": "M",
                                              "notes": "Allergy:\n\tpenicillin"})
    )  # fmt: skip
    assert patient["full_name"] == "Karimov Anvar"
    assert patient["notes"] == "Allergy:\n\tpenicillin"


def test_a_payment_providers_fields_are_read_as_sent(app):
    # Click signs its fields as it sends them: they are checked as sent, never recomposed.
    decomposed = unicodedata.normalize("NFD", "й")
    with app.test_request_context(
        "/payments/click/prepare", method="POST", data={"error_note": decomposed}
    ):
        from flask import request

        assert request.form["error_note"] == decomposed
