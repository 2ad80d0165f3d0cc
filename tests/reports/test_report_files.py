"""A real worker builds a report in every format from the API's 202; the files say what the
figures say. And the API's doors: validation, a doctor's own figures, someone else's file."""

from __future__ import annotations

import io
import json
import re
import time

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from clinic.jobs.models import Job
from tests.conftest import ONE_BACKEND
from tests.reports.fixtures import make_day, utc


def wait_for_job(runtime, job_id: str, timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        with runtime.db.session() as s:
            job = s.get(Job, job_id)
        if job.status in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_a_worker_builds_csv_xlsx_and_pdf_with_the_same_figures(
    client, runtime, make_user, worker, backend
):
    make_day(runtime, make_user)
    response = client.post(
        "/api/v1/reports",
        json={"report": "revenue", "by": "method", "start": "2026-03-10", "end": "2026-03-10"},
    )
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["id"]
    assert response.headers["Location"] == f"/api/v1/reports/{job_id}"
    job = wait_for_job(runtime, job_id)
    assert job.status == "succeeded", job.error
    assert job.result["total_figures"] == {
        "payments": 2, "received": 12_000_000, "refunded": 2_000_000, "net": 10_000_000,
    }  # fmt: skip
    shown = client.get(f"/api/v1/reports/{job_id}").get_json()["result"]
    assert shown["totals"] == ["Итого", "2", "120 000", "20 000", "100 000"]

    csv_file = client.get(f"/api/v1/reports/{job_id}/files/csv")
    assert csv_file.status_code == 200
    assert csv_file.data.startswith(b"\xef\xbb\xbf")
    lines = csv_file.data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Способ оплаты,")
    assert lines[-1] == "Итого,2,120000.00,20000.00,100000.00"

    xlsx = client.get(f"/api/v1/reports/{job_id}/files/xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Способ оплаты"
    assert sorted(values[1:3]) == [
        ["карта", 1, 70000, 20000, 50000],
        ["наличные", 1, 50000, 0, 50000],
    ]
    assert values[3] == ["Итого", 2, 120000, 20000, 100000]
    assert sheet.freeze_panes == "A2"
    assert sheet["C2"].number_format == '#,##0.00 "UZS"'
    assert sheet["D4"].font.b
    assert sheet.column_dimensions["A"].width >= 30

    pdf = client.get(f"/api/v1/reports/{job_id}/files/pdf")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Выручка" in text and "2026-03-10" in text
    assert "Итого" in text and "120 000" in text and "100 000" in text
    assert len(PdfReader(io.BytesIO(pdf.data)).pages[-1].images) >= 1  # the chart

    chart = client.get(f"/api/v1/reports/{job_id}/files/chart.png")
    assert chart.status_code == 200 and chart.data.startswith(b"\x89PNG")


def test_the_api_refuses_bad_parameters_and_others_figures(client_as, runtime):
    manager = client_as("manager")
    refused = manager.post("/api/v1/reports", json={"report": "visits", "by": "service"})
    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]) == {"by", "start", "end"}
    # The problem names each field's reasons by their codes too, beside the messages.
    assert refused.get_json()["reasons"] == {
        "by": ["unknown_grouping"],
        "start": ["start_format"],
        "end": ["end_format"],
    }
    bad_format = manager.post(
        "/api/v1/reports",
        json={"report": "visits", "start": "2026-03-10", "end": "2026-03-10", "formats": ["doc"]},
    )
    assert bad_format.status_code == 422
    assert bad_format.get_json()["reasons"] == {"formats": ["unknown_format"]}

    started = manager.post(
        "/api/v1/reports", json={"report": "shifts", "start": "2026-03-10", "end": "2026-03-10"}
    )
    assert started.status_code == 202
    job_id = started.get_json()["id"]

    doctor = client_as("doctor")
    assert doctor.get(f"/api/v1/reports/{job_id}").status_code == 403
    assert doctor.get(f"/api/v1/reports/{job_id}/files/csv").status_code == 403
    shifts = doctor.post(
        "/api/v1/reports", json={"report": "shifts", "start": "2026-03-10", "end": "2026-03-10"}
    )
    assert shifts.status_code == 403 and shifts.get_json()["code"] == "own_figures_only"
    own = doctor.post(
        "/api/v1/reports", json={"report": "visits", "start": "2026-03-10", "end": "2026-03-10"}
    )
    assert own.status_code == 202
    with runtime.db.session() as s:
        params = s.get(Job, own.get_json()["id"])
        assert params.state["params"]["doctor_id"] is not None
    assert doctor.get(f"/api/v1/reports/{own.get_json()['id']}").status_code == 200
    # Not finished (no worker here): no file yet.
    assert manager.get(f"/api/v1/reports/{job_id}/files/pdf").status_code == 404

    display = client_as("display")
    assert display.get("/api/v1/reports/dashboard").status_code == 403
    assert display.get("/reports").status_code == 403
    assert doctor.get("/api/v1/reports/dashboard").status_code == 403
    # A doctor's page offers his own reports and no e-mail subscriptions.
    doctors_page = doctor.get("/reports")
    assert doctors_page.status_code == 200 and b'id="subscribe-form"' not in doctors_page.data
    assert b'["shift"]' not in doctors_page.data  # the shifts report's grouping
    managers_page = manager.get("/reports")
    assert managers_page.status_code == 200 and b'id="subscribe-form"' in managers_page.data
    assert b'["shift"]' in managers_page.data
    assert manager.get("/reports/dashboard").status_code == 200


def test_a_report_and_a_subscription_refused_name_every_field_wrong_at_once(client_as, runtime):
    """A period written wrong and a format nobody writes: the refusal names both fields, so
    the form is corrected in one go, not a field at a time; a subscription's address and
    frequency are named beside a language the reports do not speak."""
    manager = client_as("manager")
    refused = manager.post(
        "/api/v1/reports",
        json={"report": "revenue", "start": "10.03.2026", "end": "2026-03-10", "formats": ["doc"]},
    )
    assert refused.status_code == 422
    assert refused.get_json()["reasons"] == {
        "start": ["start_format"],
        "formats": ["unknown_format"],
    }
    subscription = manager.post(
        "/api/v1/reports/subscriptions",
        json={
            "report": "revenue", "frequency": "hourly", "email": "nobody", "language": "de",
            "formats": ["doc"],
        },
    )  # fmt: skip
    assert subscription.status_code == 422
    assert subscription.get_json()["reasons"] == {
        "language": ["unknown_language"],
        "frequency": ["unknown_frequency"],
        "email": ["email_format"],
        "formats": ["unknown_format"],
    }


def test_the_report_page_starts_its_period_on_the_clinics_day_not_the_browsers(
    client_as, monkeypatch
):
    # 19:30 UTC on the 9th is already the 10th in Tashkent: the page's period runs from the
    # first of March to the 10th, whatever day the browser's clock says it is.
    monkeypatch.setattr("web.reports.pages.utcnow", lambda: utc(2026, 3, 9, 19, 30))
    page = client_as("manager").get("/reports").get_data(as_text=True)
    config = json.loads(re.search(r'id="reports-config">(.*?)</script>', page, re.S).group(1))
    assert config["today"] == "2026-03-10"
