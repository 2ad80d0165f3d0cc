"""Payme Merchant API conformance, written from PROTOCOLS.md: every method, every error
code, repeated and out-of-order calls, the 12-hour timeout on a controlled clock, refunds
after perform and -31007 once the service was rendered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from clinic.base import utcnow
from clinic.models import (
    Invoice,
    Payment,
    PaymeTransaction,
    ProviderLogEntry,
    Refund,
    Ticket,
    Visit,
)
from clinic.payments import invoices, refunds
from clinic.queue import calls
from clinic.reference import directory as reference
from tests.payments import provider_support as support
from tests.payments.fixtures import (
    FISCAL,
    TZ,
    issue_ticket,
    make_invoice,
    make_patient,
    make_queue,
    make_service,
)
from tests.payments.provider_support import Payme, account, payme_auth

# The provider settings (keys and secrets) and Payme's clock.
clock = support.clock
settings = support.settings

TWELVE_HOURS = 43_200_000
STATEMENT_FIELDS = "id time amount account create_time perform_time cancel_time transaction state"
STATEMENT_FIELDS = (STATEMENT_FIELDS + " reason receivers").split()
PRICE = 15_000_000


@pytest.fixture
def payme(anon_client):
    return Payme(anon_client)


@pytest.fixture
def invoice_id(runtime):
    return make_invoice(runtime, (PRICE,))


def create(payme, invoice_id, clock, payme_id="6389e0d1a2b3c4d5e6f70001", amount=PRICE):
    return payme.result(
        "CreateTransaction",
        {"id": payme_id, "time": clock.now, "amount": amount, "account": account(invoice_id)},
    )


def invoice_of(runtime, invoice_id) -> Invoice:
    with runtime.db.session() as s:
        return s.get(Invoice, invoice_id)


# -- CheckPerformTransaction ----------------------------------------------------------------


def test_check_perform_allows_the_amount_due_with_the_fiscal_detail_of_the_lines(
    runtime, payme, clock
):
    invoice_id = make_invoice(runtime, (PRICE, 2_500_000), fiscal=True)
    result = payme.result(
        "CheckPerformTransaction", {"amount": PRICE + 2_500_000, "account": account(invoice_id)}
    )
    assert result["allow"] is True
    items = result["detail"]["items"]
    assert result["detail"]["receipt_type"] == 0
    assert [i["price"] for i in items] == [PRICE, 2_500_000]
    assert all({"title", "count", "code", "vat_percent", "package_code"} <= set(i) for i in items)


def test_check_perform_sends_no_fiscal_detail_while_a_service_lacks_its_codes(runtime, payme):
    """A receipt item without its IKPU or package code is one the tax office refuses: Payme
    gets no detail (it is optional) rather than a detail with empty codes."""
    with runtime.db.transaction() as s:
        coded = make_service(s, PRICE, **FISCAL)
        uncoded = make_service(s, 2_500_000)  # the price list has no IKPU for it yet
        invoice_id = invoices.create_invoice(
            s,
            patient_id=make_patient(s),
            lines=[{"service_id": coded, "quantity": 1}, {"service_id": uncoded, "quantity": 1}],
            actor="registrar",
        ).id
    result = payme.result(
        "CheckPerformTransaction", {"amount": PRICE + 2_500_000, "account": account(invoice_id)}
    )
    assert result == {"allow": True}


def _three_ecgs_and_an_xray(s):
    """Three ECGs and an X-ray, less an invoice discount."""
    ecg, xray = make_service(s, 5_000_000, **FISCAL), make_service(s, 12_345_600, **FISCAL)
    return invoices.create_invoice(
        s,
        patient_id=make_patient(s),
        lines=[{"service_id": ecg, "quantity": 3}, {"service_id": xray, "quantity": 1}],
        discount=1_000_000,
        discount_reason="a regular patient",
        actor="registrar",
    )


def test_the_fiscal_items_carry_the_unit_price_and_add_up_to_the_amount(runtime, payme):
    """Payme's ``price`` is one unit's and ``discount`` all the units': the items are
    printed as the patient pays for them."""
    with runtime.db.transaction() as s:
        invoice = _three_ecgs_and_an_xray(s)
        invoice_id, total = invoice.id, invoice.total
    assert total == 3 * 5_000_000 + 12_345_600 - 1_000_000
    result = payme.result(
        "CheckPerformTransaction", {"amount": total, "account": account(invoice_id)}
    )
    items = result["detail"]["items"]
    assert [(i["price"], i["count"]) for i in items] == [(5_000_000, 3), (12_345_600, 1)]
    assert sum(i["price"] * i["count"] - i.get("discount", 0) for i in items) == total


def test_the_fiscal_items_of_a_partly_paid_invoice_add_up_to_what_payme_takes(runtime, payme):
    """Part paid in cash at the desk (receipted there): Payme's receipt is for the rest."""
    with runtime.db.transaction() as s:
        invoice = _three_ecgs_and_an_xray(s)
        invoices.record_payment(s, invoice, method="cash", amount=7_000_001, actor="cashier")
        invoice_id, due = invoice.id, invoices.amount_due(invoice)
    assert due == 3 * 5_000_000 + 12_345_600 - 1_000_000 - 7_000_001
    result = payme.result(
        "CheckPerformTransaction", {"amount": due, "account": account(invoice_id)}
    )
    items = result["detail"]["items"]
    assert [(i["price"], i["count"]) for i in items] == [(5_000_000, 3), (12_345_600, 1)]
    assert all(0 <= i.get("discount", 0) <= i["price"] * i["count"] for i in items)
    assert sum(i["price"] * i["count"] - i.get("discount", 0) for i in items) == due


def test_a_wrong_amount_is_31001(payme, invoice_id):
    for amount in (PRICE - 1, PRICE + 1, PRICE * 100, 0, -PRICE):
        assert (
            payme.error(
                "CheckPerformTransaction", {"amount": amount, "account": account(invoice_id)}
            )
            == -31001
        )


def test_an_unknown_invoice_is_31050_naming_the_account_field(payme, invoice_id):
    # "²" is a digit to str.isdigit, not to int(); "0<id>" is not how an invoice is named.
    for bad_account in (
        {"invoice_id": f"0{invoice_id}"},
        {"invoice_id": "999999"},
        {"invoice_id": "abc"},
        {"invoice_id": "²"},
        {},
        {"order": "1"},
    ):
        body = payme.call("CheckPerformTransaction", {"amount": PRICE, "account": bad_account})
        assert body["error"]["code"] == -31050
        assert body["error"]["data"] == "invoice_id"


def test_an_invoice_paid_at_the_desk_is_not_payable_31051(runtime, payme, invoice_id, clock):
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        invoices.record_payment(s, invoice, method="cash", amount=PRICE, actor="cashier")
    params = {"amount": PRICE, "account": account(invoice_id)}
    assert payme.error("CheckPerformTransaction", params) == -31051
    assert payme.error("CreateTransaction", {**params, "id": "x1", "time": clock.now}) == -31051


def test_an_invoice_with_a_live_transaction_is_31008_for_check_and_for_a_new_id(
    runtime, payme, invoice_id, clock
):
    create(payme, invoice_id, clock, "first")
    params = {"amount": PRICE, "account": account(invoice_id)}
    assert payme.error("CheckPerformTransaction", params) == -31008
    assert payme.error("CreateTransaction", {**params, "id": "second", "time": clock.now}) == -31008
    payme.result("PerformTransaction", {"id": "first"})
    assert payme.error("CreateTransaction", {**params, "id": "third", "time": clock.now}) == -31008


def test_an_invoice_held_by_another_provider_is_31008(runtime, payme, invoice_id):
    with runtime.db.transaction() as s:
        invoices.hold(s, invoices.get_invoice(s, invoice_id), "click:555")
    params = {"amount": PRICE, "account": account(invoice_id)}
    assert payme.error("CheckPerformTransaction", params) == -31008


# -- CreateTransaction ----------------------------------------------------------------------


def test_a_repeated_create_gets_the_identical_first_answer_and_holds_the_invoice(
    runtime, payme, invoice_id, clock
):
    first = create(payme, invoice_id, clock)
    clock.advance(5_000)
    again = create(payme, invoice_id, clock)
    assert first == again
    assert first["state"] == 1 and len(str(first["create_time"])) == 13
    assert invoice_of(runtime, invoice_id).held_by == "payme:6389e0d1a2b3c4d5e6f70001"
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(PaymeTransaction.id))) == 1


def test_a_repeated_create_after_twelve_hours_cancels_with_reason_4_and_is_31008(
    runtime, payme, invoice_id, clock
):
    create(payme, invoice_id, clock, "late")
    clock.advance(TWELVE_HOURS + 1)
    params = {"id": "late", "time": clock.now - TWELVE_HOURS - 1, "amount": PRICE,
              "account": account(invoice_id)}  # fmt: skip
    assert payme.error("CreateTransaction", params) == -31008
    check = payme.result("CheckTransaction", {"id": "late"})
    assert (check["state"], check["reason"]) == (-1, 4)
    assert invoice_of(runtime, invoice_id).held_by is None


def test_a_transaction_past_its_twelve_hours_holds_the_invoice_no_longer(
    runtime, payme, invoice_id, clock
):
    """Without waiting for the sweeper: the next Check or Create of the invoice cancels it
    (reason 4), and a new transaction can pay."""
    create(payme, invoice_id, clock, "abandoned")
    clock.advance(TWELVE_HOURS + 1)
    allowed = payme.result(
        "CheckPerformTransaction", {"amount": PRICE, "account": account(invoice_id)}
    )
    assert allowed["allow"] is True
    check = payme.result("CheckTransaction", {"id": "abandoned"})
    assert (check["state"], check["reason"], check["cancel_time"]) == (-1, 4, clock.now)
    assert create(payme, invoice_id, clock, "fresh")["state"] == 1
    assert payme.result("PerformTransaction", {"id": "fresh"})["state"] == 2
    assert invoice_of(runtime, invoice_id).status == "paid"


def test_a_new_transaction_already_past_twelve_hours_is_31008_and_holds_nothing(
    runtime, payme, invoice_id, clock
):
    params = {"id": "born-late", "time": clock.now - TWELVE_HOURS - 1, "amount": PRICE,
              "account": account(invoice_id)}  # fmt: skip
    assert payme.error("CreateTransaction", params) == -31008
    assert payme.error("CheckTransaction", {"id": "born-late"}) == -31003
    assert invoice_of(runtime, invoice_id).held_by is None


def test_a_transaction_past_its_twelve_hours_is_reported_cancelled_by_timeout_when_asked_about(
    runtime, payme, invoice_id, clock
):
    """Without waiting for the sweeper: past its twelve hours a created transaction can never
    be performed, so CheckTransaction and GetStatement report it cancelled by timeout (-1,
    reason 4), as a Perform of it would leave it, not created; its invoice is let go."""
    start = clock.now
    other = make_invoice(runtime, (PRICE,))
    create(payme, invoice_id, clock, "asked-about")
    create(payme, other, clock, "listed")
    clock.advance(TWELVE_HOURS + 1)
    check = payme.result("CheckTransaction", {"id": "asked-about"})
    assert (check["state"], check["reason"], check["perform_time"]) == (-1, 4, 0)
    assert check["cancel_time"] == clock.now
    clock.advance(1_000)
    assert payme.result("CheckTransaction", {"id": "asked-about"}) == check
    rows = payme.result("GetStatement", {"from": start, "to": clock.now})["transactions"]
    assert [(r["id"], r["state"], r["reason"], r["cancel_time"]) for r in rows] == [
        ("asked-about", -1, 4, check["cancel_time"]),
        ("listed", -1, 4, clock.now),
    ]
    assert payme.error("PerformTransaction", {"id": "listed"}) == -31008
    assert invoice_of(runtime, invoice_id).held_by is None
    assert invoice_of(runtime, other).held_by is None


# -- PerformTransaction ---------------------------------------------------------------------


def test_perform_pays_the_invoice_once_and_a_repeat_returns_the_stored_values(
    runtime, payme, invoice_id, clock
):
    created = create(payme, invoice_id, clock)
    clock.advance(1_000)
    performed = payme.result("PerformTransaction", {"id": "6389e0d1a2b3c4d5e6f70001"})
    assert performed == {
        "transaction": created["transaction"],
        "perform_time": clock.now,
        "state": 2,
    }
    clock.advance(60_000)
    assert payme.result("PerformTransaction", {"id": "6389e0d1a2b3c4d5e6f70001"}) == performed
    invoice = invoice_of(runtime, invoice_id)
    assert (invoice.status, invoice.paid_amount, invoice.held_by) == ("paid", PRICE, None)
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Payment.id))) == 1


def test_the_timeout_counts_from_paymes_time_on_the_injected_clock(
    runtime, payme, invoice_id, clock
):
    create(payme, invoice_id, clock, "on-time")
    clock.advance(TWELVE_HOURS)  # exactly twelve hours is not yet past them
    assert payme.result("PerformTransaction", {"id": "on-time"})["state"] == 2

    other = make_invoice(runtime, (PRICE,))
    create(payme, other, clock, "too-late")
    clock.advance(TWELVE_HOURS + 1)
    assert payme.error("PerformTransaction", {"id": "too-late"}) == -31008
    check = payme.result("CheckTransaction", {"id": "too-late"})
    assert (check["state"], check["reason"], check["perform_time"]) == (-1, 4, 0)
    assert check["cancel_time"] == clock.now
    assert invoice_of(runtime, other).status == "open"
    assert invoice_of(runtime, other).held_by is None


def test_the_beat_task_cancels_created_transactions_past_twelve_hours(
    runtime, payme, invoice_id, clock
):
    from tasks.payments_providers import cancel_expired_payme

    create(payme, invoice_id, clock, "forgotten")
    assert cancel_expired_payme.run(now_ms=clock.now + TWELVE_HOURS) == 0
    assert cancel_expired_payme.run(now_ms=clock.now + TWELVE_HOURS + 1) == 1
    clock.advance(TWELVE_HOURS + 1)
    check = payme.result("CheckTransaction", {"id": "forgotten"})
    assert (check["state"], check["reason"]) == (-1, 4)
    assert invoice_of(runtime, invoice_id).held_by is None


# -- CancelTransaction ----------------------------------------------------------------------


def test_cancel_before_perform_is_minus_1_lets_the_invoice_go_and_repeats_stored_values(
    runtime, payme, invoice_id, clock
):
    create(payme, invoice_id, clock, "c1")
    clock.advance(1_000)
    cancelled = payme.result("CancelTransaction", {"id": "c1", "reason": 3})
    assert cancelled["state"] == -1 and cancelled["cancel_time"] == clock.now
    clock.advance(1_000)
    assert payme.result("CancelTransaction", {"id": "c1", "reason": 1}) == cancelled
    assert payme.error("PerformTransaction", {"id": "c1"}) == -31008
    assert payme.result("CheckTransaction", {"id": "c1"})["reason"] == 3
    assert invoice_of(runtime, invoice_id).held_by is None
    # A cancelled transaction is not re-created, and the invoice can be paid anew.
    params = {"amount": PRICE, "account": account(invoice_id), "time": clock.now}
    assert payme.error("CreateTransaction", {**params, "id": "c1"}) == -31008
    assert payme.result("CreateTransaction", {**params, "id": "c2"})["state"] == 1


def test_cancel_after_perform_refunds_as_minus_2_once(runtime, payme, invoice_id, clock):
    create(payme, invoice_id, clock, "r1")
    payme.result("PerformTransaction", {"id": "r1"})
    clock.advance(1_000)
    cancelled = payme.result("CancelTransaction", {"id": "r1", "reason": 5})
    assert cancelled["state"] == -2 and cancelled["cancel_time"] == clock.now
    assert payme.result("CancelTransaction", {"id": "r1", "reason": 5}) == cancelled
    assert payme.error("PerformTransaction", {"id": "r1"}) == -31008
    check = payme.result("CheckTransaction", {"id": "r1"})
    assert (check["state"], check["reason"]) == (-2, 5) and check["perform_time"] > 0
    invoice = invoice_of(runtime, invoice_id)
    assert (invoice.status, invoice.refunded_amount) == ("refunded", PRICE)
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Refund.id))) == 1


def test_a_cancel_reason_payme_does_not_define_is_32600_and_cancels_nothing(
    payme, invoice_id, clock
):
    create(payme, invoice_id, clock, "odd-reason")
    for reason in (0, 6, 99, -1, 2**40, 1.0, "1", None):
        body = payme.call("CancelTransaction", {"id": "odd-reason", "reason": reason})
        assert (body["error"]["code"], body["error"]["data"]) == (-32600, "reason"), reason
    check = payme.result("CheckTransaction", {"id": "odd-reason"})
    assert (check["state"], check["reason"], check["cancel_time"]) == (1, None, 0)
    for reason in (1, 2, 3, 4, 5, 10):  # Payme's reasons; a repeat answers the first cancel
        assert payme.result("CancelTransaction", {"id": "odd-reason", "reason": reason})
    assert payme.result("CheckTransaction", {"id": "odd-reason"})["reason"] == 1


def test_cancel_after_the_service_was_rendered_is_31007_and_changes_nothing(runtime, payme, clock):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
        patient_id = make_patient(s)
        ticket_id = issue_ticket(s, queue_id, patient_id).id
    invoice_id = make_invoice(runtime, (PRICE,), ticket_id=ticket_id, patient_id=patient_id)
    create(payme, invoice_id, clock, "served")
    payme.result("PerformTransaction", {"id": "served"})
    with runtime.db.transaction() as s:
        ticket = calls.call_next(s, queue_id, tz=TZ)
        calls.finish_service(s, ticket, tz=TZ)
    assert payme.error("CancelTransaction", {"id": "served", "reason": 5}) == -31007
    assert payme.result("CheckTransaction", {"id": "served"})["state"] == 2
    assert invoice_of(runtime, invoice_id).status == "paid"


def test_cancel_once_the_doctor_began_or_a_queue_he_was_sent_on_to_served_him_is_31007(
    runtime, payme, clock
):
    with runtime.db.transaction() as s:
        therapy, cardiology = make_queue(s), make_queue(s)
        # Three patients: one the therapist has is not called in cardiology meanwhile.
        patients = {n: make_patient(s) for n in ("begun", "seen", "sent")}
        tickets = {n: issue_ticket(s, therapy, patients[n]).id for n in patients}
    for name, ticket_id in tickets.items():
        invoice_id = make_invoice(runtime, (PRICE,), ticket_id=ticket_id, patient_id=patients[name])
        create(payme, invoice_id, clock, name)
        payme.result("PerformTransaction", {"id": name})
    with runtime.db.transaction() as s:
        # The therapist begins the first; the other two are sent on to cardiology, which
        # sees the first of them.
        calls.start_service(s, calls.call_next(s, therapy, tz=TZ))
        for name in ("seen", "sent"):
            calls.transfer(s, s.get(Ticket, tickets[name]), cardiology, tz=TZ)
        calls.finish_service(s, calls.call_next(s, cardiology, tz=TZ), tz=TZ)
    assert payme.error("CancelTransaction", {"id": "begun", "reason": 5}) == -31007
    assert payme.error("CancelTransaction", {"id": "seen", "reason": 5}) == -31007
    # Sent on and still waiting there: nobody has seen him yet, and the money goes back.
    assert payme.result("CancelTransaction", {"id": "sent", "reason": 5})["state"] == -2
    states = {n: payme.result("CheckTransaction", {"id": n})["state"] for n in tickets}
    assert states == {"begun": 2, "seen": 2, "sent": -2}


def test_cancel_once_the_doctor_began_or_completed_the_appointment_paid_for_is_31007(
    runtime, payme, clock
):
    # Paid ahead for the appointment (the invoice names the visit, no queue ticket); the
    # doctor opens the visit from his schedule.
    with runtime.db.transaction() as s:
        patient_id = make_patient(s)
        names = {"name_ru": "Терапия", "name_uz": "Terapiya", "name_en": "Therapy"}
        department = reference.create_department(
            s, {"code": "pvd", "ticket_prefix": "PVD", **names}
        )
        doctor = reference.create_doctor(s, {"full_name": "Д", "department_id": department.id})
        service_id = make_service(s, PRICE)
        visits = {}
        for status in ("in_progress", "completed", "arrived"):
            at = utcnow() + timedelta(hours=len(visits))
            visit = Visit(
                patient_id=patient_id,
                doctor_id=doctor.id,
                department_id=department.id,
                starts_at=at,
                ends_at=at + timedelta(minutes=20),
                kind="scheduled",
                status="arrived",
            )
            s.add(visit)
            s.flush()
            lines = [{"service_id": service_id, "quantity": 1}]
            invoice = invoices.create_invoice(
                s, patient_id=patient_id, visit_id=visit.id, lines=lines, actor="registrar"
            )
            visits[status] = (visit.id, invoice.id)
    for status, (_visit_id, invoice_id) in visits.items():
        create(payme, invoice_id, clock, status)
        payme.result("PerformTransaction", {"id": status})
    with runtime.db.transaction() as s:
        for status, (visit_id, _invoice_id) in visits.items():
            s.execute(update(Visit).where(Visit.id == visit_id).values(status=status))
    assert payme.error("CancelTransaction", {"id": "in_progress", "reason": 5}) == -31007
    assert payme.error("CancelTransaction", {"id": "completed", "reason": 5}) == -31007
    # Checked in and waiting: not seen yet, and the money goes back.
    assert payme.result("CancelTransaction", {"id": "arrived", "reason": 5})["state"] == -2
    states = {n: payme.result("CheckTransaction", {"id": n})["state"] for n in visits}
    assert states == {"in_progress": 2, "completed": 2, "arrived": -2}


def test_cancel_of_a_payment_already_given_back_at_the_desk_is_31007_and_refunds_nothing_more(
    runtime, payme, invoice_id, clock
):
    create(payme, invoice_id, clock, "desk-refunded")
    payme.result("PerformTransaction", {"id": "desk-refunded"})
    with runtime.db.transaction() as s:
        refunds.refund(
            s,
            s.get(Invoice, invoice_id),
            amount=PRICE,
            reason="the patient left before the consultation",
            actor="cashier",
            may_refund_large=True,
        )
    assert payme.error("CancelTransaction", {"id": "desk-refunded", "reason": 5}) == -31007
    assert payme.result("CheckTransaction", {"id": "desk-refunded"})["state"] == 2
    invoice = invoice_of(runtime, invoice_id)
    assert (invoice.status, invoice.refunded_amount) == ("refunded", PRICE)
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Refund.id))) == 1


# -- unknown ids, statements, fiscal data ---------------------------------------------------


def test_an_unknown_transaction_is_31003(payme):
    for method, params in [
        ("PerformTransaction", {"id": "nope"}),
        ("CancelTransaction", {"id": "nope", "reason": 1}),
        ("CheckTransaction", {"id": "nope"}),
    ]:
        assert payme.error(method, params) == -31003, method


def test_check_transaction_reports_every_time_in_milliseconds(payme, invoice_id, clock):
    created = create(payme, invoice_id, clock, "t1")
    check = payme.result("CheckTransaction", {"id": "t1"})
    assert check == {
        "create_time": created["create_time"],
        "perform_time": 0,
        "cancel_time": 0,
        "transaction": created["transaction"],
        "state": 1,
        "reason": None,
    }


def test_get_statement_lists_every_state_within_inclusive_bounds_in_time_order(
    runtime, payme, clock
):
    base = 1_764_000_000_000
    clock.now = base + 1_000  # the transactions are fresh by the clock, whatever their time
    ids = []
    for offset, name in ((0, "s0"), (10, "s1"), (20, "s2"), (30, "s3")):
        invoice_id = make_invoice(runtime, (PRICE,))
        params = {"id": name, "time": base + offset, "amount": PRICE,
                  "account": account(invoice_id)}  # fmt: skip
        payme.result("CreateTransaction", params)
        ids.append(name)
    payme.result("PerformTransaction", {"id": "s1"})
    payme.result("CancelTransaction", {"id": "s2", "reason": 3})
    rows = payme.result("GetStatement", {"from": base + 10, "to": base + 30})["transactions"]
    assert [r["id"] for r in rows] == ["s1", "s2", "s3"]
    assert [r["state"] for r in rows] == [2, -1, 1]
    assert rows[0]["time"] == base + 10 and rows[-1]["time"] == base + 30
    assert set(rows[0]) == set(STATEMENT_FIELDS)
    assert payme.result("GetStatement", {"from": base + 31, "to": base + 99}) == {
        "transactions": []
    }


def test_set_fiscal_data_keeps_the_receipt_for_perform_and_cancel(
    runtime, payme, invoice_id, clock
):
    create(payme, invoice_id, clock, "f1")
    payme.result("PerformTransaction", {"id": "f1"})
    receipt = {"receipt_id": 7, "terminal_id": "EP0001", "fiscal_sign": "8124",
               "qr_code_url": "https://ofd.soliq.uz/check?t=EP0001"}  # fmt: skip
    assert payme.result(
        "SetFiscalData", {"id": "f1", "type": "PERFORM", "fiscal_data": receipt}
    ) == {"success": True}
    payme.result("SetFiscalData", {"id": "f1", "type": "CANCEL", "fiscal_data": {"receipt_id": 8}})
    with runtime.db.session() as s:
        txn = s.scalar(select(PaymeTransaction).where(PaymeTransaction.payme_id == "f1"))
        assert txn.fiscal_perform == receipt and txn.fiscal_cancel == {"receipt_id": 8}


def test_set_fiscal_data_answers_its_own_codes_32001_unknown_receipt_32602_bad_parameter(
    runtime, payme, invoice_id, clock
):
    """Payme's page for SetFiscalData documents its errors apart from the other methods'."""
    create(payme, invoice_id, clock, "f2")
    unknown = payme.call("SetFiscalData", {"id": "nope", "type": "PERFORM", "fiscal_data": {}})
    assert unknown["error"]["code"] == -32001
    assert set(unknown["error"]["message"]) == {"ru", "uz", "en"}
    for params, field in (
        ({"id": "f2", "type": "OTHER", "fiscal_data": {}}, "type"),
        # A type that is an object or a list is no type either (not an internal error).
        ({"id": "f2", "type": {"PERFORM": 1}, "fiscal_data": {}}, "type"),
        ({"id": "f2", "type": ["PERFORM"], "fiscal_data": {}}, "type"),
        ({"id": "f2", "type": "PERFORM", "fiscal_data": []}, "fiscal_data"),
        ({"id": 7, "type": "PERFORM", "fiscal_data": {}}, "id"),
        ({"type": "CANCEL", "fiscal_data": {}}, "id"),
    ):
        error = payme.call("SetFiscalData", params)["error"]
        assert (error["code"], error["data"]) == (-32602, field), params
    with runtime.db.session() as s:
        txn = s.scalar(select(PaymeTransaction).where(PaymeTransaction.payme_id == "f2"))
        assert txn.fiscal_perform is None and txn.fiscal_cancel is None


# -- out of order ---------------------------------------------------------------------------


def test_calls_out_of_order_never_pay_what_was_not_created_or_was_cancelled(
    runtime, payme, invoice_id, clock
):
    assert payme.error("PerformTransaction", {"id": "early"}) == -31003
    assert payme.error("CancelTransaction", {"id": "early", "reason": 1}) == -31003
    create(payme, invoice_id, clock, "early")
    payme.result("CancelTransaction", {"id": "early", "reason": 1})
    assert payme.error("PerformTransaction", {"id": "early"}) == -31008
    assert invoice_of(runtime, invoice_id).paid_amount == 0


# -- protocol errors, authorisation and the log ---------------------------------------------


def test_protocol_errors_are_json_rpc_with_http_200(anon_client, payme):
    response = anon_client.get("/payments/payme", headers=payme_auth())
    assert response.status_code == 200 and response.get_json()["error"]["code"] == -32300
    # Sent as Payme sends it: no session, no CSRF token (the endpoint is exempt).
    response = anon_client.post(
        "/payments/payme", data=b"{not json", content_type="application/json",
        headers=payme_auth(), skip_csrf=True,
    )  # fmt: skip
    body = response.get_json()
    assert response.status_code == 200 and body["error"]["code"] == -32700 and body["id"] is None
    assert payme.call("NoSuchMethod", {})["error"] == {
        "code": -32601,
        "message": payme.call("NoSuchMethod", {})["error"]["message"],
        "data": "NoSuchMethod",
    }
    for params in ({"amount": "15000000", "account": {}}, {"account": {}}, {"amount": 1.5}):
        assert payme.error("CheckPerformTransaction", params) == -32600
    assert (
        payme.error("CreateTransaction", {"id": 5, "time": 1, "amount": 1, "account": {}}) == -32600
    )


GARBAGE = [
    b"[]", b"1", b'"x"', b"null", b'{"method": "CheckTransaction"}', b'{"id": {}, "params": 1}',
    b'{"id": 1, "method": 7, "params": {}}', b'{"id": 1, "method": "GetStatement", "params": []}',
    "{\"id\": 1, \"method\": \"\u0436\"}".encode(), b"\xff\xfe", b"{" * 5000,
]  # fmt: skip


def test_garbage_never_gets_a_500(anon_client):
    for body in GARBAGE:
        response = anon_client.post(
            "/payments/payme", data=body, content_type="application/json", headers=payme_auth()
        )
        assert response.status_code == 200, body
        assert response.get_json()["error"]["code"] in (-32700, -32600, -32601), body


def test_a_missing_or_wrong_key_is_32504(payme, invoice_id):
    for headers in (
        {},
        payme_auth("wrong-key"),
        payme_auth(login="Payme"),
        payme_auth(""),
        {"Authorization": "Basic !!!"},
        {"Authorization": "Basic"},
    ):
        body = payme.call(
            "CheckPerformTransaction",
            {"amount": PRICE, "account": account(invoice_id)},
            headers=headers,
            rpc_id=77,
        )
        assert body["error"]["code"] == -32504 and body["id"] == 77, headers


def test_a_body_over_the_limit_and_another_content_type_are_json_rpc_errors(anon_client):
    big = b'{"id": 1, "method": "CheckTransaction", "params": {"id": "' + b"x" * 70_000 + b'"}}'
    response = anon_client.post(
        "/payments/payme", data=big, content_type="application/json", headers=payme_auth()
    )
    # Not read: an invalid request, answered with HTTP 200 as every Payme answer is.
    assert response.status_code == 200
    assert response.get_json()["error"]["code"] == -32600 and response.get_json()["id"] is None
    response = anon_client.post(
        "/payments/payme", data="id=1", content_type="text/plain", headers=payme_auth()
    )
    assert response.status_code == 200 and response.get_json()["error"]["code"] == -32700
    response = anon_client.post(
        "/payments/payme", data='{"id": 5}', content_type="text/plain", headers=payme_auth()
    )
    assert response.status_code == 200 and response.get_json()["error"]["code"] == -32600


def test_every_call_and_answer_is_in_the_provider_log_by_invoice_and_by_payme_id(
    runtime, payme, invoice_id, clock, client
):
    create(payme, invoice_id, clock, "logged")
    payme.result("PerformTransaction", {"id": "logged"})
    payme.error("PerformTransaction", {"id": "unknown-one"})
    by_id = client.get("/api/v1/payments/provider-log?provider_ref=logged").get_json()
    assert [e["method"] for e in by_id["items"]] == ["PerformTransaction", "CreateTransaction"]
    assert '"state":2' in by_id["items"][0]["response"]
    assert '"logged"' in by_id["items"][1]["request"]
    by_invoice = client.get(f"/api/v1/payments/provider-log?invoice_id={invoice_id}").get_json()
    assert by_invoice["total"] == 2  # Perform names only the transaction: logged by its invoice
    unknown = client.get("/api/v1/payments/provider-log?provider_ref=unknown-one").get_json()
    assert unknown["items"][0]["error_code"] == -31003
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(ProviderLogEntry.id))) == 3


def test_an_internal_failure_is_32400_with_http_200_and_keeps_nothing_but_the_log(
    runtime, payme, invoice_id, clock, monkeypatch
):
    from clinic.payments import payme as payme_api

    def broken(session, params, now):
        payme_api.create_transaction(session, params, now)  # writes, then fails
        raise RuntimeError("the disk is full")

    monkeypatch.setitem(payme_api.METHODS, "CreateTransaction", broken)
    params = {"id": "boom", "time": clock.now, "amount": PRICE, "account": account(invoice_id)}
    body = payme.call("CreateTransaction", params)
    assert body["error"]["code"] == -32400 and set(body["error"]["message"]) == {"ru", "uz", "en"}
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(PaymeTransaction.id))) == 0
        assert s.get(Invoice, invoice_id).held_by is None
        logged = s.scalar(select(ProviderLogEntry).where(ProviderLogEntry.provider_ref == "boom"))
        assert logged.error_code == -32400 and '"boom"' in logged.request
