"""The payments domain's refusals and edge cases, each at the service it belongs to: what
the desk, the providers and the pages rely on being refused, and the rarer paths (a free
invoice settled at once, a discount shown on the fiscal lines, a refund of one payment of
several)."""

from __future__ import annotations

import csv
import io
import ssl
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from clinic.base import utcnow
from clinic.db import insert_once
from clinic.errors import Conflict, NotFound, ValidationFailed
from clinic.payments import click, fiscal, invoices, links, payme, refunds, shifts, snapshots
from clinic.payments import webhooks as hooks
from clinic.payments.providers import record_exchange, search_log
from tests.payments import provider_support as support
from tests.payments.fixtures import TZ, make_invoice, make_patient, make_service

settings = support.settings

PRICE = 5_000_000
HOUR = timedelta(hours=1)


# -- invoices -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lines, field",
    [
        ([], "lines"),
        ([{"service_id": 1}] * 101, "lines"),
        (["not an object"], "lines.0"),
        ([{"service_id": 1, "quantity": "2"}], "lines.0.quantity"),
        ([{"service_id": 1, "quantity": True}], "lines.0.quantity"),
        ([{"service_id": 1, "quantity": 0}], "lines.0.quantity"),
    ],
)
def test_invoice_lines_that_are_not_lines_are_refused_naming_the_field(runtime, lines, field):
    with runtime.db.transaction() as s:
        patient_id = make_patient(s)
        with pytest.raises(ValidationFailed) as refused:
            invoices.create_invoice(s, patient_id=patient_id, lines=lines, actor="registrar")
    assert field in refused.value.errors


def test_a_free_invoice_is_settled_at_once_and_a_full_discount_settles_it_too(runtime):
    with runtime.db.transaction() as s:
        patient_id = make_patient(s)
        free = make_service(s, 0)
        paid = make_service(s, PRICE)
        invoice = invoices.create_invoice(
            s, patient_id=patient_id, lines=[{"service_id": free}], actor="registrar"
        )
        assert invoice.status == "paid"
        other = invoices.create_invoice(
            s, patient_id=patient_id, lines=[{"service_id": paid}], actor="registrar"
        )
        invoices.set_discount(s, other, amount=PRICE, reason="charity", actor="admin")
        assert other.status == "paid" and other.total == 0


def test_lines_freeze_once_held_and_a_closed_invoice_is_not_edited(runtime):
    invoice_id = make_invoice(runtime, (PRICE, PRICE))
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        invoices.set_discount(s, invoice, amount=PRICE + 1, reason="staff", actor="admin")
        service = make_service(s, PRICE)
        with pytest.raises(ValidationFailed):  # the discount is more than the new lines
            invoices.replace_lines(s, invoice, [{"service_id": service}], actor="registrar")
        invoices.hold(s, invoice, "payme:x")
        with pytest.raises(Conflict) as frozen:
            invoices.cancel_invoice(s, invoice, actor="registrar")
        assert frozen.value.code == "lines_frozen"
        with pytest.raises(Conflict) as other:
            invoices.release(s, invoice, "click:1")
        assert other.value.code == "held"
        invoices.release(s, invoice, "payme:x")
        assert invoices.release(s, invoice, "payme:x").held_by is None  # nothing to let go
        invoices.cancel_invoice(s, invoice, actor="registrar")
        with pytest.raises(Conflict) as closed:
            invoices.set_discount(s, invoice, amount=1, reason="late", actor="admin")
        assert closed.value.code == "not_open"
        with pytest.raises(Conflict) as taking:
            invoices.refuse_taking(invoice, None)
        assert taking.value.code == "not_open"


def test_invoice_ids_holders_and_payment_arguments_are_checked(runtime):
    invoice_id = make_invoice(runtime, (PRICE,))
    other_id = make_invoice(runtime, (PRICE,))
    with runtime.db.transaction() as s:
        with pytest.raises(NotFound):
            invoices.lock_invoice(s, "1")
        invoice = invoices.get_invoice(s, invoice_id)
        with pytest.raises(ValueError):
            invoices.hold(s, invoice, "")
        with pytest.raises(ValidationFailed):
            invoices.record_payment(s, invoice, method="", amount=PRICE, actor="cashier")
        with pytest.raises(ValueError):
            invoices.record_payment(
                s, invoice, method="acq", amount=PRICE, provider="acq", actor="cashier"
            )
        first = invoices.record_payment(
            s, invoice, method="acq", amount=PRICE, provider="acq", provider_ref="r1",
            actor="acq",
        )  # fmt: skip
        other = invoices.get_invoice(s, other_id)
        with pytest.raises(Conflict) as used:
            invoices.record_payment(
                s, other, method="acq", amount=PRICE, provider="acq", provider_ref="r1",
                actor="acq",
            )  # fmt: skip
        assert used.value.code == "ref_used" and first.invoice_id == invoice_id


def test_the_fiscal_detail_shares_a_discount_over_the_lines(runtime):
    invoice_id = make_invoice(runtime, (PRICE, 3 * PRICE))
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        invoices.set_discount(s, invoice, amount=1_000_000, reason="staff", actor="admin")
        items = fiscal.receipt_detail(invoice)["items"]
    assert [i.get("discount") for i in items] == [250_000, 750_000]


# -- refunds --------------------------------------------------------------------------------


def test_refunds_come_from_a_payment_that_covers_them_and_only_of_what_was_paid(runtime):
    invoice_id = make_invoice(runtime, (2 * PRICE,))
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        for ref in ("a", "b"):
            invoices.record_payment(
                s, invoice, method="acq", amount=PRICE, provider="acq", provider_ref=ref,
                actor="acq",
            )  # fmt: skip
            if ref == "a":  # half paid: no more than that half is given back
                with pytest.raises(ValidationFailed):
                    refunds.refund(s, invoices.find_payment(s, "acq", "a"), amount=PRICE + 1,
                                   reason="x", actor="c", may_refund_large=True)  # fmt: skip
        with pytest.raises(ValidationFailed):  # no single payment gives back both
            refunds.refund(s, invoice, amount=2 * PRICE, reason="x", actor="c",
                           may_refund_large=True)  # fmt: skip
        payment = invoices.find_payment(s, "acq", "b")
        with pytest.raises(ValidationFailed):
            refunds.refund(s, payment, amount=PRICE + 1, reason="x", actor="c",
                           may_refund_large=True)  # fmt: skip
        done = refunds.refund(s, payment, amount=PRICE, reason="x", actor="c",
                              may_refund_large=True, provider_ref="rf-1")  # fmt: skip
        again = refunds.refund(s, payment, amount=PRICE, reason="x", actor="c",
                               may_refund_large=True, provider_ref="rf-1")  # fmt: skip
        assert again.id == done.id


# -- links, shifts, snapshots, the provider log ---------------------------------------------


def test_checkout_links_need_something_due_and_a_configured_provider(runtime):
    invoice_id = make_invoice(runtime, (PRICE,))
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        only_click = replace(runtime.settings, payment_providers=("click",))
        assert set(links.checkout_links(invoice, only_click, with_qr=False)["links"]) == {"click"}
        only_payme = replace(runtime.settings, click_service_id="")
        assert set(links.checkout_links(invoice, only_payme)["links"]) == {"payme"}
        with pytest.raises(Conflict) as none:
            links.checkout_links(invoice, replace(runtime.settings, payment_providers=()))
        assert none.value.code == "no_provider"


def test_unknown_shifts_other_channels_and_the_log_by_provider(runtime):
    with runtime.db.transaction() as s:
        with pytest.raises(NotFound):
            shifts.get_shift(s, 999_999)
        assert snapshots._desk_snapshot(s, "payments:other", TZ) is None
        record_exchange(s, provider="click", method="prepare", request="a", response="b",
                        http_status=200, provider_ref="x\x00y")  # fmt: skip
        record_exchange(s, provider="payme", method="", request="a", response="b",
                        http_status=200)  # fmt: skip
        rows, total = search_log(s, provider="click")
    assert total == 1 and rows[0].provider_ref == "x\ufffdy"


# -- Payme parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, params, data",
    [
        ("CheckPerformTransaction", {"amount": 2**62 + 1, "account": {}}, "amount"),
        ("GetStatement", {"from": -(2**63) - 1, "to": 1}, "from"),
        ("GetStatement", {"from": 0, "to": -(2**70)}, "to"),
        ("CheckPerformTransaction", {"amount": 1, "account": []}, "account"),
        ("CancelTransaction", {"id": "t", "reason": "1"}, "reason"),
        ("CancelTransaction", {"id": "t", "reason": True}, "reason"),
        ("CheckTransaction", {"id": "x" * 65}, "id"),
    ],
)
def test_payme_mistyped_parameters_are_32600_naming_the_field(runtime, method, params, data):
    with runtime.db.transaction() as s:
        with pytest.raises(payme.PaymeError) as refused:
            payme.call(s, method, params, 1)
    assert (refused.value.code, refused.value.data) == (-32600, data)


def test_payme_reads_an_invoice_id_given_as_a_number(runtime):
    invoice_id = make_invoice(runtime, (PRICE,))
    with runtime.db.transaction() as s:
        params = {"amount": PRICE, "account": {"invoice_id": invoice_id}}
        assert payme.call(s, "CheckPerformTransaction", params, 1)["allow"] is True
        assert payme.invoice_id_of({"invoice_id": True}) is None
        assert payme.subject_of("not params") == (None, None)


def test_a_perform_the_money_rules_refuse_keeps_nothing(runtime, monkeypatch):
    invoice_id = make_invoice(runtime, (PRICE,))
    params = {"id": "p", "time": 1_000, "amount": PRICE, "account": {"invoice_id": str(invoice_id)}}
    with runtime.db.transaction() as s:
        payme.call(s, "CreateTransaction", params, 1_000)

    def refuse(*args, **kwargs):
        raise Conflict("the invoice changed while paying; try again", code="changed")

    monkeypatch.setattr(invoices, "record_payment", refuse)
    with runtime.db.transaction() as s:
        with pytest.raises(payme.PaymeError) as refused:
            payme.call(s, "PerformTransaction", {"id": "p"}, 2_000)
    assert refused.value.code == -31008 and refused.value.discard is True


def test_a_payme_refund_that_lost_a_race_is_31008_and_may_be_asked_again(runtime, monkeypatch):
    invoice_id = make_invoice(runtime, (PRICE,))
    params = {"id": "r", "time": 1_000, "amount": PRICE, "account": {"invoice_id": str(invoice_id)}}
    with runtime.db.transaction() as s:
        payme.call(s, "CreateTransaction", params, 1_000)
        payme.call(s, "PerformTransaction", {"id": "r"}, 1_000)

    def refuse(*args, **kwargs):
        raise Conflict("the invoice changed while refunding; try again", code="changed")

    monkeypatch.setattr(refunds, "refund", refuse)
    with runtime.db.transaction() as s:
        with pytest.raises(payme.PaymeError) as refused:
            payme.call(s, "CancelTransaction", {"id": "r", "reason": 5}, 2_000)
        assert refused.value.code == -31008
        assert payme.call(s, "CheckTransaction", {"id": "r"}, 2_000)["state"] == 2


# -- Click ----------------------------------------------------------------------------------


CONFIG = click.ClickConfig(service_id=support.CLICK_SERVICE_ID, secret_key=support.CLICK_SECRET_KEY)


def test_click_refuses_without_a_secret_another_service_and_a_prepare_id_not_a_number(runtime):
    invoice_id = make_invoice(runtime, (PRICE,))
    fields = support.click_fields(invoice_id, "50000")
    with runtime.db.transaction() as s:
        assert click.prepare(s, fields, replace(CONFIG, secret_key=""))["error"] == -1
        assert click.prepare(s, fields, replace(CONFIG, service_id="1"))["error"] == -8
        bad = support.click_fields(invoice_id, "50000", prepare_id="x1")
        assert click.complete(s, bad, CONFIG)["error"] == -8
        failed = support.click_fields(invoice_id, "50000", trans_id="77", error="-1")
        assert click.prepare(s, failed, CONFIG)["error"] == -9
        assert click.subject_of({"merchant_trans_id": "abc"}) == (None, None)


def test_a_click_complete_the_money_rules_refuse_is_7(runtime, monkeypatch):
    invoice_id = make_invoice(runtime, (PRICE,))
    with runtime.db.transaction() as s:
        prepared = click.prepare(s, support.click_fields(invoice_id, "50000"), CONFIG)

    def refuse(*args, **kwargs):
        raise Conflict("the invoice changed while paying; try again", code="changed")

    monkeypatch.setattr(invoices, "record_payment", refuse)
    fields = support.click_fields(invoice_id, "50000",
                                  prepare_id=prepared["merchant_prepare_id"])  # fmt: skip
    with runtime.db.transaction() as s:
        assert click.complete(s, fields, CONFIG)["error"] == -7


# -- webhook bodies and headers -------------------------------------------------------------


@pytest.mark.parametrize(
    "body, field",
    [
        (b"[]", "body"),
        (b'{"type": 5}', "type"),
        (b'{"type": " payment.Succeeded"}', "type"),
        (b'{"type": "payment.succeeded", "data": []}', "data"),
        (b'{"type": "payment.succeeded", "data": {"invoice_id": true}}', "data.invoice_id"),
        (b'{"type": "payment.succeeded", "data": {"invoice_id": 7, "amount": 0}}', "data.amount"),
        (b'{"type": "payment.refunded", "data": {"invoice_id": "7", "amount": 5, '
         b'"reference": "a"}}', "data.refund_reference"),  # fmt: skip
    ],
)
def test_a_webhook_body_that_is_not_a_payment_event_is_422_naming_the_field(body, field):
    with pytest.raises(hooks.Rejected) as refused:
        hooks.parse_body(body)
    assert refused.value.field == field and refused.value.status in (400, 422)


def test_webhook_headers_that_are_not_ascii_or_too_long_are_400():
    good = {"webhook-id": "m", "webhook-timestamp": "1", "webhook-signature": "v1,x"}
    for change in ({"webhook-id": "é"}, {"webhook-signature": "v1," + "x" * 5000}):
        with pytest.raises(hooks.Rejected) as refused:
            hooks.verify(support.WEBHOOK_SECRET, b"{}", {**good, **change})
        assert refused.value.status == 400


def test_a_refund_event_for_a_payment_not_made_here_waits_and_is_applied_once(runtime):
    invoice_id = make_invoice(runtime, (PRICE,))
    body = (
        '{"type": "payment.refunded", "data": {"invoice_id": "%d", "amount": 5, '
        '"reference": "never", "refund_reference": "rf"}}' % invoice_id
    ).encode()
    with runtime.db.transaction() as s:
        event = hooks.store(s, "acq", "msg-r", body)
        # Its payment may yet come (a sender's events overtake each other): it waits for it.
        assert hooks.apply_event(s, event.id) == "waiting"
        assert hooks.apply_event(s, event.id) == "waiting"  # not tried again by itself
        assert hooks.apply_event(s, 999_999) == "missing"


# -- reconciliation, case by case -----------------------------------------------------------


def _kinds(rows) -> list[str]:
    return [row["kind"] for row in rows]


def test_reconciliation_names_each_kind_of_disagreement_source_by_source(runtime):
    from clinic.models import ClickTransaction, PaymeTransaction, WebhookEvent
    from clinic.payments import reconcile

    paid_id, refunded_id, open_id = (make_invoice(runtime, (PRICE,)) for _ in range(3))
    with runtime.db.transaction() as s:
        paid = invoices.get_invoice(s, paid_id)
        ours = invoices.record_payment(
            s, paid, method="payme", amount=PRICE, provider="payme", provider_ref="pm-1",
            actor="payme",
        )  # fmt: skip
        refunded = invoices.get_invoice(s, refunded_id)
        theirs = invoices.record_payment(
            s, refunded, method="acq", amount=PRICE, provider="acq", provider_ref="acq-1",
            actor="acq",
        )  # fmt: skip
        refunds.refund(s, theirs, amount=100, reason="x", actor="acq", may_refund_large=True,
                       provider_ref="rf-1")  # fmt: skip
        clicked = invoices.record_payment(
            s, invoices.get_invoice(s, open_id), method="click", amount=1, provider="click",
            provider_ref="not-a-number", actor="click",
        )  # fmt: skip
        created = PaymeTransaction(payme_id="pm-1", invoice_id=paid_id, amount=PRICE,
                                   account={}, payme_time=1, create_time=1, state=1)  # fmt: skip
        click_done = ClickTransaction(click_trans_id=9, click_paydoc_id=9, invoice_id=open_id,
                                      amount=PRICE, status="completed")  # fmt: skip

        def event(body: str, reference, status="applied") -> WebhookEvent:
            return WebhookEvent(provider="acq", webhook_id=body[:20], body=body,
                                type="payment.refunded", invoice_id=refunded_id, amount=200,
                                reference=reference, status=status, outcome="why")  # fmt: skip

        refund_event = event('{"type": "payment.refunded", "data": {"invoice_id": "%d", '
                             '"amount": 200, "reference": "acq-1", "refund_reference": '
                             '"rf-1"}}' % refunded_id, "acq-1")  # fmt: skip
        unreadable = event("not json at all", "acq-1", status="rejected")
        nameless = event("{}", None, status="rejected")
        s.add_all([created, click_done, refund_event, unreadable, nameless])
        s.flush()

        assert _kinds(reconcile._payme(s, created)) == []  # still in progress: nothing to say
        assert _kinds(reconcile._click(s, click_done)) == ["paid_at_provider_not_here"]
        assert _kinds(reconcile._webhook(s, refund_event)) == ["amount_differs"]
        # Rejected: one line, with the reason.
        assert _kinds(reconcile._webhook(s, unreadable)) == ["webhook_rejected"]
        assert _kinds(reconcile._webhook(s, nameless)) == []
        assert _kinds(reconcile._ours(s, ours)) == ["paid_here_not_at_provider"]
        assert _kinds(reconcile._ours(s, clicked)) == ["paid_here_not_at_provider"]
        assert _kinds(reconcile._ours(s, theirs)) == []
        assert reconcile._cell("=SUM(A1)") == "'=SUM(A1)" and reconcile._cell(None) == ""


def test_the_reconciliation_csv_quotes_a_reference_hiding_a_formula_behind_a_tab_or_a_return():
    from clinic.payments import reconcile

    refs = ['\t=HYPERLINK("http://x")', "\r@SUM(A1)", "-1+1", "acq-8842"]
    rows = [
        reconcile._row("webhook_rejected", "acq", r, 1, 100, None, "rejected", "") for r in refs
    ]
    read = csv.DictReader(io.StringIO(reconcile.to_csv(rows).decode(), newline=""))
    assert [row["provider_ref"] for row in read] == [
        '\'\t=HYPERLINK("http://x")',
        "'\r@SUM(A1)",
        "'-1+1",
        "acq-8842",
    ]


# -- the desk, e-mail receipts --------------------------------------------------------------


def test_a_desk_refund_names_a_payment_of_that_invoice_only(runtime):
    from clinic.payments import desk

    invoice_id, other_id = make_invoice(runtime, (PRICE,)), make_invoice(runtime, (PRICE,))
    with runtime.db.transaction() as s:
        paid = invoices.record_payment(
            s, invoices.get_invoice(s, other_id), method="card", amount=PRICE, actor="c"
        )
        for payment_id in (paid.id, "1", 999_999):
            with pytest.raises(ValidationFailed) as refused:
                desk.refund_at_desk(
                    s, invoice_id, cashier_id=1, actor="c", amount=1, reason="x",
                    may_refund_large=True, large_from=0, payment_id=payment_id,
                )  # fmt: skip
            assert "payment_id" in refused.value.errors


def test_no_smtp_server_means_no_e_mail_and_the_smtp_conversation_follows_the_settings(
    runtime, monkeypatch
):
    from clinic.payments import effects, receipts

    invoice_id = make_invoice(runtime, (PRICE, PRICE), email="patient@example.uz")
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        invoices.set_discount(s, invoice, amount=100, reason="staff", actor="admin")
        invoices.record_payment(s, invoice, method="card", amount=2 * PRICE - 100, actor="c")
    sent = []
    no_smtp = replace(runtime.settings, smtp_host="")
    done = effects.apply_paid(
        runtime.db.session, invoice_id, settings=no_smtp, send_mail=lambda *a: sent.append(a)
    )
    assert "email" in done and sent == []  # claimed, and nothing to send it through
    with runtime.db.session() as s:
        message = receipts.receipt_message(s, invoices.get_invoice(s, invoice_id), "p@x", "c@x")
    assert "Скидка / Chegirma: -1 сум" in message.get_content()

    talk = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            talk.append(("connect", host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self, context=None):
            # The server's certificate is checked, for its host name.
            assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
            talk.append(("starttls",))

        def login(self, user, password):
            talk.append(("login", user))

        def send_message(self, message):
            talk.append(("send", message["To"]))

        def quit(self):
            talk.append(("quit",))

        def close(self):
            pass

    monkeypatch.setattr(receipts.mail.smtplib, "SMTP", FakeSMTP)
    secure = replace(runtime.settings, smtp_host="mail.example.uz", smtp_starttls=True,
                     smtp_user="clinic", smtp_password="pw")  # fmt: skip
    receipts.send_mail(secure, message)
    assert [step[0] for step in talk] == ["connect", "starttls", "login", "send", "quit"]


def test_the_e_mailed_receipt_says_when_and_how_it_was_paid_and_that_it_is_not_fiscal(runtime):
    from clinic.payments import effects
    from clinic.reference import directory

    invoice_id = make_invoice(runtime, (PRICE,), email="patient@example.uz")
    paid_at = datetime(2026, 3, 1, 19, 30, tzinfo=timezone.utc)  # 00:30 on 2 March in Tashkent
    with runtime.db.transaction() as s:
        directory.update_clinic_profile(
            s, {"legal_name": "OOO Shifo", "address": "Toshkent, Navoiy 1",
                "taxpayer_number": "301234567"},
        )  # fmt: skip
        invoice = invoices.get_invoice(s, invoice_id)
        cash = invoices.record_payment(
            s, invoice, method="cash", amount=2_000_000, actor="c", now=paid_at - HOUR
        )
        refunds.refund(s, cash, amount=500_000, reason="the patient left", actor="c",
                       may_refund_large=True, now=paid_at - HOUR / 2)  # fmt: skip
        invoices.record_payment(s, invoice, method="card", amount=3_500_000, actor="c", now=paid_at)
    sent = []
    effects.apply_paid(
        runtime.db.session,
        invoice_id,
        settings=replace(runtime.settings, smtp_host="mail.example.uz"),
        send_mail=lambda _settings, message: sent.append(message),
    )
    assert sent[0]["Date"].endswith("+0500")  # dated, in clinic time
    assert (
        sent[0]["Message-ID"]
        == f"<receipt-{invoice_id}@{runtime.settings.smtp_from.rpartition('@')[2]}>"
    )
    body = sent[0].get_content().splitlines()
    assert body[:5] == [
        "OOO Shifo",
        "Toshkent, Navoiy 1",
        "ИНН / STIR: 301234567",
        f"Чек / Chek № {invoice.number}",
        "Дата / Sana: 02.03.2026 00:30",
    ]
    assert body[-5:] == [
        "Наличные / Naqd: 20 000 сум",
        "Карта / Karta: 35 000 сум",
        "Возвращено / Qaytarildi: -5 000 сум",
        "Оплачено / To'langan: 50 000 сум",
        "НЕФИСКАЛЬНЫЙ ДОКУМЕНТ / FISKAL HUJJAT EMAS",
    ]


def test_the_e_mailed_receipt_shows_each_lines_vat_after_its_share_of_the_discount(runtime):
    from clinic.payments import effects

    with runtime.db.transaction() as s:
        patient_id = make_patient(s, "patient@example.uz")
        taxed = make_service(s, 56_000_00, vat_percent=12)
        untaxed = make_service(s, 70_000_00)
        invoice = invoices.create_invoice(
            s,
            patient_id=patient_id,
            lines=[{"service_id": taxed, "quantity": 2}, {"service_id": untaxed}],
            actor="registrar",
        )
        # 10% off 182 000: 11 200 of it on the taxed line, whose 100 800 holds 10 800 VAT.
        invoices.set_discount(s, invoice, amount=18_200_00, reason="льгота", actor="manager")
        invoices.record_payment(s, invoice, method="card", amount=163_800_00, actor="c")
    sent = []
    effects.apply_paid(
        runtime.db.session,
        invoice.id,
        settings=replace(runtime.settings, smtp_host="mail.example.uz"),
        send_mail=lambda _settings, message: sent.append(message),
    )
    body = sent[0].get_content().split("\n\n")[1].splitlines()
    assert body[:5] == [
        f"Услуга {_code(runtime, taxed)} x2: 112 000 сум",
        "  НДС / QQS 12%: 10 800 сум",
        f"Услуга {_code(runtime, untaxed)} x1: 70 000 сум",  # no VAT, no VAT line
        "Скидка / Chegirma: -18 200 сум",
        "Итого / Jami: 163 800 сум",
    ]


def _code(runtime, service_id: int) -> str:
    from clinic.models import Service

    with runtime.db.session() as s:
        return s.get(Service, service_id).code


# -- tickets, and what only a race would otherwise reach ------------------------------------


def test_an_invoice_is_for_its_tickets_patient_and_a_second_paid_invoice_leaves_it_paid(
    runtime,
):
    from clinic.queue.models import Ticket
    from tests.payments.fixtures import issue_ticket, make_queue

    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
        patient_id, stranger_id = make_patient(s), make_patient(s)
        ticket_id = issue_ticket(s, queue_id, patient_id).id
        service = make_service(s, PRICE)
        with pytest.raises(ValidationFailed):
            invoices.create_invoice(s, patient_id=stranger_id, ticket_id=ticket_id,
                                    lines=[{"service_id": service}], actor="r")  # fmt: skip
    first, second = (
        make_invoice(runtime, (PRICE,), ticket_id=ticket_id, patient_id=patient_id)
        for _ in range(2)
    )
    with runtime.db.transaction() as s:
        for invoice_id in (first, second):
            invoice = invoices.get_invoice(s, invoice_id)
            invoices.record_payment(s, invoice, method="card", amount=PRICE, actor="c")
        paid_at = s.get(Ticket, ticket_id).paid_at
    with runtime.db.session() as s:
        assert s.get(Ticket, ticket_id).paid_at == paid_at is not None


def test_an_insert_meeting_the_unique_key_answers_with_the_row_that_stands(runtime):
    from sqlalchemy.exc import IntegrityError

    from clinic.models import Payment

    invoice_id = make_invoice(runtime, (PRICE,))
    with runtime.db.transaction() as s:
        first = invoices.record_payment(
            s, invoices.get_invoice(s, invoice_id), method="acq", amount=1, provider="acq",
            provider_ref="same", actor="acq",
        )  # fmt: skip

        def twin() -> Payment:
            return Payment(invoice_id=invoice_id, method="acq", amount=1, refunded_amount=0,
                           provider="acq", provider_ref="same", actor="acq")  # fmt: skip

        found = insert_once(s, twin(), lambda: invoices.find_payment(s, "acq", "same"))
        assert found.id == first.id
        with pytest.raises(IntegrityError):
            insert_once(s, twin(), lambda: None)


def test_a_refund_recorded_at_the_same_instant_is_answered_with_the_first(runtime, monkeypatch):
    invoice_id = make_invoice(runtime, (PRICE,))
    with runtime.db.transaction() as s:
        payment = invoices.record_payment(
            s, invoices.get_invoice(s, invoice_id), method="acq", amount=PRICE,
            provider="acq", provider_ref="p", actor="acq",
        )  # fmt: skip
        first = refunds.refund(s, payment, amount=1, reason="x", actor="acq",
                               may_refund_large=True, provider_ref="same")  # fmt: skip
    real = refunds._provider_refund
    calls = []

    def missed_once(session, payment, ref):  # the other request had not committed yet
        calls.append(ref)
        return None if len(calls) == 1 else real(session, payment, ref)

    monkeypatch.setattr(refunds, "_provider_refund", missed_once)
    with runtime.db.transaction() as s:
        again = refunds.refund(s, invoices.find_payment(s, "acq", "p"), amount=1, reason="x",
                               actor="acq", may_refund_large=True, provider_ref="same")  # fmt: skip
    assert again.id == first.id and len(calls) == 2


def test_cancelling_a_transaction_whose_hold_is_gone_leaves_the_invoice_alone(runtime):
    invoice_id = make_invoice(runtime, (PRICE,))
    params = {"id": "h", "time": 1_000, "amount": PRICE, "account": {"invoice_id": str(invoice_id)}}
    with runtime.db.transaction() as s:
        payme.call(s, "CreateTransaction", params, 1_000)
        invoices.release(s, invoices.get_invoice(s, invoice_id), "payme:h")
        invoices.hold(s, invoices.get_invoice(s, invoice_id), "desk:someone")
        assert payme.call(s, "CancelTransaction", {"id": "h", "reason": 3}, 2_000)["state"] == -1
        assert invoices.get_invoice(s, invoice_id).held_by == "desk:someone"
        invoices.release(s, invoices.get_invoice(s, invoice_id), "desk:someone")
        click_prepared = click.prepare(s, support.click_fields(invoice_id, "50000"), CONFIG)
        invoices.release(s, invoices.get_invoice(s, invoice_id), "click:1001")
        invoices.hold(s, invoices.get_invoice(s, invoice_id), "desk:someone")
        failed = support.click_fields(
            invoice_id, "50000", prepare_id=click_prepared["merchant_prepare_id"], error="-5017"
        )
        assert click.complete(s, failed, CONFIG)["error"] == -9
        assert invoices.get_invoice(s, invoice_id).held_by == "desk:someone"


def test_reconciliation_stays_quiet_where_both_sides_agree_and_pages_through_batches(
    runtime, monkeypatch
):
    from clinic import jobs
    from clinic.models import ClickTransaction, WebhookEvent
    from clinic.payments import reconcile

    invoice_id = make_invoice(runtime, (PRICE,))
    with runtime.db.transaction() as s:
        payment = invoices.record_payment(
            s, invoices.get_invoice(s, invoice_id), method="acq", amount=PRICE,
            provider="acq", provider_ref="acq-9", actor="acq",
        )  # fmt: skip
        refunds.refund(s, payment, amount=100, reason="x", actor="acq", may_refund_large=True,
                       provider_ref="rf-9")  # fmt: skip
        body = ('{"type": "payment.refunded", "data": {"invoice_id": "%d", "amount": 100, '
                '"reference": "%s", "refund_reference": "rf-9"}}')  # fmt: skip

        def event(ref: str, kind: str = "payment.refunded", status: str = "applied"):
            return WebhookEvent(provider="acq", webhook_id="m-" + ref + kind, type=kind,
                                body=body % (invoice_id, ref), invoice_id=invoice_id,
                                amount=100, reference=ref, status=status,
                                outcome="why")  # fmt: skip

        agreed, unknown = event("acq-9"), event("nobody")
        other = event("acq-9", kind="", status="rejected")
        prepared = ClickTransaction(click_trans_id=5, click_paydoc_id=5, invoice_id=invoice_id,
                                    amount=PRICE, status="prepared")  # fmt: skip
        s.add_all([agreed, unknown, other, prepared])
        s.flush()
        assert _kinds(reconcile._webhook(s, agreed)) == []
        assert _kinds(reconcile._webhook(s, unknown)) == ["refund_not_applied"]
        assert _kinds(reconcile._webhook(s, other)) == ["webhook_rejected"]
        assert _kinds(reconcile._click(s, prepared)) == []
        assert hooks.pending_events(s, older_than=utcnow()) == []
        job_id = reconcile.start(s, created_by="admin").id
        other_job = jobs.create_job(s, kind="import", task_name="x", queue="default").id
    monkeypatch.setattr(reconcile, "BATCH", 1)
    result = reconcile.reconcile(runtime.db.session, job_id)
    assert result["by_kind"] == {"refund_not_applied": 1, "webhook_rejected": 1}
    with runtime.db.session() as s:
        assert reconcile.report_of(s, other_job) is None
        assert b"refund_not_applied" in reconcile.report_of(s, job_id)


def test_a_desk_refund_of_a_named_card_payment_needs_no_shift(runtime):
    from clinic.payments import desk

    invoice_id = make_invoice(runtime, (PRICE,))
    with runtime.db.transaction() as s:
        paid = invoices.record_payment(
            s, invoices.get_invoice(s, invoice_id), method="card", amount=PRICE, actor="c"
        )
        done = desk.refund_at_desk(
            s, invoice_id, cashier_id=1, actor="c", amount=PRICE, reason="x",
            may_refund_large=True, large_from=0, payment_id=paid.id,
        )  # fmt: skip
    assert done.payment_id == paid.id and done.amount == PRICE
