"""0027: a service's unit of measure code and the invoice line's copy of it, down and up
again with services and invoices in the tables."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from clinic import migrate
from clinic.db import make_engine
from tests.clinic.test_migrations import empty_database  # noqa: F401 (a fixture)

pytestmark = pytest.mark.heavy
PIECE = 241092


def _fill(url: str, code: str) -> tuple[int, int]:
    """A service with its unit code and an invoice of it, made by the application."""
    from clinic.db import Database
    from clinic.payments import invoices
    from tests.payments.fixtures import FISCAL, make_patient, make_service

    db = Database(url)
    try:
        with db.transaction() as s:
            service_id = make_service(s, 15_000_000, code=code, units=PIECE, **FISCAL)
            invoice = invoices.create_invoice(
                s,
                patient_id=make_patient(s),
                lines=[{"service_id": service_id, "quantity": 2}],
                actor="registrar",
            )
            return service_id, invoice.id
    finally:
        db.dispose()


def _columns(url: str, table: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def _one(url: str, sql: str, **params):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).one()
    finally:
        engine.dispose()


def _refused(url: str, sql: str, **params) -> bool:
    """Whether the database refuses the change (it is never kept either way)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            try:
                conn.execute(text(sql), params)
            except IntegrityError:
                return True
            finally:
                conn.rollback()
            return False
    finally:
        engine.dispose()


def test_the_unit_codes_go_down_and_up_again_keeping_the_services_and_invoices(
    empty_database,  # noqa: F811
):
    url = empty_database
    migrate.upgrade(url)
    service_id, invoice_id = _fill(url, "U-1")
    line_sql = "SELECT quantity, amount, ikpu_code, package_code FROM invoice_lines"
    line = _one(url, line_sql + " WHERE invoice_id = :i", i=invoice_id)

    migrate.downgrade(url, "0026")
    assert "units" not in _columns(url, "services")
    assert "units" not in _columns(url, "invoice_lines")
    service = _one(url, "SELECT code, price, ikpu_code FROM services WHERE id = :i", i=service_id)
    assert tuple(service) == ("U-1", 15_000_000, "08601001001000000")
    assert _one(url, line_sql + " WHERE invoice_id = :i", i=invoice_id) == line

    migrate.upgrade(url)
    units = "SELECT units FROM {} WHERE {} = :i"
    assert _one(url, units.format("services", "id"), i=service_id) == (None,)
    assert _one(url, units.format("invoice_lines", "invoice_id"), i=invoice_id) == (None,)
    assert _one(url, line_sql + " WHERE invoice_id = :i", i=invoice_id) == line

    # The database keeps the code's range, and the table's older rules (SQLite's batch mode
    # rebuilds the table), whoever writes the row.
    set_units = "UPDATE services SET units = :v WHERE id = :i"
    assert _refused(url, set_units, v=0, i=service_id)
    assert _refused(url, set_units, v=10**9, i=service_id)
    assert _refused(url, "UPDATE services SET price = -1 WHERE id = :i", i=service_id)
    assert not _refused(url, set_units, v=PIECE, i=service_id)
    # The application writes and copies the codes as before.
    _, again = _fill(url, "U-2")
    assert _one(url, units.format("invoice_lines", "invoice_id"), i=again) == (PIECE,)
