"""Every change a price-list import makes is in the audit log, as the same change made
through the API is: who uploaded the file, which import (its job), what the object was
before and is after; and a batch redone after a crash is recorded once."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import String, cast, event, func, select

from clinic import jobs
from clinic.models import AuditEntry, Department, Service
from clinic.reference.directory import create_department
from clinic.reference.price_import import import_batches, import_price_list
from clinic.reference.price_list import create_service
from tests.reference.test_price_import import claim, csv_bytes, make_stale, new_job, xlsx_bytes

SERVICES = ["code", "name_ru", "name_uz", "name_en", "price", "department_code"]
DEPARTMENTS = ["code", "ticket_prefix", "name_ru", "name_uz", "name_en"]


def _run(runtime, job_id: str) -> dict:
    """What the worker does with the queued job: claim it, import, finish."""
    claim(runtime, job_id)
    result = import_price_list(runtime.db.sessionmaker, job_id, batch_size=200)
    with runtime.db.transaction() as s:
        jobs.finish_job(s, jobs.get_job(s, job_id), result)
    return result


def _audit(client, **filters) -> list[dict]:
    response = client.get("/api/v1/audit", query_string={**filters, "page_size": 100})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_an_imports_changes_are_audited_as_the_uploaders_with_its_job_and_before_after(
    runtime, client_as
):
    with runtime.db.transaction() as s:
        gp = create_service(
            s,
            {"code": "GP-01", "name_ru": "Приём", "name_uz": "Qabul", "name_en": "Visit"}
            | {"price": 12_000_000},
        ).id
    workbook = xlsx_bytes(
        {
            "departments": [DEPARTMENTS, ["LAB", "L", "Лаборатория", "Laboratoriya", "Lab"]],
            "services": [
                SERVICES,
                ["GP-01", "Приём", "Qabul", "Visit", "150 000", ""],
                ["LAB-01", "Анализ", "Tahlil", "Test", "30 000", "LAB"],
                ["BAD-01", "Плохо", "Yomon", "Bad", "12.345", ""],
            ],
        }
    )
    uploader = client_as("admin", "prices-admin")
    answer = uploader.post(
        "/api/v1/services/import",
        data={"file": (io.BytesIO(workbook), "prices.xlsx")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 202, answer.get_json()
    job_id = answer.get_json()["id"]
    result = _run(runtime, job_id)
    assert (result["created"], result["updated"], result["rejected"]) == (2, 1, 1), result
    with runtime.db.session() as s:
        lab = s.scalar(select(Department.id).where(Department.code == "LAB"))
        lab_01 = s.scalar(select(Service.id).where(Service.code == "LAB-01"))
        admin_id = s.scalar(select(AuditEntry.user_id).where(AuditEntry.username == "prices-admin"))

    reader = client_as("admin")
    # The price changed: found by the service's id, as its API edits are.
    [changed] = _audit(reader, object_type="services", object_id=str(gp))
    assert changed["username"] == "prices-admin" and changed["user_id"] == admin_id
    assert changed["roles"] == ["admin"]
    assert changed["action"] == "imports.price_list.update_service"
    assert changed["summary"] == {
        "job_id": job_id,
        "sheet": "services",
        "row": 2,
        "changes": {"price": {"before": 12_000_000, "after": 15_000_000}},
    }
    # The service created: every field it was made with, each "before" null.
    [created] = _audit(reader, object_type="services", object_id=str(lab_01))
    assert created["action"] == "imports.price_list.create_service"
    assert created["username"] == "prices-admin"
    changes = created["summary"]["changes"]
    assert changes["code"] == {"before": None, "after": "LAB-01"}
    assert changes["price"] == {"before": None, "after": 3_000_000}
    assert changes["department_id"] == {"before": None, "after": lab}
    assert changes["id"] == {"before": None, "after": lab_01}
    assert "created_at" not in changes and "updated_at" not in changes
    assert (created["summary"]["job_id"], created["summary"]["row"]) == (job_id, 3)
    # The department created, on its own sheet.
    [department] = _audit(reader, object_type="departments", object_id=str(lab))
    assert department["action"] == "imports.price_list.create_department"
    assert department["summary"]["job_id"] == job_id
    assert department["summary"]["sheet"] == "departments"
    assert department["summary"]["changes"]["code"] == {"before": None, "after": "LAB"}
    # The import's rows by their action, the upload's by the job: nothing for the row refused.
    rows = _audit(reader, action="imports.price_list")
    assert sorted(r["object_id"] for r in rows) == sorted([str(gp), str(lab_01), str(lab)])
    [upload] = _audit(reader, object_type="jobs", object_id=job_id)
    assert upload["username"] == "prices-admin"
    # The page filters the same.
    page = reader.get("/admin/audit", query_string={"object_type": "services", "object_id": gp})
    assert page.status_code == 200
    shown = page.get_data(as_text=True)
    assert "imports.price_list.update_service" in shown and job_id in shown


def test_a_list_that_changes_nothing_writes_no_audit_rows(runtime):
    with runtime.db.transaction() as s:
        create_department(
            s,
            {"code": "CARD", "ticket_prefix": "K", "name_ru": "К", "name_uz": "K", "name_en": "C"},
        )
    data = xlsx_bytes({"departments": [DEPARTMENTS, ["CARD", "K", "К", "K", "C"]]})
    _run(runtime, new_job(runtime, "same.xlsx", data))
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_a_resumed_import_does_not_audit_a_committed_batch_twice(runtime):
    rows = [[f"R-{i:02d}", f"У {i}", f"X {i}", f"S {i}", "50 000"] for i in range(30)]
    job_id = new_job(runtime, "prices.csv", csv_bytes([SERVICES[:5], *rows]))
    claim(runtime, job_id)
    batches = import_batches(runtime.db.sessionmaker, job_id, batch_size=10)
    next(batches)
    next(batches)
    batches.close()  # the worker dies after two committed batches
    make_stale(runtime, job_id)
    with runtime.db.transaction() as s:
        assert jobs.claim_job(s, job_id, stale_seconds=60).attempts == 2
    assert import_price_list(runtime.db.sessionmaker, job_id, batch_size=10)["created"] == 30
    with runtime.db.session() as s:
        audited = s.execute(
            select(AuditEntry.object_id, func.count())
            .where(AuditEntry.action == "imports.price_list.create_service")
            .group_by(AuditEntry.object_id)
        ).all()
        ids = {str(i) for i in s.scalars(select(Service.id))}
    assert {object_id for object_id, _ in audited} == ids and len(ids) == 30
    assert all(n == 1 for _, n in audited), audited


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_a_batch_written_row_by_row_after_a_code_was_taken_is_audited_once_a_row(runtime):
    rows = [[f"R-{i}", "а", "b", "c", "50 000"] for i in range(4)]
    job_id = new_job(runtime, "prices.csv", csv_bytes([SERVICES[:5], *rows]))
    claim(runtime, job_id)
    taken = []

    def take_a_code_first(_conn, _cursor, statement, *_args):
        if statement.startswith("INSERT INTO services") and not taken:
            taken.append("R-2")  # the desk adds R-2 at 10 000 just before the import writes it
            with runtime.db.transaction() as s:
                data = {"code": "R-2", "name_ru": "а", "name_uz": "b", "name_en": "c"}
                create_service(s, {**data, "price": 1_000_000})

    event.listen(runtime.db.engine, "before_cursor_execute", take_a_code_first)
    try:
        result = import_price_list(runtime.db.sessionmaker, job_id, batch_size=len(rows))
    finally:
        event.remove(runtime.db.engine, "before_cursor_execute", take_a_code_first)
    assert (taken, result["created"], result["updated"]) == (["R-2"], 3, 1), result
    with runtime.db.session() as s:
        audited = s.execute(
            select(Service.code, AuditEntry.action, AuditEntry.summary)
            .join(Service, AuditEntry.object_id == cast(Service.id, String))
            .where(AuditEntry.action.startswith("imports.price_list."))
            .order_by(Service.code)
        ).all()
    assert [(code, action) for code, action, _ in audited] == [
        ("R-0", "imports.price_list.create_service"),
        ("R-1", "imports.price_list.create_service"),
        ("R-2", "imports.price_list.update_service"),
        ("R-3", "imports.price_list.create_service"),
    ]
    assert audited[2][2]["changes"] == {"price": {"before": 1_000_000, "after": 5_000_000}}
