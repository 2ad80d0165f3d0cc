"""A cashier's document retried or reprinted from the desk's print list goes to the printer
her desk has now, as a queue ticket goes to its queue's: not to a printer that was taken
away (its retry then only a PDF) or that her desk no longer prints on."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from clinic.payments import effects, invoices
from clinic.printing.models import JobKind, JobState, PrintJob
from tests.conftest import ONE_BACKEND
from tests.payments.fixtures import make_patient, make_service
from tests.printing.conftest import collect, drain
from tests.printing.printer_server import FakePrinter

pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])


def _failed_receipt(runtime, client, client_as, old_printer) -> tuple:
    """A receipt of kassir1 that her desk's first printer failed to print."""
    cashier = client_as("cashier", "kassir1")
    first = client.post(
        "/api/v1/printing/printers",
        json={"name": "Касса 1", "host": "127.0.0.1", "port": old_printer.port,
              "targets": ["cashier:kassir1"]},
    ).get_json()  # fmt: skip
    with runtime.db.transaction() as s:
        service_id = make_service(s, 5_000_000)
        invoice_id = invoices.create_invoice(
            s, patient_id=make_patient(s), lines=[{"service_id": service_id}], actor="registrar"
        ).id
    assert cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    paid = cashier.post(f"/api/v1/payments/invoices/{invoice_id}/pay", json={"method": "cash"})
    assert paid.status_code == 201, paid.get_json()
    effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)
    collect(runtime)
    with runtime.db.transaction() as s:
        receipt = s.scalar(select(PrintJob).where(PrintJob.kind == JobKind.RECEIPT))
        s.execute(update(PrintJob).values(state=JobState.FAILED))
        return cashier, first, receipt.id


@pytest.mark.parametrize("old", ["removed", "kept"])
def test_a_failed_receipt_is_retried_and_reprinted_on_the_desks_printer_now(
    runtime, client, client_as, fake_printer, old
):
    away = FakePrinter()
    away.down()
    cashier, first, receipt_id = _failed_receipt(runtime, client, client_as, away)
    if old == "removed":
        assert client.delete(f"/api/v1/printing/printers/{first['id']}").status_code == 204
    # The desk's new printer (the old one taken away, or left where it was, broken).
    new = client.post(
        "/api/v1/printing/printers",
        json={"name": "Касса 1 новый", "host": "127.0.0.1", "port": fake_printer.port,
              "targets": ["cashier:kassir1"]},
    ).get_json()  # fmt: skip

    again = cashier.post(f"/api/v1/printing/jobs/{receipt_id}/retry")
    assert again.status_code == 202, again.get_json()
    assert (again.get_json()["printer_id"], again.get_json()["state"]) == (new["id"], "queued")
    copy = cashier.post(f"/api/v1/printing/jobs/{receipt_id}/reprint")
    assert copy.status_code == 202, copy.get_json()
    assert (copy.get_json()["printer_id"], copy.get_json()["state"]) == (new["id"], "queued")
    assert drain(runtime, new["id"])["printed"] == 2
    assert len(fake_printer.wait_for(2)) == 2


def test_a_receipt_retried_again_stays_at_its_cashiers_desk_whoever_retried_it(
    runtime, client, client_as, fake_printer
):
    """Kassir2 retries kassir1's failed receipt (kassir1 is away from her desk); that retry
    fails too and is retried again: it still goes to kassir1's desk, not to kassir2's."""
    away = FakePrinter()
    away.down()
    _cashier, first, receipt_id = _failed_receipt(runtime, client, client_as, away)
    other = client_as("cashier", "kassir2")
    client.post(
        "/api/v1/printing/printers",
        json={"name": "Касса 2", "host": "127.0.0.1", "port": fake_printer.port,
              "targets": ["cashier:kassir2"]},
    )  # fmt: skip
    retried = other.post(f"/api/v1/printing/jobs/{receipt_id}/retry").get_json()
    assert retried["printer_id"] == first["id"]
    with runtime.db.transaction() as s:
        s.execute(update(PrintJob).where(PrintJob.id == retried["id"]).values(state="failed"))
    again = other.post(f"/api/v1/printing/jobs/{retried['id']}/retry")
    assert again.status_code == 202, again.get_json()
    assert again.get_json()["printer_id"] == first["id"]
