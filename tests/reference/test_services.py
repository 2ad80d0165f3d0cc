"""Reference data rules: phones, search across scripts, unique values, references, events."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import select, text

from clinic.demo import load_demo_data
from clinic.errors import Conflict, NotFound, ValidationFailed
from clinic.models import ClinicProfile, Department, OutboxEvent, Patient, Service
from clinic.queue.admin import create_queue
from clinic.queue.models import Queue
from clinic.reference import directory as reference
from clinic.reference import patients, price_list
from clinic.reference.editing import write
from clinic.text import NotAPhone, normalize_phone, search_key
from tests.races import wait_for, waits_for_a_lock

NAMES = {"name_ru": "Терапия", "name_uz": "Terapiya", "name_en": "Therapy"}


def _department(db, code="THER", prefix="T", **extra):
    return reference.create_department(
        db, {"code": code, "ticket_prefix": prefix, **NAMES, **extra}
    )


def _service(db, code="T-001", **extra):
    data = {
        "code": code,
        "name_ru": "Приём терапевта",
        "name_uz": "Terapevt qabuli",
        "name_en": "Therapist visit",
        "price": 15_000_000,
        **extra,
    }
    return price_list.create_service(db, data)


def _events(db, channel):
    rows = db.scalars(
        select(OutboxEvent).where(OutboxEvent.channel == channel).order_by(OutboxEvent.seq)
    )
    return [(e.type, e.data) for e in rows]


@pytest.mark.parametrize(
    "typed",
    [
        "90 123 45 67",
        "901234567",
        "+998 (90) 123-45-67",
        "998901234567",
        "+998901234567",
        "00998 90 123 45 67",
        " 90-123-45-67 ",
        "(90) 123.45.67",
    ],
)
def test_every_usual_way_of_typing_a_phone_becomes_plus_998_and_nine_digits(typed):
    assert normalize_phone(typed) == "+998901234567"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "123",
        "90 123 45 6",
        "90 123 45 678",
        "+7 912 345 67 89",
        "090 123 45 67",
        "90 12x 45 67",
    ],
)
def test_what_is_not_an_uzbek_phone_is_refused(typed):
    with pytest.raises(NotAPhone):
        normalize_phone(typed)


@pytest.mark.parametrize(
    "name, key",
    [
        ("Шерзод Каримов", "sherzod karimov"),
        ("Ғулом", "g'ulom"),
        ("Ўткир", "o'tkir"),
        ("Ёқубов Ҳасан", "yoqubov hasan"),
        ("Евгений Васильев", "yevgeniy vasilyev"),
        ("KARIMOV  Sherzod", "karimov sherzod"),
        ("Gʻulom", "g'ulom"),
        ("G’ulom", "g'ulom"),
        ("G`ulom", "g'ulom"),
        ("Oʼtkir", "o'tkir"),
    ],
)
def test_names_are_keyed_by_their_lower_case_uzbek_latin_spelling(name, key):
    assert search_key(name) == key


def test_a_patient_is_found_by_name_in_either_script_and_any_case(db):
    karimov = patients.create_patient(db, {"full_name": "Шерзод Каримов", "sex": "M"})
    gulom = patients.create_patient(db, {"full_name": "G‘ulom Ergashev", "sex": "M"})
    patients.create_patient(db, {"full_name": "Olga Ivanova", "sex": "F"})
    db.commit()
    assert karimov.search_name == "sherzod karimov"
    for query in ("Каримов", "karimov", "KARIMOV", "каРИМОВ шерзод", "karimov sherzod"):
        found, total = patients.list_patients(db, q=query)
        assert [p.id for p in found] == [karimov.id] and total == 1, query
    # Typed in Cyrillic, in the Uzbek letters or the Russian ones, with any apostrophe.
    for query in ("Ғулом", "Гулом", "gʻulom", "g`ulom", "gulom", "ЭРГАШЕВ"):
        assert [p.id for p in patients.list_patients(db, q=query)[0]] == [gulom.id], query
    assert patients.list_patients(db, q="Петров")[1] == 0


def test_a_patient_is_found_by_digits_anywhere_in_the_phone(db):
    first = patients.create_patient(db, {"full_name": "A", "sex": "F", "phone": "90 123 45 67"})
    second = patients.create_patient(db, {"full_name": "B", "sex": "M", "phone": "93 555 12 34"})
    db.commit()
    assert first.phone == "+998901234567"
    assert [p.id for p in patients.list_patients(db, q="45 67")[0]] == [first.id]
    assert [p.id for p in patients.list_patients(db, q="+998 93")[0]] == [second.id]
    assert {p.id for p in patients.list_patients(db, q="998")[0]} == {first.id, second.id}
    assert patients.list_patients(db, q="777")[1] == 0
    for whole in ("00998 90 123 45 67", "8 (90) 123-45-67", "+998 90 123 45 67", "901234567"):
        assert [p.id for p in patients.list_patients(db, q=whole)[0]] == [first.id], whole
    # Written with dots, as registration accepts it, whole or in part.
    for dotted in ("(90) 123.45.67", "90.123.45.67", "45.67"):
        assert [p.id for p in patients.list_patients(db, q=dotted)[0]] == [first.id], dotted


def test_search_words_are_literal_text_not_patterns(db):
    patients.create_patient(
        db, {"full_name": "Ali Valiyev", "sex": "M", "document_number": "AB1234567"}
    )
    db.commit()
    assert patients.list_patients(db, q="AB12")[1] == 1
    assert patients.list_patients(db, q="A_12")[1] == 0
    assert patients.list_patients(db, q="A%2")[1] == 0
    assert patients.list_patients(db, q="%")[1] == 1  # no word left: no filter


def test_doctors_and_services_are_found_in_either_script(db):
    department = _department(db)
    doctor = reference.create_doctor(
        db, {"full_name": "Ҳасанова Нигора", "department_id": department.id}
    )
    service = _service(db)
    db.commit()
    for query in ("hasanova", "ХАСАНОВА", "Ҳасанова nigora"):
        assert [d.id for d in reference.list_doctors(db, q=query)[0]] == [doctor.id], query
    for query in ("приём", "ПРИЁМ", "qabuli", "priyom", "t-001"):
        assert [s.id for s in price_list.list_services(db, q=query)[0]] == [service.id], query


def test_lists_are_paged_in_a_stable_order_with_the_total(db):
    for code in ("C", "A", "B", "E", "D"):
        _service(db, code=code)
    db.commit()
    first, total = price_list.list_services(db, page=1, page_size=2)
    second, _ = price_list.list_services(db, page=2, page_size=2)
    last, _ = price_list.list_services(db, page=3, page_size=2)
    assert total == 5
    assert [s.code for s in first + second + last] == ["A", "B", "C", "D", "E"]
    with pytest.raises(ValidationFailed) as caught:
        price_list.list_services(db, page_size=1000)
    assert "page_size" in caught.value.errors
    with pytest.raises(ValidationFailed) as caught:
        price_list.list_services(db, department_id=10**30)
    assert "department_id" in caught.value.errors


@pytest.mark.parametrize(
    "change, field",
    [
        ({"ikpu_code": "1234567890123456"}, "ikpu_code"),
        ({"ikpu_code": "1234567890123456X"}, "ikpu_code"),
        ({"price": -1}, "price"),
        ({"price": 1500.5}, "price"),
        ({"price": "150000"}, "price"),
        ({"price": True}, "price"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"vat_percent": 101}, "vat_percent"),
        ({"vat_percent": -1}, "vat_percent"),
        ({"package_code": "12 34"}, "package_code"),
        ({"name_uz": "   "}, "name_uz"),
        ({"code": "T 001"}, "code"),
        ({"code": "x" * 33}, "code"),
        ({"department_id": "1"}, "department_id"),
        ({"name_en": "a\x00b"}, "name_en"),
    ],
)
def test_a_price_list_entry_is_checked_field_by_field(change, field):
    entry = {"code": "T-001", "name_ru": "а", "name_uz": "b", "name_en": "c", "price": 100}
    assert price_list.validate_service_fields(entry) == {}
    assert list(price_list.validate_service_fields({**entry, **change})) == [field]


def test_a_price_list_entry_without_code_names_or_price_names_each_of_them():
    errors = price_list.validate_service_fields({"ikpu_code": "", "vat_percent": 12})
    assert set(errors) == {"code", "name_ru", "name_uz", "name_en", "price"}


def test_upsert_by_code_creates_then_updates_then_leaves_alone(db):
    entry = {"code": "L-001", "name_ru": "ОАК", "name_uz": "UQT", "name_en": "CBC", "price": 100}
    assert price_list.upsert_service_by_code(db, entry) == "created"
    assert price_list.upsert_service_by_code(db, {**entry, "price": 200}) == "updated"
    assert price_list.upsert_service_by_code(db, {**entry, "price": 200}) == "unchanged"
    db.commit()
    service = db.scalar(select(Service).where(Service.code == "L-001"))
    assert service.price == 200
    types = [t for t, _ in _events(db, "reference:services")]
    assert types == ["service.created", "service.updated"]
    with pytest.raises(ValidationFailed) as caught:
        price_list.upsert_service_by_code(db, {**entry, "ikpu_code": "123"})
    assert list(caught.value.errors) == ["ikpu_code"]


@pytest.mark.parametrize(
    "make, data, field",
    [
        (reference.create_department, {"code": "THER", "ticket_prefix": "X", **NAMES}, "code"),
        (
            reference.create_department,
            {"code": "NEW", "ticket_prefix": "T", **NAMES},
            "ticket_prefix",
        ),
        (reference.create_room, {"number": "101"}, "number"),
        (price_list.create_service, {"code": "T-001", **NAMES, "price": 1}, "code"),
        (
            patients.create_patient,
            {"full_name": "B", "sex": "F", "document_number": "aa 1234567"},
            "document_number",
        ),  # noqa: E501
    ],
)
def test_a_taken_unique_value_is_a_conflict_naming_the_field(db, make, data, field):
    _department(db)
    reference.create_room(db, {"number": "101"})
    _service(db)
    patients.create_patient(db, {"full_name": "A", "sex": "M", "document_number": "AA1234567"})
    db.commit()
    with pytest.raises(Conflict) as caught:
        make(db, data)
    assert list(caught.value.errors) == [field]
    # The session is still usable: the failed write left nothing behind.
    _service(db, code="T-002")
    db.commit()


def test_changing_a_code_to_a_taken_one_is_a_conflict_and_changes_nothing(db):
    _service(db, code="A")
    second = _service(db, code="B")
    db.commit()
    with pytest.raises(Conflict) as caught:
        price_list.update_service(db, second.id, {"code": "A"})
    assert "code" in caught.value.errors
    db.rollback()
    assert db.get(Service, second.id).code == "B"


def test_a_unique_value_taken_behind_the_checks_back_is_still_a_conflict(db):
    # What a concurrent writer would cause: the database's constraint, not our check, fires.
    _service(db, code="A")
    db.commit()
    twin = Service(code="A", name_ru="x", name_uz="x", name_en="x", price=1, search_text="a")
    with pytest.raises(Conflict) as caught:
        write(db, price_list.SERVICE, lambda: db.add(twin))
    assert list(caught.value.errors) == ["code"]
    _service(db, code="B")
    db.commit()
    # Two first saves of the single clinic profile: the second loses, as a conflict.
    reference.update_clinic_profile(db, {"legal_name": "OOO Shifo"})
    db.commit()
    with pytest.raises(Conflict):
        write(db, reference.CLINIC, lambda: db.add(ClinicProfile(id=1, legal_name="OOO Twin")))
    assert reference.get_clinic_profile(db).legal_name == "OOO Shifo"


@pytest.mark.parametrize(
    "make, data, field",
    [
        (reference.create_doctor, {"full_name": "X", "department_id": 999}, "department_id"),
        (
            reference.create_doctor,
            {"full_name": "X", "department_id": 1, "room_id": 999},
            "room_id",
        ),
        (reference.create_room, {"number": "1", "department_id": 999}, "department_id"),
        (
            price_list.create_service,
            {"code": "S", **NAMES, "price": 1, "department_id": 999},
            "department_id",
        ),  # noqa: E501
        (
            price_list.create_service,
            {"code": "S", **NAMES, "price": 1, "department_id": 2},
            "department_id",
        ),  # noqa: E501
    ],
)
def test_a_missing_or_inactive_department_or_room_is_refused_naming_the_field(
    db, make, data, field
):
    assert _department(db).id == 1
    retired = _department(db, code="OLD", prefix="O")
    assert retired.id == 2
    reference.deactivate_department(db, retired.id)
    db.commit()
    with pytest.raises(ValidationFailed) as caught:
        make(db, data)
    assert list(caught.value.errors) == [field]


def test_each_change_records_one_event_carrying_the_entity(db):
    department = _department(db)
    reference.update_department(db, department.id, {"name_en": "General practice"})
    reference.update_department(db, department.id, {"name_en": "General practice"})  # no change
    reference.deactivate_department(db, department.id)
    reference.deactivate_department(db, department.id)  # already inactive
    reference.activate_department(db, department.id)
    db.commit()
    events = _events(db, "reference:departments")
    assert [t for t, _ in events] == [
        "department.created",
        "department.updated",
        "department.deactivated",
        "department.activated",
    ]
    assert events[1][1]["name_en"] == "General practice" and events[1][1]["id"] == department.id
    assert events[2][1]["active"] is False and events[3][1]["active"] is True


def test_a_rolled_back_change_leaves_neither_row_nor_event(db):
    _department(db)
    db.rollback()
    assert db.scalar(select(Department.id)) is None
    assert _events(db, "reference:departments") == []


def test_an_unknown_id_is_not_found(db):
    for bad in (999, 0, -1, 2**40, "1"):
        with pytest.raises(NotFound):
            price_list.get_service(db, bad)
    with pytest.raises(NotFound):
        patients.deactivate_patient(db, 12345)


def test_a_patient_record_is_normalised_and_checked(db):
    patient = patients.create_patient(
        db,
        {
            "full_name": "  Ўткир Қодиров ",
            "sex": "m",
            "phone": "+998 (90) 123-45-67",
            "birth_date": "1990-05-01",
            "document_number": "aa 123 45 67",
        },
    )
    db.commit()
    assert (patient.full_name, patient.sex, patient.phone) == (
        "Ўткир Қодиров",
        "M",
        "+998901234567",
    )
    assert (patient.birth_date, patient.document_number) == (date(1990, 5, 1), "AA1234567")
    assert patient.search_name == "o'tkir qodirov"
    with pytest.raises(ValidationFailed) as caught:
        patients.create_patient(
            db,
            {"full_name": "", "sex": "X", "phone": "12345", "birth_date": "2030-01-02"},
            today=date(2030, 1, 1),
        )
    assert set(caught.value.errors) == {"full_name", "sex", "phone", "birth_date"}
    born_today = patients.create_patient(
        db, {"full_name": "New", "sex": "F", "birth_date": date(2030, 1, 1)}, today=date(2030, 1, 1)
    )
    assert born_today.birth_date == date(2030, 1, 1)


def test_updating_a_patient_name_keeps_the_search_name_in_step(db):
    patient = patients.create_patient(db, {"full_name": "Алимов", "sex": "M"})
    patients.update_patient(db, patient.id, {"full_name": "Ғаниев"})
    db.commit()
    assert db.get(Patient, patient.id).search_name == "g'aniyev"
    assert patients.list_patients(db, q="алимов")[1] == 0
    assert patients.list_patients(db, q="ganiyev")[1] == 1


def test_the_clinic_profile_takes_a_9_digit_stir_or_a_14_digit_pinfl(db):
    with pytest.raises(NotFound):
        reference.get_clinic_profile(db)
    with pytest.raises(ValidationFailed) as caught:
        reference.update_clinic_profile(db, {"address": "Tashkent"})
    assert list(caught.value.errors) == ["legal_name"]
    reference.update_clinic_profile(db, {"legal_name": "OOO Shifo", "taxpayer_number": "305123456"})
    profile = reference.update_clinic_profile(db, {"taxpayer_number": "31234567890123"})
    db.commit()
    assert (profile.legal_name, profile.taxpayer_number) == ("OOO Shifo", "31234567890123")
    for bad in ("12345678", "1234567890", "30512345X"):
        with pytest.raises(ValidationFailed) as caught:
            reference.update_clinic_profile(db, {"taxpayer_number": bad})
        assert list(caught.value.errors) == ["taxpayer_number"]
    assert [t for t, _ in _events(db, "reference:clinic")] == ["clinic.updated", "clinic.updated"]


def test_demo_data_fills_an_empty_database_once(db):
    assert load_demo_data(db) is True
    services, total = price_list.list_services(db, page_size=200)
    assert total >= 20
    assert all(len(s.ikpu_code) == 17 and s.vat_percent in (0, 12) for s in services)
    assert all(isinstance(s.price, int) and s.price % 100 == 0 for s in services)
    assert reference.list_doctors(db)[1] >= 8 and patients.list_patients(db)[1] >= 20
    assert reference.get_clinic_profile(db).taxpayer_number.isdigit()
    assert load_demo_data(db) is False
    assert reference.list_departments(db)[1] == 5


@pytest.mark.parametrize("typed", ["8 90 123 45 67", "8 (90) 123-45-67", "8901234567"])
def test_a_phone_typed_with_the_old_trunk_prefix_8_is_kept_as_plus_998(db, typed):
    patient = patients.create_patient(db, {"full_name": "Ali Valiyev", "sex": "M", "phone": typed})
    assert patient.phone == "+998901234567"
    profile = reference.update_clinic_profile(db, {"legal_name": "Shifo MChJ", "phone": typed})
    assert profile.phone == "+998901234567"


def test_a_name_with_the_uzbek_sign_is_found_typed_without_it(db):
    otkir = patients.create_patient(db, {"full_name": "Gʻulomov Oʻtkir", "sex": "M"})
    gozal = patients.create_patient(db, {"full_name": "Go`zal O’rinova", "sex": "F"})
    plain = patients.create_patient(db, {"full_name": "Otabek Nazarov", "sex": "M"})
    db.commit()
    for query in ("otkir", "Otkir Gulomov", "o'tkir", "Ўткир", "Уткир"):
        assert [p.id for p in patients.list_patients(db, q=query)[0]] == [otkir.id], query
    for query in ("gozal", "Orinova", "go'zal", "Гузал"):
        assert [p.id for p in patients.list_patients(db, q=query)[0]] == [gozal.id], query
    assert [p.id for p in patients.list_patients(db, q="otabek")[0]] == [plain.id]
    # The same rule finds the price list and the doctors.
    _service(db, code="USG-1", name_uz="Qorin boʻshligʻi UTT")
    db.commit()
    assert [s.code for s in price_list.list_services(db, q="boshligi")[0]] == ["USG-1"]


def test_a_name_is_found_in_the_russian_and_passport_spellings_of_its_letters(db):
    jamshid = patients.create_patient(db, {"full_name": "Jamshid Xo‘jayev", "sex": "M"})
    farrux = patients.create_patient(db, {"full_name": "Бахтиёров Фаррух", "sex": "M"})
    zhanna = patients.create_patient(db, {"full_name": "Жанна Михайлова", "sex": "F"})
    db.commit()
    for query in ("Джамшид", "Djamshid Ходжаев", "Dzhamshid", "Хужаев", "Xojayev"):
        assert [p.id for p in patients.list_patients(db, q=query)[0]] == [jamshid.id], query
    for query in ("Farrukh", "Bakhtiyorov", "Baxtiyorov farrux"):
        assert [p.id for p in patients.list_patients(db, q=query)[0]] == [farrux.id], query
    for query in ("Zhanna", "Mikhaylova", "Janna"):
        assert [p.id for p in patients.list_patients(db, q=query)[0]] == [zhanna.id], query
    again = patients.create_patient(db, {"full_name": "Джамшид Хўжаев", "sex": "M"})
    assert [p.id for p in patients.possible_duplicates(db, again)] == [jamshid.id]


def test_a_patient_born_the_same_day_is_his_duplicate_with_or_without_his_fathers_name(db):
    def register(name, born):
        patient = patients.create_patient(db, {"full_name": name, "sex": "M", "birth_date": born})
        db.flush()
        return patient

    full = register("Каримов Шерзод Анварович", date(1985, 3, 15))
    short = register("Valiyev Ali", date(1990, 1, 1))
    assert patients.possible_duplicates(db, register("Karimov Sherzod", date(1985, 3, 15))) == [
        full
    ]
    longer = register("Валиев Али Каримович", date(1990, 1, 1))
    assert patients.possible_duplicates(db, longer) == [short]
    # A namesake born another day, and a father with his son's first name, are no one's.
    assert patients.possible_duplicates(db, register("Karimov Sherzod", date(1961, 1, 1))) == []
    assert patients.possible_duplicates(db, register("Karimov Anvar", date(1985, 3, 15))) == []


def test_a_service_code_that_reads_like_a_taken_one_is_a_conflict(db):
    ct = _service(db, code="CT-01")
    other = _service(db, code="MRI-01")
    for code in ("СТ-01", "ct-01"):  # a Cyrillic С and Т; small letters
        with pytest.raises(Conflict) as caught:
            _service(db, code=code)
        assert list(caught.value.errors) == ["code"], code
        with pytest.raises(Conflict):
            price_list.update_service(db, other.id, {"code": code})
    price_list.update_service(db, ct.id, {"code": "ct-01"})  # its own code in small letters
    assert db.scalar(select(Service.code).where(Service.id == ct.id)) == "ct-01"


def test_a_ticket_prefix_that_looks_like_a_taken_one_is_a_conflict(db):
    latin = _department(db, code="CARD", prefix="K")  # Latin K
    other = _department(db, code="LAB", prefix="L")
    with pytest.raises(Conflict) as caught:
        _department(db, code="KARD", prefix="к")  # Cyrillic К: "К-012" on the board
    assert list(caught.value.errors) == ["ticket_prefix"]
    with pytest.raises(Conflict):
        reference.update_department(db, other.id, {"ticket_prefix": "К"})
    reference.update_department(db, other.id, {"ticket_prefix": "Қ"})  # Қ is its own letter
    reference.update_department(db, latin.id, {"ticket_prefix": "k", "name_en": "Heart"})
    assert db.scalar(select(Department.ticket_prefix).where(Department.id == latin.id)) == "K"


def test_a_passport_typed_in_the_cyrillic_layout_is_the_same_passport(db):
    latin = patients.create_patient(
        db, {"full_name": "Ali Valiyev", "sex": "M", "document_number": "AA1234567"}
    )
    db.commit()
    with pytest.raises(Conflict) as caught:  # "АА" typed with the Russian keyboard on
        patients.create_patient(
            db, {"full_name": "Али Валиев", "sex": "M", "document_number": "АА 123 45 67"}
        )
    assert list(caught.value.errors) == ["document_number"]
    db.rollback()
    assert [p.id for p in patients.list_patients(db, q="АА12345")[0]] == [latin.id]
    other = patients.create_patient(
        db, {"full_name": "Vali Aliyev", "sex": "M", "document_number": "ас7654321"}
    )
    assert other.document_number == "AC7654321"


def test_a_name_with_yo_is_found_typed_with_ye_as_russian_usually_writes_it(db):
    semyonov = patients.create_patient(db, {"full_name": "Семёнов Пётр", "sex": "M"})
    yolkina = patients.create_patient(db, {"full_name": "Ёлкина Алёна", "sex": "F"})
    semenova = patients.create_patient(db, {"full_name": "Semenova Olga", "sex": "F"})
    db.commit()
    for query in ("Семенов", "семёнов", "Semyonov", "Петр", "Pyotr", "Semy"):
        found = {p.id for p in patients.list_patients(db, q=query)[0]}
        assert semyonov.id in found and yolkina.id not in found, query
    for query in ("Елкина", "Yolkina", "Алена", "alena"):
        assert [p.id for p in patients.list_patients(db, q=query)[0]] == [yolkina.id], query
    assert [p.id for p in patients.list_patients(db, q="Семёнова")[0]] == [semenova.id]


def test_a_russian_name_is_found_as_its_russian_passport_spells_it(db):
    """Russian passports write "ю", "я" and "й" as "iu", "ia" and "i": the registrar who
    copies "IUSUPOV", "TSOI" or "EVGENII" from one finds the patient stored in Cyrillic, and
    the other way round."""
    yusupov = patients.create_patient(db, {"full_name": "Юсупов Евгений", "sex": "M"})
    tsoy = patients.create_patient(db, {"full_name": "Цой Юлия", "sex": "F"})
    yakubova = patients.create_patient(db, {"full_name": "Iakubova Iana", "sex": "F"})
    db.commit()
    for query, patient in (
        ("IUSUPOV", yusupov),
        ("Evgenii", yusupov),
        ("Iusupov Evgenii", yusupov),
        ("Tsoi", tsoy),
        ("Iuliia", tsoy),
        ("Якубова", yakubova),
        ("Yakubova Yana", yakubova),
    ):
        assert [p.id for p in patients.list_patients(db, q=query)[0]] == [patient.id], query


def _second_admin(runtime, save):
    """Run ``save(session)`` in a thread of its own; its backend pid goes into ``pids`` and
    what came of it (``"saved"`` or the refused fields) into ``answers``."""
    pids, answers = [], []

    def run():
        try:
            with runtime.db.transaction() as s:
                pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                save(s)
            answers.append("saved")
        except (Conflict, ValidationFailed) as refused:
            answers.append(sorted(refused.errors))

    return threading.Thread(target=run), pids, answers


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_two_admins_giving_look_alike_ticket_prefixes_at_once_do_not_both_succeed(runtime):
    """ "K" (Latin) and "К" (Cyrillic) saved at the same moment: no unique constraint sees
    them as the same, so the second waits for the first and is refused."""
    thread, pids, answers = _second_admin(
        runtime, lambda s: _department(s, code="CARD", prefix="К")
    )
    with runtime.db.transaction() as first:
        _department(first, code="KARD", prefix="K")
        thread.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the second admin")
    thread.join(30)
    assert answers == [["ticket_prefix"]]


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_two_admins_creating_queues_with_one_prefix_at_once_do_not_both_succeed(runtime):
    """Two active queues numbering "TA-001" would send two patients to one call."""
    with runtime.db.transaction() as s:
        department = _department(s).id

    def queue(s, code):
        return create_queue(s, {"code": code, "department_id": department, "prefix": "TA"})

    thread, pids, answers = _second_admin(runtime, lambda s: queue(s, "therapy-2"))
    with runtime.db.transaction() as first:
        queue(first, "therapy-1")
        thread.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the second admin")
    thread.join(30)
    assert answers == [["prefix"]]
    with runtime.db.session() as s:
        assert s.scalars(select(Queue.code).where(Queue.prefix == "TA")).all() == ["therapy-1"]


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
@pytest.mark.parametrize("first_done", ["switched off", "queue made"])
def test_a_department_switched_off_while_a_queue_is_made_for_it_is_one_or_the_other(
    runtime, first_done
):
    """One admin switches a department off while another makes it a queue: the second
    waits for the first, and is refused, never leaving an active queue of a department
    switched off."""
    with runtime.db.transaction() as s:
        department = _department(s).id

    def switch_off(s):
        reference.deactivate_department(s, department)

    def make_queue(s):
        create_queue(s, {"code": "therapy", "department_id": department})

    first, second = (
        (switch_off, make_queue) if first_done == "switched off" else (make_queue, switch_off)
    )
    thread, pids, answers = _second_admin(runtime, second)
    with runtime.db.transaction() as s:
        first(s)
        thread.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the second admin")
    thread.join(30)
    assert answers == [["department_id" if first_done == "switched off" else "active"]]
    with runtime.db.session() as s:
        active_queues = s.scalars(select(Queue.code).where(Queue.active.is_(True))).all()
        switched_off = not s.get(Department, department).active
    if first_done == "switched off":
        assert (switched_off, active_queues) == (True, [])
    else:
        assert (switched_off, active_queues) == (False, ["therapy"])


def test_a_name_typed_without_the_sign_the_russian_way_finds_the_uzbek_latin_one(db):
    """Roʻziyev typed as a Russian passport writes it, without the sign and with "e":
    found, and a registration under that spelling is flagged as possibly the same man."""
    roziyev = patients.create_patient(db, {"full_name": "Roʻziyev Akmal", "sex": "M"})
    torayev = patients.create_patient(db, {"full_name": "Toʻrayev Bobur", "sex": "M"})
    xojayev = patients.create_patient(db, {"full_name": "Xoʻjayev Sardor", "sex": "M"})
    db.commit()
    for query, patient in (
        ("Roziev", roziyev), ("Roziev Akmal", roziyev), ("Toraev", torayev),
        ("Xojaev", xojayev), ("Khodjaev", xojayev), ("Ruziev", roziyev), ("Розиев", roziyev),
    ):  # fmt: skip
        assert [p.id for p in patients.list_patients(db, q=query)[0]] == [patient.id], query
    again = patients.create_patient(db, {"full_name": "Roziev Akmal", "sex": "M"})
    db.flush()
    assert [p.id for p in patients.possible_duplicates(db, again)] == [roziyev.id]
