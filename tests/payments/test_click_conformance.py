"""Click SHOP API answers checked against Click's own error table: a signature that cannot
be ours is -1, a transaction confirmed before is -4 and one cancelled before is -9, whatever
else happened to the invoice since; amounts are soums with tiyin as Click writes them."""

from __future__ import annotations

from sqlalchemy import func, select

from clinic.models import ClickTransaction, Invoice, Payment
from clinic.payments import invoices
from clinic.payments.models import PaymentMethod
from tests.payments import provider_support as support
from tests.payments.fixtures import make_invoice
from tests.payments.provider_support import FORM, click_fields, click_post

# The provider settings (keys and secrets).
settings = support.settings

PRICE = 5_000_000  # 50 000 soums


def pay_at_the_desk(runtime, invoice_id: int, amount: int) -> None:
    with runtime.db.transaction() as s:
        invoice = invoices.lock_invoice(s, invoice_id)
        invoices.record_payment(
            s, invoice, method=PaymentMethod.CASH, amount=amount, actor="cashier", locked=True
        )


def test_a_signature_that_is_not_ascii_is_a_failed_sign_check(runtime, anon_client):
    invoice_id = make_invoice(runtime, (PRICE,))
    for prepare_id in (None, 1):
        fields = click_fields(invoice_id, "50000", prepare_id=prepare_id, sign=False)
        fields["sign_string"] = "é" * 32
        answer = click_post(anon_client, fields)
        assert (answer["error"], answer["error_note"]) == (-1, "SIGN CHECK FAILED!"), answer
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(ClickTransaction.id))) == 0


def test_a_repeated_prepare_and_complete_of_a_payment_that_paid_the_rest_are_already_paid(
    runtime, anon_client
):
    # Part paid at the desk: Click is asked for the rest, 30 000 soums.
    invoice_id = make_invoice(runtime, (PRICE,))
    pay_at_the_desk(runtime, invoice_id, 2_000_000)
    prepared = click_post(anon_client, click_fields(invoice_id, "30000.00"))
    assert prepared["error"] == 0, prepared
    prepare_id = prepared["merchant_prepare_id"]
    complete = click_fields(invoice_id, "30000.00", prepare_id=prepare_id)
    done = click_post(anon_client, complete)
    assert done["error"] == 0, done
    # Click asks again about the transaction it was told is confirmed.
    again = click_post(anon_client, complete)
    assert (again["error"], again["error_note"]) == (-4, "Already paid"), again
    assert click_post(anon_client, click_fields(invoice_id, "30000.00"))["error"] == -4
    with runtime.db.session() as s:
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.status, invoice.paid_amount) == ("paid", PRICE)
        assert s.scalar(select(func.count(Payment.id))) == 2


def test_a_complete_of_a_cancelled_payment_is_minus_9_after_the_invoice_was_paid_at_the_desk(
    runtime, anon_client
):
    from tasks.payments_providers import cancel_stale_click

    invoice_id = make_invoice(runtime, (PRICE,))
    prepared = click_post(anon_client, click_fields(invoice_id, "50000"))
    prepare_id = prepared["merchant_prepare_id"]
    # Never completed in time: cancelled, the invoice let go, and the patient pays in cash.
    assert cancel_stale_click.run(older_than_minutes=-1) == 1
    pay_at_the_desk(runtime, invoice_id, PRICE)
    for error in ("0", "-5017"):
        late = click_fields(invoice_id, "50000", prepare_id=prepare_id, error=error)
        answer = click_post(anon_client, late)
        assert (answer["error"], answer["error_note"]) == (-9, "Transaction cancelled"), answer
        assert answer["merchant_confirm_id"] is None
    with runtime.db.session() as s:
        assert s.scalar(select(ClickTransaction.status)) == "cancelled"
        payments = s.scalars(select(Payment.method)).all()
        assert payments == ["cash"]


def test_a_repeated_prepare_of_a_failed_payment_is_minus_9_after_the_invoice_was_paid_at_the_desk(
    runtime, anon_client
):
    invoice_id = make_invoice(runtime, (PRICE,))
    prepare_id = click_post(anon_client, click_fields(invoice_id, "50000"))["merchant_prepare_id"]
    failed = click_fields(invoice_id, "50000", prepare_id=prepare_id, error="-5017")
    assert click_post(anon_client, failed)["error"] == -9
    pay_at_the_desk(runtime, invoice_id, PRICE)
    # Click asks again about the payment it was told is cancelled: it stays cancelled, not
    # "already paid" (which says this payment went through), as its Complete is answered.
    for error in ("0", "-5017"):
        answer = click_post(anon_client, click_fields(invoice_id, "50000", error=error))
        assert (answer["error"], answer["error_note"]) == (-9, "Transaction cancelled"), answer
        assert answer["merchant_prepare_id"] is None
    with runtime.db.session() as s:
        assert s.scalar(select(ClickTransaction.status)) == "cancelled"
        assert s.scalars(select(Payment.method)).all() == ["cash"]


def test_an_amount_with_tiyin_is_read_in_soums_as_click_writes_it(runtime, anon_client):
    invoice_id = make_invoice(runtime, (1_234_567,))  # 12 345.67 soums
    assert click_post(anon_client, click_fields(invoice_id, "12345.6"))["error"] == -2
    assert click_post(anon_client, click_fields(invoice_id, "1234567"))["error"] == -2
    prepared = click_post(anon_client, click_fields(invoice_id, "12345.67"))
    assert prepared["error"] == 0, prepared
    done = click_post(
        anon_client,
        click_fields(invoice_id, "12345.670", prepare_id=prepared["merchant_prepare_id"]),
    )
    assert done["error"] == 0, done
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).paid_amount == 1_234_567


def test_a_complete_naming_the_prepare_id_of_another_payment_is_minus_6(runtime, anon_client):
    first, second = make_invoice(runtime, (PRICE,)), make_invoice(runtime, (PRICE,))
    theirs = click_post(anon_client, click_fields(first, "50000", trans_id="1001"))
    ours = click_post(anon_client, click_fields(second, "50000", trans_id="2002"))
    assert theirs["error"] == ours["error"] == 0
    # The other payment's prepare id, with this payment's click_trans_id and invoice.
    wrong = click_fields(second, "50000", trans_id="2002", prepare_id=theirs["merchant_prepare_id"])
    answer = click_post(anon_client, wrong)
    assert (answer["error"], answer["error_note"]) == (-6, "Transaction does not exist")
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Payment.id))) == 0
        assert s.get(Invoice, first).held_by == "click:1001"
        assert s.get(Invoice, second).held_by == "click:2002"


def test_only_plain_soums_and_plainly_written_ids_are_read(runtime, anon_client):
    invoice_id = make_invoice(runtime, (PRICE,))
    for amount in ("50_000", " 50000 ", "+50000", "５００００", "5e4", "50000.001", "-50000"):
        answer = click_post(anon_client, click_fields(invoice_id, amount))
        assert answer["error"] == -2, (amount, answer)
    for trans_id in ("-1001", "01001", "0"):
        answer = click_post(anon_client, click_fields(invoice_id, "50000", trans_id=trans_id))
        assert answer["error"] == -8, (trans_id, answer)
    answer = click_post(anon_client, click_fields(f"0{invoice_id}", "50000"))
    assert answer["error"] == -5, answer
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(ClickTransaction.id))) == 0
        assert s.get(Invoice, invoice_id).status == "open"


def test_an_invoice_cancelled_at_the_desk_is_minus_9_not_already_paid(runtime, anon_client):
    invoice_id = make_invoice(runtime, (PRICE,))
    with runtime.db.transaction() as s:
        invoices.cancel_invoice(s, invoices.lock_invoice(s, invoice_id), actor="cashier")
    answer = click_post(anon_client, click_fields(invoice_id, "50000", trans_id="2002"))
    assert (answer["error"], answer["error_note"]) == (-9, "Transaction cancelled"), answer
    assert answer["merchant_prepare_id"] is None
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(ClickTransaction.id))) == 0


def test_a_complete_naming_no_prepare_of_ours_is_minus_6_before_the_invoice_cancelled_is_minus_9(
    runtime, anon_client
):
    """Click's order of checks puts the prepare id (-6) before "cancelled" (-9): a Complete
    whose prepare id is none of ours is -6, also for an invoice cancelled at the desk (whose
    Prepare is -9)."""
    invoice_id = make_invoice(runtime, (PRICE,))
    with runtime.db.transaction() as s:
        invoices.cancel_invoice(s, invoices.lock_invoice(s, invoice_id), actor="cashier")
    unknown = click_fields(invoice_id, "50000", trans_id="3003", prepare_id=987654)
    answer = click_post(anon_client, unknown)
    assert (answer["error"], answer["error_note"]) == (-6, "Transaction does not exist"), answer
    answer = click_post(anon_client, click_fields(invoice_id, "50000", trans_id="3003"))
    assert (answer["error"], answer["error_note"]) == (-9, "Transaction cancelled"), answer


NOTES = {
    0: "Success", -1: "SIGN CHECK FAILED!", -2: "Incorrect parameter amount",
    -3: "Action not found", -4: "Already paid", -5: "User does not exist",
    -6: "Transaction does not exist", -7: "Failed to update user",
    -8: "Error in request from click", -9: "Transaction cancelled",
}  # fmt: skip


def answer_of(anon_client, fields: dict, error: int) -> dict:
    """Click's answer exactly as Click reads it: its fields, integer ids, the code's note."""
    answer = click_post(anon_client, fields)
    complete = "merchant_prepare_id" in fields
    ours = "merchant_confirm_id" if complete else "merchant_prepare_id"
    assert set(answer) == {"click_trans_id", "merchant_trans_id", ours, "error", "error_note"}
    assert (answer["error"], answer["error_note"]) == (error, NOTES[error]), answer
    assert type(answer["error"]) is int
    assert answer["click_trans_id"] == int(fields["click_trans_id"])
    assert type(answer["click_trans_id"]) is int
    assert answer["merchant_trans_id"] == fields["merchant_trans_id"]
    assert type(answer[ours]) is int if error == 0 else answer[ours] is None
    return answer


def test_the_test_tools_run_answers_each_step_with_its_code_note_and_integer_ids(
    runtime, anon_client
):
    """Click's test run in its order: a wrong signature, amount, action and invoice; Prepare;
    Complete with a wrong prepare id; Complete; Complete again; a failed payment's Complete
    and a later one of it; "50000" prepared and "50000.00" completed."""
    invoice_id = make_invoice(runtime, (PRICE,))
    forged = click_fields(invoice_id, "50000", sign=False, sign_string="0" * 32)
    answer_of(anon_client, forged, -1)
    answer_of(anon_client, click_fields(invoice_id, "49999"), -2)
    answer_of(anon_client, click_fields(invoice_id, "50000", action="1"), -3)
    answer_of(anon_client, click_fields(987654321, "50000"), -5)
    missing = click_fields(invoice_id, "50000")
    del missing["click_paydoc_id"]
    answer_of(anon_client, missing, -8)

    prepare_id = answer_of(anon_client, click_fields(invoice_id, "50000"), 0)["merchant_prepare_id"]
    answer_of(anon_client, click_fields(invoice_id, "50000", prepare_id=prepare_id + 1), -6)
    # Prepared: the invoice is this payment's until it is completed or cancelled.
    answer_of(anon_client, click_fields(invoice_id, "50000", trans_id="1002"), -7)
    done = answer_of(anon_client, click_fields(invoice_id, "50000.00", prepare_id=prepare_id), 0)
    assert done["merchant_confirm_id"] > 0
    answer_of(anon_client, click_fields(invoice_id, "50000.00", prepare_id=prepare_id), -4)
    answer_of(anon_client, click_fields(invoice_id, "50000", prepare_id=prepare_id), -4)

    # A payment that failed at Click: its Complete carries error < 0, and so may a retry.
    other = make_invoice(runtime, (PRICE,))
    failed_id = answer_of(anon_client, click_fields(other, "50000.00", trans_id="2001"), 0)[
        "merchant_prepare_id"
    ]
    for error in ("-5017", "0", "-1"):
        late = click_fields(other, "50000.00", trans_id="2001", prepare_id=failed_id, error=error)
        answer_of(anon_client, late, -9)
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).paid_amount == PRICE
        assert (s.get(Invoice, other).paid_amount, s.get(Invoice, other).held_by) == (0, None)
        assert s.scalar(select(func.count(Payment.id))) == 1


def test_answers_the_endpoint_gives_itself_carry_our_id_field_as_the_others_do(
    runtime, anon_client, monkeypatch
):
    """A form giving a field twice and one too large (-8), and a call that broke (-7), are
    answered with the same five fields as any other answer, our id null."""
    from clinic.payments import click

    invoice_id = make_invoice(runtime, (PRICE,))
    prepare = click_fields(invoice_id, "50000")
    complete = click_fields(invoice_id, "50000", prepare_id=1)

    def post(fields, **extra):
        path = "complete" if "merchant_prepare_id" in fields else "prepare"
        response = anon_client.post(f"/payments/click/{path}", **extra)
        assert response.status_code == 200, response.get_data(as_text=True)
        return path, response.get_json()

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(click, "prepare", broken)
    monkeypatch.setattr(click, "complete", broken)
    for fields in (prepare, complete):
        twice = "&".join(f"{k}={v}" for k, v in fields.items()) + "&amount=1"
        cases = [
            (dict(data=twice, content_type=FORM), -8),
            (dict(data={**fields, "error_note": "x" * 70_000}), -8),
            (dict(data=fields), -7),
        ]
        for extra, error in cases:
            path, answer = post(fields, **extra)
            ours = "merchant_prepare_id" if path == "prepare" else "merchant_confirm_id"
            assert set(answer) == {"click_trans_id", "merchant_trans_id", ours, "error",
                                   "error_note"}, (path, error, answer)  # fmt: skip
            assert (answer["error"], answer[ours]) == (error, None), answer


def test_a_call_naming_an_invoice_with_a_leading_zero_is_not_logged_as_that_invoices(
    runtime, anon_client
):
    """ "042" names no invoice (-5): the provider log of invoice 42 does not list the call."""
    from clinic.models import ProviderLogEntry

    invoice_id = make_invoice(runtime, (PRICE,))
    answer = click_post(anon_client, click_fields(f"0{invoice_id}", "50000"))
    assert answer["error"] == -5, answer
    with runtime.db.session() as s:
        logged = s.scalars(select(ProviderLogEntry).where(ProviderLogEntry.provider == "click"))
        assert [entry.invoice_id for entry in logged] == [None]


def test_a_prepare_repeated_gets_its_first_id_and_each_check_comes_in_clicks_order(
    runtime, anon_client
):
    """A Prepare repeated (also "50000.00" for "50000") is the same transaction; a Complete
    without ``merchant_prepare_id`` is -8 and one with ``action=0`` -3; a failed Complete is
    -2 for another amount and -6 for no prepare of ours before it is -9; a first Prepare that
    reports a failure is -9 and holds nothing, so the invoice can still be paid by another
    transaction, while that one stays cancelled: a "successful" Prepare and Complete of it
    after are -9 too, never a payment Click said did not go through."""
    invoice_id = make_invoice(runtime, (PRICE,))
    first = answer_of(anon_client, click_fields(invoice_id, "50000"), 0)
    again = answer_of(anon_client, click_fields(invoice_id, "50000.00"), 0)
    assert again == first
    prepare_id = first["merchant_prepare_id"]
    response = anon_client.post(
        "/payments/click/complete", data=click_fields(invoice_id, "50000"), skip_csrf=True
    )
    assert (response.status_code, response.get_json()["error"]) == (200, -8)
    answer_of(anon_client, click_fields(invoice_id, "50000", prepare_id=prepare_id, action="0"), -3)
    for amount, prepare, error in (("40000", prepare_id, -2), ("50000", prepare_id + 1, -6)):
        failed = click_fields(invoice_id, amount, prepare_id=prepare, error="-5017")
        answer_of(anon_client, failed, error)
    other = make_invoice(runtime, (PRICE,))
    answer_of(anon_client, click_fields(other, "50000", trans_id="3003", error="-5017"), -9)
    answer_of(anon_client, click_fields(other, "50000", trans_id="3003"), -9)
    with runtime.db.session() as s:
        assert s.get(Invoice, other).held_by is None
        failed_id = s.scalar(
            select(ClickTransaction.id).where(ClickTransaction.click_trans_id == 3003)
        )
    answer_of(anon_client, click_fields(other, "50000", trans_id="3003", prepare_id=failed_id), -9)
    answer_of(anon_client, click_fields(other, "50000", trans_id="3004"), 0)
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).held_by == f"click:{first['click_trans_id']}"
        assert s.get(Invoice, other).paid_amount == 0
        kept = s.execute(
            select(
                ClickTransaction.click_trans_id,
                ClickTransaction.status,
                ClickTransaction.click_error,
            ).order_by(ClickTransaction.id)
        )
        assert list(kept) == [
            (1001, "prepared", None), (3003, "cancelled", -5017), (3004, "prepared", None)
        ]  # fmt: skip


def test_an_error_or_prepare_id_written_with_two_signs_is_minus_8_and_changes_nothing(
    runtime, anon_client
):
    invoice_id = make_invoice(runtime, (PRICE,))
    prepare_id = click_post(anon_client, click_fields(invoice_id, "50000"))["merchant_prepare_id"]
    for error in ("--5017", "-+5", "--0"):
        for step in (None, prepare_id):
            answer = click_post(
                anon_client, click_fields(invoice_id, "50000", prepare_id=step, error=error)
            )
            assert (answer["error"], answer["error_note"]) == (
                -8,
                "Error in request from click",
            ), (error, step, answer)
    answer = click_post(anon_client, click_fields(invoice_id, "50000", prepare_id="--1"))
    assert answer["error"] == -8, answer
    with runtime.db.session() as s:
        assert s.scalar(select(ClickTransaction.status)) == "prepared"
        assert s.get(Invoice, invoice_id).held_by == "click:1001"


def test_ids_up_to_bigint_are_read_and_answered_as_numbers(runtime, anon_client):
    # Click types click_trans_id and click_paydoc_id as bigint: up to 19 digits.
    invoice_id = make_invoice(runtime, (PRICE,))
    largest = str(2**63 - 1)
    paydoc = {"click_paydoc_id": largest}
    prepared = click_post(
        anon_client, click_fields(invoice_id, "50000", trans_id=largest, **paydoc)
    )
    assert prepared["error"] == 0, prepared
    assert prepared["click_trans_id"] == 2**63 - 1
    prepare_id = prepared["merchant_prepare_id"]
    fields = click_fields(invoice_id, "50000", trans_id=largest, prepare_id=prepare_id, **paydoc)
    done = click_post(anon_client, fields)
    assert (done["error"], done["click_trans_id"]) == (0, 2**63 - 1), done
    # One past it is no id of Click's (-8), and changes nothing.
    other = make_invoice(runtime, (PRICE,))
    beyond = click_post(
        anon_client, click_fields(other, "50000", trans_id=str(2**63), click_paydoc_id="5")
    )
    assert beyond["error"] == -8, beyond
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).status == "paid"
        assert s.get(Invoice, other).status == "open"


def test_a_request_by_another_method_than_post_is_answered_minus_8_in_the_protocol(
    runtime, anon_client
):
    invoice_id = make_invoice(runtime, (PRICE,))
    for path in ("/payments/click/prepare", "/payments/click/complete"):
        answer = anon_client.get(path, query_string=click_fields(invoice_id, "50000"))
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert answer.mimetype == "application/json"
        assert (answer.get_json()["error"], answer.get_json()["error_note"]) == (
            -8,
            "Error in request from click",
        )
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(ClickTransaction.id))) == 0


def test_a_signed_form_sent_by_another_method_than_post_holds_and_pays_nothing(
    runtime, anon_client
):
    """Werkzeug reads a form body whatever the method: a signed Prepare or Complete sent by
    PUT, PATCH, DELETE or a GET with a body was carried out as Click's POST is, and paid the
    invoice, against the protocol's -8 for another method."""
    invoice_id = make_invoice(runtime, (PRICE,))
    for method in ("PUT", "PATCH", "DELETE", "GET"):
        answer = anon_client.open(
            "/payments/click/prepare",
            method=method,
            data=click_fields(invoice_id, "50000"),
            skip_csrf=True,
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert answer.get_json()["error"] == -8, (method, answer.get_json())
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(ClickTransaction.id))) == 0
        assert s.get(Invoice, invoice_id).held_by is None
    prepared = click_post(anon_client, click_fields(invoice_id, "50000"))
    assert prepared["error"] == 0, prepared
    complete = click_fields(invoice_id, "50000", prepare_id=prepared["merchant_prepare_id"])
    for method in ("PUT", "PATCH", "DELETE", "GET"):
        answer = anon_client.open(
            "/payments/click/complete", method=method, data=complete, skip_csrf=True
        )
        assert answer.get_json()["error"] == -8, (method, answer.get_json())
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).status == "open"
        assert s.scalar(select(func.count(Payment.id))) == 0
    assert click_post(anon_client, complete)["error"] == 0  # Click's own POST still pays
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).status == "paid"
