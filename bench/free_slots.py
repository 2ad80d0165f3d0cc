"""Free-slot search and booking throughput of the appointments module.

A department of ``--doctors`` doctors (08:00-17:00, a break 13:00-14:00, 20-minute slots,
every day) with ``--occupancy`` of its slots already booked. Measured:

- free-slot search for the whole department over ``--days`` days: in the process (the
  service function, every free slot) and through the API (``GET /api/v1/visits/slots``,
  the first 500, what the booking form asks for), ``--searches`` each, one after the
  other: p50, p90, p99;
- booking through the API: ``--clients`` concurrent clients book ``--bookings`` visits into
  distinct free slots: bookings per second and the latency of each.

    python bench/free_slots.py --postgres
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import requests  # noqa: E402

from bench.support.harness import Stack, add_common_arguments, write_result  # noqa: E402
from bench.support.measure import summary_ms  # noqa: E402
from clinic.base import iso  # noqa: E402
from clinic.reference import directory as reference  # noqa: E402
from clinic.reference.models import Patient  # noqa: E402
from clinic.visits import schedules, slots  # noqa: E402
from clinic.visits.models import Visit  # noqa: E402

NAME = "free_slots"


def build(stack: Stack, doctors: int, days: int, occupancy: float, bookings: int) -> dict:
    """The department, its doctors' weeks, patients, and the already booked visits."""
    runtime = stack.runtime
    tz = runtime.settings.tz
    suffix = uuid.uuid4().hex[:6]
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {"code": f"F{suffix}", "ticket_prefix": "FSB", "name_ru": "Терапия",
             "name_uz": "Terapiya", "name_en": "Therapy"},
        )  # fmt: skip
        doctor_ids = []
        for i in range(doctors):
            doctor = reference.create_doctor(
                s, {"full_name": f"Доктор {i}", "department_id": department.id}
            )
            schedules.set_week(
                s,
                doctor.id,
                [
                    {"weekday": d, "starts": "08:00", "ends": "17:00",
                     "breaks": [["13:00", "14:00"]], "slot_minutes": 20}
                    for d in range(7)
                ],
            )  # fmt: skip
            doctor_ids.append(doctor.id)
    first = (datetime.now(timezone.utc).astimezone(tz) + timedelta(days=1)).date()
    last = first + timedelta(days=days - 1)
    with runtime.db.session() as s:
        every = slots.free_slots(
            s, tz=tz, first_day=first, last_day=last, department_id=department.id, limit=None
        )
    # Booked visits are written directly (the schedule guarantees they fit): thousands of
    # them through the booking service would take the bench's time, not measure anything.
    taken = every[:: max(1, round(1 / occupancy))] if occupancy > 0 else []
    with runtime.db.transaction() as s:
        patients = [
            Patient(full_name=f"Пациент {i}", search_name=f"patsient {i}", sex="F")
            for i in range(len(taken) + bookings)
        ]
        s.add_all(patients)
        s.flush()
        now = datetime.now(timezone.utc)
        s.add_all(
            Visit(
                patient_id=patients[i].id, doctor_id=slot["doctor_id"],
                department_id=department.id, starts_at=slot["starts_at"],
                ends_at=slot["ends_at"], seat=0, kind="scheduled", status="scheduled",
                moves=0, late_cancellation=False, created_at=now, updated_at=now,
            )  # fmt: skip
            for i, slot in enumerate(taken)
        )
        free_patients = [p.id for p in patients[len(taken) :]]
    return {
        "department_id": department.id,
        "doctor_ids": doctor_ids,
        "first": first,
        "last": last,
        "slots": len(every),
        "taken": len(taken),
        "patients": free_patients,
    }


def search_in_process(stack: Stack, data: dict, count: int) -> list[float]:
    tz = stack.runtime.settings.tz
    durations = []
    for _ in range(count):
        started = time.perf_counter()
        with stack.runtime.db.session() as s:
            found = slots.free_slots(
                s, tz=tz, first_day=data["first"], last_day=data["last"],
                department_id=data["department_id"], limit=None,
            )  # fmt: skip
        durations.append(time.perf_counter() - started)
    data["free"] = found
    return durations


def search_over_http(stack: Stack, data: dict, token: str, count: int) -> list[float]:
    url = (
        f"{stack.base_url}/api/v1/visits/slots?department_id={data['department_id']}"
        f"&from={data['first']}&to={data['last']}"
    )
    durations = []
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {token}"
        for _ in range(count):
            started = time.perf_counter()
            answer = http.get(url, timeout=60)
            durations.append(time.perf_counter() - started)
            answer.raise_for_status()
    return durations


def book_concurrently(stack: Stack, data: dict, token: str, bookings: int, clients: int):
    free = data["free"][:bookings]
    patients = data["patients"]
    latencies, statuses, lock = [], [], threading.Lock()

    def client(index: int) -> None:
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {token}"
            for i in range(index, len(free), clients):
                slot = free[i]
                body = {"patient_id": patients[i], "doctor_id": slot["doctor_id"],
                        "starts_at": iso(slot["starts_at"])}  # fmt: skip
                started = time.perf_counter()
                answer = http.post(f"{stack.base_url}/api/v1/visits", json=body, timeout=60)
                took = time.perf_counter() - started
                with lock:
                    latencies.append(took)
                    statuses.append(answer.status_code)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return wall, latencies, statuses


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--doctors", type=int, default=20)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--occupancy", type=float, default=0.3)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--bookings", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args(argv)

    with Stack(args) as stack:
        data = build(stack, args.doctors, args.days, args.occupancy, args.bookings)
        token = stack.user_token(["registrar"])
        in_process = search_in_process(stack, data, args.searches)
        over_http = search_over_http(stack, data, token, args.searches)
        wall, latencies, statuses = book_concurrently(
            stack, data, token, args.bookings, args.clients
        )
        result = {
            "database": stack.database_kind,
            "doctors": args.doctors,
            "days": args.days,
            "slots": data["slots"],
            "already_booked": data["taken"],
            "free_found": len(data["free"]),
            "search_in_process_ms": summary_ms(in_process),
            "search_http_ms": summary_ms(over_http),
            "bookings": len(statuses),
            "booked": statuses.count(201),
            "refused": len(statuses) - statuses.count(201),
            "clients": args.clients,
            "bookings_per_second": round(statuses.count(201) / wall, 1) if wall else None,
            "booking_ms": summary_ms(latencies),
        }
        path = write_result(args, NAME, result)
    print(f"{NAME}: {result}")
    print(f"written to {path}")
    return 0 if result["refused"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
