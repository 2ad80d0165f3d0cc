"""The unit of measure code (``units``) of Payme's fiscal receipt items: the service's code
in the price list, copied onto the invoice line when the invoice is made, so that a later
change of the price list does not change the receipt of an invoice already issued."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.models import InvoiceLine
from clinic.payments import invoices
from clinic.reference import price_list
from tests.payments import provider_support as support
from tests.payments.fixtures import FISCAL, make_patient, make_service
from tests.payments.provider_support import Payme, account

clock = support.clock
settings = support.settings

PIECE = 241092  # a unit of measure code, as Payme's documentation shows one
PRICE = 15_000_000


@pytest.fixture
def payme(anon_client):
    return Payme(anon_client)


def _invoice(runtime, service_ids) -> int:
    with runtime.db.transaction() as s:
        return invoices.create_invoice(
            s,
            patient_id=make_patient(s),
            lines=[{"service_id": i, "quantity": 1} for i in service_ids],
            actor="registrar",
        ).id


def _items(payme, invoice_id, amount) -> list[dict]:
    result = payme.result(
        "CheckPerformTransaction", {"amount": amount, "account": account(invoice_id)}
    )
    assert result["allow"] is True
    return result["detail"]["items"]


def test_each_receipt_item_carries_its_services_unit_code_unchanged_by_a_later_price_list(
    runtime, payme, clock
):
    with runtime.db.transaction() as s:
        counted = make_service(s, PRICE, units=PIECE, **FISCAL)
        uncounted = make_service(s, 2_500_000, **FISCAL)  # no unit code in the price list
    invoice_id = _invoice(runtime, [counted, uncounted])
    total = PRICE + 2_500_000

    items = _items(payme, invoice_id, total)
    assert items[0]["units"] == PIECE
    assert "units" not in items[1]  # left out, not null: the field is optional
    assert [i["code"] for i in items] == [FISCAL["ikpu_code"]] * 2

    with runtime.db.transaction() as s:
        price_list.update_service(s, counted, {"units": 796})
        price_list.update_service(s, uncounted, {"units": 112})
    again = _items(payme, invoice_id, total)
    assert again[0]["units"] == PIECE and "units" not in again[1]

    # An invoice made after the change takes the price list's codes of that moment.
    later = _items(payme, _invoice(runtime, [counted, uncounted]), total)
    assert [i["units"] for i in later] == [796, 112]


def test_an_invoice_line_keeps_the_unit_code_its_service_had_when_it_was_made(runtime):
    with runtime.db.transaction() as s:
        service_id = make_service(s, PRICE, units=PIECE)
    invoice_id = _invoice(runtime, [service_id])
    with runtime.db.transaction() as s:
        price_list.update_service(s, service_id, {"units": None})
    with runtime.db.session() as s:
        line = s.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id)).one()
        assert line.units == PIECE
