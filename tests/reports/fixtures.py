"""A clinic's day with known figures, around a Tashkent midnight.

Reference data (departments, doctors, rooms, services, patients, queue) is made through the
application's services. Payments, visits and tickets are written as rows with the instants
the test needs: the services stamp them with the real clock, and these figures are about
what falls on which side of a clinic midnight.

The day is 2026-03-10 in Asia/Tashkent (UTC+5): it runs from 2026-03-09 19:00 UTC to
2026-03-10 19:00 UTC. Rows at 19:30 UTC on the 9th belong to it; rows at 19:01 UTC on the
10th (still the 10th in UTC) do not.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from clinic.payments.models import CashierShift, Invoice, InvoiceLine, Payment, Refund
from clinic.queue import admin as queue_admin
from clinic.queue.models import QueueDay, Ticket
from clinic.reference import directory as reference
from clinic.reference import patients as patient_records
from clinic.reference import price_list
from clinic.reports.params import ReportParams
from clinic.visits.models import Visit
from tests.conftest import _letters

TZ = ZoneInfo("Asia/Tashkent")
DAY = date(2026, 3, 10)
NEXT = date(2026, 3, 11)
_codes = itertools.count(1)


def utc(y, mo, d, h, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=timezone.utc)


def local(day: date, h: int, mi: int = 0) -> datetime:
    return datetime.combine(day, time(h, mi), tzinfo=TZ).astimezone(timezone.utc)


@dataclass
class Data:
    departments: dict = field(default_factory=dict)
    doctors: dict = field(default_factory=dict)
    services: dict = field(default_factory=dict)
    patients: list = field(default_factory=list)
    queue_id: int = 0
    room_number: str = ""
    queue_code: str = ""
    shifts: dict = field(default_factory=dict)
    payments: dict = field(default_factory=dict)


def params(report: str, by: str, start=DAY, end=DAY, **extra) -> ReportParams:
    return ReportParams(report=report, by=by, start=start, end=end, **extra)


def make_reference(runtime) -> Data:
    n = next(_codes)
    data = Data()
    with runtime.db.transaction() as s:
        for key, name in (("A", "Терапия"), ("B", "Хирургия")):
            dep = reference.create_department(
                s,
                {
                    "code": f"rep{key.lower()}{n}",
                    "ticket_prefix": _letters(),
                    "name_ru": name,
                    "name_uz": f"{key} bo'lim",
                    "name_en": f"Department {key}",
                },
            )
            data.departments[key] = dep.id
        room = reference.create_room(s, {"number": f"R{n}", "department_id": data.departments["A"]})
        data.room_number = room.number
        for key, dep in (("D1", "A"), ("D2", "B")):
            doctor = reference.create_doctor(
                s, {"full_name": f"Доктор {key}", "department_id": data.departments[dep]}
            )
            data.doctors[key] = doctor.id
        for key, price in (("S1", 5_000_000), ("S2", 7_000_000)):
            service = price_list.create_service(
                s,
                {
                    "code": f"{key}-{n}",
                    "name_ru": f"Услуга {key}",
                    "name_uz": f"Xizmat {key}",
                    "name_en": f"Service {key}",
                    "price": price,
                },
            )
            data.services[key] = service.id
        for i in range(3):
            data.patients.append(
                patient_records.create_patient(s, {"full_name": f"Пациент {i}", "sex": "F"}).id
            )
        queue = queue_admin.create_queue(
            s,
            {
                "code": f"rq{n}",
                "department_id": data.departments["A"],
                "doctor_id": data.doctors["D1"],
                "room_id": room.id,
            },
        )
        data.queue_id = queue.id
        data.queue_code = queue.code
    return data


def _visit(s, data, patient, doctor, dep, at, status, *, late=False) -> int:
    visit = Visit(
        patient_id=data.patients[patient],
        doctor_id=data.doctors[doctor],
        department_id=data.departments[dep],
        starts_at=at,
        ends_at=at + timedelta(minutes=20),
        kind="scheduled",
        status=status,
        late_cancellation=late,
    )
    s.add(visit)
    s.flush()
    return visit.id


def _paid_invoice(s, data, *, patient, service, amount, at, visit_id=None, ticket_id=None):
    invoice = Invoice(
        patient_id=data.patients[patient],
        visit_id=visit_id,
        ticket_id=ticket_id,
        status="paid",
        subtotal=amount,
        discount=0,
        total=amount,
        paid_amount=amount,
        refunded_amount=0,
        created_at=at,
        paid_at=at,
    )
    s.add(invoice)
    s.flush()
    s.add(
        InvoiceLine(
            invoice_id=invoice.id,
            position=1,
            service_id=data.services[service],
            title=service,
            quantity=1,
            unit_price=amount,
            amount=amount,
        )
    )
    return invoice


def _ticket(s, data, day_id, number, queued, *, wait=None, service=None, status="served"):
    called = queued + timedelta(minutes=wait) if wait is not None else None
    started = called
    finished = started + timedelta(minutes=service) if service is not None else None
    ticket = Ticket(
        queue_day_id=day_id,
        queue_id=data.queue_id,
        number=number,
        code=f"T-{number:03d}",
        source="desk",
        status=status,
        token=secrets.token_urlsafe(32)[:43],
        queued_at=queued,
        created_at=queued,
        called_at=called,
        started_at=started,
        finished_at=finished,
    )
    s.add(ticket)
    s.flush()
    return ticket.id


def make_day(runtime, make_user) -> Data:
    """The day's figures (expected values are in the tests that read them)."""
    data = make_reference(runtime)
    kassir1 = make_user("cashier", f"kassir1x{data.queue_id}")
    kassir2 = make_user("cashier", f"kassir2x{data.queue_id}")
    with runtime.db.transaction() as s:
        # Visits: P0 came before (1 March), so his visits on the 10th are follow-ups.
        _visit(s, data, 0, "D1", "A", local(date(2026, 3, 1), 9), "completed")
        v1 = _visit(s, data, 0, "D1", "A", local(DAY, 9), "completed")
        _visit(s, data, 1, "D1", "A", local(DAY, 10), "no_show")
        v3 = _visit(s, data, 2, "D2", "B", local(DAY, 11), "cancelled", late=True)
        _visit(s, data, 0, "D2", "B", local(DAY, 23, 30), "scheduled")  # 18:30 UTC: the 10th
        _visit(s, data, 1, "D2", "B", local(NEXT, 0, 30), "scheduled")  # 19:30 UTC: the 11th

        shift1 = CashierShift(
            cashier_id=kassir1,
            opened_at=local(DAY, 8),
            closed_at=local(DAY, 18),
            opening_cash=1_000_000,
            expected_cash=6_000_000,
            counted_cash=5_900_000,
            discrepancy=-100_000,
        )
        shift2 = CashierShift(cashier_id=kassir2, opened_at=local(DAY, 8, 30), opening_cash=0)
        s.add_all([shift1, shift2])
        s.flush()
        data.shifts = {"kassir1": shift1.id, "kassir2": shift2.id}

        # p1: 00:30 on the 10th (19:30 UTC on the 9th), cash, D1 / A, kassir1.
        at = utc(2026, 3, 9, 19, 30)
        inv1 = _paid_invoice(s, data, patient=0, service="S1", amount=5_000_000, at=at, visit_id=v1)
        p1 = Payment(
            invoice_id=inv1.id,
            method="cash",
            amount=5_000_000,
            shift_id=shift1.id,
            actor="kassir1",
            created_at=at,
            tendered=5_000_000,
            change=0,
        )
        # p2: 23:59 on the 10th (18:59 UTC), card, D2 / B, kassir2; 20 000 sum refunded at noon.
        at = utc(2026, 3, 10, 18, 59)
        inv2 = _paid_invoice(s, data, patient=2, service="S2", amount=7_000_000, at=at, visit_id=v3)
        inv2.status, inv2.refunded_amount = "partly_refunded", 2_000_000
        p2 = Payment(
            invoice_id=inv2.id,
            method="card",
            amount=7_000_000,
            shift_id=shift2.id,
            actor="kassir2",
            created_at=at,
            refunded_amount=2_000_000,
        )
        # p3: 00:01 on the 11th (19:01 UTC on the 10th), Payme, for a ticket of D1's queue.
        at = utc(2026, 3, 10, 19, 1)
        inv3 = _paid_invoice(s, data, patient=1, service="S1", amount=11_000_000, at=at)
        p3 = Payment(
            invoice_id=inv3.id,
            method="payme",
            amount=11_000_000,
            provider="payme",
            provider_ref=f"payme-{data.queue_id}",
            actor="payme",
            created_at=at,
        )
        # p4: 23:59 on the 9th (18:59 UTC on the 9th): before the day.
        at = utc(2026, 3, 9, 18, 59)
        inv4 = _paid_invoice(s, data, patient=1, service="S2", amount=13_000_000, at=at)
        p4 = Payment(
            invoice_id=inv4.id, method="cash", amount=13_000_000, actor="kassir1", created_at=at
        )
        s.add_all([p1, p2, p3, p4])
        s.flush()
        s.add(
            Refund(
                payment_id=p2.id,
                invoice_id=inv2.id,
                amount=2_000_000,
                reason="ошибка",
                shift_id=shift2.id,
                actor="kassir2",
                created_at=local(DAY, 12),
            )
        )
        data.payments = {"p1": p1.id, "p2": p2.id, "p3": p3.id, "p4": p4.id}

        # The queue's day: ten tickets called after 1..10 minutes and served in 2 or 6
        # minutes (five queued at 09:xx, five at 10:xx), two no-shows at 11:00, and one
        # ticket of the next day (00:10 on the 11th) that waited 100 minutes.
        day = QueueDay(queue_id=data.queue_id, day=DAY, last_number=12, waiting=0)
        s.add(day)
        s.flush()
        for i in range(1, 11):
            queued = local(DAY, 9 if i <= 5 else 10, i)
            _ticket(s, data, day.id, i, queued, wait=i, service=2 if i % 2 else 6)
        for i in (11, 12):
            _ticket(s, data, day.id, i, local(DAY, 11), status="no_show")
        inv3.ticket_id = _ticket(s, data, day.id, 13, local(NEXT, 0, 10), wait=100, service=5)
    return data
