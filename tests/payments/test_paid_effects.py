"""The side effects of "paid" happen exactly once: receipt print request, staff events and
the e-mail receipt, however often (or however concurrently) the effects task runs."""

from __future__ import annotations

import dataclasses
import smtplib
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from celery.signals import task_postrun
from sqlalchemy import func, select

from clinic.models import OutboxEvent, PaidEffect
from clinic.payments import effects, invoices
from clinic.payments.settling import APPLY_PAID_TASK
from tests.conftest import free_port
from tests.payments.fixtures import issue_ticket, make_invoice, make_patient, make_queue


class Mailbox:
    """An aiosmtpd handler keeping what it received."""

    def __init__(self) -> None:
        self.messages: list = []
        self.refusing = False
        self.rcpt_tries = 0
        # What the server says to a recipient it knows no mailbox of ("550 ..." for good,
        # "450 ..." for now); None: every recipient is taken.
        self.unknown_reply: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_tries += 1
        if self.unknown_reply and address.startswith("nobody@"):
            return self.unknown_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refusing:
            return "451 try again later"
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def mailbox():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture
def settings(settings, mailbox):
    """The usual test settings, with outgoing mail going to the test's SMTP server."""
    return dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=mailbox.port)


def _wait(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _count(runtime, type_, channel=None):
    with runtime.db.session() as s:
        query = select(func.count(OutboxEvent.id)).where(OutboxEvent.type == type_)
        if channel:
            query = query.where(OutboxEvent.channel == channel)
        return s.scalar(query)


def _paid_invoice_with_ticket(runtime, email="ali@example.uz"):
    with runtime.db.transaction() as s:
        patient = make_patient(s, email)
        ticket = issue_ticket(s, make_queue(s, pay_first=True), patient)
        ticket_id, queue_id = ticket.id, ticket.queue_id
    invoice_id = make_invoice(runtime, [25_000_00], ticket_id=ticket_id, patient_id=patient)
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        invoices.record_payment(s, invoice, method="cash", amount=25_000_00, actor="kassa")
    return invoice_id, queue_id


def test_effects_run_once_even_when_the_task_runs_twice_at_once(runtime, mailbox):
    invoice_id, queue_id = _paid_invoice_with_ticket(runtime)
    barrier, done, errors = threading.Barrier(2), [], []

    def run():
        try:
            barrier.wait(10)
            done.append(
                effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)
            )
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(kind for kinds in done for kind in kinds) == ["email", "notify", "receipt"]
    assert effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings) == []
    assert _count(runtime, "receipt.print_requested", "printing:receipts") == 1
    assert _count(runtime, "invoice.paid", "payments:desk") == 1
    assert _count(runtime, "invoice.paid", f"queue:{queue_id}") == 1
    assert len(mailbox.messages) == 1
    body = mailbox.messages[0].content.decode()
    assert mailbox.messages[0].rcpt_tos == ["ali@example.uz"]
    assert "25 000 сум" in body


def test_an_open_invoice_has_no_paid_effects(runtime):
    invoice_id = make_invoice(runtime, [10_000_00])
    assert effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings) == []
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(PaidEffect.id))) == 0
        assert effects.invoices_missing_effects(s, settled_seconds=0) == []


def test_a_refused_mail_is_tried_again_and_sent_once(runtime, mailbox):
    invoice_id, _ = _paid_invoice_with_ticket(runtime)
    mailbox.refusing = True
    with pytest.raises(Exception):
        effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)
    with runtime.db.session() as s:
        assert effects.invoices_missing_effects(s) == []  # the first task may still run
        assert effects.invoices_missing_effects(s, settled_seconds=0) == [invoice_id]
    mailbox.refusing = False
    assert effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings) == [
        "email"
    ]
    assert len(mailbox.messages) == 1
    assert _count(runtime, "receipt.print_requested") == 1


def test_a_receipt_to_an_address_the_server_refuses_for_good_is_not_sent_again_for_days(
    runtime, mailbox
):
    """550 user unknown: no try will deliver it. The e-mail effect is done, keeping the
    refusal, so neither the task's retries nor the sweeper mail the address again; a refusal
    for now (450) is tried again as before."""
    mailbox.unknown_reply = "450 4.2.1 mailbox busy, try later"
    invoice_id, _ = _paid_invoice_with_ticket(runtime, email="nobody@example.uz")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)
    with runtime.db.session() as s:
        assert effects.invoices_missing_effects(s, settled_seconds=0) == [invoice_id]
    mailbox.unknown_reply = "550 5.1.1 user unknown"
    kinds = effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)
    assert kinds == ["email"]
    tries = mailbox.rcpt_tries
    assert effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings) == []
    with runtime.db.session() as s:
        assert effects.invoices_missing_effects(s, settled_seconds=0) == []
        email = s.scalar(select(PaidEffect).where(PaidEffect.kind == "email"))
    assert email.error == "nobody@example.uz: 550 5.1.1 user unknown"
    assert mailbox.rcpt_tries == tries and mailbox.messages == []
    assert _count(runtime, "invoice.paid", "payments:desk") == 1


def test_no_address_no_mail_and_the_effect_is_still_done_once(runtime, mailbox):
    invoice_id, _ = _paid_invoice_with_ticket(runtime, email=None)
    kinds = effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)
    assert sorted(kinds) == ["email", "notify", "receipt"]
    assert mailbox.messages == []


def test_a_real_worker_applies_the_effects_once_when_the_task_is_delivered_twice(
    runtime, celery_app, worker, mailbox
):
    finished = []

    def count(sender=None, task_id=None, **_):
        if sender is not None and sender.name == APPLY_PAID_TASK:
            finished.append(task_id)

    task_postrun.connect(count, weak=False)
    try:
        # Paying sends the task after commit; the same message is then delivered again.
        invoice_id, queue_id = _paid_invoice_with_ticket(runtime)
        celery_app.send_task(APPLY_PAID_TASK, kwargs={"invoice_id": invoice_id}, queue="payments")
        assert _wait(lambda: len(finished) >= 2), "both deliveries run"
    finally:
        task_postrun.disconnect(count)
    with runtime.db.session() as s:
        kinds = s.scalars(select(PaidEffect.kind).where(PaidEffect.invoice_id == invoice_id))
        assert sorted(kinds) == ["email", "notify", "receipt"]
    assert _count(runtime, "receipt.print_requested") == 1
    assert _count(runtime, "invoice.paid", f"queue:{queue_id}") == 1
    assert len(mailbox.messages) == 1
