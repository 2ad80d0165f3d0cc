"""Data for payments tests, made through the same services the application uses."""

from __future__ import annotations

import itertools
import uuid
from datetime import time, timedelta
from zoneinfo import ZoneInfo

from clinic.payments import invoices
from clinic.queue import admin as queue_admin
from clinic.queue import tickets as queue_tickets
from clinic.reference import directory as reference
from clinic.reference import patients, price_list

TZ = ZoneInfo("Asia/Tashkent")
_prefixes = itertools.count()


def _prefix() -> str:
    n = next(_prefixes) + 26 * 26 * 3  # clear of the prefixes tests/conftest.py hands out
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return letters[n // 676 % 26] + letters[n // 26 % 26] + letters[n % 26]


def make_service(session, price: int, **extra) -> int:
    code = extra.pop("code", "s-" + uuid.uuid4().hex[:8])
    service = price_list.create_service(
        session,
        {
            "code": code,
            "name_ru": f"Услуга {code}",
            "name_uz": f"Xizmat {code}",
            "name_en": f"Service {code}",
            "price": price,
            **extra,
        },
    )
    return service.id


def make_patient(session, email: str | None = None) -> int:
    data = {"full_name": "Каримов Алишер", "sex": "M"}
    if email:
        data["email"] = email
    return patients.create_patient(session, data).id


def make_queue(session, *, pay_first: bool = False) -> int:
    prefix = _prefix()
    department = reference.create_department(
        session,
        {
            "code": f"d{prefix.lower()}",
            "ticket_prefix": prefix,
            "name_ru": "Терапия",
            "name_uz": "Terapiya",
            "name_en": "Therapy",
        },
    )
    room = reference.create_room(session, {"number": f"r{prefix}", "name": "Кабинет"})
    queue = queue_admin.create_queue(
        session,
        {
            "code": f"q{prefix.lower()}",
            "department_id": department.id,
            "room_id": room.id,
            "pay_before_doctor": pay_first,
            "closes_at": time(23, 59, 59, 999999),  # tests issue at the real time
        },
    )
    return queue.id


def issue_ticket(session, queue_id: int, patient_id: int | None = None):
    return queue_tickets.issue_ticket(session, queue_id, tz=TZ, patient_id=patient_id)


# A service's fiscal codes, as the tax office's catalogue gives them (an IKPU of 17 digits).
FISCAL = {"ikpu_code": "08601001001000000", "package_code": "1545447", "vat_percent": 12}


def make_invoice(
    runtime, prices=(15_000_000,), *, ticket_id=None, patient_id=None, email=None, fiscal=False
):
    """An open invoice with one line per price (quantity 1); returns its id. ``fiscal``: its
    services carry their fiscal codes."""
    with runtime.db.transaction() as s:
        patient_id = patient_id or make_patient(s, email)
        codes = FISCAL if fiscal else {}
        lines = [{"service_id": make_service(s, p, **codes), "quantity": 1} for p in prices]
        invoice = invoices.create_invoice(
            s, patient_id=patient_id, lines=lines, ticket_id=ticket_id, actor="registrar"
        )
        return invoice.id


def make_visit(session, patient_id: int, doctor, *, at, status: str = "scheduled"):
    """An appointment of ``patient_id`` with ``doctor`` at ``at`` (20 minutes), flushed."""
    from clinic.visits.models import Visit

    visit = Visit(
        patient_id=patient_id,
        doctor_id=doctor.id,
        department_id=doctor.department_id,
        starts_at=at,
        ends_at=at + timedelta(minutes=20),
        kind="scheduled",
        status=status,
    )
    session.add(visit)
    session.flush()
    return visit
