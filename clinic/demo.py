"""Demonstration data: a small Tashkent clinic to try the system with.

Everything goes through the same services the API uses, so demo data obeys every rule
(phones normalised, search names spelled, events recorded). Names appear in the scripts
people really type them in: Russian Cyrillic, Uzbek Cyrillic and Uzbek Latin.
"""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.accounts import users
from clinic.accounts.models import User
from clinic.queue import admin as queue_admin
from clinic.queue import boards as queue_boards
from clinic.reference import directory as reference
from clinic.reference import patients, price_list
from clinic.reference.models import Department
from clinic.visits import schedules

CLINIC = {
    "legal_name": 'OOO "Shifo Nur Medical"',
    "address": "Toshkent sh., Yunusobod tumani, Amir Temur ko'chasi, 107B",
    "taxpayer_number": "305123456",
    "phone": "+998 71 200 45 45",
}

# code, ticket prefix, name ru / uz / en
DEPARTMENTS = [
    ("THER", "T", "Терапия", "Terapiya", "Therapy"),
    ("CARD", "K", "Кардиология", "Kardiologiya", "Cardiology"),
    ("PAED", "P", "Педиатрия", "Pediatriya", "Paediatrics"),
    ("LAB", "L", "Лаборатория", "Laboratoriya", "Laboratory"),
    ("USD", "U", "УЗИ-диагностика", "UTT diagnostikasi", "Ultrasound"),
]

# number, name, department code
ROOMS = [
    ("101", "Кабинет терапевта", "THER"),
    ("102", "Кабинет терапевта", "THER"),
    ("201", "Кабинет кардиолога", "CARD"),
    ("202", "Кабинет ЭКГ", "CARD"),
    ("105", "Кабинет педиатра", "PAED"),
    ("110", "Процедурный кабинет", "LAB"),
    ("301", "Кабинет УЗИ", "USD"),
    ("302", "Кабинет УЗИ", "USD"),
]

# full name, department code, room number, specialty
DOCTORS = [
    ("Каримов Шерзод Алишерович", "THER", "101", "Терапевт"),
    ("Yusupova Dilnoza Rustamovna", "THER", "102", "Terapevt"),
    ("Ғуломов Ўткир Қодирович", "CARD", "201", "Кардиолог"),
    ("Петрова Елена Викторовна", "CARD", "202", "Врач функциональной диагностики"),
    ("Ҳасанова Нигора Баходировна", "PAED", "105", "Педиатр"),
    ("Ким Ирина Сергеевна", "LAB", "110", "Врач-лаборант"),
    ("Abdullayev Jasur Akmalovich", "USD", "301", "UTT shifokori"),
    ("Турсунов Бобур Равшанович", "USD", "302", "Врач УЗИ"),
]

# By department: price in sum, minutes, VAT percent, name ru / uz / en. Codes are the
# department's ticket prefix and a number: T-001, T-002, ... Medical services are exempt
# from VAT; certificates and home visits are not.
SERVICES = {
    "THER": [
        (150_000, 20, 0, "Приём терапевта", "Terapevt qabuli", "Therapist visit"),
        (100_000, 15, 0, "Повторный приём", "Takroriy qabul", "Follow-up visit"),
        (300_000, 60, 12, "Вызов врача на дом", "Shifokorni uyga chaqirish", "Home visit"),
        (120_000, 30, 12, "Справка 086/у", "086/u ma'lumotnoma", "Certificate 086/u"),
    ],
    "CARD": [
        (200_000, 20, 0, "Приём кардиолога", "Kardiolog qabuli", "Cardiologist visit"),
        (80_000, 15, 0, "ЭКГ с расшифровкой", "EKG va tavsifi", "ECG with report"),
        (250_000, 30, 0, "Эхокардиография", "Exokardiografiya", "Echocardiography"),
        (350_000, 20, 0, "Холтер ЭКГ (сутки)", "Xolter EKG (sutka)", "Holter ECG (24 h)"),
        (300_000, 20, 0, "Суточный мониторинг АД", "Qon bosimi monitoringi", "24 h BP monitoring"),
    ],
    "PAED": [
        (150_000, 20, 0, "Приём педиатра", "Pediatr qabuli", "Paediatrician visit"),
        (180_000, 30, 0, "Осмотр новорождённого", "Chaqaloq ko'rigi", "Newborn check-up"),
        (
            90_000,
            20,
            12,
            "Справка в детский сад",
            "Bog'cha uchun ma'lumotnoma",
            "Kindergarten note",
        ),
    ],
    "LAB": [
        (60_000, 10, 0, "Общий анализ крови", "Umumiy qon tahlili", "Complete blood count"),
        (40_000, 10, 0, "Общий анализ мочи", "Umumiy siydik tahlili", "Urinalysis"),
        (25_000, 10, 0, "Глюкоза крови", "Qondagi glyukoza", "Blood glucose"),
        (95_000, 10, 0, "HbA1c", "Glikirlangan gemoglobin", "Glycated haemoglobin"),
        (120_000, 10, 0, "Липидный профиль", "Lipid profili", "Lipid panel"),
        (50_000, 10, 0, "АЛТ, АСТ", "ALT, AST", "ALT, AST"),
        (35_000, 10, 0, "Креатинин", "Kreatinin", "Creatinine"),
        (85_000, 10, 0, "ТТГ", "TTG", "TSH"),
        (110_000, 10, 0, "Ферритин", "Ferritin", "Ferritin"),
    ],
    "USD": [
        (180_000, 30, 0, "УЗИ брюшной полости", "Qorin bo'shlig'i UTT", "Abdominal ultrasound"),
        (120_000, 20, 0, "УЗИ щитовидной железы", "Qalqonsimon bez UTT", "Thyroid ultrasound"),
        (130_000, 20, 0, "УЗИ почек", "Buyraklar UTT", "Kidney ultrasound"),
        (170_000, 30, 0, "УЗИ малого таза", "Kichik chanoq UTT", "Pelvic ultrasound"),
        (220_000, 30, 0, "Допплер сосудов шеи", "Bo'yin tomirlari dopleri", "Carotid Doppler"),
    ],
}

# full name, birth date, sex, phone as typed at reception, document number
PATIENTS = [
    ("Алимов Бахтиёр Рустамович", date(1978, 3, 14), "M", "90 123 45 67", "AA1234567"),
    ("Азимова Мадина Шухратовна", date(1991, 7, 2), "F", "+998 (93) 555-12-34", "AB7654321"),
    ("Nazarov Otabek Ilhomovich", date(1985, 11, 23), "M", "998971112233", "AC2345678"),
    ("Иванова Ольга Петровна", date(1962, 1, 30), "F", "+998 71 234 56 78", None),
    ("Қодиров Жамшид Ўткирович", date(2015, 5, 9), "M", "94 765 43 21", None),
    ("Raximova Gulnora Anvarovna", date(1999, 9, 17), "F", "(99) 880-11-22", "AD3456789"),
    ("Сидоров Алексей Николаевич", date(1955, 12, 5), "M", "+998 90 987 65 43", "AE4567890"),
    ("Ғаниева Зарина Бахромовна", date(2019, 2, 28), "F", "91 300 20 10", None),
    ("Tojiboyev Sardor Baxtiyorovich", date(1988, 6, 12), "M", "+998 88 400 50 60", "AF5678901"),
    ("Юлдашева Феруза Ахмедовна", date(1973, 4, 21), "F", "95 111 22 33", "AA9876543"),
    ("Ли Виктор Константинович", date(1969, 8, 8), "M", "+998 (97) 765-43-21", "AB1122334"),
    ("Ergasheva Sevara O'tkirovna", date(2002, 10, 1), "F", "33 222 33 44", "AC5566778"),
    ("Ҳамидов Улуғбек Шавкатович", date(1980, 1, 15), "M", "90 555 66 77", None),
    ("Mirzayeva Nilufar Sobirovna", date(2010, 3, 3), "F", "93 444 55 66", None),
    ("Кузнецова Татьяна Игоревна", date(1983, 12, 19), "F", "+998 90 321 00 99", "AD9988776"),
    ("Umarov Ravshan Hamidovich", date(1958, 7, 27), "M", "+998 71 150 25 25", "AE1029384"),
    ("Саидова Дилором Рахимовна", date(1995, 2, 11), "F", "99 707 08 09", "AF5647382"),
    ("Ўринов Абдулла Мансурович", date(2021, 11, 30), "M", "97 111 00 22", None),
    ("Xolmatova Shahnoza G'ayratovna", date(1990, 5, 25), "F", "+998 95 600 70 80", "AA1928374"),
    ("Шарипов Ильхом Фаррухович", date(1966, 9, 4), "M", "+998 93 181 71 61", "AB5647389"),
]

# IKPU (MXIK) codes of medical services, by department: 17 digits, the last three vary.
IKPU_PREFIX = {"THER": "08601001", "CARD": "08601002", "PAED": "08601003"}
IKPU_PREFIX.update({"LAB": "08602001", "USD": "08603001"})
PACKAGE_CODE = "1500911"

# Each department's queue takes online joining in this window, up to this many a day. The
# demo's queues work the whole day, so that the demo can be tried at any hour (a clinic sets
# its own: tickets until 20:00 when it does not say).
ONLINE_WINDOW = (time(0, 0), time(23, 59))
CLOSES_AT = time(23, 59, 59)
ONLINE_DAILY_LIMIT = 50
# Every doctor sees patients every day, round the clock, as the queues call all day: the
# calendar has free slots to book at whatever hour the demo is tried.
DEMO_WEEK = [
    {"weekday": day, "starts": "00:00", "ends": "24:00", "slot_minutes": 20} for day in range(7)
]
BOARD = {
    "name": "Main hall",
    "titles": {"ru": "Главный холл", "uz": "Asosiy zal", "en": "Main hall"},
    "voice_languages": ["ru", "uz"],
    "chime": True,
}

# The demo's published password, for trying each role; never used outside the demo.
DEMO_PASSWORD = "Clinic-demo-2026"  # nosec B105
# username, role, full name; the doctor account is linked to the first demo doctor.
DEMO_USERS = [
    ("admin", "admin", "Администратор"),
    ("registrar", "registrar", "Регистратура"),
    ("cashier", "cashier", "Касса"),
    ("doctor", "doctor", DOCTORS[0][0]),
    ("manager", "manager", "Менеджер"),
    ("display", "display", "Табло в холле"),
    ("kiosk", "kiosk", "Киоск в холле"),
]


def load_demo_data(session: Session) -> bool:
    """Fill an empty database with the demo clinic and commit; True when it did.

    Does nothing and answers False when any department exists, so it never mixes with
    real data and running it twice is harmless.
    """
    return load_demo_clinic(session) is not None


def load_demo_clinic(session: Session) -> list[dict] | None:
    """:func:`load_demo_data`, answering None when it loaded nothing, else the demo sign-ins
    it created as ``{"username", "password", "role"}`` (for the command line to print).

    The demo users are made only when there is no user at all; otherwise the list is empty.
    """
    if session.scalar(select(Department.id).limit(1)) is not None:
        return None
    reference.update_clinic_profile(session, CLINIC)
    departments = {}
    for code, prefix, ru, uz, en in DEPARTMENTS:
        data = {"code": code, "ticket_prefix": prefix, "name_ru": ru, "name_uz": uz, "name_en": en}
        departments[code] = reference.create_department(session, data).id
    rooms = {}
    for number, name, department in ROOMS:
        data = {"number": number, "name": name, "department_id": departments[department]}
        rooms[number] = reference.create_room(session, data).id
    doctors = []
    for full_name, department, room, specialty in DOCTORS:
        doctor = reference.create_doctor(
            session,
            {
                "full_name": full_name,
                "department_id": departments[department],
                "room_id": rooms[room],
                "specialty": specialty,
            },
        )
        doctors.append(doctor.id)
        schedules.set_week(session, doctor.id, DEMO_WEEK)
    prefixes = {code: prefix for code, prefix, *_ in DEPARTMENTS}
    serial = 0
    for department, entries in SERVICES.items():
        for n, (sum_, minutes, vat, ru, uz, en) in enumerate(entries, start=1):
            serial += 1
            price_list.create_service(
                session,
                {
                    "code": f"{prefixes[department]}-{n:03d}",
                    "name_ru": ru,
                    "name_uz": uz,
                    "name_en": en,
                    "price": sum_ * 100,  # tiyin
                    "duration_minutes": minutes,
                    "ikpu_code": f"{IKPU_PREFIX[department]}{serial:09d}",
                    "package_code": PACKAGE_CODE,
                    "vat_percent": vat,
                    "department_id": departments[department],
                },
            )
    for full_name, birth_date, sex, phone, document in PATIENTS:
        patients.create_patient(
            session,
            {
                "full_name": full_name,
                "birth_date": birth_date,
                "sex": sex,
                "phone": phone,
                "document_number": document,
            },
        )
    _load_queues(session, departments)
    logins = _load_users(session, doctors[0])
    session.commit()
    return logins


def _load_queues(session: Session, departments: dict[str, int]) -> None:
    """A queue per department (its doctors call to their own rooms), and one hall board."""
    queue_ids = []
    for code, department_id in departments.items():
        queue = queue_admin.create_queue(
            session,
            {
                "code": code.lower(),
                "department_id": department_id,
                "online_from": ONLINE_WINDOW[0],
                "online_until": ONLINE_WINDOW[1],
                "online_daily_limit": ONLINE_DAILY_LIMIT,
                "closes_at": CLOSES_AT,
            },
        )
        queue_ids.append(queue.id)
    queue_boards.create_board(session, {**BOARD, "queue_ids": queue_ids})


def _load_users(session: Session, doctor_id: int) -> list[dict]:
    if session.scalar(select(User.id).limit(1)) is not None:
        return []
    logins = []
    for username, role, full_name in DEMO_USERS:
        users.create_user(
            session,
            username=username,
            password=DEMO_PASSWORD,
            roles=[role],
            full_name=full_name,
            doctor_id=doctor_id if role == "doctor" else None,
        )
        logins.append({"username": username, "password": DEMO_PASSWORD, "role": role})
    return logins
