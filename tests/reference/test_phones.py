"""Phones as registrars type or paste them: the country code in brackets, dashes that a word
processor or a web page made long."""

from __future__ import annotations

import pytest

from clinic.reference import patients
from clinic.text import NotAPhone, normalize_phone


@pytest.mark.parametrize(
    "typed",
    [
        "(+998) 90 123-45-67",
        "(+998 90) 123 45 67",
        "+998 90–123–45–67",  # en dashes, as a text editor makes them
        "+998 (90) 123—45—67",  # em dashes
        "90‑123‑45‑67",  # non-breaking hyphens
        "8 (90) 123−45−67",  # minus signs
    ],
)
def test_a_phone_pasted_or_bracketed_as_people_write_it_is_kept_as_plus_998(typed):
    assert normalize_phone(typed) == "+998901234567"


@pytest.mark.parametrize("typed", ["90 (+998) 1234567", "+998 +90 123 45 67", "++998901234567"])
def test_a_plus_is_the_country_codes_only(typed):
    with pytest.raises(NotAPhone):
        normalize_phone(typed)


def test_a_patient_is_found_by_a_phone_pasted_with_long_dashes(db):
    found = patients.create_patient(
        db, {"full_name": "Karimov Sherzod", "sex": "M", "phone": "(+998) 90 123-45-67"}
    )
    db.flush()
    assert found.phone == "+998901234567"
    for typed in ("90–123–45–67", "123—45", "(+998) 90 123", "+998 90–123"):
        assert [p.id for p in patients.list_patients(db, q=typed)[0]] == [found.id], typed


@pytest.mark.parametrize(
    "typed", ["+90 123 45 67", "+901234567", "+7 912 345 67", "(+1) 234 567 890"]
)
def test_a_number_given_with_plus_and_another_country_code_is_refused_not_made_uzbek(typed):
    # "+90 ..." is dialled abroad (90 is Turkey's code): storing it as +998 90 ... would
    # give the patient somebody else's number.
    with pytest.raises(NotAPhone, match=r"\+998"):
        normalize_phone(typed)


def test_registering_a_foreign_number_names_the_phone_field(db):
    from clinic.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        patients.create_patient(
            db, {"full_name": "Karimov Sherzod", "sex": "M", "phone": "+90 123 45 67"}
        )
    assert "+998" in refused.value.errors["phone"][0]


PASTED_FROM_CONTACTS = [
    "\u2068+998 90 123 45 67\u2069",  # Android's isolates around a number
    "\u202a+998 90 123 45 67\u202c",  # iOS's embedding
    "\u200e+998901234567",  # a left-to-right mark
    "+998\u200b901234567",  # a zero-width space
    "90\u00ad1234567",  # a soft hyphen
]


@pytest.mark.parametrize("pasted", PASTED_FROM_CONTACTS)
def test_a_phone_pasted_from_the_contacts_registers_finds_and_changes_as_the_number_it_shows(
    client, pasted
):
    made = client.post(
        "/api/v1/patients", json={"full_name": "Karimov Sherzod", "sex": "M", "phone": pasted}
    )
    assert made.status_code == 201, made.get_json()
    patient = made.get_json()
    assert patient["phone"] == "+998901234567"
    found = client.get("/api/v1/patients", query_string={"q": pasted}).get_json()
    assert [p["id"] for p in found["items"]] == [patient["id"]]
    changed = client.patch(f"/api/v1/patients/{patient['id']}", json={"phone": pasted})
    assert changed.status_code == 200 and changed.get_json()["phone"] == "+998901234567"
    # A name keeps refusing what hides in it: only a phone is read as it shows.
    hidden = client.post(
        "/api/v1/patients", json={"full_name": "\u202eKarimov", "sex": "M", "phone": pasted}
    )
    assert hidden.status_code == 422 and list(hidden.get_json()["errors"]) == ["full_name"]
