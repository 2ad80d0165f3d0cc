"""A copy of a cashier's document made from the print list is still hers, whoever asked for
it: made for her desk's printer, it waits there (or follows her desk), and its Retry and its
own copies go there too, never to the desk of the administrator or colleague who asked."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from clinic.payments import effects, invoices
from clinic.printing.models import JobKind, JobState, PrintJob
from tests.payments.fixtures import make_patient, make_service
from tests.printing.conftest import collect, drain, job, quick
from tests.printing.printer_server import FakePrinter


@pytest.fixture
def back_office():
    """The administrator's own printer: it prints for ``cashier:admin`` and every other
    cashier document (``receipts``)."""
    printer = FakePrinter()
    yield printer
    printer.down()


def _desks(client, desk_port: int, office_port: int) -> tuple[int, int]:
    ids = []
    for name, port, targets in (
        ("Касса 1", desk_port, ["cashier:kassir1"]),
        ("Бэк-офис", office_port, ["cashier:admin", "receipts"]),
    ):
        made = client.post(
            "/api/v1/printing/printers",
            json={"name": name, "host": "127.0.0.1", "port": port, "targets": targets},
        )
        assert made.status_code == 201, made.get_json()
        ids.append(made.get_json()["id"])
    return ids[0], ids[1]


def _printed(runtime, desk_id: int, kind: str) -> PrintJob:
    """The cashier's one job of ``kind``, printed at her desk."""
    collect(runtime)
    drain(runtime, desk_id)
    with runtime.db.session() as s:
        [printed] = s.scalars(select(PrintJob).where(PrintJob.kind == kind)).all()
    assert (printed.state, printed.printer_id) == (JobState.PRINTED, desk_id)
    return printed


def _refused_once_at_her_desk(runtime, desk, desk_id: int, copy_id: int) -> None:
    """Her desk's printer is off: one refused attempt, and the copy still waits there."""
    desk.down()
    assert drain(runtime, desk_id, quick(runtime.settings))["retry_in"] is not None
    waiting = job(runtime, copy_id)
    assert (waiting.state, waiting.printer_id) == (JobState.QUEUED, desk_id)


def _pay(runtime, cashier, **payment) -> int:
    with runtime.db.transaction() as s:
        service_id = make_service(s, 12_000_000)
        invoice_id = invoices.create_invoice(
            s, patient_id=make_patient(s), lines=[{"service_id": service_id}], actor="registrar"
        ).id
    assert cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    paid = cashier.post(
        f"/api/v1/payments/invoices/{invoice_id}/pay", json={"method": "cash", **payment}
    )
    assert paid.status_code == 201, paid.get_json()
    return invoice_id


def test_a_z_slip_copy_an_administrator_asked_for_is_retried_and_copied_at_her_desk(
    runtime, client, client_as, fake_printer, back_office, clinic_profile
):
    kassir1 = client_as("cashier", "kassir1")
    desk_id, _office_id = _desks(client, fake_printer.port, back_office.port)
    assert kassir1.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    closed = kassir1.post("/api/v1/payments/shifts/current/close", json={"counted_cash": 0})
    assert closed.status_code == 200, closed.get_json()
    z_slip = _printed(runtime, desk_id, JobKind.SHIFT)

    # Her desk's printer is off when the administrator asks for a copy of her slip: it
    # fails to the list (he asked for it; it is hers).
    fake_printer.down()
    copy = client.post(f"/api/v1/printing/jobs/{z_slip.id}/reprint").get_json()
    assert copy["printer_id"] == desk_id
    assert job(runtime, copy["id"]).requested_by == "admin"  # who asked for it is kept
    with runtime.db.transaction() as s:
        s.execute(update(PrintJob).where(PrintJob.id == copy["id"]).values(state="failed"))

    # She retries it, and asks for a copy of it: at her desk's printer both, where the retry
    # waits for it.
    copied = kassir1.post(f"/api/v1/printing/jobs/{copy['id']}/reprint")
    assert copied.status_code == 202, copied.get_json()
    assert copied.get_json()["printer_id"] == desk_id
    again = kassir1.post(f"/api/v1/printing/jobs/{copy['id']}/retry")
    assert again.status_code == 202, again.get_json()
    assert again.get_json()["printer_id"] == desk_id
    _refused_once_at_her_desk(runtime, fake_printer, desk_id, copied.get_json()["id"])
    assert job(runtime, again.get_json()["id"]).printer_id == desk_id
    assert back_office.jobs() == []


def test_a_receipt_copy_an_administrator_asked_for_waits_at_her_desk_as_his_targets_move(
    runtime, client, client_as, fake_printer, back_office, clinic_profile
):
    kassir1 = client_as("cashier", "kassir1")
    desk_id, _office_id = _desks(client, fake_printer.port, back_office.port)
    invoice_id = _pay(runtime, kassir1)
    effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)
    receipt = _printed(runtime, desk_id, JobKind.RECEIPT)

    fake_printer.down()
    copy = client.post(f"/api/v1/printing/jobs/{receipt.id}/reprint").get_json()
    assert copy["printer_id"] == desk_id

    # The administrator's own desk gets another printer while the copy waits: it stays hers.
    made = client.post(
        "/api/v1/printing/printers",
        json={"name": "Админ", "host": "127.0.0.1", "port": back_office.port,
              "targets": ["cashier:admin"]},
    )  # fmt: skip
    assert made.status_code == 201, made.get_json()
    assert job(runtime, copy["id"]).printer_id == desk_id
    _refused_once_at_her_desk(runtime, fake_printer, desk_id, copy["id"])


def test_a_part_payment_copy_a_colleague_asked_for_waits_at_its_cashiers_desk(
    runtime, client, client_as, fake_printer, back_office, clinic_profile
):
    kassir1 = client_as("cashier", "kassir1")
    kassir2 = client_as("cashier", "kassir2")
    desk_id, office_id = _desks(client, fake_printer.port, back_office.port)
    # Kassir2's desk is the back office's printer too.
    given = client.patch(
        f"/api/v1/printing/printers/{office_id}",
        json={"targets": ["cashier:admin", "cashier:kassir2", "receipts"]},
    )
    assert given.status_code == 200, given.get_json()
    _pay(runtime, kassir1, amount=5_000_000)
    part = _printed(runtime, desk_id, JobKind.PAYMENT)

    copy = kassir2.post(f"/api/v1/printing/jobs/{part.id}/reprint").get_json()
    assert copy["printer_id"] == desk_id
    _refused_once_at_her_desk(runtime, fake_printer, desk_id, copy["id"])
    assert job(runtime, copy["id"]).requested_by == "kassir2"


def test_a_receipt_reprinted_at_another_desk_stays_there_and_its_copy_goes_to_its_cashier(
    runtime, client, client_as, fake_printer, back_office, clinic_profile
):
    """The cashier's receipt reprint, asked for at another cashier's desk, prints there: it
    does not walk to the desk of the cashier who took the payment when it fails to print. A
    copy of it made from the print list goes to that cashier's desk, as every copy from there
    does, and is made there at once."""
    kassir1 = client_as("cashier", "kassir1")
    kassir2 = client_as("cashier", "kassir2")
    desk_id, office_id = _desks(client, fake_printer.port, back_office.port)
    invoice_id = _pay(runtime, kassir1)
    effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)
    _printed(runtime, desk_id, JobKind.RECEIPT)

    back_office.down()
    assert kassir2.post(f"/api/v1/payments/invoices/{invoice_id}/reprint").status_code == 202
    collect(runtime)
    with runtime.db.session() as s:
        reprint = s.scalars(select(PrintJob).order_by(PrintJob.id.desc())).first()
    assert (reprint.printer_id, reprint.requested_by) == (office_id, "kassir2")
    assert drain(runtime, office_id, quick(runtime.settings))["retry_in"] is not None
    assert job(runtime, reprint.id).printer_id == office_id

    # A copy of it from the print list is the receipt's cashier's, as any copy from there.
    copy = kassir2.post(f"/api/v1/printing/jobs/{reprint.id}/reprint").get_json()
    assert copy["printer_id"] == desk_id
    assert drain(runtime, desk_id)["printed"] == 1
