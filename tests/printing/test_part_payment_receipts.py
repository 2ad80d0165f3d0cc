"""Every payment taken at the desk prints its receipt, once: a part of an invoice paid in cash
or by card has a receipt of its own (the payment, how it was paid, the invoice's total, what
was paid before and what remains due), and the payment that settles the invoice has the full
receipt, which says it is paid in full."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from clinic.payments import effects, invoices
from clinic.printing.models import JobKind, JobState, PrintJob
from clinic.printing.templates import COPY_MARK
from clinic.printing.trigger import is_print_request
from tests.conftest import ONE_BACKEND
from tests.payments.fixtures import make_patient, make_service
from tests.printing.conftest import collect, drain

# What is checked is what the receipts say and how often they print; the payment rules behind
# them are tested on both backends in tests/payments.
ONE_DATABASE = pytest.mark.parametrize("backend", [ONE_BACKEND])


def _jobs(runtime, kind: str) -> list[PrintJob]:
    with runtime.db.session() as s:
        return list(s.scalars(select(PrintJob).where(PrintJob.kind == kind).order_by(PrintJob.id)))


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _desk(runtime, client, client_as, port: int):
    """A cashier with her shift open, her desk's printer on ``port``, and an open invoice of
    120 000 sum for a service with its fiscal codes; answers (cashier, printer id, invoice id)."""
    cashier = client_as("cashier", "kassir1")
    printer = client.post(
        "/api/v1/printing/printers",
        json={"name": "Касса", "host": "127.0.0.1", "port": port, "targets": ["cashier:kassir1"]},
    ).get_json()
    with runtime.db.transaction() as s:
        service_id = make_service(
            s, 12_000_000, ikpu_code="10399001001000000", package_code="1501234", vat_percent=12
        )
        invoice_id = invoices.create_invoice(
            s, patient_id=make_patient(s), lines=[{"service_id": service_id}], actor="registrar"
        ).id
    assert cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    return cashier, printer["id"], invoice_id


@ONE_DATABASE
def test_a_part_paid_at_the_desk_prints_its_receipt_and_the_last_part_the_full_one(
    runtime, client, client_as, fake_printer, clinic_profile
):
    cashier, printer_id, invoice_id = _desk(runtime, client, client_as, fake_printer.port)
    url = f"/api/v1/payments/invoices/{invoice_id}/pay"
    first = {"method": "cash", "amount": 5_000_000, "tendered": 10_000_000}
    assert cashier.post(url, json=first).status_code == 201
    assert collect(runtime) == 1
    drain(runtime, printer_id)
    [part] = _jobs(runtime, JobKind.PAYMENT)
    assert part.state == JobState.PRINTED and fake_printer.jobs() == [part.payload]
    for said in (
        "Чек оплаты", "Счёт", "Итого", "120 000 сум", "Оплачено ранее", "0 сум",
        "Эта оплата", "50 000 сум", "Наличные", "Получено", "100 000 сум", "Сдача",
        "Остаток к оплате", "70 000 сум", "НЕФИСКАЛЬНЫЙ ДОКУМЕНТ", "To'lov qoldig'i",
    ):  # fmt: skip
        assert said.encode("cp866") in part.payload, said
    assert "ОПЛАЧЕНО ПОЛНОСТЬЮ".encode("cp866") not in part.payload

    # The PDF of the part's receipt says the same (the desk prints it when no paper came out).
    pdf = cashier.get(f"/api/v1/printing/jobs/{part.id}/pdf?page=A5")
    assert pdf.status_code == 200
    text = _text(pdf.data)
    for said in ("Чек оплаты", "Каримов Алишер", "Оплачено ранее", "50 000", "Остаток к оплате",
                 "70 000", "kassir1"):  # fmt: skip
        assert said in text, said

    # A second part, by card: what was paid before is the first part.
    assert cashier.post(url, json={"method": "card", "amount": 3_000_000}).status_code == 201
    assert collect(runtime) == 1
    # The last part settles the invoice: the full receipt, with its lines' codes, is its paper.
    assert cashier.post(url, json={"method": "card"}).status_code == 201
    effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)
    assert collect(runtime) == 1
    drain(runtime, printer_id)
    parts = _jobs(runtime, JobKind.PAYMENT)
    [receipt] = _jobs(runtime, JobKind.RECEIPT)
    assert len(parts) == 2 and fake_printer.jobs() == [
        part.payload,
        parts[1].payload,
        receipt.payload,
    ]
    second = parts[1].payload
    for said in ("Оплачено ранее", "50 000 сум", "Карта", "30 000 сум", "40 000 сум"):
        assert said.encode("cp866") in second, said
    for said in ("10399001001000000", "1501234", "ОПЛАЧЕНО ПОЛНОСТЬЮ", "120 000 сум"):
        assert said.encode("cp866") in receipt.payload, said


@ONE_DATABASE
def test_papers_asked_for_while_the_printing_worker_was_away_print_in_the_order_asked(
    runtime, client, client_as, fake_printer, clinic_profile
):
    """A part in cash, the rest by card, then a part of it given back, all before anything
    is collected: the part's slip, the full receipt, then the refund's, as at the desk."""
    cashier, printer_id, invoice_id = _desk(runtime, client, client_as, fake_printer.port)
    url = f"/api/v1/payments/invoices/{invoice_id}/pay"
    assert cashier.post(url, json={"method": "cash", "amount": 5_000_000}).status_code == 201
    assert cashier.post(url, json={"method": "card"}).status_code == 201
    effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)
    refund = {"amount": 1_000_000, "method": "cash", "reason": "услуга не оказана"}
    answer = cashier.post(f"/api/v1/payments/invoices/{invoice_id}/refunds", json=refund)
    assert answer.status_code == 201, answer.get_json()
    assert collect(runtime) == 3
    drain(runtime, printer_id)
    papers = [bytes(paper).decode("cp866") for paper in fake_printer.jobs()]
    assert len(papers) == 3
    assert "Чек оплаты" in papers[0] and "Остаток к оплате" in papers[0]
    assert "ОПЛАЧЕНО ПОЛНОСТЬЮ" in papers[1]
    with runtime.db.session() as s:
        kinds = s.scalars(select(PrintJob.kind).order_by(PrintJob.id)).all()
    assert kinds == [JobKind.PAYMENT, JobKind.RECEIPT, JobKind.REFUND]


@ONE_DATABASE
def test_a_repeated_part_payment_with_one_idempotency_key_prints_one_receipt(
    runtime, client, client_as, fake_printer, clinic_profile
):
    cashier, printer_id, invoice_id = _desk(runtime, client, client_as, fake_printer.port)
    url = f"/api/v1/payments/invoices/{invoice_id}/pay"
    body = {"method": "card", "amount": 2_500_000, "idempotency_key": "desk-click-0001"}
    answers = [cashier.post(url, json=body) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert len({a.get_json()["payment"]["id"] for a in answers}) == 1
    assert collect(runtime) == 1
    drain(runtime, printer_id)
    [part] = _jobs(runtime, JobKind.PAYMENT)
    assert fake_printer.jobs() == [part.payload]
    assert "25 000 сум".encode("cp866") in part.payload
    assert "95 000 сум".encode("cp866") in part.payload  # remaining due

    # Asked for again from the desk's print list: the same bytes, marked as a copy.
    again = cashier.post(f"/api/v1/printing/jobs/{part.id}/reprint")
    assert again.status_code == 202, again.get_json()
    drain(runtime, printer_id)
    [_, copy] = _jobs(runtime, JobKind.PAYMENT)
    assert copy.copy and copy.payload.endswith(part.payload)
    assert fake_printer.jobs() == [part.payload, copy.payload]
    assert COPY_MARK.encode("cp866") in copy.payload


def test_only_a_part_paid_at_the_desk_is_a_print_request_of_its_own():
    """The payment that settles an invoice (at the desk or through a provider, which always
    pays what is due) has the invoice's receipt; its ``payment.recorded`` makes no other."""

    def row(method: str, status: str):
        data = {"invoice": {"status": status}, "payment": {"method": method}}
        return type(
            "Row", (), {"channel": "payments:desk", "type": "payment.recorded", "data": data}
        )

    assert is_print_request(row("cash", "open")) and is_print_request(row("card", "open"))
    assert not is_print_request(row("cash", "paid"))
    assert not is_print_request(row("payme", "paid")) and not is_print_request(row("click", "open"))


@pytest.mark.slow
@ONE_DATABASE
def test_a_real_worker_prints_each_part_payment_once_however_often_its_request_is_sent(
    runtime, client, client_as, fake_printer, clinic_profile, worker
):
    """The payment's commit sends for the printing worker; the same click sent again pays
    and prints nothing more, so the next part's receipt is the next paper."""
    cashier, _, invoice_id = _desk(runtime, client, client_as, fake_printer.port)
    url = f"/api/v1/payments/invoices/{invoice_id}/pay"
    first = {"method": "cash", "amount": 4_000_000, "idempotency_key": "desk-click-0002"}
    for _ in range(2):
        assert cashier.post(url, json=first).status_code == 201
    second = {"method": "card", "amount": 1_000_000, "idempotency_key": "desk-click-0003"}
    assert cashier.post(url, json=second).status_code == 201
    papers = fake_printer.wait_for(2)
    assert len(papers) == 2
    assert "40 000 сум".encode("cp866") in papers[0] and "80 000 сум".encode("cp866") in papers[0]
    assert "10 000 сум".encode("cp866") in papers[1] and "70 000 сум".encode("cp866") in papers[1]
    assert [job.payload for job in _jobs(runtime, JobKind.PAYMENT)] == papers
