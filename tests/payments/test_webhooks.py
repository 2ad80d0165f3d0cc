"""Standard Webhooks: verified with the standardwebhooks package, stored once per id, applied
by a real worker; tampered, stale, early, missing and garbage headers are a 4xx, never 500."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from clinic.base import utcnow
from clinic.models import Invoice, Payment, Refund, WebhookEvent
from clinic.payments import invoices
from clinic.settings import ConfigError, Settings
from tests.payments import provider_support as support
from tests.payments.fixtures import make_invoice
from tests.payments.provider_support import OTHER_SECRET, WEBHOOK_SECRET, webhook_headers
from tests.races import wait_for

# The provider settings (keys and secrets).
settings = support.settings

PRICE = 7_500_000
URL = "/payments/webhooks/acq"


def event_body(invoice_id, kind="payment.succeeded", amount=PRICE, **extra) -> str:
    data = {"invoice_id": str(invoice_id), "amount": amount, "reference": "acq-8842", **extra}
    return json.dumps({"type": kind, "data": data})


def post(client, body: str, headers: dict, url: str = URL):
    return client.post(url, data=body.encode(), headers=headers, skip_csrf=True)


def test_the_official_test_vector():
    stamp = datetime.fromtimestamp(1614265330, tz=timezone.utc)
    signed = Webhook(WEBHOOK_SECRET).sign(
        "msg_p5jXN8AQM9LWM0D4loKWxJek", stamp, '{"test": 2432232314}'
    )
    assert signed == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_payment_event_is_stored_once_and_applied_once_by_the_worker(
    runtime, anon_client, worker
):
    invoice_id = make_invoice(runtime, (PRICE,))
    body = event_body(invoice_id)
    first = post(anon_client, body, webhook_headers(body, "msg_1"))
    assert first.status_code == 200 and first.get_json() == {"received": True, "repeated": False}
    # The sender retries: the same id, a new timestamp and signature.
    again = post(anon_client, body, webhook_headers(body, "msg_1", at=time.time() + 2))
    assert again.status_code == 200 and again.get_json()["repeated"] is True

    def paid():
        with runtime.db.session() as s:
            return s.get(Invoice, invoice_id).status == "paid"

    wait_for(paid)
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(WebhookEvent.id))) == 1
        event = s.scalar(select(WebhookEvent))
        assert event.status == "applied" and event.body == body
        payment = s.scalar(select(Payment))
        assert (payment.method, payment.provider, payment.provider_ref, payment.amount) == (
            "acq",
            "acq",
            "acq-8842",
            PRICE,
        )

    refund = event_body(invoice_id, "payment.refunded", refund_reference="acq-r-1")
    assert post(anon_client, refund, webhook_headers(refund, "msg_2")).status_code == 200

    def refunded():
        with runtime.db.session() as s:
            return s.get(Invoice, invoice_id).status == "refunded"

    wait_for(refunded)
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Refund.id))) == 1


def test_applying_an_event_twice_changes_nothing_the_second_time(runtime, anon_client):
    from tasks.payments_providers import apply_webhook_event

    invoice_id = make_invoice(runtime, (PRICE,))
    body = event_body(invoice_id)
    assert post(anon_client, body, webhook_headers(body, "msg_twice")).status_code == 200
    with runtime.db.session() as s:
        event_id = s.scalar(select(WebhookEvent.id))
    assert apply_webhook_event.run(event_id=event_id) == "applied"
    assert apply_webhook_event.run(event_id=event_id) == "applied"
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Payment.id))) == 1


def test_a_payment_of_another_amount_than_is_due_is_rejected_not_credited_in_part(
    runtime, anon_client
):
    from tasks.payments_providers import apply_webhook_event

    invoice_id = make_invoice(runtime, (PRICE,))
    short = event_body(invoice_id, amount=PRICE - 100, reference="acq-short")
    assert post(anon_client, short, webhook_headers(short, "msg_short")).status_code == 200
    with runtime.db.session() as s:
        event_id = s.scalar(select(WebhookEvent.id).where(WebhookEvent.webhook_id == "msg_short"))
    assert apply_webhook_event.run(event_id=event_id) == "rejected"
    with runtime.db.session() as s:
        event = s.get(WebhookEvent, event_id)
        assert f"{PRICE - 100}" in event.outcome and f"{PRICE} tiyin due" in event.outcome
        assert s.scalar(select(func.count(Payment.id))) == 0
        assert s.get(Invoice, invoice_id).status == "open"

    # The whole amount is credited; the same payment sent again under a new id is no second
    # payment, and the same reference for another amount is refused.
    whole = event_body(invoice_id)
    for msg_id in ("msg_whole", "msg_whole_again"):
        assert post(anon_client, whole, webhook_headers(whole, msg_id)).status_code == 200
    changed = event_body(invoice_id, amount=PRICE - 1)
    assert post(anon_client, changed, webhook_headers(changed, "msg_changed")).status_code == 200
    with runtime.db.session() as s:
        ids = dict(s.execute(select(WebhookEvent.webhook_id, WebhookEvent.id)).all())
    outcomes = {msg_id: apply_webhook_event.run(event_id=ids[msg_id])
                for msg_id in ("msg_whole", "msg_whole_again", "msg_changed")}  # fmt: skip
    assert outcomes == {
        "msg_whole": "applied",
        "msg_whole_again": "applied",
        "msg_changed": "rejected",
    }
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Payment.id))) == 1
        assert s.get(Invoice, invoice_id).status == "paid"


@pytest.fixture
def frozen_clock(monkeypatch):
    """The verifier's clock (the standardwebhooks package's ``datetime.now``), stopped at a
    whole second, so 301 s is 301 s however slow the machine is."""
    import standardwebhooks.webhooks as verifier

    instant = float(int(time.time()))

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.fromtimestamp(instant, tz=tz)

    monkeypatch.setattr(verifier, "datetime", Frozen)
    return instant


def test_a_tampered_body_stale_or_early_timestamps_and_wrong_secrets_are_401(
    runtime, anon_client, frozen_clock
):
    invoice_id = make_invoice(runtime, (PRICE,))
    body = event_body(invoice_id)
    tampered = event_body(invoice_id, amount=1)
    now = frozen_clock
    cases = [
        (tampered, webhook_headers(body, "m1", at=now)),
        (body, webhook_headers(body, "m2", at=now - 301)),
        (body, webhook_headers(body, "m3", at=now + 301)),
        (body, webhook_headers(body, "m4", at=now, secret=OTHER_SECRET)),
    ]
    for sent, headers in cases:
        assert post(anon_client, sent, headers).status_code == 401, headers
    # Five minutes either way is still accepted.
    for msg_id, at in (("m6", now - 300), ("m7", now + 300)):
        assert post(anon_client, body, webhook_headers(body, msg_id, at=at)).status_code == 200
    # The other sender's secret is right for the other sender's door.
    other = webhook_headers(body, "m5", at=now, secret=OTHER_SECRET)
    assert post(anon_client, body, other, "/payments/webhooks/other").status_code == 200
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(WebhookEvent.id))) == 3


def test_a_stale_or_early_timestamp_is_refused_naming_the_timestamp_not_the_signature(
    runtime, anon_client, frozen_clock
):
    body = event_body(make_invoice(runtime, (PRICE,)))
    now = frozen_clock
    for msg_id, at in (("late", now - 301), ("early", now + 301)):
        refused = post(anon_client, body, webhook_headers(body, msg_id, at=at))
        assert refused.status_code == 401
        assert list(refused.get_json()["errors"]) == ["webhook-timestamp"], at
    forged = webhook_headers(body, "forged", at=now, secret=OTHER_SECRET)
    assert list(post(anon_client, body, forged).get_json()["errors"]) == ["webhook-signature"]


def test_several_signatures_of_which_one_is_valid_are_accepted(anon_client, runtime):
    invoice_id = make_invoice(runtime, (PRICE,))
    body = event_body(invoice_id)
    headers = webhook_headers(body, "multi")
    valid = headers["webhook-signature"]
    headers["webhook-signature"] = f"v1,{'A' * 44} v2,{valid[3:]} {valid} v1,bm90IGl0"
    assert post(anon_client, body, headers).status_code == 200


def test_a_matching_v1_signature_is_accepted_beside_entries_that_are_not_base64(
    anon_client, runtime
):
    invoice_id = make_invoice(runtime, (PRICE,))
    body = event_body(invoice_id)
    headers = webhook_headers(body, "beside")
    valid = headers["webhook-signature"]
    for n, signature in enumerate(
        (
            f"v1,abc {valid}",
            f"v1,!!!not-base64!!! v1,{'A' * 44}  {valid}",
            f"v1,AAAA\t{valid} ",
            f"v1a,x,y {valid} garbage",  # entries of no "version,signature" shape beside it
        )
    ):
        response = post(anon_client, body, {**headers, "webhook-signature": signature})
        assert response.status_code == 200, signature
        assert response.get_json()["repeated"] is (n > 0)
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(WebhookEvent.id))) == 1


def test_a_timestamp_that_is_not_whole_seconds_as_signed_is_400(runtime, anon_client):
    invoice_id = make_invoice(runtime, (PRICE,))
    body = event_body(invoice_id)
    headers = webhook_headers(body, "stamp")
    # Signed over the whole seconds, sent otherwise: the signed content is not what was sent.
    sent = headers["webhook-timestamp"]
    for stamp in (sent + ".5", "+" + sent, "0" + sent):
        response = post(anon_client, body, {**headers, "webhook-timestamp": stamp})
        assert response.status_code == 400, stamp
        assert "webhook-timestamp" in response.get_json()["errors"]
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(WebhookEvent.id))) == 0
    assert post(anon_client, body, headers).status_code == 200


def test_missing_and_garbage_headers_are_400_or_401_never_500(runtime, anon_client):
    invoice_id = make_invoice(runtime, (PRICE,))
    body = event_body(invoice_id)
    good = webhook_headers(body, "g1")
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        headers = {k: v for k, v in good.items() if k != name}
        assert post(anon_client, body, headers).status_code == 400, name
    garbage = [
        {"webhook-signature": "garbage"},
        {"webhook-signature": "v1,!!!not-base64!!!"},
        {"webhook-signature": "v1,a,b"},
        {"webhook-signature": ","},
        {"webhook-signature": "   "},
        {"webhook-timestamp": "yesterday"},
        {"webhook-timestamp": "nan"},
        {"webhook-timestamp": "1e400"},
        {"webhook-timestamp": "-99999999999999999999"},
        {"webhook-id": "x" * 300},
    ]
    for change in garbage:
        response = post(anon_client, body, {**good, **change})
        assert response.status_code in (400, 401), (change, response.status_code)
    assert anon_client.post(URL, data=b"\xff\xfe", headers=good).status_code in (400, 401)
    plain = {**good, "Content-Type": "text/plain"}
    assert anon_client.post(URL, data=body, headers=plain).status_code == 415
    assert post(anon_client, body, good, "/payments/webhooks/nobody").status_code == 404
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(WebhookEvent.id))) == 0


@pytest.mark.parametrize("broken", ["whsec_", "whsec_a", "whsec_!!!"])
def test_a_sender_whose_secret_is_no_key_is_refused_401_never_500_nor_told_its_header_is_bad(
    runtime, anon_client, monkeypatch, broken
):
    monkeypatch.setitem(runtime.settings.webhook_secrets, "acq", broken)
    body = event_body(make_invoice(runtime, (PRICE,)))
    refused = post(anon_client, body, webhook_headers(body, "k1"))
    assert refused.status_code == 401, refused.get_json()
    assert "no usable secret" in refused.get_json()["detail"]
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(WebhookEvent.id))) == 0


def test_a_signed_body_that_is_not_a_payment_event_is_kept_and_refused_naming_the_field(
    runtime, anon_client
):
    body = json.dumps({"type": "payment.succeeded", "data": {"invoice_id": "1", "amount": "5"}})
    response = post(anon_client, body, webhook_headers(body, "bad-body"))
    assert response.status_code == 422
    assert "data.amount" in response.get_json()["errors"]
    again = post(anon_client, body, webhook_headers(body, "bad-body"))
    assert again.status_code == 422
    with runtime.db.session() as s:
        event = s.scalar(select(WebhookEvent))
        assert event.status == "rejected" and "data.amount" in event.outcome
        assert s.scalar(select(func.count(WebhookEvent.id))) == 1


@pytest.mark.parametrize("backend", ["sqlite"])
def test_production_refuses_to_start_without_the_enabled_providers_secrets(tmp_path, backend):
    env = {
        "CLINIC_ENV": "production",
        "CLINIC_INSTANCE": str(tmp_path),
        "SECRET_KEY": "k" * 40,
        "DATABASE_URL": "postgresql://clinic@db/clinic",
        "REDIS_URL": "redis://redis:6379/0",
        "FLOWER_BASIC_AUTH": "ops:long-flower-password",
        "CLINIC_PUBLIC_URL": "https://clinic.example.uz",
    }
    assert Settings.from_env(env).payment_providers == ()
    enabled = {**env, "CLINIC_PAYMENT_PROVIDERS": "payme,click,webhooks"}
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(enabled)
    for name in ("PAYME_KEY", "PAYME_MERCHANT_ID", "CLICK_SECRET_KEY", "CLINIC_WEBHOOK_SECRETS"):
        assert name in str(refused.value)
    for name, value in (("CLINIC_PROVIDER_RATE_LIMIT", "lots"),
                        ("CLINIC_PROVIDER_ALLOWED_IPS", "payme=not-an-address"),
                        ("CLINIC_WEBHOOK_SECRETS", "acq"),
                        ("CLINIC_PAYMENT_PROVIDERS", "paypal")):  # fmt: skip
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({**env, name: value})
    complete = {**enabled, **support.PROVIDER_ENV}
    started = Settings.from_env(complete)
    assert started.payme_key == support.PAYME_KEY
    assert started.webhook_secrets == {"acq": WEBHOOK_SECRET, "other": OTHER_SECRET}


def test_a_refund_sent_before_its_payment_waits_and_is_applied_with_it(runtime, anon_client):
    from tasks.payments_providers import apply_webhook_event

    invoice_id = make_invoice(runtime, (PRICE,))
    refund = event_body(invoice_id, "payment.refunded", refund_reference="acq-r-early")
    paid = event_body(invoice_id)
    # The sender's refund overtakes its payment (delivered and applied first).
    assert post(anon_client, refund, webhook_headers(refund, "msg_ref")).status_code == 200
    assert post(anon_client, paid, webhook_headers(paid, "msg_pay")).status_code == 200
    with runtime.db.session() as s:
        ids = dict(s.execute(select(WebhookEvent.webhook_id, WebhookEvent.id)).all())
    assert apply_webhook_event.run(event_id=ids["msg_ref"]) == "waiting"
    assert apply_webhook_event.run(event_id=ids["msg_pay"]) == "applied"
    assert apply_webhook_event.run(event_id=ids["msg_ref"]) == "applied"
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).status == "refunded"
        assert s.scalar(select(func.count(Refund.id))) == 1
        assert s.get(WebhookEvent, ids["msg_ref"]).outcome.startswith("refund of payment")


def test_a_signed_event_of_a_type_the_clinic_does_not_apply_is_acknowledged_and_kept(
    runtime, anon_client
):
    # Acquirers send more kinds than payments and refunds; a 4xx would be retried for days
    # and may get the endpoint disabled, payments and all.
    body = json.dumps({"type": "payment.pending", "data": {"invoice_id": "1"}})
    for _ in range(2):
        response = post(anon_client, body, webhook_headers(body, "msg_pending"))
        assert response.status_code == 200
    assert response.get_json() == {"received": True, "repeated": True, "ignored": True}
    with runtime.db.session() as s:
        event = s.scalar(select(WebhookEvent))
        assert (event.status, event.type) == ("ignored", "payment.pending")
        assert s.scalar(select(func.count(WebhookEvent.id))) == 1
    # A payment event misspelt is no other kind: refused, so the sender sees it.
    misspelt = json.dumps({"type": "Payment.Succeeded ", "data": {"invoice_id": "1"}})
    assert post(anon_client, misspelt, webhook_headers(misspelt, "msg_typo")).status_code == 422


def test_a_payment_sent_while_another_provider_holds_the_invoice_is_credited_once_let_go(
    runtime, anon_client
):
    from clinic.payments import invoices
    from tasks.payments_providers import apply_webhook_event

    invoice_id = make_invoice(runtime, (PRICE,))
    with runtime.db.transaction() as s:
        invoices.hold(s, s.get(Invoice, invoice_id), "payme:abandoned")
    body = event_body(invoice_id)
    assert post(anon_client, body, webhook_headers(body, "msg_held")).status_code == 200
    with runtime.db.session() as s:
        event_id = s.scalar(select(WebhookEvent.id))
    # The money is taken at the sender: it waits for the hold, it is not refused for good.
    assert apply_webhook_event.run(event_id=event_id) == "received"
    with runtime.db.transaction() as s:
        invoices.release(s, s.get(Invoice, invoice_id), "payme:abandoned")
    assert apply_webhook_event.run(event_id=event_id) == "applied"
    with runtime.db.session() as s:
        assert s.get(Invoice, invoice_id).status == "paid"


def test_a_card_payment_applied_late_counts_on_the_day_its_sender_reported_it(runtime, anon_client):
    """Reported in the evening, applied the next morning (a checkout left open held the
    invoice overnight, or the workers were down): the payment, the invoice's paid time and
    the revenue are of the evening the patient paid, not of the morning a worker got to it."""
    from clinic.payments import invoices
    from clinic.queue.tickets import clinic_day
    from clinic.reports.definitions import build
    from clinic.reports.params import ReportParams
    from tasks.payments_providers import apply_webhook_event

    invoice_id = make_invoice(runtime, (PRICE,))
    with runtime.db.transaction() as s:
        invoices.hold(s, s.get(Invoice, invoice_id), "payme:abandoned")
    body = event_body(invoice_id)
    assert post(anon_client, body, webhook_headers(body, "msg_evening")).status_code == 200
    reported = utcnow() - timedelta(days=1)
    with runtime.db.transaction() as s:
        event = s.scalar(select(WebhookEvent))
        event.received_at, event_id = reported, event.id  # as if it had come yesterday
    assert apply_webhook_event.run(event_id=event_id) == "received"
    with runtime.db.transaction() as s:
        invoices.release(s, s.get(Invoice, invoice_id), "payme:abandoned")
    assert apply_webhook_event.run(event_id=event_id) == "applied"
    tz = runtime.settings.tz
    yesterday, today = clinic_day(reported, tz), clinic_day(utcnow(), tz)
    with runtime.db.session() as s:
        assert s.scalar(select(Payment.created_at)) == reported
        assert s.get(Invoice, invoice_id).paid_at == reported
        revenue = {
            day: list(build(s, ReportParams("revenue", "provider", day, day), tz).rows)
            for day in (yesterday, today)
        }
    assert [row[2] for row in revenue[yesterday]] == [PRICE] and revenue[today] == []


def test_a_card_payment_of_an_invoice_paid_at_the_desk_or_cancelled_is_rejected_saying_so(
    runtime, anon_client
):
    from tasks.payments_providers import apply_webhook_event

    paid, cancelled = make_invoice(runtime, (PRICE,)), make_invoice(runtime, (PRICE,))
    with runtime.db.transaction() as s:
        invoices.record_payment(s, s.get(Invoice, paid), method="cash", amount=PRICE, actor="k")
        invoices.cancel_invoice(s, s.get(Invoice, cancelled), actor="k")
    said = {}
    for invoice_id in (paid, cancelled):
        body = event_body(invoice_id, reference=f"acq-{invoice_id}")
        assert post(anon_client, body, webhook_headers(body, f"m{invoice_id}")).status_code == 200
        with runtime.db.session() as s:
            event_id = s.scalar(
                select(WebhookEvent.id).where(WebhookEvent.invoice_id == invoice_id)
            )
        assert apply_webhook_event.run(event_id=event_id) == "rejected"
        with runtime.db.session() as s:
            said[invoice_id] = s.get(WebhookEvent, event_id).outcome
    # The reconciliation shows the reason: paid twice (give it back at the sender), or cancelled.
    assert "already paid" in said[paid] and "cancelled" in said[cancelled], said


def test_a_repeated_webhook_id_is_answered_as_its_first_delivery_whatever_its_body_now(
    runtime, anon_client
):
    invoice_id = make_invoice(runtime, (PRICE,))
    body = event_body(invoice_id)
    assert post(anon_client, body, webhook_headers(body, "once")).status_code == 200
    broken = json.dumps({"type": "payment.succeeded", "data": {}})
    again = post(anon_client, broken, webhook_headers(broken, "once"))
    assert again.status_code == 200, again.get_data(as_text=True)
    assert again.get_json() == {"received": True, "repeated": True}
    # And the other way round: a first delivery refused stays refused under its id.
    refused = post(anon_client, broken, webhook_headers(broken, "refused"))
    assert refused.status_code == 422
    retried = post(anon_client, body, webhook_headers(body, "refused"))
    assert retried.status_code == 422
    assert "data.invoice_id" in retried.get_json()["errors"]
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(WebhookEvent.id))) == 2


def test_a_timestamp_past_any_readable_date_is_refused_naming_the_timestamp(runtime, anon_client):
    body = event_body(make_invoice(runtime, (PRICE,)))
    for stamp in ("253402300800", "99999999999999999999"):
        headers = webhook_headers(body, f"far-{len(stamp)}")
        headers["webhook-timestamp"] = stamp
        refused = post(anon_client, body, headers)
        assert refused.status_code == 401, stamp
        assert list(refused.get_json()["errors"]) == ["webhook-timestamp"], stamp
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(WebhookEvent.id))) == 0
