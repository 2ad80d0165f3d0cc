"""Patients: registration, corrections, and search by name or phone in either script.

Each patient keeps ``search_name``, the lower-case Uzbek Latin spelling of the full name
(:func:`clinic.text.search_key`); a query is spelled the same way, so "Каримов", "karimov"
and "KARIMOV" find the same people. Phones are stored as ``+998XXXXXXXXX``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from clinic.base import iso
from clinic.reference.editing import (
    LOOKALIKES,
    FieldReader,
    Kind,
    change,
    create,
    entity_dict,
    fetch,
    filter_common,
    paginate,
    set_active,
)
from clinic.reference.models import Patient
from clinic.reference.name_match import holds_name, loosely_contains, same_name
from clinic.text import (
    APOSTROPHE,
    PHONE_DASHES,
    NotAPhone,
    normalize_phone,
    phone_digits,
    search_key,
    visible_only,
)

DEFAULT_TZ = "Asia/Tashkent"
EARLIEST_BIRTH = date(1900, 1, 1)
SEXES = ("M", "F")
# A name holds at least one letter: digits or signs alone are a slip (a phone typed into the
# name field), and no search by name would ever find them.
NAME_RE = re.compile(r".*[^\W\d_]", re.DOTALL)
DOCUMENT_RE = re.compile(r"^[A-Z0-9АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯЎҚҒҲ№/-]{1,20}$")
NOTES_MAX = 4000
# Enough to catch typing slips; whether the address works is the mail server's answer.
# The domain's every part holds something: no doubled dot, none at its end ("clinic..uz",
# "clinic.uz."), where no receipt would ever be delivered.
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(?:\.[^@\s.]+)+$")
SEARCH_NAME_MAX = Patient.__table__.c.search_name.type.length
# What a phone is written with beside its digits, as registration reads it ("(90) 123.45.67",
# "90–123", its dashes pasted long).
PHONE_SIGNS = re.compile(f"[\\s().+\\-{PHONE_DASHES}]")
# How many possible earlier registrations of a new patient are named at most.
DUPLICATES_SHOWN = 5
# A father's name written the Russian way, as a search key: "anvarovich", "aliyevna"; and
# the word that follows it written the Uzbek way, without its sign: "Anvar oʻgʻli" (угли),
# "Ali qizi" (кызы).
RUSSIAN_PATRONYMIC = re.compile(r"^(\S{2,}?)(?:y?evich|ovich|y?evna|ovna)$")
SON_OF, DAUGHTER_OF = ("ogli", "ugli"), ("qizi", "kizi")


def patient_as_dict(p: Patient) -> dict:
    data = entity_dict(p, "full_name", "sex", "phone", "email", "document_number", "notes")
    data["birth_date"] = iso(p.birth_date)
    return data


PATIENT = Kind("patient", "patients", Patient, patient_as_dict, ("document_number",))


def clinic_today(tz: str | ZoneInfo = DEFAULT_TZ) -> date:
    """Today's date on the clinic's wall clock (not UTC's)."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return datetime.now(zone).date()


def _document(value: str) -> str:
    # "AA 123 45 67", "aa1234567" and "АА1234567" (Cyrillic А) are the same passport.
    return re.sub(r"\s+", "", value).upper().translate(LOOKALIKES)


def _patient_values(data: dict, current: Patient | None, today: date | None) -> dict:
    reader = FieldReader(data, partial=current is not None)
    reader.text(
        "full_name", max_length=160, required=True, pattern=NAME_RE, message="A name has letters."
    )
    reader.day("birth_date", earliest=EARLIEST_BIRTH, latest=today or clinic_today())
    reader.text(
        "sex",
        max_length=1,
        required=True,
        pattern=re.compile(f"^[{''.join(SEXES)}]$"),
        message="M or F.",
        transform=str.upper,
    )
    reader.phone("phone", nullable=True)
    reader.text(
        "email",
        max_length=254,
        nullable=True,
        pattern=EMAIL_RE,
        message="An e-mail address.",
        transform=str.strip,
    )
    reader.text(
        "document_number",
        max_length=20,
        nullable=True,
        pattern=DOCUMENT_RE,
        message="Letters, digits, '/', '-' and '№' only.",
        transform=_document,
    )
    reader.text("notes", max_length=NOTES_MAX, lines=True)
    values = reader.raise_if_invalid("patient")
    if "full_name" in values:
        values["search_name"] = search_key(values["full_name"])[:SEARCH_NAME_MAX]
    return values


def create_patient(session: Session, data: dict, *, today: date | None = None) -> Patient:
    """Register a patient. ``today`` (the clinic's date) bounds the birth date; by default
    it is taken in Asia/Tashkent. A document number already on file is a Conflict."""
    return create(session, PATIENT, _patient_values(data, None, today))


def possible_duplicates(session: Session, patient: Patient) -> list[Patient]:
    """Active patients who may be ``patient`` registered before: the same name (in either
    script, any word order) and no birth date telling them apart, or born the same day with
    the name written with or without the father's name, the Russian way ("Анварович") or the
    Uzbek way ("Anvar oʻgʻli"). Twins have names of their own and namesakes other birth
    dates, so neither is named; a phone is no help (a family shares one, and a patient's
    changes). Told to the registrar, never refused."""
    words = patient.search_name.split()
    if not words:
        return []
    stmt = select(Patient).where(Patient.active.is_(True), Patient.id != patient.id)
    for word in dict.fromkeys(words):
        stmt = stmt.where(loosely_contains(Patient.search_name, word))
    if patient.birth_date is not None:
        stmt = stmt.where(
            or_(Patient.birth_date.is_(None), Patient.birth_date == patient.birth_date)
        )
    # Names holding these words among others ("Karimov Sherzod Anvarovich") come too: at
    # most a page of them is read to find the same names.
    candidates = session.scalars(stmt.order_by(Patient.id.desc()).limit(200))
    same = [p for p in candidates if same_name(p.search_name, patient.search_name)]
    if patient.birth_date is not None and len(same) < DUPLICATES_SHOWN:
        # Born the same day, a name with or without the father's name is his too: "Karimov
        # Sherzod" and "Каримов Шерзод Анварович", whose father's name another document writes
        # the Uzbek way, "Karimov Sherzod Anvar oʻgʻli" (a day's births are few to read).
        born = session.scalars(
            select(Patient)
            .where(
                Patient.active.is_(True),
                Patient.id != patient.id,
                Patient.birth_date == patient.birth_date,
            )
            .order_by(Patient.id.desc())
            .limit(200)
        )
        name = fathers_name_as_one_word(patient.search_name)
        same += [
            p
            for p in born
            if p not in same and holds_name(fathers_name_as_one_word(p.search_name), name)
        ]
    return same[:DUPLICATES_SHOWN]


def fathers_name_as_one_word(key: str) -> str:
    """A search key with the father's name as one word, written alike whether the Russian
    way (Анварович, Алиевна) or the Uzbek way (Anvar oʻgʻli, Ali qizi; in Russian letters
    Анвар угли, Али кызы), as two documents of the same person may write it: "anvar:son",
    which is no first name (Karimov Anvar, the father, is not Karimov Sherzod Anvarovich)."""
    words: list[str] = []
    for word in key.split():
        russian, bare = RUSSIAN_PATRONYMIC.match(word), word.replace(APOSTROPHE, "")
        if russian:
            words.append(f"{russian.group(1)}:{'son' if word.endswith('ich') else 'daughter'}")
        elif words and bare in SON_OF + DAUGHTER_OF:
            words[-1] += ":son" if bare in SON_OF else ":daughter"
        else:
            words.append(word)
    return " ".join(words)


def update_patient(
    session: Session, patient_id: int, data: dict, *, today: date | None = None
) -> Patient:
    patient = fetch(session, PATIENT, patient_id)
    change(session, PATIENT, patient, _patient_values(data, patient, today))
    return patient


def get_patient(session: Session, patient_id: int) -> Patient:
    return fetch(session, PATIENT, patient_id)


def deactivate_patient(session: Session, patient_id: int) -> Patient:
    return set_active(session, PATIENT, patient_id, False)


def activate_patient(session: Session, patient_id: int) -> Patient:
    return set_active(session, PATIENT, patient_id, True)


def list_patients(
    session: Session,
    *,
    q: str | None = None,
    active: bool | None = None,
    sex: str | None = None,
    page=1,
    page_size=50,
) -> tuple[list[Patient], int]:
    """Patients matching every word of ``q``, by name.

    A word of digits (spaces, dots, "+", "-" and brackets are ignored) matches anywhere in
    the phone, or in the document number; any other word matches the name in either script
    or the document number.
    """
    stmt = filter_common(select(Patient), Patient, active=active, sex=sex)
    for word in _query_words(q):
        digits = phone_digits(word)
        document = Patient.document_number.contains(_document(word), autoescape=True)
        if digits and digits == re.sub(PHONE_SIGNS, "", word):
            # A whole number typed as it was given ("00998 90 ...", "8 90 ...") is found as
            # it is stored; a part of one, digit for digit.
            whole = _whole_phone(word)
            digits = whole[1:] if whole else digits
            stmt = stmt.where(or_(Patient.phone.contains(digits, autoescape=True), document))
        elif search_key(word):
            keys = search_key(word).split()
            name = and_(*(loosely_contains(Patient.search_name, k) for k in keys))
            stmt = stmt.where(or_(name, document))
    return paginate(session, stmt, (Patient.full_name, Patient.id), page, page_size)


def _whole_phone(word: str) -> str | None:
    try:
        return normalize_phone(word)
    except NotAPhone:
        return None


def _query_words(q: str | None) -> list[str]:
    if not q:
        return []
    # Marks that show nothing (a number pasted from the contacts) say nothing to search by.
    q = visible_only(q)
    # A phone typed with spaces ("90 123 45 67") is one word, not four.
    signs = f"[0-9()+\\-{PHONE_DASHES}]"
    joined = re.sub(f"(?<={signs})\\s+(?={signs})", "", q.strip())
    return [w for w in joined.split() if w][:10]
