"""Report e-mails: once per period into a real SMTP server (aiosmtpd), retried with backoff
when the server cannot be reached, stopped by the signed link in the e-mail."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text, update

from clinic.accounts import users
from clinic.accounts.permissions import Staff, permissions_of
from clinic.base import utcnow
from clinic.errors import Conflict, ValidationFailed
from clinic.reports import mailing
from clinic.reports import subscriptions as subs
from clinic.reports.models import DeliveryState, ReportDelivery, ReportSubscription
from tests.conftest import PASSWORD, free_port, make_settings
from tests.races import wait_for, waits_for_a_lock
from tests.reports.fixtures import DAY, NEXT, local, make_day
from tests.visits.conftest import mailbox, settings, smtp_port  # noqa: F401 - fixtures

MANAGER = Staff(permissions_of(["manager"]))
DAILY = {"report": "revenue", "by": "method", "frequency": "daily", "email": "boss@example.test"}


def subscribe(runtime, **changes):
    """A subscription made by the manager ``manager`` (made too, the first time)."""
    with runtime.db.transaction() as s:
        if users.find_user(s, "manager") is None:
            users.create_user(s, username="manager", password=PASSWORD, roles=["manager"])
        return subs.subscribe(s, {**DAILY, **changes}, MANAGER, created_by="manager").id


def change_owner(runtime, *, active: bool | None = None, roles: list[str] | None = None):
    """Disable or enable the manager who subscribed, or give him other roles."""
    with runtime.db.transaction() as s:
        owner = users.find_user(s, "manager")
        if active is not None:
            users.set_active(s, owner, active)
        if roles is not None:
            users.set_roles(s, owner, roles)


def beat(runtime, now, config=None):
    """What the beat task does: write the period's delivery, then send what is due. It
    returns once the SMTP server has answered for every message: what the mailbox holds then
    is all this run sent."""
    config = config or runtime.settings
    with runtime.db.transaction() as s:
        subs.schedule_deliveries(s, tz=config.tz, now=now)
    return mailing.send_due(
        runtime.db.sessionmaker, config, mailing.SmtpMailer(config),
        lease_seconds=60, retry_base_seconds=60,
    )  # fmt: skip


def deliveries(runtime) -> list[ReportDelivery]:
    with runtime.db.session() as s:
        return list(s.scalars(select(ReportDelivery).order_by(ReportDelivery.id)))


@pytest.mark.heavy
def test_a_daily_report_arrives_once_with_its_files_however_often_beat_asks(
    runtime, make_user, mailbox  # noqa: F811 - the fixture
):
    make_day(runtime, make_user)
    subscribe(runtime)
    morning = local(NEXT, 6)  # the 10th is the last complete day
    assert beat(runtime, morning) == 1
    # Beat restarted, or asked again an hour later: the period's delivery exists and is sent.
    assert beat(runtime, morning) == 0
    assert beat(runtime, morning + timedelta(hours=1)) == 0
    messages = mailbox.wait_for(1)
    assert len(mailbox.messages) == 1
    message = messages[0]
    assert message["to"] == ["boss@example.test"]
    # Named with its grouping: beside the same report by doctor, told apart in the inbox.
    assert message["subject"] == "Отчёт: Выручка, по способам оплаты (2026-03-10)"
    # Dated, as every message must be, in the clinic's time.
    assert (message["raw"]["Date"] or "").endswith("+0500"), message["raw"]["Date"]
    attachments = {
        a.get_filename(): a.get_payload(decode=True) for a in message["raw"].iter_attachments()
    }
    stem = "revenue-method-2026-03-10-2026-03-10"
    assert set(attachments) == {f"{stem}.csv", f"{stem}.xlsx", f"{stem}.pdf"}
    assert attachments[f"{stem}.csv"].startswith(b"\xef\xbb\xbf")
    assert "Итого,2,120000.00,20000.00,100000.00" in attachments[f"{stem}.csv"].decode("utf-8-sig")
    body = message["raw"].get_body(preferencelist=("plain",)).get_content()
    assert "/reports/unsubscribe/" in body and "«Выручка, по способам оплаты»" in body
    [delivery] = deliveries(runtime)
    assert (delivery.period_start, delivery.period_end) == (DAY, DAY)
    assert delivery.state == DeliveryState.SENT and delivery.attempts == 1
    assert delivery.attachments == [f"{stem}.csv", f"{stem}.xlsx", f"{stem}.pdf"]
    # The next day brings the next period, once.
    assert beat(runtime, morning + timedelta(days=1)) == 1
    assert len(mailbox.wait_for(2)) == 2


def test_an_unreachable_mail_server_is_retried_with_backoff_then_given_up(
    runtime, database_urls, backend, tmp_path, redis_prefix
):
    closed = make_settings(database_urls[backend], tmp_path / "i", redis_prefix,
                           CLINIC_SMTP_HOST="127.0.0.1", CLINIC_SMTP_PORT=free_port(),
                           CLINIC_SMTP_TIMEOUT=1)  # fmt: skip
    subscribe(runtime, formats=["csv"])
    now = utcnow()
    assert beat(runtime, now, closed) == 0
    [first] = deliveries(runtime)
    assert first.state == DeliveryState.PENDING and first.attempts == 1 and first.error
    assert first.next_attempt_at >= utcnow() + timedelta(seconds=50)
    # Not due yet: a second ask does not try again.
    assert beat(runtime, now, closed) == 0
    assert deliveries(runtime)[0].attempts == 1
    for attempt in range(2, mailing.MAX_ATTEMPTS + 1):
        with runtime.db.transaction() as s:
            s.execute(update(ReportDelivery).values(next_attempt_at=utcnow()))
        beat(runtime, now, closed)
        assert deliveries(runtime)[0].attempts == attempt
    assert deliveries(runtime)[0].state == DeliveryState.FAILED
    assert [mailing.backoff_seconds(n, 60) for n in (1, 2, 3)] == [60, 120, 240]
    assert mailing.backoff_seconds(30, 60) == 86400
    # The tries span more than a day: a mail server away for a night (a weekly report is due
    # at midnight before Monday) still gets the e-mail when it is back in the morning.
    waits = [mailing.backoff_seconds(n, 60) for n in range(1, mailing.MAX_ATTEMPTS)]
    assert sum(waits) > 86400


def test_the_signed_link_unsubscribes_and_pending_deliveries_are_cancelled(
    runtime, app, anon_client, mailbox  # noqa: F811 - the fixture
):
    sub_id = subscribe(runtime)
    other = subscribe(runtime, email="other@example.test")
    with runtime.db.transaction() as s:
        subs.schedule_deliveries(s, tz=runtime.settings.tz)
    secret = runtime.settings.secret_key
    token = subs.unsubscribe_token(secret, sub_id)
    assert subs.subscription_of_token(secret, token) == sub_id
    assert subs.subscription_of_token(secret, f"{other}.{token.split('.')[1]}") is None
    assert subs.subscription_of_token("another secret", token) is None
    assert subs.subscription_of_token(secret, "garbage") is None

    assert anon_client.get(f"/reports/unsubscribe/{other}.forged").status_code == 404
    # "²" is a digit to str.isdigit and no number to int(): a link that names nothing.
    assert anon_client.get("/reports/unsubscribe/\u00b2.forged").status_code == 404
    assert anon_client.post("/reports/unsubscribe/\u00b2.forged").status_code == 404
    page = anon_client.get(f"/reports/unsubscribe/{token}")
    assert page.status_code == 200 and b"boss@example.test" in page.data
    assert deliveries(runtime)[0].state == DeliveryState.PENDING  # opening is not unsubscribing
    done = anon_client.post(f"/reports/unsubscribe/{token}")
    assert done.status_code == 200 and b'id="unsubscribed"' in done.data
    with runtime.db.session() as s:  # the link is a secret: the audit keeps it masked
        from clinic.accounts.models import AuditEntry

        row = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert token not in str(row.summary) and token != row.object_id
    assert row.summary["path"] == "/reports/unsubscribe/[redacted]"
    states = {d.subscription_id: d.state for d in deliveries(runtime)}
    assert states == {sub_id: DeliveryState.CANCELLED, other: DeliveryState.PENDING}
    # Only the other subscription's e-mail goes, and tomorrow's period is written for it only.
    beat(runtime, utcnow())
    assert [m["to"] for m in mailbox.wait_for(1)] == [["other@example.test"]]
    with runtime.db.transaction() as s:
        subs.schedule_deliveries(s, tz=runtime.settings.tz, now=utcnow() + timedelta(days=1))
    assert {d.subscription_id for d in deliveries(runtime) if d.state == "pending"} == {other}


def test_subscriptions_are_validated_and_listed_with_their_delivery_log(client_as, runtime):
    manager = client_as("manager")
    refused = manager.post(
        "/api/v1/reports/subscriptions",
        json={"report": "revenue", "frequency": "hourly", "email": "nobody"},
    )
    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]) == {"frequency", "email"}
    # Beside the English messages, each field's reasons by their stable codes.
    assert refused.get_json()["reasons"] == {
        "frequency": ["unknown_frequency"],
        "email": ["email_format"],
    }
    made = manager.post(
        "/api/v1/reports/subscriptions",
        json={**DAILY, "frequency": "weekly", "formats": ["pdf"], "language": "uz"},
    )
    assert made.status_code == 201, made.get_json()
    sub = made.get_json()
    assert sub["params"]["by"] == "method" and "start" not in sub["params"]
    assert [s["id"] for s in manager.get("/api/v1/reports/subscriptions").get_json()] == [sub["id"]]
    # The same report to the same address again would send it twice: refused, naming the
    # first. A period of its own is refused too: each e-mail covers the period just closed.
    again = manager.post(
        "/api/v1/reports/subscriptions",
        json={**DAILY, "frequency": "weekly", "formats": ["pdf"], "language": "uz"},
    )
    assert again.status_code == 409 and again.get_json()["code"] == "already_subscribed"
    assert str(sub["id"]) in again.get_json()["detail"]
    dated = manager.post(
        "/api/v1/reports/subscriptions",
        json={**DAILY, "frequency": "monthly", "start": "2026-03-01", "end": "2026-03-31"},
    )
    assert dated.status_code == 422 and set(dated.get_json()["errors"]) == {"start", "end"}
    assert dated.get_json()["reasons"] == {
        "start": ["period_not_taken"],
        "end": ["period_not_taken"],
    }
    with runtime.db.transaction() as s:
        subs.schedule_deliveries(s, tz=runtime.settings.tz, now=local(date(2026, 3, 12), 6))
    log = manager.get(f"/api/v1/reports/subscriptions/{sub['id']}/deliveries").get_json()
    # The week before Thursday 12 March: Monday 2 to Sunday 8 March.
    assert [(d["period_start"], d["period_end"], d["state"]) for d in log] == [
        ("2026-03-02", "2026-03-08", "pending")
    ]
    stopped = manager.delete(f"/api/v1/reports/subscriptions/{sub['id']}")
    assert stopped.status_code == 200 and stopped.get_json()["active"] is False
    assert manager.delete("/api/v1/reports/subscriptions/999999").status_code == 404
    assert client_as("doctor").get("/api/v1/reports/subscriptions").status_code == 403
    with runtime.db.session() as s:
        with pytest.raises(ValidationFailed):
            subs.subscribe(s, {**DAILY, "formats": []}, MANAGER, created_by="m")


def test_the_same_report_in_another_language_already_reaches_the_address(
    runtime, mailbox  # noqa: F811 - the fixture
):
    first = subscribe(runtime, language="ru", formats=["csv"])
    with runtime.db.transaction() as s:
        with pytest.raises(Conflict) as refused:
            subs.subscribe(
                s, {**DAILY, "language": "en", "formats": ["csv"]}, MANAGER, created_by="m"
            )
    assert refused.value.code == "already_subscribed" and str(first) in refused.value.detail
    # Stopped and subscribed again in another language, it does not mail again what it did.
    morning = local(NEXT, 6)
    assert beat(runtime, morning) == 1
    with runtime.db.transaction() as s:
        subs.unsubscribe(s, first)
    again = subscribe(runtime, language="uz", formats=["csv"])
    assert beat(runtime, morning + timedelta(hours=1)) == 0
    with runtime.db.session() as s:
        [skipped] = subs.deliveries_of(s, again)
        assert (skipped.period_start, skipped.state) == (DAY, DeliveryState.CANCELLED)
    assert len(mailbox.wait_for(1)) == 1


def test_the_same_address_in_other_capitals_already_receives_the_report(runtime):
    first = subscribe(runtime)
    with runtime.db.transaction() as s:
        with pytest.raises(Conflict) as refused:
            subs.subscribe(
                s, {**DAILY, "email": "Boss@Example.TEST"}, MANAGER, created_by="manager"
            )
    assert refused.value.code == "already_subscribed" and str(first) in refused.value.detail
    with runtime.db.session() as s:
        assert [sub.id for sub in subs.all_subscriptions(s)] == [first]


def test_an_address_the_e_mail_would_send_elsewhere_is_refused(runtime):
    subscribe(runtime, email="first@example.test")  # the manager, and a subscription
    for email in (
        "boss@example.test,rival.example",  # the To header mails both
        "<rival@example.org>.uz",  # the To header mails rival@example.org
        "boss<rival>@example.test",
        "boss;x@example.test",
        "boss@example.test.",
        "boss\x1b@example.test",
    ):
        with runtime.db.transaction() as s:
            with pytest.raises(ValidationFailed) as refused:
                subs.subscribe(s, {**DAILY, "email": email}, MANAGER, created_by="manager")
        assert refused.value.reasons == {"email": ["email_format"]}, email
    with runtime.db.session() as s:
        assert [sub.email for sub in subs.all_subscriptions(s)] == ["first@example.test"]


def test_a_subscription_whose_owner_left_is_taken_over_by_the_next_manager(runtime):
    """A subscription stops mailing when its owner is disabled; another manager asking for
    the same report to the same address takes it over (the old one ends), instead of being
    told the address already receives what it no longer does."""
    first = subscribe(runtime)
    change_owner(runtime, active=False)
    with runtime.db.transaction() as s:
        users.create_user(s, username="successor", password=PASSWORD, roles=["manager"])
        second = subs.subscribe(s, DAILY, MANAGER, created_by="successor").id
    with runtime.db.session() as s:
        old, new = subs.get_subscription(s, first), subs.get_subscription(s, second)
        assert (old.active, old.unsubscribed_at is not None) == (False, True)
        assert new.active and new.created_by == "successor"
    # Enabled again, the first owner's subscription stays ended: the address gets one e-mail.
    change_owner(runtime, active=True)
    with runtime.db.session() as s:
        assert [sub.id for sub in subs.all_subscriptions(s) if sub.active] == [second]


def test_a_subscription_taken_over_does_not_mail_again_the_period_already_mailed(
    runtime, mailbox  # noqa: F811 - the fixture
):
    """The address received the 10th's report this morning; its manager leaves and another
    subscribes it again the same day: the 10th is not mailed a second time, the 11th goes."""
    first = subscribe(runtime, formats=["csv"])
    morning = local(NEXT, 6)
    assert beat(runtime, morning) == 1
    change_owner(runtime, active=False)
    with runtime.db.transaction() as s:
        users.create_user(s, username="successor", password=PASSWORD, roles=["manager"])
        second = subs.subscribe(
            s, {**DAILY, "formats": ["csv"]}, MANAGER, created_by="successor"
        ).id
    assert beat(runtime, morning + timedelta(hours=1)) == 0
    with runtime.db.session() as s:
        [skipped] = subs.deliveries_of(s, second)
        assert (skipped.period_start, skipped.state) == (DAY, DeliveryState.CANCELLED)
        assert f"subscription {first}" in skipped.error
    assert beat(runtime, morning + timedelta(days=1)) == 1
    assert [m["subject"][-11:-1] for m in mailbox.wait_for(2)] == ["2026-03-10", "2026-03-11"]


def test_a_report_subscribed_again_after_it_was_stopped_does_not_mail_again_what_it_mailed(
    runtime, mailbox  # noqa: F811 - the fixture
):
    """The 10th's report arrived this morning; someone stops it by its link, and the manager
    subscribes the address again the same day: the 10th is not mailed a second time."""
    first = subscribe(runtime, formats=["csv"])
    morning = local(NEXT, 6)
    assert beat(runtime, morning) == 1
    with runtime.db.transaction() as s:
        subs.unsubscribe(s, first)
    again = subscribe(runtime, formats=["csv"])
    assert beat(runtime, morning + timedelta(hours=1)) == 0
    with runtime.db.session() as s:
        [skipped] = subs.deliveries_of(s, again)
        assert (skipped.period_start, skipped.state) == (DAY, DeliveryState.CANCELLED)
        assert f"subscription {first}" in skipped.error
    assert beat(runtime, morning + timedelta(days=1)) == 1
    assert [m["subject"][-11:-1] for m in mailbox.wait_for(2)] == ["2026-03-10", "2026-03-11"]


def test_a_report_that_cannot_be_built_is_a_failed_try_and_the_others_are_mailed(
    runtime, mailbox  # noqa: F811 - the fixture
):
    """A subscription whose report cannot be built (a grouping of an earlier version): its
    log says why, it is tried again later, and the next subscription's e-mail goes."""
    broken = subscribe(runtime, formats=["csv"])
    subscribe(runtime, formats=["csv"], email="other@example.test")
    with runtime.db.transaction() as s:
        sub = s.get(ReportSubscription, broken)
        sub.params = {**sub.params, "by": "week"}
    assert beat(runtime, local(NEXT, 6)) == 1
    assert [m["to"] for m in mailbox.wait_for(1)] == [["other@example.test"]]
    failed = next(d for d in deliveries(runtime) if d.subscription_id == broken)
    assert (failed.state, failed.attempts) == (DeliveryState.PENDING, 1)
    assert "week" in failed.error


def test_periods_are_the_last_whole_day_week_and_month():
    thursday = date(2026, 3, 12)
    assert subs.last_complete_period("daily", thursday) == (date(2026, 3, 11),) * 2
    assert subs.last_complete_period("weekly", thursday) == (date(2026, 3, 2), date(2026, 3, 8))
    assert subs.last_complete_period("monthly", thursday) == (date(2026, 2, 1), date(2026, 2, 28))
    assert subs.last_complete_period("monthly", date(2026, 1, 1)) == (
        date(2025, 12, 1), date(2025, 12, 31),
    )  # fmt: skip


def test_no_mail_server_no_claim_and_an_unsubscribed_stale_send_is_cancelled(
    runtime,
    mailbox,  # noqa: F811 - the fixture
):
    sub_id = subscribe(runtime)
    with runtime.db.transaction() as s:
        subs.schedule_deliveries(s, tz=runtime.settings.tz)
    bare = make_settings(runtime.settings.database_url, runtime.settings.instance_path, "x")
    assert mailing.send_due(runtime.db.sessionmaker, bare, mailing.SmtpMailer(bare),
                            lease_seconds=60, retry_base_seconds=60) == 0  # fmt: skip
    assert deliveries(runtime)[0].attempts == 0
    with runtime.db.transaction() as s:
        delivery_id = deliveries(runtime)[0].id
        assert mailing._claim(s, delivery_id, 60) is not None
        assert mailing._claim(s, delivery_id, 60) is None  # held by the first
        s.execute(update(ReportDelivery).values(claimed_until=utcnow() - timedelta(seconds=1)))
        subs.unsubscribe(s, sub_id)
        subs.unsubscribe(s, sub_id)  # twice is once
    assert beat(runtime, utcnow()) == 0
    assert deliveries(runtime)[0].state == DeliveryState.CANCELLED
    assert mailbox.messages == []
    assert subs.subscription_of_token("s", "abc.def") is None


def test_a_delivery_whose_tries_never_finish_is_given_up(
    runtime,
    mailbox,  # noqa: F811 - the fixture
):
    subscribe(runtime)
    with runtime.db.transaction() as s:
        subs.schedule_deliveries(s, tz=runtime.settings.tz)
        # Every try so far was claimed and never came back (its sender died each time).
        s.execute(
            update(ReportDelivery).values(
                state=DeliveryState.SENDING,
                attempts=mailing.MAX_ATTEMPTS,
                claimed_until=utcnow() - timedelta(seconds=1),
            )
        )
    assert beat(runtime, utcnow()) == 0
    [delivery] = deliveries(runtime)
    assert delivery.state == DeliveryState.FAILED and "did not finish" in delivery.error
    assert mailbox.messages == []


def test_a_delivery_another_sender_claimed_meanwhile_is_left_to_it(
    runtime, mailbox, monkeypatch  # noqa: F811 - the fixture
):
    subscribe(runtime)
    with runtime.db.transaction() as s:
        subs.schedule_deliveries(s, tz=runtime.settings.tz)
    claim = mailing._claim

    def after_another_sender(session, delivery_id, lease_seconds):
        with runtime.db.transaction() as other:
            assert claim(other, delivery_id, lease_seconds) is not None
        return claim(session, delivery_id, lease_seconds)

    monkeypatch.setattr(mailing, "_claim", after_another_sender)
    assert beat(runtime, utcnow()) == 0
    assert deliveries(runtime)[0].state == DeliveryState.SENDING
    assert deliveries(runtime)[0].attempts == 1
    assert mailbox.messages == []


def test_a_report_built_past_its_claim_is_not_mailed_when_another_sender_took_it_over(
    runtime, mailbox, monkeypatch  # noqa: F811 - the fixture
):
    """Building the report outlasted the sender's claim; meanwhile the next beat claimed the
    delivery and mailed it. The slow sender leaves it at that: one e-mail, not two."""
    subscribe(runtime, formats=["csv"])
    with runtime.db.transaction() as s:
        subs.schedule_deliveries(s, tz=runtime.settings.tz)
    compose = mailing.compose
    overtaken = []

    def slow_compose(session, delivery, config):
        built = compose(session, delivery, config)
        if not overtaken:
            session.rollback()  # the reading is done (SQLite holds its lock until then)
            overtaken.append(True)
            with runtime.db.transaction() as s:
                s.execute(update(ReportDelivery).values(claimed_until=utcnow() - timedelta(1)))
            assert beat(runtime, utcnow()) == 1
        return built

    monkeypatch.setattr(mailing, "compose", slow_compose)
    assert beat(runtime, utcnow()) == 0
    assert len(mailbox.wait_for(1)) == 1
    assert len(mailbox.messages) == 1
    [delivery] = deliveries(runtime)
    assert delivery.state == DeliveryState.SENT and delivery.attempts == 2


def test_a_report_unsubscribed_while_it_was_being_built_is_not_mailed(
    runtime, mailbox, monkeypatch  # noqa: F811 - the fixture
):
    sub_id = subscribe(runtime, formats=["csv"])
    with runtime.db.transaction() as s:
        subs.schedule_deliveries(s, tz=runtime.settings.tz)
    compose = mailing.compose

    def compose_then_unsubscribe(session, delivery, config):
        built = compose(session, delivery, config)
        session.rollback()  # the reading is done (SQLite holds its lock until then)
        with runtime.db.transaction() as s:
            subs.unsubscribe(s, sub_id)
        return built

    monkeypatch.setattr(mailing, "compose", compose_then_unsubscribe)
    assert beat(runtime, utcnow()) == 0
    assert deliveries(runtime)[0].state == DeliveryState.CANCELLED
    assert mailbox.messages == []


def test_no_figures_are_mailed_for_an_owner_disabled_or_without_reports_read_until_restored(
    runtime, mailbox  # noqa: F811 - the fixture
):
    """A manager who subscribed his own address and then left (disabled), or was moved to a
    role that may not read reports, receives nothing more, what was already queued
    included; the delivery log says why. Given his rights back, the e-mails go again."""
    sub_id = subscribe(runtime, formats=["csv"])
    morning = local(NEXT, 6)
    with runtime.db.transaction() as s:
        subs.schedule_deliveries(s, tz=runtime.settings.tz, now=morning)
    # The period's e-mail is queued; then the manager is disabled.
    change_owner(runtime, active=False)
    assert beat(runtime, morning) == 0
    [queued] = deliveries(runtime)
    assert queued.state == DeliveryState.CANCELLED
    assert "disabled" in queued.error and "manager" in queued.error
    assert mailbox.messages == []
    # Enabled again, he gets the next period's e-mail.
    change_owner(runtime, active=True)
    assert beat(runtime, morning + timedelta(days=1)) == 1
    assert [m["to"] for m in mailbox.wait_for(1)] == [["boss@example.test"]]
    # A cashier now: the clinic's figures are no longer his to receive.
    change_owner(runtime, roles=["cashier"])
    assert beat(runtime, morning + timedelta(days=2)) == 0
    third = deliveries(runtime)[2]
    assert third.state == DeliveryState.CANCELLED and "reports.read" in third.error
    assert len(mailbox.messages) == 1
    # A manager again: it resumes.
    change_owner(runtime, roles=["manager"])
    assert beat(runtime, morning + timedelta(days=3)) == 1
    assert len(mailbox.wait_for(2)) == 2
    assert [d.state for d in deliveries(runtime)] == [
        DeliveryState.CANCELLED, DeliveryState.SENT, DeliveryState.CANCELLED, DeliveryState.SENT,
    ]  # fmt: skip
    with runtime.db.session() as s:
        assert subs.get_subscription(s, sub_id).active  # paused by his rights, not stopped


def test_a_report_whose_owner_is_disabled_while_it_is_built_is_not_mailed(
    runtime, mailbox, monkeypatch  # noqa: F811 - the fixture
):
    subscribe(runtime, formats=["csv"])
    with runtime.db.transaction() as s:
        subs.schedule_deliveries(s, tz=runtime.settings.tz)
    compose = mailing.compose

    def compose_then_disable(session, delivery, config):
        built = compose(session, delivery, config)
        session.rollback()  # the reading is done (SQLite holds its lock until then)
        change_owner(runtime, active=False)
        return built

    monkeypatch.setattr(mailing, "compose", compose_then_disable)
    assert beat(runtime, utcnow()) == 0
    [delivery] = deliveries(runtime)
    assert delivery.state == DeliveryState.CANCELLED and "disabled" in delivery.error
    assert delivery.claimed_until is None
    assert mailbox.messages == []


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_the_same_report_subscribed_twice_at_once_arrives_once(runtime):
    """A double click on Subscribe (or two managers at the same moment): the second request
    waits for the first and is told the address already receives the report."""
    subscribe(runtime, email="first@example.test")  # the manager who subscribes exists
    pids, answers = [], []

    def second():
        try:
            with runtime.db.transaction() as s:
                pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                subs.subscribe(s, DAILY, MANAGER, created_by="manager")
            answers.append("subscribed")
        except Conflict as refused:
            answers.append(refused.code)

    thread = threading.Thread(target=second)
    with runtime.db.transaction() as first:
        subs.subscribe(first, DAILY, MANAGER, created_by="manager")
        thread.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the second request")
    thread.join(30)
    assert answers == ["already_subscribed"]
    with runtime.db.session() as s:
        mailed = [sub.email for sub in subs.all_subscriptions(s) if sub.active]
    assert sorted(mailed) == ["boss@example.test", "first@example.test"]


def test_days_when_nothing_asked_for_the_report_are_each_mailed_once_not_left_out(runtime):
    """The system stopped from Thursday to Monday morning (or beat did): the days it missed are
    written when it is back, each once, the weekly report of a week missed too, also before
    the first delivery was written (subscribed on Tuesday, beat away until Thursday); a new
    subscription starts with the last period only, never with the days before it."""
    daily = subscribe(runtime)
    weekly = subscribe(runtime, frequency="weekly")
    with runtime.db.transaction() as s:
        s.execute(update(ReportSubscription).values(created_at=local(date(2026, 3, 3), 9)))
        subs.schedule_deliveries(s, tz=runtime.settings.tz, now=local(date(2026, 3, 5), 6))
        subs.schedule_deliveries(s, tz=runtime.settings.tz, now=local(date(2026, 3, 9), 6))
        subs.schedule_deliveries(s, tz=runtime.settings.tz, now=local(date(2026, 3, 24), 6))
    periods = {daily: [], weekly: []}
    for delivery in deliveries(runtime):
        periods[delivery.subscription_id].append(delivery.period_start.isoformat())
    assert periods[daily] == [f"2026-03-{day:02d}" for day in range(2, 24)]
    assert periods[weekly] == ["2026-02-23", "2026-03-02", "2026-03-09", "2026-03-16"]
    # Made now, a subscription's first e-mail is of the period that closed last.
    other = subscribe(runtime, email="new@example.test")
    with runtime.db.transaction() as s:
        subs.schedule_deliveries(s, tz=runtime.settings.tz)
    assert len([d for d in deliveries(runtime) if d.subscription_id == other]) == 1
