"""Tickets and receipts on a network printer (a TCP server standing in for it): the exact
stored bytes, Cyrillic in CP866, the QR command, the copy mark, and a printer that goes away
and comes back."""

from __future__ import annotations

import io
from datetime import timedelta

from pypdf import PdfReader
from sqlalchemy import update

from clinic.base import utcnow
from clinic.printing.models import JobState, Printer, PrintJob
from clinic.printing.templates import COPY_MARK
from tests.payments.fixtures import make_queue
from tests.printing.conftest import collect, drain, job
from tests.races import wait_for

CP866_SELECT = b"\x1bt\x11"  # ESC t 17: code page PC866 (Cyrillic #2)
QR_STORE = b"\x1d(k"  # GS ( k: the printer's own QR code


def _queue(runtime) -> int:
    with runtime.db.transaction() as s:
        return make_queue(s)


def _printer(client, fake, **extra) -> dict:
    body = {"name": "Регистратура", "host": "127.0.0.1", "port": fake.port, **extra}
    response = client.post("/api/v1/printing/printers", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _issue(client, queue_id: int) -> dict:
    response = client.post(f"/api/v1/queues/{queue_id}/tickets", json={"source": "desk"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _jobs(client, queue_id: int) -> list[dict]:
    response = client.get(f"/api/v1/printing/jobs?scope=queue.{queue_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_ticket_reaches_the_printer_as_its_stored_bytes_and_a_reprint_carries_the_copy_mark(
    client, runtime, fake_printer, clinic_profile
):
    queue_id = _queue(runtime)
    printer = _printer(client, fake_printer, targets=[f"queue:{queue_id}"])
    ticket = _issue(client, queue_id)
    assert collect(runtime) == 1
    assert drain(runtime, printer["id"]) == {"printed": 1, "retry_in": None}

    [listed] = _jobs(client, queue_id)
    assert listed["state"] == JobState.PRINTED and listed["subject_id"] == ticket["id"]
    stored = job(runtime, listed["id"]).payload
    assert fake_printer.jobs() == [stored]
    assert stored.startswith(b"\x1b@" + CP866_SELECT)
    for text in ("Талон / Talon", "Терапия / Terapiya", 'ООО "Шифо Клиник"', ticket["code"]):
        assert text.encode("cp866") in stored, text
    # Uzbek ʻ has no place in CP866: it prints as an apostrophe.
    assert "Bo'lim".encode("cp866") in stored and "ʻ".encode() not in stored
    assert QR_STORE in stored and b"/t/" in stored

    again = client.post(f"/api/v1/printing/jobs/{listed['id']}/reprint")
    assert again.status_code == 202 and again.get_json()["copy"] is True
    drain(runtime, printer["id"])
    copy = job(runtime, again.get_json()["id"]).payload
    assert fake_printer.jobs() == [stored, copy]
    assert copy.endswith(stored) and COPY_MARK.encode("cp866") in copy[: -len(stored)]
    assert COPY_MARK.encode("cp866") not in stored


def test_a_reprint_goes_to_the_printer_the_queue_has_now(
    client, runtime, fake_printer, clinic_profile
):
    """The ticket was issued before the queue had a printer (a PDF); its reprint, once a
    printer is set up for the queue, prints on paper, made for that printer."""
    queue_id = _queue(runtime)
    ticket = _issue(client, queue_id)
    assert collect(runtime) == 1
    [first] = _jobs(client, queue_id)
    assert first["state"] == JobState.PDF_ONLY and first["printer"] is None
    printer = _printer(client, fake_printer, targets=[f"queue:{queue_id}"])
    again = client.post(f"/api/v1/printing/jobs/{first['id']}/reprint")
    assert again.status_code == 202, again.get_json()
    assert again.get_json()["copy"] is True and again.get_json()["state"] == JobState.QUEUED
    drain(runtime, printer["id"])
    [printed] = fake_printer.jobs()
    assert printed.startswith(b"\x1b@") and ticket["code"].encode("cp866") in printed
    assert COPY_MARK.encode("cp866") in printed


def _pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def test_a_printer_that_is_down_fails_its_job_visibly_and_prints_the_next_ones_when_back(
    client, runtime, fake_printer, clinic_profile
):
    queue_id = _queue(runtime)
    printer = _printer(client, fake_printer, targets=[f"queue:{queue_id}"])
    fake_printer.down()
    first = _issue(client, queue_id)
    assert collect(runtime) == 1

    # Refused: the job waits for another attempt, the printer shows why.
    result = drain(runtime, printer["id"])
    assert result["retry_in"] > 0, (result, _jobs(client, queue_id))
    [waiting] = _jobs(client, queue_id)
    assert waiting["state"] == JobState.QUEUED and waiting["attempts"] == 1
    [state] = client.get("/api/v1/printing/printers").get_json()
    assert state["state"] == "failing" and "ConnectionRefused" in state["last_error"]

    # Retried with pauses until the printer has failed for the retry time: then visible.
    def given_up():
        drain(runtime, printer["id"])
        return job(runtime, waiting["id"]).state == JobState.FAILED

    wait_for(given_up, what="the job to fail")
    failed = job(runtime, waiting["id"])
    assert failed.attempts >= 2 and "ConnectionRefused" in failed.last_error
    pdf = client.get(f"/api/v1/printing/jobs/{waiting['id']}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert first["code"] in _pdf_text(pdf.data)

    # Back: the next ticket prints; the failed one prints when retried from the desk, as a
    # copy, since its PDF was opened (and may have been printed from the browser).
    fake_printer.up()
    second = _issue(client, queue_id)
    collect(runtime)
    drain(runtime, printer["id"])
    retried = client.post(f"/api/v1/printing/jobs/{waiting['id']}/retry")
    assert retried.status_code == 202, retried.get_json()
    assert retried.get_json()["copy"] is True
    drain(runtime, printer["id"])
    assert job(runtime, retried.get_json()["id"]).state == JobState.PRINTED
    received = fake_printer.jobs()
    assert second["code"].encode() in received[0]
    assert received[1].endswith(failed.payload) and received[1] != failed.payload
    assert COPY_MARK.encode("cp866") in received[1][: -len(failed.payload)]
    [ready] = client.get("/api/v1/printing/printers").get_json()
    assert ready["state"] == "ready" and ready["failing_since"] is None
    again = client.post(f"/api/v1/printing/jobs/{waiting['id']}/retry")
    assert again.status_code == 409  # a failed job is retried once: the new job is the retry


def test_a_printer_set_to_another_code_page_gets_its_waiting_jobs_and_reprints_made_for_it(
    client, runtime, fake_printer, clinic_profile
):
    """A printer registered with CP437 prints Russian in Latin letters; set to CP1251, the
    code page it really has, the ticket still waiting for it and a reprint of the one it
    printed come out in Cyrillic (ESC t 46 and CP1251 bytes), not as bytes made for the code
    page it no longer has."""
    queue_id = _queue(runtime)
    printer = _printer(client, fake_printer, targets=[f"queue:{queue_id}"], code_page="CP437")
    _issue(client, queue_id)
    collect(runtime)
    drain(runtime, printer["id"])
    [first] = _jobs(client, queue_id)
    assert "Talon".encode() in job(runtime, first["id"]).payload
    fake_printer.down()  # away while the next ticket waits
    _issue(client, queue_id)
    collect(runtime)
    changed = client.patch(
        f"/api/v1/printing/printers/{printer['id']}", json={"code_page": "CP1251"}
    )
    assert changed.status_code == 200, changed.get_json()
    fake_printer.up()
    again = client.post(f"/api/v1/printing/jobs/{first['id']}/reprint")
    assert again.status_code == 202, again.get_json()
    drain(runtime, printer["id"])
    waiting, copy = fake_printer.jobs()[-2:]
    for sent in (waiting, copy):
        assert sent.startswith(b"\x1b@\x1bt\x2e")  # ESC t 46: WPC1251
        assert "Талон / Talon".encode("cp1251") in sent and b"\x1bt\x00" not in sent
    assert COPY_MARK.encode("cp1251") in copy
    # A job that failed on it before the change is retried in its code page too.
    with runtime.db.transaction() as s:
        s.execute(update(PrintJob).where(PrintJob.id == first["id"]).values(state=JobState.FAILED))
    retried = client.post(f"/api/v1/printing/jobs/{first['id']}/retry")
    assert retried.status_code == 202, retried.get_json()
    assert job(runtime, retried.get_json()["id"]).payload.startswith(b"\x1b@\x1bt\x2e")


def _failed(client, runtime, fake_printer, queue_id: int, printer_id: int) -> dict:
    """A ticket whose job the printer, down, has failed: refused once, then again once its
    failing has lasted past the retry time (set back an hour rather than waited out)."""
    fake_printer.down()
    _issue(client, queue_id)
    collect(runtime)
    [waiting] = _jobs(client, queue_id)
    assert drain(runtime, printer_id)["retry_in"] > 0
    with runtime.db.transaction() as s:
        s.execute(update(Printer).values(failing_since=utcnow() - timedelta(hours=1)))
        s.execute(update(PrintJob).values(next_attempt_at=None))
    drain(runtime, printer_id)
    assert job(runtime, waiting["id"]).state == JobState.FAILED
    fake_printer.up()
    return waiting


def test_a_failed_job_retried_unopened_prints_its_own_bytes_unmarked(
    client, runtime, fake_printer, clinic_profile
):
    """Nobody opened its PDF: the retry is the first paper of it, as it was."""
    queue_id = _queue(runtime)
    printer = _printer(client, fake_printer, targets=[f"queue:{queue_id}"])
    failed = _failed(client, runtime, fake_printer, queue_id, printer["id"])
    assert job(runtime, failed["id"]).pdf_opened_at is None
    retried = client.post(f"/api/v1/printing/jobs/{failed['id']}/retry")
    assert retried.status_code == 202 and retried.get_json()["copy"] is False
    drain(runtime, printer["id"])
    assert fake_printer.jobs() == [job(runtime, failed["id"]).payload]


def test_a_waiting_job_whose_pdf_was_opened_prints_as_a_copy(
    client, runtime, fake_printer, clinic_profile
):
    """The printer was out while the desk printed the ticket from its PDF: once back, its
    paper is the second one of that ticket, and says so. The first opening is noted once."""
    queue_id = _queue(runtime)
    printer = _printer(client, fake_printer, targets=[f"queue:{queue_id}"])
    fake_printer.down()
    ticket = _issue(client, queue_id)
    collect(runtime)
    assert drain(runtime, printer["id"])["retry_in"] > 0
    [waiting] = _jobs(client, queue_id)
    assert waiting["state"] == JobState.QUEUED
    pdf = client.get(f"/api/v1/printing/jobs/{waiting['id']}/pdf")
    assert pdf.status_code == 200 and COPY_MARK not in _pdf_text(pdf.data)
    opened = job(runtime, waiting["id"]).pdf_opened_at
    assert opened is not None
    assert client.get(f"/api/v1/printing/jobs/{waiting['id']}/pdf").status_code == 200
    assert job(runtime, waiting["id"]).pdf_opened_at == opened

    fake_printer.up()
    with runtime.db.transaction() as s:  # its pause over
        s.execute(update(PrintJob).values(next_attempt_at=None))
    drain(runtime, printer["id"])
    [paper] = fake_printer.jobs()
    printed = job(runtime, waiting["id"])
    assert printed.state == JobState.PRINTED and printed.copy is True
    assert ticket["code"].encode("cp866") in paper and COPY_MARK.encode("cp866") in paper
