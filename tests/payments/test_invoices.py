"""Invoices: totals in tiyin, discounts, frozen lines, holds and idempotent payments."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from clinic.base import utcnow
from clinic.errors import Conflict, NotFound, ValidationFailed
from clinic.models import Invoice, OutboxEvent, Payment, Refund, Service
from clinic.payments import desk, invoices, refunds, shifts
from clinic.payments.refunds import RefundNeedsApproval
from tests.payments.fixtures import make_invoice, make_patient, make_service


def test_totals_are_integer_tiyin_copied_from_the_price_list(runtime):
    with runtime.db.transaction() as s:
        patient = make_patient(s)
        xray = make_service(s, 12_345_67, ikpu_code="10302001001000000", vat_percent=12)
        blood = make_service(s, 5_000_00, package_code="1496556")
        invoice = invoices.create_invoice(
            s,
            patient_id=patient,
            lines=[{"service_id": xray, "quantity": 2}, {"service_id": blood}],
            actor="cashier",
            discount=1_00,
            discount_reason="пенсионер",
        )
        data = invoices.invoice_as_dict(invoice)
    assert data["subtotal"] == 2 * 12_345_67 + 5_000_00
    assert data["total"] == data["subtotal"] - 1_00
    assert data["amount_due"] == data["total"]
    assert [(li["quantity"], li["amount"]) for li in data["lines"]] == [
        (2, 24_691_34),
        (1, 5_000_00),
    ]
    assert data["lines"][0]["ikpu_code"] == "10302001001000000"
    assert data["lines"][0]["vat_percent"] == 12
    assert data["lines"][1]["package_code"] == "1496556"
    assert data["status"] == "open" and data["number"]


BAD_INVOICES = [
    ({"patient_id": 999999}, "patient_id"),
    ({"lines": [{"service_id": 999999}]}, "lines.0.service_id"),
    ({"lines": [{"service_id": "x"}]}, "lines.0.service_id"),
    ({"lines": []}, "lines"),
    ({"ticket_id": 999999}, "ticket_id"),
    ({"discount": 10**9, "discount_reason": "x"}, "discount"),
    ({"discount": 100}, "discount_reason"),
    ({"discount": 1.5, "discount_reason": "x"}, "discount"),
]


def test_bad_invoice_input_names_the_field_and_writes_nothing(runtime):
    with runtime.db.transaction() as s:
        patient, service = make_patient(s), make_service(s, 1000)
    for change, field in BAD_INVOICES:
        args = {"patient_id": patient, "lines": [{"service_id": service, "quantity": 1}], **change}
        with pytest.raises((NotFound, ValidationFailed)) as caught:
            with runtime.db.transaction() as s:
                invoices.create_invoice(s, actor="cashier", **args)
        assert field in caught.value.errors, change
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Invoice.id))) == 0


def test_an_invoice_too_large_to_be_paid_in_one_payment_is_refused_at_its_lines(runtime):
    with runtime.db.transaction() as s:
        # The dearest price the list takes, a thousand times on each of two lines.
        patient, service = make_patient(s), make_service(s, 10**12)
    lines = [{"service_id": service, "quantity": 1000}] * 2
    with pytest.raises(ValidationFailed) as caught:
        with runtime.db.transaction() as s:
            invoices.create_invoice(s, patient_id=patient, lines=lines, actor="cashier")
    assert "lines" in caught.value.errors
    with runtime.db.transaction() as s:  # exactly the largest payment is still an invoice
        made = invoices.create_invoice(s, patient_id=patient, lines=lines[:1], actor="cashier")
        assert made.total == 10**15


def test_a_later_price_change_does_not_touch_an_issued_invoice(runtime):
    invoice_id = make_invoice(runtime, [10_000_00])
    with runtime.db.transaction() as s:
        service = s.get(Service, s.get(Invoice, invoice_id).lines[0].service_id)
        service.price = 99_000_00
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).total == 10_000_00


def test_lines_and_discount_are_frozen_once_anything_is_paid(runtime):
    invoice_id = make_invoice(runtime, [10_000_00])
    with runtime.db.transaction() as s:
        other = make_service(s, 3_000_00)
        invoice = invoices.replace_lines(
            s,
            invoices.get_invoice(s, invoice_id),
            [{"service_id": other, "quantity": 2}],
            actor="c",
        )
        assert invoice.total == 6_000_00
        invoices.record_payment(s, invoice, method="cash", amount=1_000_00, actor="c")
    for change in (
        lambda s, inv: invoices.replace_lines(s, inv, [{"service_id": other}], actor="c"),
        lambda s, inv: invoices.set_discount(s, inv, amount=100, reason="x", actor="c"),
        lambda s, inv: invoices.cancel_invoice(s, inv, actor="c"),
    ):
        with pytest.raises(Conflict) as caught:
            with runtime.db.transaction() as s:
                change(s, invoices.get_invoice(s, invoice_id))
        assert caught.value.code == "lines_frozen"
    with runtime.db.session() as s:
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.total, invoice.paid_amount, invoice.status) == (6_000_00, 1_000_00, "open")
        assert invoices.amount_due(invoice) == 5_000_00


def test_paying_the_rest_marks_the_invoice_paid(runtime):
    invoice_id = make_invoice(runtime, [10_000_00])
    for part in (4_000_00, 6_000_00):
        with runtime.db.transaction() as s:
            invoices.record_payment(
                s, invoices.get_invoice(s, invoice_id), method="card", amount=part, actor="c"
            )
    with runtime.db.session() as s:
        invoice = s.get(Invoice, invoice_id)
        assert invoice.status == "paid" and invoice.paid_at is not None
        assert invoices.amount_due(invoice) == 0
        with pytest.raises(Conflict) as caught:
            invoices.record_payment(s, invoice, method="cash", amount=1, actor="c")
        assert caught.value.code == "already_paid"


def test_more_than_is_due_is_refused(runtime):
    invoice_id = make_invoice(runtime, [10_000_00])
    with pytest.raises(ValidationFailed) as caught:
        with runtime.db.transaction() as s:
            invoice = invoices.get_invoice(s, invoice_id)
            invoices.record_payment(s, invoice, method="cash", amount=10_000_01, actor="c")
    assert "amount" in caught.value.errors


def test_a_held_invoice_cannot_be_taken_by_the_desk_or_another_provider(runtime):
    invoice_id = make_invoice(runtime, [10_000_00])
    with runtime.db.transaction() as s:
        invoices.hold(s, invoices.get_invoice(s, invoice_id), "payme:a1")
    for attempt in (
        lambda s, inv: invoices.record_payment(s, inv, method="cash", amount=10_000_00, actor="c"),
        lambda s, inv: invoices.hold(s, inv, "click:77"),
        lambda s, inv: invoices.release(s, inv, "click:77"),
    ):
        with pytest.raises(Conflict) as caught:
            with runtime.db.transaction() as s:
                attempt(s, invoices.get_invoice(s, invoice_id))
        assert caught.value.code == "held"
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        invoices.hold(s, invoice, "payme:a1")  # the holder again: no change
        payment = invoices.record_payment(
            s,
            invoice,
            method="payme",
            amount=10_000_00,
            provider="payme",
            provider_ref="a1",
            holder="payme:a1",
            actor="payme",
        )
        assert payment.id
    with runtime.db.session() as s:
        invoice = s.get(Invoice, invoice_id)
        assert invoice.status == "paid" and invoice.held_by is None
        with pytest.raises(Conflict) as caught:
            invoices.hold(s, invoice, "click:77")
        assert caught.value.code == "already_paid"


def test_released_hold_lets_the_desk_take_the_invoice(runtime):
    invoice_id = make_invoice(runtime, [10_000_00])
    with runtime.db.transaction() as s:
        invoices.hold(s, invoices.get_invoice(s, invoice_id), "click:9")
    with runtime.db.transaction() as s:
        invoices.release(s, invoices.get_invoice(s, invoice_id), "click:9")
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        invoices.record_payment(s, invoice, method="cash", amount=10_000_00, actor="c")
        assert invoice.status == "paid"


def test_the_same_provider_reference_is_credited_once(runtime):
    invoice_id = make_invoice(runtime, [10_000_00])
    ids = []
    for _ in range(2):
        with runtime.db.transaction() as s:
            invoice = invoices.get_invoice(s, invoice_id)
            ids.append(
                invoices.record_payment(
                    s,
                    invoice,
                    method="click",
                    amount=4_000_00,
                    provider="click",
                    provider_ref="tx-1",
                    actor="click",
                ).id
            )
    with runtime.db.session() as s:
        assert ids[0] == ids[1]
        assert s.scalar(select(func.count(Payment.id))) == 1
        assert s.get(Invoice, invoice_id).paid_amount == 4_000_00
        recorded = s.scalar(
            select(func.count(OutboxEvent.id)).where(OutboxEvent.type == "payment.recorded")
        )
        assert recorded == 1


def test_concurrent_calls_with_one_provider_reference_credit_it_once(runtime):
    invoice_id = make_invoice(runtime, [10_000_00])
    barrier, results, errors = threading.Barrier(6), [], []

    def provider_call():
        try:
            barrier.wait(10)
            with runtime.db.transaction() as s:
                invoice = invoices.get_invoice(s, invoice_id)
                payment = invoices.record_payment(
                    s,
                    invoice,
                    method="webpay",
                    amount=10_000_00,
                    provider="webpay",
                    provider_ref="evt-1",
                    actor="webpay",
                )
                results.append(payment.id)
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=provider_call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and len(set(results)) == 1 and len(results) == 6
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Payment.id))) == 1
        assert s.get(Invoice, invoice_id).status == "paid"


def test_large_refund_needs_approval_and_small_one_does_not(runtime):
    invoice_id = make_invoice(runtime, [1_200_000_00])
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        invoices.record_payment(s, invoice, method="card", amount=1_200_000_00, actor="c")
    limit = runtime.settings.refund_approval_from
    with pytest.raises(RefundNeedsApproval):
        with runtime.db.transaction() as s:
            refunds.refund(
                s,
                invoices.get_invoice(s, invoice_id),
                amount=limit + 1,
                reason="ошибка",
                actor="cashier",
                may_refund_large=False,
                large_from=limit,
            )
    with runtime.db.transaction() as s:
        small = refunds.refund(
            s,
            invoices.get_invoice(s, invoice_id),
            amount=limit,
            reason="ошибка",
            actor="cashier",
            may_refund_large=False,
            large_from=limit,
        )
        assert small.approved_by is None
    with runtime.db.transaction() as s:
        large = refunds.refund(
            s,
            invoices.get_invoice(s, invoice_id),
            amount=1_200_000_00 - limit,
            reason="отказ от услуги",
            actor="manager",
            may_refund_large=True,
            large_from=limit,
        )
        assert large.approved_by == "manager"
    with runtime.db.session() as s:
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.status, invoice.refunded_amount) == ("refunded", 1_200_000_00)
        assert s.scalar(select(func.count(Refund.id))) == 2


def test_a_part_refund_leaves_the_invoice_partly_refunded_and_needs_a_reason(runtime):
    invoice_id = make_invoice(runtime, [10_000_00])
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        invoices.record_payment(s, invoice, method="cash", amount=10_000_00, actor="c")
    with pytest.raises(ValidationFailed) as caught:
        with runtime.db.transaction() as s:
            refunds.refund(
                s,
                invoices.get_invoice(s, invoice_id),
                amount=1,
                reason=" ",
                actor="c",
                may_refund_large=False,
                large_from=10**9,
            )
    assert "reason" in caught.value.errors
    with runtime.db.transaction() as s:
        refunds.refund(
            s,
            invoices.get_invoice(s, invoice_id),
            amount=2_500_00,
            reason="одна услуга",
            actor="c",
            may_refund_large=False,
            large_from=10**9,
        )
    with runtime.db.session() as s:
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.status, invoice.refunded_amount) == ("partly_refunded", 2_500_00)


def test_an_invoice_made_after_midnight_on_new_years_day_in_tashkent_is_numbered_in_the_new_year(
    runtime,
):
    # 00:30 on 1 January 2027 in Tashkent is still 31 December 2026 in UTC.
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    with runtime.db.transaction() as s:
        lines = [{"service_id": make_service(s, 5_000_00)}]
        invoice = invoices.create_invoice(
            s,
            patient_id=make_patient(s),
            lines=lines,
            actor="cashier",
            now=datetime(2026, 12, 31, 19, 30, tzinfo=timezone.utc),
            tz=ZoneInfo("Asia/Tashkent"),
        )
        assert invoice.number == f"27-{invoice.id:07d}"


def test_a_free_invoice_has_nothing_to_refund_409_not_paid(runtime, make_user):
    cashier = make_user("cashier")
    with runtime.db.transaction() as s:
        shifts.open_shift(s, cashier_id=cashier, opening_cash=100_000_00)
    free = make_invoice(runtime, [25_000_00])
    with runtime.db.transaction() as s:
        invoices.set_discount(
            s, invoices.get_invoice(s, free), amount=25_000_00, reason="льгота", actor="manager"
        )
    # Settled at no cost: paid, with nothing paid to give back (not a wrong "amount").
    for at_the_desk in (True, False):
        with pytest.raises(Conflict) as caught:
            with runtime.db.transaction() as s:
                if at_the_desk:
                    desk.refund_at_desk(
                        s, free, cashier_id=cashier, actor="cashier", amount=1_00,
                        reason="ошибка", may_refund_large=False, large_from=10**9,
                    )  # fmt: skip
                else:
                    refunds.refund(
                        s, invoices.get_invoice(s, free), amount=1_00, reason="ошибка",
                        actor="manager", may_refund_large=True,
                    )  # fmt: skip
        assert caught.value.code == "not_paid"
    with runtime.db.session() as s:
        assert s.get(Invoice, free).status == "paid"
        assert s.scalar(select(func.count(Refund.id))) == 0


def test_the_desk_is_told_a_free_or_fully_discounted_invoice_is_paid_not_open(runtime):
    with runtime.db.transaction() as s:
        patient_id = make_patient(s)
        free = invoices.create_invoice(
            s, patient_id=patient_id, lines=[{"service_id": make_service(s, 0)}], actor="r"
        ).id
    discounted = make_invoice(runtime, [25_000_00])
    with runtime.db.transaction() as s:
        invoices.set_discount(
            s, invoices.get_invoice(s, discounted), amount=25_000_00, reason="льгота", actor="m"
        )
    with runtime.db.session() as s:
        told = {
            (e.type, e.data["invoice"]["id"]): e.data["invoice"]["status"]
            for e in s.scalars(select(OutboxEvent).where(OutboxEvent.channel == "payments:desk"))
        }
    # The state each change commits, before any paid effect runs: no open row with 0 due.
    assert told[("invoice.created", free)] == "paid"
    assert told[("invoice.changed", discounted)] == "paid"


def test_lines_corrected_to_free_services_settle_the_invoice_as_a_discount_does(runtime):
    invoice_id = make_invoice(runtime, [25_000_00])
    with runtime.db.transaction() as s:
        free = make_service(s, 0)
        invoices.replace_lines(
            s, invoices.get_invoice(s, invoice_id), [{"service_id": free}], actor="c"
        )
    with runtime.db.session() as s:
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.total, invoice.status, invoice.paid_at is not None) == (0, "paid", True)
        told = s.scalars(
            select(OutboxEvent.data).where(OutboxEvent.type == "invoice.changed")
        ).all()
    assert [e["invoice"]["status"] for e in told if e["change"] == "lines"] == ["paid"]


def test_a_reference_committed_for_another_invoice_at_the_same_instant_pays_neither_twice(
    runtime, monkeypatch
):
    first, other = make_invoice(runtime, [25_000_00]), make_invoice(runtime, [25_000_00])
    paid = {"method": "acq", "amount": 25_000_00, "provider": "acq", "provider_ref": "acq-1"}
    with runtime.db.transaction() as s:
        invoices.record_payment(s, invoices.get_invoice(s, first), actor="acq", **paid)
    real, calls = invoices.find_payment, []

    def missed_once(session, provider, ref):  # the other request had not committed yet
        calls.append(ref)
        return None if len(calls) == 1 else real(session, provider, ref)

    monkeypatch.setattr(invoices, "find_payment", missed_once)
    with pytest.raises(Conflict) as caught, runtime.db.transaction() as s:
        invoices.record_payment(s, invoices.get_invoice(s, other), actor="acq", **paid)
    assert caught.value.code == "ref_used" and len(calls) == 2


def test_an_invoice_is_for_a_ticket_of_the_day_still_in_a_queue_or_served_and_no_other(runtime):
    """A ticket cancelled, sent on to another queue, or of yesterday is in no queue to pay
    for: 422 naming ticket_id, and nothing is made (paid, it would mark a ticket nobody holds
    as paid). One waiting or served today is billed as ever."""
    from datetime import timedelta

    from clinic.queue import calls
    from clinic.queue import tickets as q
    from clinic.queue.tickets import clinic_day
    from tests.payments.fixtures import make_queue

    tz = runtime.settings.tz
    with runtime.db.transaction() as s:
        patient, service = make_patient(s), make_service(s, 1000)
        queue, other = make_queue(s), make_queue(s)
        issued = [q.issue_ticket(s, queue, tz=tz, patient_id=patient).id for _ in range(3)]
        cancelled, sent_on, waiting = issued
        calls.cancel(s, q.get_ticket(s, cancelled))
        calls.transfer(s, q.get_ticket(s, sent_on), other, tz=tz)
        then = utcnow() - timedelta(days=1)
        yesterdays = q.issue_ticket(s, queue, tz=tz, patient_id=patient, now=then).id
        assert q.find_day(s, queue, clinic_day(then, tz)) is not None
    lines = [{"service_id": service, "quantity": 1}]
    for ticket_id, said in (
        (cancelled, "cancelled"),
        (sent_on, "transferred"),
        (yesterdays, "day"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            with runtime.db.transaction() as s:
                invoices.create_invoice(
                    s, patient_id=patient, lines=lines, ticket_id=ticket_id, actor="cashier"
                )
        assert said in refused.value.errors["ticket_id"][0], said
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Invoice.id))) == 0
    with runtime.db.transaction() as s:
        made = invoices.create_invoice(
            s, patient_id=patient, lines=lines, ticket_id=waiting, actor="cashier"
        )
        assert made.ticket_id == waiting
