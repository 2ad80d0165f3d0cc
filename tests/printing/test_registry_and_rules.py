"""The printer registry's rules, who follows which jobs, and the spooler's edge cases: a
job left mid-send by a killed worker, a pause not over yet, PDF-only printers."""

from __future__ import annotations

import io
import json
import re
import threading
from datetime import datetime, timedelta, timezone

import pytest
from pypdf import PdfReader
from sqlalchemy import select, text, update

from clinic.accounts.permissions import Staff
from clinic.base import utcnow
from clinic.errors import Conflict, ValidationFailed
from clinic.events import events_after
from clinic.payments import desk, effects
from clinic.printing import documents, intake
from clinic.printing import jobs as print_jobs
from clinic.printing import pdfs
from clinic.printing import printers as registry
from clinic.printing import routes, spooler, thermal
from clinic.printing.access import may_follow
from clinic.printing.models import JobState, Printer, PrintJob
from clinic.printing.templates import COPY_MARK
from tests.payments.fixtures import make_invoice, make_queue
from tests.printing.conftest import collect, drain, job
from tests.races import wait_for, waits_for_a_lock
from tests.visits.conftest import make_clinic, next_week_day
from tests.visits.test_rescheduling import _book


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_registry_checks_printers_and_moves_a_target_to_its_new_printer(client, runtime):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
    bad = client.post(
        "/api/v1/printing/printers",
        json={"name": "X", "kind": "network", "languages": "ru+de", "targets": ["kiosk:1"]},
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"host", "languages", "targets"}
    first = client.post(
        "/api/v1/printing/printers",
        json={"name": "A", "host": "10.0.0.5", "targets": ["tickets", f"queue:{queue_id}"]},
    ).get_json()
    taken = client.post("/api/v1/printing/printers", json={"name": "A", "host": "10.0.0.6"})
    assert taken.status_code == 409
    second = client.post(
        "/api/v1/printing/printers", json={"name": "B", "kind": "pdf", "targets": ["tickets"]}
    ).get_json()
    listed = {p["name"]: p["targets"] for p in client.get("/api/v1/printing/printers").get_json()}
    assert listed == {"A": [f"queue:{queue_id}"], "B": ["tickets"]}

    renamed = client.patch(f"/api/v1/printing/printers/{first['id']}", json={"name": "B"})
    assert renamed.status_code == 409
    changed = client.patch(
        f"/api/v1/printing/printers/{first['id']}", json={"paper_mm": 58, "code_page": "CP1251"}
    ).get_json()
    assert (changed["paper_mm"], changed["code_page"], changed["targets"]) == (
        58,
        "CP1251",
        [f"queue:{queue_id}"],
    )
    assert client.delete(f"/api/v1/printing/printers/{second['id']}").status_code == 204
    assert client.delete(f"/api/v1/printing/printers/{second['id']}").status_code == 404
    assert client.post("/api/v1/printing/printers/999999/test").status_code == 404
    assert client.get("/admin/printers").status_code == 200
    assert client.get("/api/v1/printing/jobs/999999").status_code == 404
    moved = client.patch(f"/api/v1/printing/printers/{first['id']}", json={"targets": ["tickets"]})
    assert moved.get_json()["targets"] == ["tickets"]
    # A queue that is not there (a mistyped id): refused, naming the target, nothing changed.
    body = {"name": "C", "host": "10.0.0.7", "targets": [f"queue:{queue_id + 1000}"]}
    refused = client.post("/api/v1/printing/printers", json=body)
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"targets": [f"no such queue: queue:{queue_id + 1000}"]}
    refused = client.patch(
        f"/api/v1/printing/printers/{first['id']}", json={"targets": ["queue:999999"]}
    )
    assert refused.status_code == 422 and "targets" in refused.get_json()["errors"]
    listed = {p["name"]: p["targets"] for p in client.get("/api/v1/printing/printers").get_json()}
    assert listed == {"A": ["tickets"]}


def test_a_target_taken_by_another_printer_is_announced_gone_from_the_first(runtime):
    with runtime.db.transaction() as s:
        first = registry.create_printer(s, {"name": "A", "kind": "pdf", "targets": ["tickets"]})
        second = registry.create_printer(s, {"name": "B", "kind": "pdf", "targets": []})
        first_id, second_id = first.id, second.id
    with runtime.db.transaction() as s:
        registry.update_printer(s, second_id, {"targets": ["tickets", "receipts"]})
    with runtime.db.transaction() as s:
        registry.create_printer(s, {"name": "C", "kind": "pdf", "targets": ["receipts"]})
    with runtime.db.session() as s:
        shown = [e["data"]["printer"] for e in events_after(s, registry.PRINTERS_CHANNEL, 2)]
    # The printers page keeps each printer's row from its latest event: A and then B lose
    # the target moved away from them, as the list reads them.
    assert [(p["name"], p["targets"]) for p in shown] == [
        ("A", []),
        ("B", ["receipts", "tickets"]),
        ("B", ["tickets"]),
        ("C", ["receipts"]),
    ]
    assert {shown[0]["id"], shown[1]["id"]} == {first_id, second_id}


def test_a_printer_is_named_by_its_trimmed_name_and_never_by_blanks(client):
    blank = client.post("/api/v1/printing/printers", json={"name": "   ", "kind": "pdf"})
    assert blank.status_code == 422
    assert set(blank.get_json()["errors"]) == {"name"}
    made = client.post("/api/v1/printing/printers", json={"name": " Kassa 1 ", "kind": "pdf"})
    assert made.status_code == 201
    assert made.get_json()["name"] == "Kassa 1"
    twin = client.post("/api/v1/printing/printers", json={"name": "Kassa 1  ", "kind": "pdf"})
    assert twin.status_code == 409
    other = client.post("/api/v1/printing/printers", json={"name": "Kassa 2", "kind": "pdf"})
    renamed = client.patch(
        f"/api/v1/printing/printers/{other.get_json()['id']}", json={"name": " Kassa 1"}
    )
    assert renamed.status_code == 409
    emptied = client.patch(
        f"/api/v1/printing/printers/{other.get_json()['id']}", json={"name": " "}
    )
    assert emptied.status_code == 422
    names = [p["name"] for p in client.get("/api/v1/printing/printers").get_json()]
    assert sorted(names) == ["Kassa 1", "Kassa 2"]


def test_a_cashier_target_names_the_cashier_as_sign_in_knows_her(client, runtime):
    # Usernames are kept in lower case: "Amina" at sign-in is amina, and so is her desk.
    made = client.post(
        "/api/v1/printing/printers",
        json={"name": "Kassa", "kind": "pdf", "targets": ["cashier:Amina"]},
    )
    assert made.status_code == 201
    assert made.get_json()["targets"] == ["cashier:amina"]
    with runtime.db.session() as s:
        found = routes.printer_for(s, ["cashier:amina", "receipts"])
        assert found is not None and found.id == made.get_json()["id"]
    moved = client.patch(
        f"/api/v1/printing/printers/{made.get_json()['id']}", json={"targets": ["cashier:BOBUR"]}
    )
    assert moved.get_json()["targets"] == ["cashier:bobur"]


def test_a_printer_is_switched_on_or_off_by_json_true_or_false_only(client):
    for guess in (1, 0, "yes", "no", "false", ""):
        refused = client.post(
            "/api/v1/printing/printers", json={"name": "P", "kind": "pdf", "active": guess}
        )
        assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"active"}
    made = client.post("/api/v1/printing/printers", json={"name": "P", "kind": "pdf"}).get_json()
    off = client.patch(f"/api/v1/printing/printers/{made['id']}", json={"active": "false"})
    assert off.status_code == 422 and set(off.get_json()["errors"]) == {"active"}
    assert client.get("/api/v1/printing/printers").get_json()[0]["active"] is True
    off = client.patch(f"/api/v1/printing/printers/{made['id']}", json={"active": False})
    assert off.status_code == 200 and off.get_json()["active"] is False


def test_the_registry_refuses_what_the_api_schema_would_not_let_through(db):
    base = {"name": "Z", "host": "10.0.0.9"}
    for wrong in ({"kind": "usb"}, {"code_page": "UTF-8"}, {"paper_mm": 76}):
        with pytest.raises(ValidationFailed) as refused:
            registry.create_printer(db, {**base, **wrong})
        assert set(refused.value.errors) == set(wrong)
    assert not may_follow(Staff(frozenset({"queue.issue"})), "queue.1")
    assert may_follow(Staff(frozenset({"queue.issue", "printing.use"})), "queue.1")


def test_each_desk_follows_only_its_own_print_jobs(client_as):
    registrar, cashier = client_as("registrar"), client_as("cashier")
    assert registrar.get("/api/v1/printing/jobs?scope=queue.1").status_code == 200
    assert registrar.get("/api/v1/printing/jobs?scope=cashier").status_code == 403
    assert cashier.get("/api/v1/printing/jobs?scope=queue.1").status_code == 403
    assert cashier.get("/api/v1/printing/printers").status_code == 403
    assert client_as("doctor").get("/api/v1/printing/jobs?scope=queue.1").status_code == 403


def test_a_test_page_prints_cyrillic_and_uzbek_and_its_copy_pdf_says_copy(
    client, runtime, fake_printer
):
    printer = client.post(
        "/api/v1/printing/printers",
        json={"name": "Тест", "host": "127.0.0.1", "port": fake_printer.port, "languages": "uz+en"},
    ).get_json()
    made = client.post(f"/api/v1/printing/printers/{printer['id']}/test")
    assert made.status_code == 202
    drain(runtime, printer["id"])
    [page] = fake_printer.jobs()
    assert "абвгдеёжзийклмнопрстуфхцчшщъыьэюя".encode("cp866") in page
    assert b"O'zbekiston" in page and b"Sinov chop etish / Test\nprint" in page
    assert client.get(f"/api/v1/printing/jobs/{made.get_json()['id']}").get_json()["state"] == (
        JobState.PRINTED
    )
    copy = client.post(f"/api/v1/printing/jobs/{made.get_json()['id']}/reprint").get_json()
    again = client.post(f"/api/v1/printing/jobs/{copy['id']}/reprint").get_json()
    assert job(runtime, again["id"]).payload == job(runtime, copy["id"]).payload  # one mark
    assert client.post(f"/api/v1/printing/jobs/{copy['id']}/retry").status_code == 409
    sheet = client.get(f"/api/v1/printing/jobs/{copy['id']}/pdf?page=A4")
    assert "КОПИЯ / COPY" in _text(sheet.data) and "Oʻzbekiston" in _text(sheet.data)


def test_a_job_left_mid_send_by_a_killed_worker_is_sent_again_marked_as_a_copy(
    client, runtime, fake_printer
):
    printer = client.post(
        "/api/v1/printing/printers",
        json={"name": "P", "host": "127.0.0.1", "port": fake_printer.port},
    ).get_json()
    made = client.post(f"/api/v1/printing/printers/{printer['id']}/test").get_json()
    original = job(runtime, made["id"]).payload
    with runtime.db.transaction() as s:  # what a worker killed mid-send leaves behind
        s.execute(update(PrintJob).values(state=JobState.SENDING, attempts=1))
        s.execute(
            update(Printer).values(lease_owner="dead", lease_until=utcnow() + timedelta(seconds=60))
        )
        assert spooler.printers_to_drain(s) == []  # held: nobody takes it over yet
    assert drain(runtime, printer["id"]) == {"printed": 0, "retry_in": None}
    with runtime.db.transaction() as s:
        s.execute(update(Printer).values(lease_until=utcnow() - timedelta(seconds=1)))
        assert spooler.printers_to_drain(s) == [printer["id"]]
    assert drain(runtime, printer["id"])["printed"] == 1
    resent = job(runtime, made["id"])
    assert resent.copy and resent.attempts == 2 and resent.payload.endswith(original)
    assert fake_printer.jobs() == [resent.payload]
    assert COPY_MARK.encode("cp866") in resent.payload


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_a_failed_job_retried_from_two_desks_at_once_goes_out_once(client, runtime):
    """Two desks press Retry on one failed job at the same moment: the second waits for the
    first one's retry and is then told the job is retried, instead of making a second one
    that sends the same bytes out twice unmarked."""
    printer = client.post(
        "/api/v1/printing/printers", json={"name": "P", "host": "127.0.0.1", "port": 9}
    ).get_json()
    made = client.post(f"/api/v1/printing/printers/{printer['id']}/test").get_json()
    with runtime.db.transaction() as s:
        s.execute(update(PrintJob).values(state=JobState.FAILED))
    pids, answers = [], []

    def second_desk():
        try:
            with runtime.db.transaction() as s:
                pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                print_jobs.retry_job(s, made["id"], actor="desk-2")
            answers.append("a second retry")
        except Conflict as refused:
            answers.append(refused.code)

    with runtime.db.transaction() as first:
        print_jobs.retry_job(first, made["id"], actor="desk-1")
        other = threading.Thread(target=second_desk)
        other.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the second desk")
    other.join(30)
    assert answers == ["retried"]
    with runtime.db.session() as s:
        assert len(s.scalars(select(PrintJob).where(PrintJob.retry_of_id == made["id"])).all()) == 1


def test_a_job_waiting_out_its_pause_is_left_to_the_worker_that_tried_it(
    client, runtime, fake_printer
):
    printer = client.post(
        "/api/v1/printing/printers",
        json={"name": "P", "host": "127.0.0.1", "port": fake_printer.port},
    ).get_json()
    fake_printer.down()
    client.post(f"/api/v1/printing/printers/{printer['id']}/test")
    assert drain(runtime, printer["id"])["retry_in"] == 1
    with runtime.db.transaction() as s:  # however slow this machine, the pause is not over
        s.execute(update(PrintJob).values(next_attempt_at=utcnow() + timedelta(hours=1)))
    assert drain(runtime, printer["id"]) == {"printed": 0, "retry_in": None}
    with runtime.db.session() as s:
        assert spooler.printers_to_drain(s) == []  # its pause is not over
    # Switched to "PDF only" while its job waits: the job becomes a PDF for its desk.
    client.patch(f"/api/v1/printing/printers/{printer['id']}", json={"kind": "pdf"})
    [waiting] = client.get("/api/v1/printing/jobs?scope=printers").get_json()
    assert waiting["state"] == JobState.PDF_ONLY


def test_without_a_printer_a_ticket_and_a_reprint_are_pdfs_to_print_in_the_browser(
    client, runtime, monkeypatch
):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
    for _ in range(2):
        client.post(f"/api/v1/queues/{queue_id}/tickets", json={"source": "kiosk"})
    monkeypatch.setattr(intake, "BATCH", 1)  # read the requests one at a time
    assert collect(runtime) == 2
    tickets = client.get(f"/api/v1/printing/jobs?scope=queue.{queue_id}").get_json()
    assert [j["state"] for j in tickets] == [JobState.PDF_ONLY] * 2
    roll = client.get(f"/api/v1/printing/jobs/{tickets[0]['id']}/pdf")
    assert "Талон / Talon" in _text(roll.data)

    # A receipt asked for again before its first print was ever collected: a marked copy.
    invoice_id = make_invoice(runtime)
    with runtime.db.transaction() as s:
        from clinic.payments import invoices

        invoices.record_payment(
            s, invoices.get_invoice(s, invoice_id), method="webhook:acq", amount=15_000_000,
            provider="acq", provider_ref="w-1", actor="acq",
        )  # fmt: skip
    with runtime.db.transaction() as s:
        desk.request_reprint(s, invoice_id, actor="")
    assert collect(runtime) == 1
    [receipt] = client.get("/api/v1/printing/jobs?scope=cashier").get_json()
    stored = job(runtime, receipt["id"])
    assert stored.copy and stored.payload.startswith(thermal.with_copy_mark(b""))
    assert "webhook:acq".encode() in stored.payload
    effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)


def test_documents_leave_out_what_the_clinic_has_not_filled_in(runtime):
    bare = {"legal_name": "Клиника", "address": "", "taxpayer_number": ""}
    ticket = documents.ticket(
        {"clinic": bare, "code": "A-001", "department": ["Терапия"], "room": None,
         "issued_at": "01.12.2026 09:00", "ahead": 0, "url": "http://x/t/abc"},
        ("ru",),
    )  # fmt: skip
    texts = [b.get("left", b.get("text")) for b in ticket["blocks"]]
    assert "Кабинет" not in texts and "ИНН" not in texts
    fiscal = documents.receipt(
        {"clinic": bare, "number": "1", "paid_at": "-", "lines": [], "discount": 0,
         "total": 0, "paid_amount": 0, "payments": [], "fiscal": {"fiscal_sign": "9"}},
        ("ru",),
    )  # fmt: skip
    assert [b for b in fiscal["blocks"] if b["t"] == "qr"] == []
    assert "Кассир" not in _text(pdfs.render(fiscal, "A5"))
    terminal_only = documents.receipt(
        {"clinic": bare, "number": "2", "paid_at": "-", "lines": [], "discount": 100,
         "total": 0, "paid_amount": 0, "payments": [], "fiscal": {"terminal_id": "EP1"}},
        ("ru",),
    )  # fmt: skip
    shown = _text(pdfs.render(terminal_only, "roll"))
    assert "Фискальный признак" not in shown and "Скидка" in shown


def test_the_visit_slip_and_the_invoice_are_sheets_of_office_paper(client, runtime):
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    visit = _book(runtime, clinic, clinic.at(day, 9))
    slip = client.get(f"/api/v1/printing/visits/{visit.id}/slip?page=A5")
    assert slip.status_code == 200
    text = _text(slip.data)
    assert "Направление на приём / Qabulga yo'llanma" in text and f"{day:%d.%m.%Y} 09:00" in text
    assert client.get("/api/v1/printing/visits/999999/slip").status_code == 404
    assert client.get("/api/v1/printing/invoices/999999/pdf").status_code == 404


def test_an_unpaid_invoice_is_dated_when_it_was_made_in_clinic_time(client, runtime):
    from clinic.payments.models import Invoice

    invoice_id = make_invoice(runtime)
    made = datetime(2026, 3, 9, 19, 30, tzinfo=timezone.utc)  # 00:30 on the 10th in Tashkent
    with runtime.db.transaction() as s:
        s.execute(update(Invoice).where(Invoice.id == invoice_id).values(created_at=made))
    sheet = client.get(f"/api/v1/printing/invoices/{invoice_id}/pdf?page=A4")
    assert sheet.status_code == 200
    assert "10.03.2026 00:30" in _text(sheet.data)


def test_the_receipt_of_an_appointments_invoice_names_its_doctor(runtime):
    from clinic.payments import invoices
    from clinic.reference.models import Doctor
    from tests.payments.fixtures import make_service

    clinic = make_clinic(runtime)
    visit = _book(runtime, clinic, clinic.at(next_week_day(runtime.settings.tz), 9))
    with runtime.db.transaction() as s:
        invoice = invoices.create_invoice(
            s, patient_id=visit.patient_id, lines=[{"service_id": make_service(s, 5_000_000)}],
            visit_id=visit.id, actor="registrar",
        )  # fmt: skip
        request = {
            "invoice_id": invoice.id,
            "number": invoice.number,
            "lines": [],
            "discount": 0,
            "total": 5_000_000,
            "paid_amount": 5_000_000,
            "payments": [],
        }
        shown = intake.receipt_data(s, runtime.settings, request)
        assert shown["doctor"] == s.get(Doctor, visit.doctor_id).full_name
        assert shown["visit"] == visit.id


def test_a_doctor_prints_the_slips_of_his_own_visits_only(runtime, client_as):
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    visit = _book(runtime, clinic, clinic.at(day, 9))  # another doctor's visit
    doctor = client_as("doctor")
    refused = doctor.get(f"/api/v1/printing/visits/{visit.id}/slip?page=A5")
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert client_as("registrar").get(f"/api/v1/printing/visits/{visit.id}/slip").status_code == 200


def test_the_desks_pages_carry_their_print_status(client_as):
    desk = client_as("registrar").get("/queue/desk")
    assert desk.status_code == 200 and b"print-status.js" in desk.data
    cashier = client_as("cashier").get("/payments/desk")
    assert cashier.status_code == 200 and b'data-print-scope="cashier"' in cashier.data


def test_the_printers_page_says_since_when_a_printer_fails_in_clinic_time(client_as):
    # Its page writes times in the clinic's zone, as the desks do, not in the browser's.
    page = client_as("admin").get("/admin/printers").get_data(as_text=True)
    config = json.loads(re.search(r'id="printers-config">(.*?)</script>', page, re.S).group(1))
    assert config["timezone"] == "Asia/Tashkent"
