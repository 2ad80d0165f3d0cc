"""Printing test helpers: fake printers, a clinic profile and running the printing worker's
steps in the test's own thread."""

from __future__ import annotations

import dataclasses

import pytest

from clinic.payments import effects
from clinic.printing import intake, spooler
from clinic.printing.models import PrintJob
from clinic.reference import directory as reference
from tests.printing.printer_server import FakePrinter


@pytest.fixture
def fake_printer():
    printer = FakePrinter()
    yield printer
    printer.down()


@pytest.fixture
def clinic_profile(runtime):
    with runtime.db.transaction() as s:
        reference.update_clinic_profile(
            s,
            {
                "legal_name": "ООО «Шифо Клиник»",
                "address": "Тошкент, Чилонзор 7",
                "taxpayer_number": "305123456",
            },
        )


def quick(settings, **changes):
    """The settings with short printing pauses: a printer is given up after 2 s of failing.
    A printer's answer may take 3 s: the fake printer is a thread of the test's process, which
    on a busy machine may wait over a second for its turn to read the job and close."""
    values = {"print_retry_seconds": 2, "print_timeout": 3, "print_lease_seconds": 7}
    return dataclasses.replace(settings, **{**values, **changes})


def collect(runtime) -> int:
    with runtime.db.transaction() as s:
        return intake.collect(s, runtime.settings)


def drain(runtime, printer_id: int, settings=None) -> dict:
    return spooler.drain(runtime.db.sessionmaker, printer_id, settings or quick(runtime.settings))


def pay_at_the_desk_and_print(
    runtime, cashier, invoice_id: int, printer_id: int, method: str = "card"
) -> None:
    """The cashier opens a shift and takes the invoice's payment; its receipt is made and
    sent to the printer."""
    assert cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    paid = cashier.post(f"/api/v1/payments/invoices/{invoice_id}/pay", json={"method": method})
    assert paid.status_code == 201, paid.get_json()
    effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)
    collect(runtime)
    drain(runtime, printer_id)


def job(runtime, job_id: int) -> PrintJob:
    with runtime.db.session() as s:
        return s.get(PrintJob, job_id)
