"""A receipt names the cashier who took the payment, whoever prints it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from clinic.accounts.models import User
from clinic.base import utcnow
from clinic.events.models import OutboxEvent
from clinic.printing import intake
from clinic.printing.models import JobKind
from tests.conftest import ONE_BACKEND
from tests.printing.conftest import collect
from tests.printing.test_cashier_documents import _jobs, _paid_in_cash

pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])


def test_a_receipt_first_printed_on_a_reprint_names_the_cashier_who_took_the_payment(
    runtime, client_as, clinic_profile
):
    """The printing machine was away for over an hour: the receipt's request was passed over,
    and the next cashier on the desk reprints it. It names the cashier who took the money
    (as the Z slip counts it in her drawer), not the one who pressed reprint."""
    first = client_as("cashier", "kassir1")
    with runtime.db.transaction() as s:
        s.scalar(select(User).where(User.username == "kassir1")).full_name = "Каримова Дилноза"
    invoice_id = _paid_in_cash(runtime, first)
    with runtime.db.transaction() as s:
        s.execute(
            update(OutboxEvent)
            .where(OutboxEvent.channel == intake.RECEIPTS_CHANNEL)
            .values(created_at=utcnow() - timedelta(hours=2))
        )
    assert collect(runtime) == 0  # passed over: too old to print by itself
    second = client_as("cashier", "kassir2")
    assert second.post(f"/api/v1/payments/invoices/{invoice_id}/reprint").status_code == 202
    assert collect(runtime) == 1
    [receipt] = _jobs(runtime, JobKind.RECEIPT)
    cashiers = [
        b["right"] for b in receipt.document["blocks"] if b.get("left") == "Кассир / Kassir"
    ]
    assert cashiers == ["Каримова Дилноза"] and receipt.copy
