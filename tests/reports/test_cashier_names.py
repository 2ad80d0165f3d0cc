"""The cashiers in the revenue by cashier and in the Z report are named as their shift slips
name them: by their full names (a provider's money by the provider's name)."""

from __future__ import annotations

from sqlalchemy import update

from clinic.accounts.models import User
from clinic.payments.models import CashierShift, Payment
from clinic.reports.definitions import build
from tests.reports.fixtures import DAY, NEXT, TZ, make_day, params


def rows(runtime, p) -> list[tuple]:
    with runtime.db.session() as s:
        return list(build(s, p, TZ).rows)


def test_cashiers_are_named_by_their_full_names_in_the_revenue_and_the_z_report(runtime, make_user):
    day = make_day(runtime, make_user)
    with runtime.db.transaction() as s:
        cashier = s.get(User, s.get(CashierShift, day.shifts["kassir1"]).cashier_id)
        cashier.full_name = "Каримова Дилноза"
        s.execute(
            update(Payment).where(Payment.id == day.payments["p1"]).values(actor=cashier.username)
        )
    found = {row[0]: row[1:] for row in rows(runtime, params("revenue", "cashier", DAY, NEXT))}
    assert found == {
        "Каримова Дилноза": (1, 5_000_000, 0, 5_000_000),
        "kassir2": (1, 7_000_000, 2_000_000, 5_000_000),  # no such user: as recorded
        "Payme": (1, 11_000_000, 0, 11_000_000),
    }
    shifts = [row[0] for row in rows(runtime, params("shifts", "shift"))]
    assert shifts[0] == f"#{day.shifts['kassir1']} Каримова Дилноза"
    assert shifts[1].startswith(f"#{day.shifts['kassir2']} kassir2x")  # no name: the username
