"""The price-list import end to end: upload, a real worker, progress over WebSocket, result."""

from __future__ import annotations

import io
import time

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from clinic.models import Department, Job, JobFile, Service
from tests.conftest import ONE_BACKEND
from tests.wsclient import WSClient

URL = "/api/v1/services/import"
MAX_UPLOAD = 512 * 1024
BATCH = 200
ROWS = 10 * BATCH
HEADER = "code,name_ru,name_uz,name_en,price,duration_minutes,ikpu_code,vat_percent"

# The upload, the job and its events through the API, on the production database: the rules
# of each row and of each sheet are tested on both databases in test_price_import.py.
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])


@pytest.fixture
def settings(shared, database_urls, backend):
    # A small upload limit keeps the oversized uploads small; the 2,000-row list fits, in ten
    # batches of 200. The settings, the runtime and the application are shared by the tests of
    # this module (each on empty tables).
    return shared.settings(
        database_urls,
        backend,
        CLINIC_MAX_UPLOAD_BYTES=MAX_UPLOAD,
        CLINIC_IMPORT_BATCH_SIZE=BATCH,
    )


def price_list(n: int) -> tuple[bytes, dict[int, str], int]:
    """A CSV of ``n`` services, some deliberately bad: the bytes, the bad rows (row number
    -> column) and the number of good rows."""
    lines, bad = [HEADER], {}
    for i in range(n):
        row = i + 2
        code, price, ikpu, vat = f"SV-{i:05d}", f"{50 + i % 400} 000", "", "12"
        if i % 97 == 13:
            price, bad[row] = "12.345", "price"
        elif i % 151 == 7:
            ikpu, bad[row] = "12345", "ikpu_code"
        elif i % 199 == 50:
            vat, bad[row] = "250", "vat_percent"
        elif i == n - 1:
            code, bad[row] = "SV-00000", "code"  # repeats the first row
        lines.append(f"{code},Услуга {i},Xizmat {i},Service {i},{price},20,{ikpu},{vat}")
    return ("\n".join(lines) + "\n").encode(), bad, n - len(bad)


def upload(client, data: bytes, filename: str = "prices.csv"):
    return client.post(
        URL,
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def wait_for_job(client, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}").get_json()
        if job["status"] in ("succeeded", "failed"):
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {job['status']} after {timeout}s: {job}")
        time.sleep(0.05)


def counts(result: dict) -> tuple[int, int, int, int]:
    return result["created"], result["updated"], result["unchanged"], result["rejected"]


def count(runtime, model) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


# 2,000 rows, the size the import promises to carry, in ten committed batches of 200: every
# kind of bad row turns up many times. A worker killed between batches is
# tests/fault/test_import_worker_killed.py.
@pytest.mark.heavy
def test_a_price_list_of_2000_rows_imports_with_live_progress_and_rows_reported_by_row_and_column(
    client, worker, live_server, runtime, admin_token
):
    data, bad, good = price_list(ROWS)
    response = upload(client, data)
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert response.headers["Location"] == f"/api/v1/jobs/{job['id']}"
    assert job["kind"] == "price_import" and job["channel"] == f"job:{job['id']}"

    # Generous: a suite running in parallel on two cores slows the worker several times.
    ws = WSClient(live_server, token=admin_token, timeout=60)
    got = ws.subscribe(job["channel"], last_id=0, timeout=60)  # everything from the first on
    if not any(m.get("type") == "job.succeeded" for m in got):
        # Generous: a suite running in parallel on two cores slows the worker several times.
        got += ws.until(lambda m: m.get("type") in ("job.succeeded", "job.failed"), timeout=120)
    ws.close()
    events = [m for m in got if m.get("op") == "event"]
    types = [e["type"] for e in events]
    assert types[:2] == ["job.queued", "job.started"] and types[-1] == "job.succeeded", types
    progress = [e["data"] for e in events if e["type"] == "job.progress"]
    assert len(progress) == 10  # 2,000 rows in batches of 200
    assert [p["done"] for p in progress] == list(range(BATCH, ROWS + 1, BATCH))
    assert progress[0] == {"id": job["id"], "done": BATCH, "total": ROWS, "progress": 10}
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))

    finished = events[-1]["data"]
    assert finished == wait_for_job(client, job["id"])
    result = finished["result"]
    assert counts(result) == (good, 0, 0, len(bad))
    assert {e["row"]: e["column"] for e in result["errors"]} == bad
    assert all(e["reason"] for e in result["errors"])
    assert count(runtime, Service) == good
    with runtime.db.session() as s:
        assert s.scalar(select(Service.price).where(Service.code == "SV-00001")) == 5_100_000

    again = upload(client, data).get_json()
    repeated = wait_for_job(client, again["id"])
    assert repeated["status"] == "succeeded"
    assert counts(repeated["result"]) == (0, 0, good, len(bad))
    assert count(runtime, Service) == good


def test_an_xlsx_workbook_imports_through_the_api(client, worker, runtime):
    book = Workbook()
    book.active.title = "services"
    book.active.append(["code", "name_ru", "name_uz", "name_en", "price", "department_code"])
    book.active.append(["ECG", "ЭКГ", "EKG", "ECG", 50000, "CARD"])
    departments = book.create_sheet("departments")
    departments.append(["code", "ticket_prefix", "name_ru", "name_uz", "name_en"])
    departments.append(["CARD", "K", "Кардиология", "Kardiologiya", "Cardiology"])
    buffer = io.BytesIO()
    book.save(buffer)

    response = upload(client, buffer.getvalue(), "prices.xlsx")
    assert response.status_code == 202
    job = wait_for_job(client, response.get_json()["id"])
    assert job["status"] == "succeeded", job
    assert counts(job["result"]) == (2, 0, 0, 0)
    assert set(job["result"]["sheets"]) == {"departments", "services"}
    with runtime.db.session() as s:
        card_id = s.scalar(select(Department.id).where(Department.code == "CARD"))
        assert s.scalar(select(Service.department_id).where(Service.code == "ECG")) == card_id


def test_a_file_without_the_required_columns_fails_the_job_with_a_clear_error(client, worker):
    response = upload(client, b"code,price\nA,100\n")
    job = wait_for_job(client, response.get_json()["id"])
    assert job["status"] == "failed"
    assert job["error"]["detail"] == "Required column(s) missing: name_ru, name_uz, name_en."
    # The price list page says it in its own language by these.
    assert job["error"]["code"] == "missing_columns"
    assert job["error"]["values"] == {"columns": "name_ru, name_uz, name_en"}


def multipart(filename: str, payload: bytes, boundary: str = "clinic-boundary") -> tuple:
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    body = head + payload + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def assert_refused_as_too_large(response, runtime) -> None:
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 413
    assert count(runtime, Job) == 0 and count(runtime, JobFile) == 0


def test_an_oversized_upload_is_refused_with_a_413_problem(client, runtime):
    assert_refused_as_too_large(upload(client, b"x" * (MAX_UPLOAD + 1)), runtime)


@pytest.mark.parametrize("server_limit", [MAX_UPLOAD, None], ids=["werkzeug", "own-check"])
def test_an_oversized_chunked_upload_without_content_length_is_refused(
    app, client, runtime, server_limit
):
    # What a WSGI server hands over for a chunked body: no length, a stream it terminates.
    # With the framework's limit switched off the view's own check still refuses it.
    app.config["MAX_CONTENT_LENGTH"] = server_limit
    body, content_type = multipart("prices.csv", b"code\n" + b"x" * MAX_UPLOAD)
    response = client.post(
        URL,
        input_stream=io.BytesIO(body),
        content_type=content_type,
        environ_overrides={"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"},
    )
    assert response.request.content_length is None
    assert_refused_as_too_large(response, runtime)


@pytest.mark.parametrize(
    "field, content, filename, message",
    [
        ("file", b"", "prices.csv", "The file is empty."),
        ("file", b"code,price\n", "prices.pdf", "Send a price list as a"),
        ("file", b"code,price\n", "prices.xlsx", "The file is not an Excel"),
        ("other", b"code,price\n", "prices.csv", "Missing data"),
        ("file", "not a file", None, "Missing data"),
    ],
    ids=["empty", "extension", "content", "no-file-field", "text-field"],
)
def test_a_bad_upload_is_a_4xx_naming_the_file_field_and_creates_nothing(
    client, runtime, field, content, filename, message
):
    value = content if filename is None else (io.BytesIO(content), filename)
    response = client.post(URL, data={field: value}, content_type="multipart/form-data")
    assert 400 <= response.status_code < 500
    problem = response.get_json()
    assert problem["errors"]["file"][0].startswith(message), problem
    assert count(runtime, Job) == 0
