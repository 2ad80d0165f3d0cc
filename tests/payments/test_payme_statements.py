"""The database work of a Payme payment is bounded: the statements each call sends are
counted (SQLAlchemy's ``before_cursor_execute``), not timed. Every guarantee stays: the
transaction row and the invoice are locked, the payment is unique per Payme id, the invoice,
its hold, the outbox event, the provider log and the audit row are written in one commit."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event, func, select

from clinic.models import OutboxEvent, Payment, ProviderLogEntry
from tests.payments import provider_support as support
from tests.payments.fixtures import make_invoice
from tests.payments.provider_support import Payme, account

settings = support.settings
clock = support.clock

PRICE = 5_000_000
# What one call may send at most. Publishing outbox events after the commit is not counted:
# it may run on another thread, also while the next call is counted. Check and Create each
# look for the invoice's transactions past their timeout first (one statement), and for a
# card payment its sender reported that no worker has applied yet (one statement: credited
# first, the patient is not charged twice). Every call reads the key in force first (one
# statement: a ChangePassword may have set it).
BOUNDS = {"CheckPerformTransaction": 8, "CreateTransaction": 14, "PerformTransaction": 13}
PUBLISHING = "UPDATE outbox_events SET published_at"
REPEATED_PERFORM = 4  # the key, the transaction, the log row, the audit row


@contextmanager
def counting(engine):
    sent: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        # SQLite's explicit BEGIN IMMEDIATE is the transaction start PostgreSQL's driver sends
        # implicitly (and neither counts its COMMIT here): the same work on both.
        if not statement.startswith(("BEGIN", PUBLISHING)):
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_payme_check_create_perform_flow_sends_a_bounded_number_of_statements(
    runtime, anon_client, clock
):
    invoice_id = make_invoice(runtime, (PRICE,))
    payme = Payme(anon_client)
    calls = [
        ("CheckPerformTransaction", {"amount": PRICE, "account": account(invoice_id)}),
        ("CreateTransaction", {"id": "counted", "time": clock.now, "amount": PRICE,
                               "account": account(invoice_id)}),  # fmt: skip
        ("PerformTransaction", {"id": "counted"}),
    ]
    for method, params in calls:
        with counting(runtime.db.engine) as sent:
            payme.result(method, params)
        assert 0 < len(sent) <= BOUNDS[method], (method, len(sent), sent)
    with counting(runtime.db.engine) as sent:
        again = payme.result("PerformTransaction", {"id": "counted"})
    assert again["state"] == 2 and len(sent) <= REPEATED_PERFORM, sent
    # Fewer statements, the same outcome: one payment, its event, every call logged.
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Payment.id))) == 1
        assert s.scalar(select(func.count(ProviderLogEntry.id))) == 4
        types = s.scalars(select(OutboxEvent.type)).all()
        assert types.count("payment.recorded") == 1
