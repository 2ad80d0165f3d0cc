"""A batch of the price-list import writes its services together: the same few SQL statements
whatever its size (counted at 10 and at 200 rows, for a list that creates every service and
for one that creates, changes, leaves alone and refuses a quarter of its rows each), and a
code another transaction takes meanwhile does not cost the batch."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from clinic import jobs
from clinic.models import Service
from clinic.reference.directory import create_department
from clinic.reference.price_import import import_price_list
from clinic.reference.price_list import create_service
from tests.queue.test_bounded_statements import Statements
from tests.reference.test_price_import import claim, csv_bytes, new_job

HEADER = ["code", "name_ru", "name_uz", "name_en", "price", "department_code"]
# The outbox writes a few events in one statement and many in two (on PostgreSQL).
EVENTS_SPLIT = 1


def _service(code: str, i: int, price: str) -> list:
    return [code, f"Услуга {i}", f"Xizmat {i}", f"Service {i}", price, "CARD" if i % 2 else ""]


def _import(runtime, data: bytes, rows: int) -> tuple[dict, int]:
    """What the worker does with a claimed job of ``rows`` rows in one batch: its result, and
    the statements the import sent (reading the job and its file, then the batch)."""
    job_id = new_job(runtime, "prices.csv", data)
    claim(runtime, job_id)
    with Statements(runtime.db.engine) as counted:
        result = import_price_list(runtime.db.sessionmaker, job_id, batch_size=rows)
    with runtime.db.transaction() as s:
        jobs.finish_job(s, jobs.get_job(s, job_id), result)
    return result, len(counted.sent)


def _costs(runtime, rows: int) -> dict[str, int]:
    """The statements of one import of ``rows`` rows in one batch: first every row a new
    service, then a list whose rows create, change, repeat and break one in four each."""
    prefix = f"S{rows}-"
    first = [_service(f"{prefix}{i}", i, "50 000") for i in range(rows)]
    mixed = []
    for i in range(rows):
        kind = i % 4
        if kind == 0:
            mixed.append(_service(f"{prefix}{i}", i, "50 000"))  # unchanged
        elif kind == 1:
            mixed.append(_service(f"{prefix}{i}", i, "75 000"))  # a new price
        elif kind == 2:
            mixed.append(_service(f"{prefix}new-{i}", i, "60 000"))  # a new service
        else:
            mixed.append(_service(f"{prefix}{i}", i, "12.345"))  # not a price in sums
    costs = {}
    created, costs["create"] = _import(runtime, csv_bytes([HEADER, *first]), rows)
    assert (created["created"], created["rejected"]) == (rows, 0)
    result, costs["mixed"] = _import(runtime, csv_bytes([HEADER, *mixed]), rows)
    outcomes = [result[o] for o in ("created", "updated", "unchanged", "rejected")]
    assert outcomes == [sum(i % 4 == kind for i in range(rows)) for kind in (2, 1, 0, 3)], result
    return costs


@pytest.mark.parametrize("what", ["create", "mixed"])
def test_a_batch_of_the_price_list_import_costs_the_same_statements_at_10_and_200_rows(
    runtime, what
):
    with runtime.db.transaction() as s:
        create_department(
            s,
            {
                "code": "CARD",
                "ticket_prefix": "K",
                "name_ru": "Кардиология",
                "name_uz": "Kardiologiya",
                "name_en": "Cardiology",
            },
        )
    short, long = _costs(runtime, 10), _costs(runtime, 200)
    assert short[what] <= long[what] <= short[what] + EVENTS_SPLIT, (short, long)
    # Reading the job, its file and the services' codes (4, once an import); the batch: its
    # job locked, the departments, a savepoint, the services by code and their departments,
    # the insert, the update, the events, the audit rows of what it created and changed (one
    # multi-row insert, however many), the progress and its event (15 on SQLite, with the
    # transactions' BEGIN).
    assert long[what] <= 19, long


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_a_code_another_transaction_takes_during_a_batch_is_updated_and_the_batch_written(
    runtime,
):
    rows = [_service(f"R-{i}", i, "50 000") for i in range(6)]
    job_id = new_job(runtime, "prices.csv", csv_bytes([HEADER[:5], *[r[:5] for r in rows]]))
    claim(runtime, job_id)
    taken = []

    def take_a_code_first(_conn, _cursor, statement, *_args):
        if statement.startswith("INSERT INTO services") and not taken:
            taken.append("R-3")  # the desk adds R-3 just before the import writes it
            with runtime.db.transaction() as s:
                create_service(
                    s, {"code": "R-3", "name_ru": "а", "name_uz": "b", "name_en": "c", "price": 1}
                )

    event.listen(runtime.db.engine, "before_cursor_execute", take_a_code_first)
    try:
        result = import_price_list(runtime.db.sessionmaker, job_id, batch_size=len(rows))
    finally:
        event.remove(runtime.db.engine, "before_cursor_execute", take_a_code_first)
    assert taken == ["R-3"]
    assert (result["created"], result["updated"], result["rejected"]) == (5, 1, 0), result
    with runtime.db.session() as s:
        prices = dict(s.execute(select(Service.code, Service.price)).all())
    assert prices == {f"R-{i}": 5_000_000 for i in range(6)}
