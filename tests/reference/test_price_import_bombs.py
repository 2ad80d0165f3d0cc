"""Expansion bombs in the price import: a few KB that declare millions of rows, or unpack to a
100 MB string, fail their job quickly with a clear message, while other imports go on; a job
that keeps stalling its workers is given up; and readiness does not hide it."""

from __future__ import annotations

import io
import re
import time
import zipfile
from datetime import timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import update

from clinic.base import utcnow
from clinic.jobs.models import Job, JobStatus
from clinic.reference.price_list_file import (
    MAX_CELL_CHARS,
    MAX_SHEET_ROWS,
    ImportTooLong,
    PriceListRejected,
    parse_price_list,
)
from tests.conftest import make_settings

URL = "/api/v1/services/import"
DIMENSION = re.compile(rb"<dimension [^>]*/>")
HEADER = ["code", "name_ru", "name_uz", "name_en", "price"]
TIME_LIMIT = 20


@pytest.fixture
def settings(database_urls, backend, tmp_path, redis_prefix):
    return make_settings(
        database_urls[backend],
        tmp_path / "instance",
        redis_prefix,
        CLINIC_JOB_TIME_LIMIT=TIME_LIMIT,
        CLINIC_JOB_MAX_ATTEMPTS=2,
    )


def _workbook(*rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "services"
    for row in (HEADER, *rows):
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rewrite(data: bytes, part: str, write) -> bytes:
    """``data`` with ``part`` replaced by what ``write(original, stream)`` writes."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            original = source.read(info.filename)
            if info.filename == part:
                with target.open(part, "w", force_zip64=True) as stream:
                    write(original, stream)
            else:
                target.writestr(info, original)
    return out.getvalue()


def declared_rows_bomb(rows: int = 20_000_000) -> bytes:
    """A workbook whose sheet declares ``rows`` rows (all blank but the header)."""

    def write(original: bytes, stream) -> None:
        stream.write(DIMENSION.sub(f'<dimension ref="A1:E{rows}"/>'.encode(), original))

    return _rewrite(_workbook(), "xl/worksheets/sheet1.xml", write)


def undeclared_rows_bomb(row: int = 20_000_000) -> bytes:
    """A sheet declaring no size, with a cell in row ``row``: read-only openpyxl hands out
    every blank row in between."""

    def write(original: bytes, stream) -> None:
        cell = f'<row r="{row}"><c r="A{row}" t="inlineStr"><is><t>X</t></is></c></row>'
        original = DIMENSION.sub(b"", original)
        stream.write(original.replace(b"</sheetData>", cell.encode() + b"</sheetData>"))

    return _rewrite(_workbook(), "xl/worksheets/sheet1.xml", write)


def long_string_bomb(megabytes: int = 100) -> bytes:
    """A workbook with one cell of ``megabytes`` MB of text (about 100 KB packed)."""

    def write(original: bytes, stream) -> None:
        before, after = original.split(b"PLACEHOLDER", 1)
        assert after, "the placeholder was not found"
        stream.write(before)
        chunk = b"x" * (1024 * 1024)
        for _ in range(megabytes):
            stream.write(chunk)
        stream.write(after)

    data = _workbook(["SV-1", "PLACEHOLDER", "Xizmat", "Service", "1000"])
    return _rewrite(data, "xl/worksheets/sheet1.xml", write)


def _upload(client, data: bytes, filename: str) -> str:
    response = client.post(
        URL, data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data"
    )
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


def _wait(client, job_ids, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        jobs = {i: client.get(f"/api/v1/jobs/{i}").get_json() for i in job_ids}
        if all(j["status"] in ("succeeded", "failed") for j in jobs.values()):
            return jobs
        if time.monotonic() > deadline:
            raise TimeoutError(f"jobs still running after {timeout}s: {jobs}")
        time.sleep(0.1)


def test_the_bombs_are_small_on_disk():
    assert len(declared_rows_bomb()) < 10_000
    assert len(long_string_bomb()) < 300_000


def test_each_bomb_fails_its_job_clearly_while_another_import_completes(client, worker):
    declared = _upload(client, declared_rows_bomb(), "rows.xlsx")
    long_text = _upload(client, long_string_bomb(), "string.xlsx")
    good = _upload(client, _workbook(["SV-1", "Услуга", "Xizmat", "Service", "1000"]), "ok.xlsx")
    jobs = _wait(client, [declared, long_text, good], timeout=TIME_LIMIT)

    assert jobs[good]["status"] == "succeeded", jobs[good]
    assert jobs[good]["result"]["created"] == 1, jobs[good]["result"]
    assert jobs[declared]["status"] == "failed"
    assert "declares 20000000 rows" in jobs[declared]["error"]["detail"]
    assert jobs[long_text]["status"] == "failed"
    assert "too large once unpacked" in jobs[long_text]["error"]["detail"]
    for bomb in (declared, long_text):
        assert len(str(jobs[bomb])) < 5_000  # the job's record stays small too


def test_blank_rows_count_towards_the_limit_even_when_the_sheet_hides_them():
    with pytest.raises(PriceListRejected, match=f"more than {MAX_SHEET_ROWS} rows"):
        parse_price_list("rows.xlsx", undeclared_rows_bomb())


def test_reading_stops_at_the_deadline():
    with pytest.raises(ImportTooLong, match="time limit"):
        parse_price_list("rows.xlsx", undeclared_rows_bomb(), deadline=time.monotonic())


def test_a_long_cell_is_cut_and_reported_not_carried_into_the_result():
    rows = parse_price_list("a.xlsx", _workbook(["SV-1", "y" * 50_000, "X", "S", "1000"]))
    assert len(rows[0].values["name_ru"]) == MAX_CELL_CHARS
    assert rows[0].problems == (
        ("name_ru", f"The value is longer than {MAX_CELL_CHARS} characters."),
    )


def test_a_job_that_keeps_stalling_its_workers_is_given_up(client, worker, runtime):
    job_id = _upload(client, _workbook(["SV-1", "Услуга", "Xizmat", "Service", "1000"]), "a.xlsx")
    _wait(client, [job_id], timeout=TIME_LIMIT)
    stalled = utcnow() - timedelta(minutes=5)
    with runtime.db.transaction() as s:  # as if two workers had died with it in turn
        s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status=JobStatus.RUNNING, attempts=2, heartbeat_at=stalled, started_at=stalled)
        )
    client.application.extensions["celery"].send_task(
        "imports.price_list", kwargs={"job_id": job_id}, queue="default"
    )
    job = _wait(client, [job_id], timeout=TIME_LIMIT)[job_id]
    assert job["status"] == "failed"
    assert job["error"]["type"] == "TooManyAttempts"
    assert job["error"]["code"] == "too_many_attempts"
    assert "given up after 2 attempts" in job["error"]["detail"]
