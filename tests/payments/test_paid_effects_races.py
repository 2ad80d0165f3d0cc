"""The ``invoice.paid`` event of the paid effects, racing a change of its invoice, under real
concurrency (PostgreSQL: SQLite lets one writer in at a time).

The desk draws an invoice's row from its latest event (docs/payments.md): an event numbered
after another must not carry an older state of the invoice than that one."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text

from clinic.base import utcnow
from clinic.models import OutboxEvent
from clinic.payments import effects, invoices
from clinic.payments.events import DESK_CHANNEL
from clinic.payments.models import EffectKind, PaidEffect
from tests.payments.fixtures import make_queue
from tests.payments.test_queue_races import _paid_ticket, _refund_in_full
from tests.races import wait_for

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


def _someone_waits(runtime) -> bool:
    """Whether a backend of the test's database waits for a lock."""
    with runtime.db.session() as s:
        return bool(
            s.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                )
            )
        )


def test_invoice_paid_announced_while_the_invoice_is_given_back_carries_it_given_back(
    runtime,
):
    """The effects' task announces the invoice paid at the moment the cashier gives all of it
    back: the ``invoice.paid`` the desk hears after ``refund.recorded`` says it is refunded,
    rather than drawing the row paid again."""
    with runtime.db.transaction() as s:
        queue_id = make_queue(s, pay_first=True)
    _ticket_id, invoice_id = _paid_ticket(runtime, queue_id)
    with runtime.db.transaction() as s:  # the receipt is printed already: the notice is next
        s.add(PaidEffect(invoice_id=invoice_id, kind=EffectKind.RECEIPT, done_at=utcnow()))

    answers = []

    def announce():
        answers.append(
            effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)
        )

    thread = threading.Thread(target=announce)
    with runtime.db.transaction() as s:
        _refund_in_full(s, invoice_id)
        thread.start()
        # The task's sessions are its own: it is seen waiting as any backend of the database.
        wait_for(lambda: answers or _someone_waits(runtime), what="the effects' task")
    thread.join(30)
    assert answers == [[EffectKind.NOTIFY, EffectKind.EMAIL]]
    with runtime.db.session() as s:
        told = s.scalars(
            select(OutboxEvent).where(OutboxEvent.channel == DESK_CHANNEL).order_by(OutboxEvent.seq)
        ).all()
        now = invoices.get_invoice(s, invoice_id).status
    about = [
        (e.type, e.data["invoice"]["status"])
        for e in told
        if e.data.get("invoice", {}).get("id") == invoice_id
    ]
    assert about[-2:] == [("refund.recorded", "refunded"), ("invoice.paid", "refunded")]
    assert now == "refunded"
