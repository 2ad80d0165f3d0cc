"""Visits fixtures: a department with doctors, their weekly hours, patients and services,
all made through the same services the application uses."""

from __future__ import annotations

import itertools
import threading
import time as clock
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import pytest

from clinic.reference import directory as reference
from clinic.reference import patients as patient_records
from clinic.reference import price_list
from clinic.visits import schedules
from tests.conftest import _letters, free_port

WEEKDAYS = [0, 1, 2, 3, 4, 5, 6]
_codes = itertools.count(1)


@dataclass
class Clinic:
    """Ids of what a test booked against."""

    department_id: int
    doctor_ids: list[int]
    patient_ids: list[int]
    service_id: int
    tz: object
    room_ids: list[int] = field(default_factory=list)
    # The slot running when its first visit "soon" was booked (tests/visits/test_api.py).
    near: datetime | None = None

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """An instant of the clinic's wall clock."""
        return schedules.local_instant(day, time(hour, minute), self.tz)


def next_week_day(tz, days: int = 7) -> date:
    return (datetime.now(timezone.utc).astimezone(tz) + timedelta(days=days)).date()


def make_clinic(
    runtime, *, doctors: int = 1, patients: int = 3, hours=("09:00", "13:00"), slot=20, capacity=1
) -> Clinic:
    n = next(_codes)
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {
                "code": f"vis{n}",
                "ticket_prefix": _letters(),
                "name_ru": "Терапия",
                "name_uz": "Terapiya",
                "name_en": "Therapy",
            },
        )
        service = price_list.create_service(
            s,
            {
                "code": f"CONS-{n}",
                "name_ru": "Консультация",
                "name_uz": "Maslahat",
                "name_en": "Consultation",
                "price": 15_000_000,
                "duration_minutes": slot,
                "department_id": department.id,
            },
        )
        doctor_ids, room_ids = [], []
        for i in range(doctors):
            room = reference.create_room(s, {"number": f"{n}-{i}", "department_id": department.id})
            doctor = reference.create_doctor(
                s,
                {
                    "full_name": f"Доктор {n}-{i}",
                    "department_id": department.id,
                    "room_id": room.id,
                },
            )
            schedules.set_week(
                s,
                doctor.id,
                [
                    {
                        "weekday": d,
                        "starts": hours[0],
                        "ends": hours[1],
                        "slot_minutes": slot,
                        "capacity": capacity,
                    }
                    for d in WEEKDAYS
                ],
            )
            doctor_ids.append(doctor.id)
            room_ids.append(room.id)
        patient_ids = [
            patient_records.create_patient(
                s, {"full_name": f"Пациент {n}-{i}", "sex": "F", "phone": f"+99890{n:03d}{i:04d}"}
            ).id
            for i in range(patients)
        ]
    return Clinic(department.id, doctor_ids, patient_ids, service.id, runtime.settings.tz, room_ids)


@pytest.fixture
def clinic(runtime) -> Clinic:
    return make_clinic(runtime)


# Tests about today's queue and near-term reminders work round the clock: five-minute slots
# from 00:00 to 23:55 leave only the day's last five minutes without a slot.
ALL_DAY = {"hours": ("00:00", "23:55"), "slot": 5}


def slot_near(runtime, after: timedelta = timedelta(0)) -> datetime:
    """The start of the five-minute slot running at now + ``after`` (clinic time), on the
    same clinic day."""
    tz = runtime.settings.tz
    local = (datetime.now(timezone.utc) + after).astimezone(tz)
    at = local.time().replace(minute=local.minute // 5 * 5, second=0, microsecond=0)
    # 23:55 has no slot: the day's last one stands in for it.
    return schedules.local_instant(local.date(), min(at, time(23, 50)), tz)


def until_a_later_slot_today(runtime) -> None:
    """Wait for a day with a slot five minutes ahead or more: from 23:45 the day's last slot
    (23:50) begins within five minutes, and a move "later today", which the API and its
    worker check against the real clock, has nowhere to go until midnight."""
    local = datetime.now(timezone.utc).astimezone(runtime.settings.tz)
    if local.time() >= time(23, 45):
        midnight = datetime.combine(local.date() + timedelta(days=1), time(0), local.tzinfo)
        clock.sleep((midnight - local).total_seconds() + 2)


def clear_of_midnight(runtime, seconds: float = 90) -> None:
    """Wait for the next clinic day when fewer than ``seconds`` of this one are left: for a
    test that books the slot running now and acts on it "today" within a few seconds."""
    local = datetime.now(timezone.utc).astimezone(runtime.settings.tz)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), local.tzinfo)
    if (midnight - local).total_seconds() < seconds:
        clock.sleep((midnight - local).total_seconds() + 2)


class Mailbox:
    """What a real local SMTP server (aiosmtpd) accepted; can hold the first message back
    (``stall_first``) to stand for a mail server that is slow to answer."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.stall_first = threading.Event()
        self.stalled = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        # What the server says to the address nobody@... ("550 ..." for good, "450 ..." for
        # now); None: every recipient is taken. ``refused`` counts the times it said so.
        self.unknown_reply: str | None = None
        self.refused = 0

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's name
        self, server, session, envelope, address, rcpt_options
    ):
        if self.unknown_reply and address.startswith("nobody@"):
            self.refused += 1
            return self.unknown_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        import asyncio

        if self.stall_first.is_set() and not self.stalled.is_set():
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 try again later"
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(
                {"to": envelope.rcpt_tos, "subject": str(message["Subject"]), "raw": message}
            )
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10) -> list[dict]:
        deadline = clock.monotonic() + timeout
        while len(self.messages) < count and clock.monotonic() < deadline:
            clock.sleep(0.02)
        return list(self.messages)


@pytest.fixture(scope="session")
def smtp_port() -> int:
    """One port per test process: each test starts its own SMTP server there (mailbox)."""
    return free_port()


@pytest.fixture
def settings(shared, database_urls, backend, smtp_port):
    """The test settings, sending mail to the SMTP server of the test (mailbox)."""
    return shared.settings(
        database_urls,
        backend,
        CLINIC_SMTP_HOST="127.0.0.1",
        CLINIC_SMTP_PORT=smtp_port,
        CLINIC_SMTP_TIMEOUT=2,
        CLINIC_SMTP_FROM="clinic@example.test",
    )


@pytest.fixture
def mailbox(smtp_port):
    from aiosmtpd.controller import Controller

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield box
    box.release.set()
    controller.stop()
