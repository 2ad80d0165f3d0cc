"""A patient registered again is named to the registrar: the father's name written the
Russian way on one document and the Uzbek way on another is the same father."""

from __future__ import annotations

from datetime import date

import pytest

from clinic.reference import patients

BORN = date(1990, 5, 12)


def _register(db, name: str, born: date | None = BORN, sex: str = "M"):
    patient = patients.create_patient(db, {"full_name": name, "sex": sex, "birth_date": born})
    db.flush()
    return patient


@pytest.mark.parametrize(
    "on_file, again",
    [
        ("Каримов Шерзод Анварович", "Karimov Sherzod Anvar oʻgʻli"),
        ("Karimov Sherzod Anvar o'g'li", "Каримов Шерзод Анварович"),
        ("Каримов Шерзод Анвар угли", "Karimov Sherzod Anvarovich"),
        ("Алиев Жасур Рустамович", "Aliyev Jasur Rustam ogli"),
        ("Qodirova Gulnora Ismoil qizi", "Кодирова Гульнора Исмоиловна"),
        ("Юсупова Дилноза Алиевна", "Yusupova Dilnoza Ali qizi"),
        ("Юсупова Дилноза Алиевна", "Юсупова Дилноза Али кызы"),
    ],
)
def test_a_fathers_name_written_the_russian_or_the_uzbek_way_is_the_same(db, on_file, again):
    earlier = _register(db, on_file)
    assert patients.possible_duplicates(db, _register(db, again)) == [earlier]


def test_another_fathers_name_or_birth_day_is_someone_else(db):
    _register(db, "Каримов Шерзод Анварович")
    assert patients.possible_duplicates(db, _register(db, "Karimov Sherzod Botir oʻgʻli")) == []
    other_day = _register(db, "Karimov Sherzod Anvar oʻgʻli", date(1991, 5, 12))
    assert patients.possible_duplicates(db, other_day) == []
    # A son of Anvar is not his daughter, and a brother (another first name) is not him.
    assert patients.possible_duplicates(db, _register(db, "Karimova Sherzod Anvar qizi")) == []
    assert patients.possible_duplicates(db, _register(db, "Karimov Jasur Anvar oʻgʻli")) == []
    # His father, Karimov Anvar, born the same day, is not him either.
    assert patients.possible_duplicates(db, _register(db, "Каримов Анвар")) == []
