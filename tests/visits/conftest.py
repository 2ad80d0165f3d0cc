"""Visits fixtures: a department with doctors, their weekly hours, patients and services,
all made through the same services the application uses."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import pytest

from clinic.reference import directory as reference
from clinic.reference import patients as patient_records
from clinic.visits import schedules
from tests.conftest import _letters

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
        service = reference.create_service(
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
