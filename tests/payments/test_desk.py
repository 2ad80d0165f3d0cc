"""The cashier's desk: shifts, cash with change, card, idempotent clicks, racing desks."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from clinic.errors import Conflict, NotFound, ValidationFailed
from clinic.models import Invoice, Payment, Refund
from clinic.payments import desk, invoices, shifts
from clinic.payments.refunds import RefundNeedsApproval
from tests.payments.fixtures import make_invoice
from tests.races import wait_for, waits_for_a_lock


def _open(runtime, cashier_id, opening_cash=100_000_00):
    with runtime.db.transaction() as s:
        return shifts.open_shift(s, cashier_id=cashier_id, opening_cash=opening_cash).id


def _take(runtime, invoice_id, cashier_id, **kwargs):
    with runtime.db.transaction() as s:
        return desk.take_payment(
            s, invoice_id, cashier_id=cashier_id, actor=f"cashier{cashier_id}", **kwargs
        )


def test_desk_payments_need_the_cashiers_open_shift(runtime, make_user):
    cashier = make_user("cashier")
    invoice_id = make_invoice(runtime, [25_000_00])
    with pytest.raises(Conflict) as caught:
        _take(runtime, invoice_id, cashier, method="cash")
    assert caught.value.code == "no_open_shift"
    _open(runtime, cashier)
    with pytest.raises(Conflict) as caught:
        _open(runtime, cashier)
    assert caught.value.code == "shift_open"


def test_cash_gives_change_and_the_shift_closes_with_its_discrepancy(runtime, make_user):
    cashier = make_user("cashier")
    shift_id = _open(runtime, cashier, opening_cash=100_000_00)
    first = make_invoice(runtime, [25_000_00])
    second = make_invoice(runtime, [40_000_00])
    payment = _take(runtime, first, cashier, method="cash", tendered=30_000_00)
    assert (payment.amount, payment.tendered, payment.change) == (25_000_00, 30_000_00, 5_000_00)
    _take(runtime, second, cashier, method="card")
    with runtime.db.transaction() as s:
        desk.refund_at_desk(
            s,
            first,
            cashier_id=cashier,
            actor="cashier",
            amount=5_000_00,
            reason="анализ не сдан",
            may_refund_large=False,
            large_from=runtime.settings.refund_approval_from,
        )
    with runtime.db.transaction() as s:
        shift = shifts.close_shift(s, shifts.get_shift(s, shift_id), counted_cash=119_000_00)
        closed = shifts.shift_as_dict(shift)
    # 100 000 opening + 25 000 cash - 5 000 refunded in cash; the card is not in the drawer.
    assert closed["expected_cash"] == 120_000_00
    assert closed["discrepancy"] == -1_000_00
    with pytest.raises(NotFound) as caught:
        with runtime.db.transaction() as s:
            shifts.close_shift(s, shifts.get_shift(s, shift_id), counted_cash=0)
    assert caught.value.code == "no_open_shift"
    with pytest.raises(Conflict):
        _take(runtime, make_invoice(runtime, [1_00]), cashier, method="cash")


BAD_PAYMENTS = [
    ({"method": "cash", "tendered": 10_00}, "tendered"),
    ({"method": "card", "tendered": 30_000_00}, "tendered"),
    ({"method": "bitcoin"}, "method"),
    ({"method": "cash", "amount": 0}, "amount"),
    ({"method": "cash", "idempotency_key": "short"}, "idempotency_key"),
]


def test_bad_desk_payments_name_the_field_and_change_nothing(runtime, make_user):
    cashier = make_user("cashier")
    _open(runtime, cashier)
    invoice_id = make_invoice(runtime, [25_000_00])
    for kwargs, field in BAD_PAYMENTS:
        with pytest.raises(ValidationFailed) as caught:
            _take(runtime, invoice_id, cashier, **kwargs)
        assert field in caught.value.errors, kwargs
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Payment.id))) == 0


def test_a_repeated_click_with_one_idempotency_key_pays_once(runtime, make_user):
    cashier = make_user("cashier")
    _open(runtime, cashier)
    invoice_id = make_invoice(runtime, [25_000_00])
    ids = {
        _take(runtime, invoice_id, cashier, method="cash", idempotency_key="click-0001").id
        for _ in range(2)
    }
    assert len(ids) == 1


def test_one_idempotency_key_for_another_payment_or_refund_is_refused_at_the_key(
    runtime, make_user
):
    cashier = make_user("cashier")
    _open(runtime, cashier)
    invoice_id = make_invoice(runtime, [25_000_00])
    _take(runtime, invoice_id, cashier, method="cash", amount=25_000_00, idempotency_key="k-pay-01")
    for other in ({"method": "card", "amount": 25_000_00}, {"method": "cash", "amount": 5_000_00}):
        with pytest.raises(ValidationFailed) as caught:
            _take(runtime, invoice_id, cashier, idempotency_key="k-pay-01", **other)
        assert "idempotency_key" in caught.value.errors, other
    _give_back(runtime, invoice_id, cashier, amount=1_000_00, idempotency_key="k-back-01")
    with pytest.raises(ValidationFailed) as caught:
        _give_back(runtime, invoice_id, cashier, amount=2_000_00, idempotency_key="k-back-01")
    assert "idempotency_key" in caught.value.errors
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Payment.id))) == 1
        assert s.scalar(select(func.count(Refund.id))) == 1


def test_a_repeated_click_answered_after_the_shift_closed_gets_the_first_payment(
    runtime, make_user
):
    cashier = make_user("cashier")
    _open(runtime, cashier, opening_cash=0)
    invoice_id = make_invoice(runtime, [25_000_00])
    first = _take(runtime, invoice_id, cashier, method="cash", idempotency_key="k-late-pay")
    given = _give_back(runtime, invoice_id, cashier, amount=1_000_00, idempotency_key="k-late-back")
    with runtime.db.transaction() as s:
        shifts.close_shift(s, shifts.current_shift(s, cashier), counted_cash=24_000_00)
    again = _take(runtime, invoice_id, cashier, method="cash", idempotency_key="k-late-pay")
    back_again = _give_back(
        runtime, invoice_id, cashier, amount=1_000_00, idempotency_key="k-late-back"
    )
    assert (again.id, back_again.id) == (first.id, given.id)
    # Anything new still needs the open shift.
    with pytest.raises(Conflict) as caught:
        _give_back(runtime, invoice_id, cashier, amount=1_000_00, idempotency_key="k-new-back")
    assert caught.value.code == "no_open_shift"
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Payment.id))) == 1
        assert s.scalar(select(func.count(Refund.id))) == 1


def test_two_desks_paying_one_invoice_at_once_one_wins(runtime, make_user):
    cashiers = [make_user("cashier") for _ in range(2)]
    for cashier in cashiers:
        _open(runtime, cashier)
    invoice_id = make_invoice(runtime, [25_000_00])
    barrier, won, refused, errors = threading.Barrier(2), [], [], []

    def desk_pays(cashier):
        try:
            barrier.wait(10)
            won.append(_take(runtime, invoice_id, cashier, method="cash").id)
        except Conflict as exc:
            refused.append(exc.code)
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=desk_pays, args=(c,)) for c in cashiers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(won) == 1 and refused == ["already_paid"]
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Payment.id))) == 1
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.status, invoice.paid_amount) == ("paid", 25_000_00)


def test_reprint_is_for_paid_invoices(runtime, make_user):
    cashier = make_user("cashier")
    _open(runtime, cashier)
    invoice_id = make_invoice(runtime, [25_000_00])
    with pytest.raises(Conflict):
        with runtime.db.transaction() as s:
            desk.request_reprint(s, invoice_id, actor="cashier")
    _take(runtime, invoice_id, cashier, method="card")
    with runtime.db.transaction() as s:
        desk.request_reprint(s, invoice_id, actor="cashier")


def test_giving_cash_back_needs_the_cashiers_open_shift_a_card_refund_does_not(runtime, make_user):
    cashier = make_user("cashier")
    shift_id = _open(runtime, cashier)
    cash_invoice = make_invoice(runtime, [25_000_00])
    card_invoice = make_invoice(runtime, [25_000_00])
    _take(runtime, cash_invoice, cashier, method="cash")
    _take(runtime, card_invoice, cashier, method="card")
    with runtime.db.transaction() as s:
        shifts.close_shift(s, shifts.get_shift(s, shift_id), counted_cash=125_000_00)

    def give_back(invoice_id):
        with runtime.db.transaction() as s:
            return desk.refund_at_desk(
                s,
                invoice_id,
                cashier_id=cashier,
                actor="cashier",
                amount=1_000_00,
                reason="ошибка",
                may_refund_large=False,
                large_from=runtime.settings.refund_approval_from,
            )

    with pytest.raises(Conflict) as caught:
        give_back(cash_invoice)
    assert caught.value.code == "no_open_shift"
    assert give_back(card_invoice).shift_id is None


def test_the_drawer_gives_back_no_more_cash_than_it_holds(runtime, make_user):
    cashier = make_user("cashier")
    earlier = make_invoice(runtime, [250_000_00])
    _open(runtime, cashier, opening_cash=0)
    _take(runtime, earlier, cashier, method="cash")
    with runtime.db.transaction() as s:
        shift = shifts.current_shift(s, cashier)
        shifts.close_shift(s, shift, counted_cash=250_000_00)
    # The next morning the drawer starts with 100,000 UZS and has taken nothing yet.
    _open(runtime, cashier, opening_cash=100_000_00)
    with pytest.raises(Conflict) as caught:
        _give_back(runtime, earlier, cashier, amount=100_000_01)
    assert caught.value.code == "not_enough_cash" and "amount" in caught.value.errors
    assert _give_back(runtime, earlier, cashier, amount=100_000_00).amount == 100_000_00
    with runtime.db.session() as s:
        shift = shifts.current_shift(s, cashier)
        assert shifts.cash_in_drawer(s, shift) == 0
        assert s.scalar(select(func.count(Refund.id))) == 1


def _give_back(runtime, invoice_id, cashier_id, amount=1_000_00, **kwargs):
    with runtime.db.transaction() as s:
        return desk.refund_at_desk(
            s,
            invoice_id,
            cashier_id=cashier_id,
            actor=f"cashier{cashier_id}",
            amount=amount,
            reason="ошибка в счёте",
            may_refund_large=False,
            large_from=runtime.settings.refund_approval_from,
            **kwargs,
        )


def test_a_refund_pressed_twice_at_once_with_one_idempotency_key_gives_back_once(
    runtime, make_user
):
    cashier = make_user("cashier")
    _open(runtime, cashier)
    invoice_id = make_invoice(runtime, [25_000_00])
    _take(runtime, invoice_id, cashier, method="cash")
    barrier, made, errors = threading.Barrier(2), [], []

    def press():
        try:
            barrier.wait(10)
            made.append(_give_back(runtime, invoice_id, cashier, idempotency_key="refund-0001").id)
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=press) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and len(made) == 2 and len(set(made)) == 1
    # Resent later, after the invoice changed, the same key still answers with that refund.
    assert _give_back(runtime, invoice_id, cashier, idempotency_key="refund-0001").id == made[0]
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Refund.id))) == 1
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.status, invoice.refunded_amount) == ("partly_refunded", 1_000_00)
    with pytest.raises(Conflict) as caught:  # one key is one refund, of one invoice
        _give_back(
            runtime, make_invoice(runtime, [1_00]), cashier, amount=1, idempotency_key="refund-0001"
        )
    assert caught.value.code == "ref_used"
    with pytest.raises(ValidationFailed) as caught:
        _give_back(runtime, invoice_id, cashier, idempotency_key="short")
    assert "idempotency_key" in caught.value.errors


def test_two_cashiers_refunding_the_whole_invoice_at_once_give_it_back_once(runtime, make_user):
    cashiers = [make_user("cashier") for _ in range(2)]
    for cashier in cashiers:
        _open(runtime, cashier)
    invoice_id = make_invoice(runtime, [25_000_00])
    _take(runtime, invoice_id, cashiers[0], method="cash")
    barrier, made, refused, errors = threading.Barrier(2), [], [], []

    def press(cashier):
        try:
            barrier.wait(10)
            made.append(_give_back(runtime, invoice_id, cashier, amount=25_000_00).id)
        except Conflict as exc:
            refused.append(exc.code)
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=press, args=(c,)) for c in cashiers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and len(made) == 1 and refused == ["not_paid"]
    with runtime.db.session() as s:
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.status, invoice.refunded_amount) == ("refunded", 25_000_00)


def test_nothing_paid_is_nothing_to_refund_409_not_paid(runtime, make_user):
    cashier = make_user("cashier")
    _open(runtime, cashier)
    unpaid, cancelled = make_invoice(runtime, [25_000_00]), make_invoice(runtime, [25_000_00])
    with runtime.db.transaction() as s:
        invoices.cancel_invoice(s, invoices.get_invoice(s, cancelled), actor="cashier")
    for invoice_id in (unpaid, cancelled):
        with pytest.raises(Conflict) as caught:
            _give_back(runtime, invoice_id, cashier)
        assert caught.value.code == "not_paid"


def test_a_large_refund_split_into_small_ones_needs_the_same_approval(runtime, make_user):
    cashier = make_user("cashier")
    _open(runtime, cashier)
    limit = runtime.settings.refund_approval_from
    invoice_id = make_invoice(runtime, [3 * limit])
    _take(runtime, invoice_id, cashier, method="card")
    _give_back(runtime, invoice_id, cashier, amount=limit - 1)
    with pytest.raises(RefundNeedsApproval) as caught:
        _give_back(runtime, invoice_id, cashier, amount=2)
    assert caught.value.code == "approval_required"
    with runtime.db.transaction() as s:
        approved = desk.refund_at_desk(
            s, invoice_id, cashier_id=cashier, actor="manager", amount=limit, reason="отказ",
            may_refund_large=True, large_from=limit,
        )  # fmt: skip
        assert approved.approved_by == "manager"
    # The manager's approved refund is not the cashier's: one more within the limit passes.
    assert _give_back(runtime, invoice_id, cashier, amount=1).approved_by is None


def test_a_shift_closed_while_a_payment_goes_in_counts_that_payment(runtime, make_user):
    cashier = make_user("cashier")
    shift_id = _open(runtime, cashier, opening_cash=0)
    invoice_id = make_invoice(runtime, [25_000_00])
    taken, errors = threading.Event(), []

    def close():
        try:
            assert taken.wait(10)
            with runtime.db.transaction() as s:
                shifts.close_shift(s, shifts.get_shift(s, shift_id), counted_cash=25_000_00)
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    closing = threading.Thread(target=close)
    closing.start()
    with runtime.db.transaction() as s:
        desk.take_payment(s, invoice_id, cashier_id=cashier, actor="c", method="cash")
        taken.set()
        closing.join(0.5)  # the close waits for this payment to commit, or counts without it
    closing.join(30)
    assert errors == []
    with runtime.db.session() as s:
        shift = shifts.get_shift(s, shift_id)
        assert (shift.expected_cash, shift.discrepancy) == (25_000_00, 0)


def _paid_online(runtime, invoice_id, provider, ref, amount):
    with runtime.db.transaction() as s:
        invoice = invoices.lock_invoice(s, invoice_id)
        return invoices.record_payment(
            s, invoice, method=provider, amount=amount, provider=provider, provider_ref=ref,
            actor=provider, locked=True,
        ).id  # fmt: skip


def test_a_payme_or_webhook_payment_is_refunded_at_its_provider_not_at_the_desk(runtime, make_user):
    """Their refunds reach the invoice by themselves (Payme's -2, a "refunded" event): a desk
    refund would count the money back twice, or have the provider's refused."""
    cashier = make_user("cashier")
    _open(runtime, cashier)
    online = make_invoice(runtime, [25_000_00])
    payme_payment = _paid_online(runtime, online, "payme", "6389e0d1a2b3c4d5e6f7aaaa", 25_000_00)
    with pytest.raises(Conflict) as caught:
        _give_back(runtime, online, cashier)
    assert caught.value.code == "refund_at_provider" and "payme" in caught.value.detail
    with pytest.raises(Conflict) as caught:
        _give_back(runtime, online, cashier, payment_id=payme_payment)
    assert caught.value.code == "refund_at_provider" and "payment_id" in caught.value.errors

    # Part in cash at the desk, the rest through an acquirer: the cash part is given back.
    mixed = make_invoice(runtime, [25_000_00])
    _take(runtime, mixed, cashier, method="cash", amount=5_000_00)
    _paid_online(runtime, mixed, "acq", "acq-1", 20_000_00)
    refunded = _give_back(runtime, mixed, cashier, amount=5_000_00)
    with pytest.raises(Conflict) as caught:
        _give_back(runtime, mixed, cashier, amount=1_000_00)
    assert caught.value.code == "refund_at_provider"
    # Click reports no refunds: a Click payment given back through Click is recorded here.
    clicked = make_invoice(runtime, [25_000_00])
    _paid_online(runtime, clicked, "click", "4004", 25_000_00)
    assert _give_back(runtime, clicked, cashier).amount == 1_000_00
    with runtime.db.session() as s:
        assert s.get(Payment, refunded.payment_id).method == "cash"
        assert s.get(Invoice, online).refunded_amount == 0
        assert s.scalar(select(func.count(Refund.id))) == 2


def test_a_part_paid_by_a_patient_who_leaves_is_given_back_and_the_invoice_cancelled(
    runtime, make_user
):
    """Cash taken, the card declined, the patient gone: the cash goes back from the drawer,
    the invoice has nothing paid again and is cancelled, and the drawer balances."""
    cashier = make_user("cashier")
    _open(runtime, cashier, opening_cash=0)
    left = make_invoice(runtime, [25_000_00])
    part = _take(runtime, left, cashier, method="cash", amount=10_000_00)
    with pytest.raises(ValidationFailed):  # no more than was paid
        _give_back(runtime, left, cashier, amount=10_000_01)
    _give_back(runtime, left, cashier, amount=10_000_00, payment_id=part.id)
    with runtime.db.transaction() as s:
        invoice = invoices.lock_invoice(s, left)
        assert (invoice.status, invoice.paid_amount, invoices.amount_due(invoice)) == (
            "open", 0, 25_000_00)  # fmt: skip
        assert shifts.cash_in_drawer(s, shifts.current_shift(s, cashier)) == 0
        invoices.cancel_invoice(s, invoice, actor="cashier")

    # Or the patient comes back: a part given back is due again, and the invoice is paid.
    back = make_invoice(runtime, [25_000_00])
    part = _take(runtime, back, cashier, method="cash", amount=10_000_00)
    _give_back(runtime, back, cashier, amount=4_000_00)
    _take(runtime, back, cashier, method="card")
    with runtime.db.session() as s:
        invoice = s.get(Invoice, back)
        assert (invoice.status, invoice.paid_amount, invoice.refunded_amount) == (
            "paid", 25_000_00, 0)  # fmt: skip
        paid = s.scalars(select(Payment.amount).where(Payment.invoice_id == back)).all()
        assert sorted(paid) == [10_000_00, 19_000_00]


def test_a_service_paid_part_in_cash_and_part_by_card_is_given_back_the_way_the_patient_asks(
    runtime, make_user
):
    cashier = make_user("cashier")
    _open(runtime, cashier, opening_cash=0)
    invoice_id = make_invoice(runtime, [150_000_00, 70_000_00])
    cash = _take(runtime, invoice_id, cashier, method="cash", amount=100_000_00)
    card = _take(runtime, invoice_id, cashier, method="card")  # the rest, 120 000
    # The 70 000 service back in cash, though the card payment (the newest) covers it too.
    given = _give_back(runtime, invoice_id, cashier, amount=70_000_00, method="cash")
    assert given.payment_id == cash.id
    with runtime.db.session() as s:
        assert shifts.cash_in_drawer(s, shifts.current_shift(s, cashier)) == 30_000_00
    for asked, field in [
        ({"amount": 30_000_01, "method": "cash"}, "amount"),  # more cash than is left
        ({"amount": 1_00, "method": "cash", "payment_id": card.id}, "method"),
        ({"amount": 1_00, "method": "payme"}, "method"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            _give_back(runtime, invoice_id, cashier, **asked)
        assert field in refused.value.errors, asked
    _give_back(runtime, invoice_id, cashier, amount=30_000_00, method="cash")
    with pytest.raises(ValidationFailed) as refused:  # all the cash is back: name the method
        _give_back(runtime, invoice_id, cashier, amount=1_00, method="cash")
    assert "method" in refused.value.errors
    assert _give_back(runtime, invoice_id, cashier, method="card").payment_id == card.id


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_two_cash_refunds_at_once_never_give_back_more_than_the_drawer_holds(runtime, make_user):
    """Two patients are given cash back from one drawer at the same moment, for two invoices,
    and the drawer holds enough for one: the second refund counts the drawer after the first
    and is refused, instead of both counting the same cash."""
    cashier = make_user("cashier")
    yesterday = make_invoice(runtime, [60_000_00])
    _open(runtime, cashier, opening_cash=0)
    _take(runtime, yesterday, cashier, method="cash")
    with runtime.db.transaction() as s:
        shifts.close_shift(s, shifts.current_shift(s, cashier), counted_cash=60_000_00)
    _open(runtime, cashier, opening_cash=0)
    today = make_invoice(runtime, [60_000_00])
    _take(runtime, today, cashier, method="cash")  # the drawer holds 60,000 UZS
    pids, answers = [], []

    def second_desk():
        try:
            with runtime.db.transaction() as s:
                pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                desk.refund_at_desk(
                    s, yesterday, cashier_id=cashier, actor="cashier", amount=60_000_00,
                    reason="отказ", may_refund_large=True, large_from=0,
                )  # fmt: skip
            answers.append("given back")
        except Conflict as refused:
            answers.append(refused.code)

    with runtime.db.transaction() as first:
        desk.refund_at_desk(
            first, today, cashier_id=cashier, actor="cashier", amount=60_000_00,
            reason="отказ", may_refund_large=True, large_from=0,
        )  # fmt: skip
        other = threading.Thread(target=second_desk)
        other.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the second refund")
    other.join(30)
    assert answers == ["not_enough_cash"]
    with runtime.db.session() as s:
        assert shifts.cash_in_drawer(s, shifts.current_shift(s, cashier)) == 0
        assert s.scalar(select(func.count(Refund.id))) == 1


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_one_invoice_key_sent_twice_at_once_makes_one_invoice(runtime, make_user):
    """The same request, sent again while the first is still being made (a gateway retried
    it): the second waits for the first and answers with its invoice."""
    from clinic.payments.invoice_once import create_invoice_once
    from tests.payments.fixtures import make_patient, make_service

    with runtime.db.transaction() as s:
        patient, service = make_patient(s), make_service(s, 25_000_00)
    asked = {
        "patient_id": patient,
        "ticket_id": None,
        "visit_id": None,
        "lines": [{"service_id": service, "quantity": 1}],
    }
    pids, answers = [], []

    def again():
        with runtime.db.transaction() as s:
            pids.append(s.scalar(text("SELECT pg_backend_pid()")))
            invoice, made = create_invoice_once(
                s, idempotency_key="inv-race-0001", actor="cashier", **asked
            )
            answers.append((invoice.id, made))

    with runtime.db.transaction() as first:
        invoice, made = create_invoice_once(
            first, idempotency_key="inv-race-0001", actor="cashier", **asked
        )
        assert made
        other = threading.Thread(target=again)
        other.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the second request")
    other.join(30)
    assert answers == [(invoice.id, False)]
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Invoice.id))) == 1


def test_a_pay_key_taken_by_another_invoice_at_the_same_instant_is_refused_naming_it(
    runtime, make_user, monkeypatch
):
    """The same key sent to two invoices at once: neither request's look for it (under its own
    invoice's lock) sees the other's payment, and the loser's insert finds the key taken. It
    is refused as a key of another invoice is, naming ``idempotency_key``."""
    cashier = make_user("cashier")
    _open(runtime, cashier)
    first, second = make_invoice(runtime, [10_000_00]), make_invoice(runtime, [10_000_00])
    _take(runtime, first, cashier, method="cash", idempotency_key="pay-key-0001")
    # The second request looked before the first committed: it found nothing.
    monkeypatch.setattr(desk, "_repeated_payment", lambda *args, **kwargs: None)
    with pytest.raises(Conflict) as caught:
        _take(runtime, second, cashier, method="cash", idempotency_key="pay-key-0001")
    assert caught.value.code == "ref_used"
    assert list(caught.value.errors) == ["idempotency_key"]
    with runtime.db.session() as s:
        assert s.get(Invoice, second).paid_amount == 0


@pytest.mark.parametrize("backend", ["postgresql"])
def test_one_refund_key_sent_to_two_invoices_at_once_gives_back_on_one_of_them(runtime, make_user):
    """Card refunds by a cashier with no shift open take no drawer's lock: the same key sent
    to two invoices at the same instant gives back on one, and the other is 409 ``ref_used``
    naming the key; the key then answers with its one refund, as ever."""
    cashier = make_user("cashier")
    _open(runtime, cashier)
    pairs = [(make_invoice(runtime, [100_00]), make_invoice(runtime, [100_00])) for _ in range(5)]
    for pair in pairs:
        for invoice_id in pair:
            _take(runtime, invoice_id, cashier, method="card")
    with runtime.db.transaction() as s:
        shifts.close_shift(s, shifts.current_shift(s, cashier), counted_cash=100_000_00)
    for round_, pair in enumerate(pairs):
        key = f"card-refund-{round_:04d}"
        barrier, made, refused = threading.Barrier(2), [], []

        def press(invoice_id):
            barrier.wait(10)
            try:
                made.append(_give_back(runtime, invoice_id, cashier, amount=50_00,
                                       method="card", idempotency_key=key).invoice_id)  # fmt: skip
            except Conflict as exc:
                refused.append((exc.code, list(exc.errors)))

        threads = [threading.Thread(target=press, args=(i,)) for i in pair]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(made) == 1 and refused == [("ref_used", ["idempotency_key"])], (made, refused)
        again = _give_back(
            runtime, made[0], cashier, amount=50_00, method="card", idempotency_key=key
        )
        assert again.invoice_id == made[0]
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Refund.id))) == len(pairs)
