"""A receipt names each service in its printer's first language, as it writes its money: an
Uzbek printer prints the price list's Uzbek name, not the Russian title the line keeps."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.payments import effects, invoices
from clinic.printing.models import JobKind, PrintJob
from tests.conftest import ONE_BACKEND
from tests.payments.fixtures import make_patient, make_service
from tests.printing.conftest import collect

pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])


def _texts(document: dict) -> list[str]:
    found = []
    for block in document["blocks"]:
        found += [
            block[key] for key in ("text", "left", "right") if isinstance(block.get(key), str)
        ]
    return found


@pytest.mark.parametrize(
    "languages, name, other",
    [("uz", "Xizmat KONS-2", "Услуга KONS-2"), ("uz+ru", "Xizmat KONS-2", "Услуга KONS-2"),
     ("ru+uz", "Услуга KONS-2", "Xizmat KONS-2"), ("en", "Service KONS-2", "Услуга KONS-2")],
)  # fmt: skip
def test_the_receipt_names_the_service_in_the_printers_language(
    runtime, client, client_as, fake_printer, clinic_profile, languages, name, other
):
    cashier = client_as("cashier", "kassir2")
    made = client.post(
        "/api/v1/printing/printers",
        json={"name": "Kassa", "host": "127.0.0.1", "port": fake_printer.port, "paper_mm": 80,
              "languages": languages, "targets": ["cashier:kassir2"]},
    )  # fmt: skip
    assert made.status_code == 201, made.get_json()
    with runtime.db.transaction() as s:
        service_id = make_service(s, 150_000_00, code="KONS-2")
        invoice_id = invoices.create_invoice(
            s, patient_id=make_patient(s), lines=[{"service_id": service_id}], actor="kassir2"
        ).id
    assert cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    paid = cashier.post(f"/api/v1/payments/invoices/{invoice_id}/pay", json={"method": "cash"})
    assert paid.status_code == 201, paid.get_json()
    effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)
    collect(runtime)
    with runtime.db.session() as s:
        receipt = s.scalars(select(PrintJob).where(PrintJob.kind == JobKind.RECEIPT)).one()
        said = _texts(receipt.document)
    assert name in said and other not in said
