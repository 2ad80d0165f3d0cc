"""Sending the due report deliveries of subscriptions (:mod:`clinic.reports.subscriptions`).

A sender *claims* a delivery with a guarded update before sending and marks it sent after; a
sender killed mid-send leaves its claim to expire and the next ask sends it. A failed send is
retried with exponential backoff, and given up (``failed``) after ``MAX_ATTEMPTS``, or at once
when the server refuses the address for good (``550 5.1.1 user unknown``).

A subscription is mailed on its owner's word (``created_by``, the user who made it): before
each e-mail, and again just before it goes, the owner must be active and hold
``reports.read``. Otherwise the delivery is cancelled with the reason; the next period's goes
once he is active with the permission again.

A shifts report waits for the shifts of its period that are still open (an evening cashier
closes after midnight): its Z figures are mailed once, so they are mailed whole. It waits
until ``reports_open_shifts_wait_hours`` into the day after the period at most, then goes
with the shifts still open named in the e-mail and in the report.

SMTP gives no exactly-once: a sender killed after the server accepted the message and before
the row says ``sent`` would send it again. Each delivery's Message-ID is fixed, so mail
systems that deduplicate by it show one message even then.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from clinic import mail
from clinic.base import utcnow
from clinic.reports.building import heading_lines, render
from clinic.reports.cashier import open_shifts
from clinic.reports.definitions import period_text
from clinic.reports.labels import label
from clinic.reports.models import DeliveryState, ReportDelivery
from clinic.reports.output import CONTENT_TYPES
from clinic.reports.params import GROUPINGS, ReportParams
from clinic.reports.subscriptions import owner_refusal, unsubscribe_token
from clinic.settings import Settings

log = logging.getLogger(__name__)

# Tries before a delivery is given up: their waits (a minute, doubled each time) add up to
# about a day and a half, so a mail server away for a night still gets the period's e-mail.
MAX_ATTEMPTS = 12


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Deliver one message or raise OSError / SMTPException."""


class SmtpMailer:
    """The configured SMTP server (``CLINIC_SMTP_*``), as receipts and visit notices use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, message: EmailMessage) -> None:
        mail.send(self.settings, message)


def backoff_seconds(attempts: int, base: int) -> int:
    """The wait after the ``attempts``-th failed try: base, 2 base, 4 base... at most a day."""
    return min(base * 2 ** max(0, attempts - 1), 86400)


def _refused(delivery: ReportDelivery, reason: str) -> None:
    log.warning(
        "report delivery %s of subscription %s %s", delivery.id, delivery.subscription_id, reason
    )
    delivery.state = DeliveryState.CANCELLED
    delivery.claimed_until = None
    delivery.error = reason


def _cancelled_if_stopped(session: Session, delivery: ReportDelivery) -> bool:
    """Cancel the claimed delivery if its subscription was stopped, or its owner may no longer
    be mailed the figures; whether it was."""
    if not delivery.subscription.active:
        delivery.state = DeliveryState.CANCELLED
        delivery.claimed_until = None
        return True
    refusal = owner_refusal(session, delivery.subscription)
    if refusal:
        _refused(delivery, refusal)
    return refusal is not None


def _due(now: datetime):
    return or_(
        (ReportDelivery.state == DeliveryState.PENDING) & (ReportDelivery.next_attempt_at <= now),
        (ReportDelivery.state == DeliveryState.SENDING) & (ReportDelivery.claimed_until < now),
    )


def _claim(session: Session, delivery_id: int, lease_seconds: int) -> ReportDelivery | None:
    now = utcnow()
    claimed = session.execute(
        update(ReportDelivery)
        .where(ReportDelivery.id == delivery_id, _due(now))
        .values(
            state=DeliveryState.SENDING,
            attempts=ReportDelivery.attempts + 1,
            claimed_until=now + timedelta(seconds=lease_seconds),
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return None
    return session.get(ReportDelivery, delivery_id, populate_existing=True)


def _params(delivery: ReportDelivery) -> ReportParams:
    sub = delivery.subscription
    return ReportParams.from_dict(
        {
            **sub.params,
            "start": delivery.period_start.isoformat(),
            "end": delivery.period_end.isoformat(),
            "language": sub.language,
        }
    )


def _open_shifts(session: Session, params: ReportParams, settings: Settings) -> list[str]:
    """The shifts of a shifts report's period still open, as the report names them."""
    if params.report != "shifts":
        return []
    return open_shifts(session, *params.bounds(settings.tz))


def _waits_for_shifts(
    session: Session, delivery: ReportDelivery, settings: Settings, now: datetime
) -> str | None:
    """Why a shifts report is not mailed yet (its period's shifts still open, and the day
    after it not yet ``reports_open_shifts_wait_hours`` old), or None to mail it now."""
    params = _params(delivery)
    _, period_over = params.bounds(settings.tz)
    if now >= period_over + timedelta(hours=settings.reports_open_shifts_wait_hours):
        return None
    still_open = _open_shifts(session, params, settings)
    return f"waiting for shifts to close: {', '.join(still_open)}" if still_open else None


def compose(
    session: Session, delivery: ReportDelivery, settings: Settings
) -> tuple[EmailMessage, list[str]]:
    """The e-mail of one delivery with the report's files attached."""
    sub = delivery.subscription
    params = _params(delivery)
    rendered = render(session, params, list(sub.formats), settings.tz, chart=False)
    lang = params.language
    title = label(f"title.{params.report}", lang)
    if len(GROUPINGS[params.report]) > 1:
        # Its grouping too: two reports of one kind to one address are two e-mails told
        # apart in the inbox (and not threaded as one), not the same subject twice.
        title = f"{title}, {label(f'grouping.{params.by}', lang)}"
    filters = heading_lines(session, params)[2:]
    if filters:
        # And its filters, as its heading names them: each department's revenue to one
        # address is an e-mail of its own in the inbox ("Отделение: Терапия").
        title = f"{title} — {'; '.join(filters)}"
    link = (
        f"{settings.public_url.rstrip('/')}/reports/unsubscribe/"
        f"{unsubscribe_token(settings.secret_key, sub.id)}"
    )
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = sub.email
    message["Subject"] = f"{label('mail.subject', lang)}: {title} ({period_text(params)})"
    # A Date is required of every message (RFC 5322): the clinic's time, with its offset.
    message["Date"] = format_datetime(utcnow().astimezone(settings.tz))
    domain = settings.smtp_from.rpartition("@")[2] or "clinic.local"
    # The same for every attempt of this delivery: a repeat after a crash is recognisable.
    message["Message-ID"] = f"<report-delivery-{delivery.id}@{domain}>"
    message["List-Unsubscribe"] = f"<{link}>"
    still_open = _open_shifts(session, params, settings)
    message.set_content(
        label("mail.body", lang).format(title=title, period=period_text(params))
        + "\n\n"
        + (
            label("mail.open_shifts", lang).format(shifts=", ".join(still_open)) + "\n\n"
            if still_open
            else ""
        )
        + label("mail.unsubscribe", lang).format(link=link)
        + "\n"
    )
    names = []
    for fmt, (name, data) in rendered.files.items():
        maintype, subtype = CONTENT_TYPES[fmt].split(";")[0].split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        names.append(name)
    return message, names


def send_due(
    sessions: sessionmaker,
    settings: Settings,
    mailer: Mailer,
    *,
    lease_seconds: int,
    retry_base_seconds: int,
    limit: int = 50,
    now: datetime | None = None,
) -> int:
    """Send the deliveries that are due; returns how many this call sent. Without a mail
    server configured nothing is claimed: the deliveries wait for one. A shifts report whose
    period has shifts still open waits for them (until the deadline; ``now`` is the time to
    judge it by)."""
    if isinstance(mailer, SmtpMailer) and not settings.smtp_host:
        return 0
    now = now or utcnow()
    with sessions() as session:
        due = list(
            session.scalars(
                select(ReportDelivery.id).where(_due(now)).order_by(ReportDelivery.id).limit(limit)
            )
        )
    sent = 0
    for delivery_id in due:
        with sessions() as session, session.begin():
            delivery = _claim(session, delivery_id, lease_seconds)
            if delivery is None:
                continue
            attempt = delivery.attempts
            if _cancelled_if_stopped(session, delivery):
                continue
            waiting = _waits_for_shifts(session, delivery, settings, now)
            if waiting is not None:
                # Not a try: asked again at the next round, the log saying what it waits for.
                delivery.state, delivery.claimed_until = DeliveryState.PENDING, None
                delivery.attempts, delivery.error = attempt - 1, waiting
                continue
            if attempt > MAX_ATTEMPTS:
                # Tries that never finished (a sender killed each time, a report that cannot
                # be built): give up rather than try forever.
                delivery.state = DeliveryState.FAILED
                delivery.error = f"given up after {attempt - 1} tries that did not finish"
                continue
        try:
            try:
                with sessions() as session:
                    delivery = session.get(ReportDelivery, delivery_id)
                    message, names = compose(session, delivery, settings)
            except Exception as exc:  # any error of a report that cannot be built
                # A failed try, said in its log, like a refused send: the deliveries after it
                # in this round still go.
                log.exception("report delivery %s could not be built", delivery_id)
                _failed(sessions, delivery_id, attempt, exc, retry_base_seconds)
                continue
            if not _still_held(sessions, delivery_id, attempt, lease_seconds):
                # Building the report outlasted the claim and another sender took the
                # delivery over (it is that sender's to mail), or the subscription was
                # stopped, or its owner disabled or deprived of reports.read, meanwhile.
                continue
            mailer.send(message)
        except (OSError, smtplib.SMTPException) as exc:
            _failed(sessions, delivery_id, attempt, exc, retry_base_seconds)
            continue
        with sessions() as session, session.begin():
            session.execute(
                _this_try(delivery_id, attempt).values(
                    state=DeliveryState.SENT,
                    sent_at=utcnow(),
                    claimed_until=None,
                    attachments=names,
                    error="",
                )
            )
        sent += 1
    return sent


def _this_try(delivery_id: int, attempt: int):
    """An update of the delivery that takes effect only while this try still holds it."""
    return update(ReportDelivery).where(
        ReportDelivery.id == delivery_id,
        ReportDelivery.state == DeliveryState.SENDING,
        ReportDelivery.attempts == attempt,
    )


def _still_held(sessions, delivery_id: int, attempt: int, lease_seconds: int) -> bool:
    """Renew this try's claim for the mailing itself, unless another try holds it now; a
    subscription stopped, or whose owner may no longer read reports, while its report was
    being built cancels the delivery instead."""
    with sessions() as session, session.begin():
        renewed = session.execute(
            _this_try(delivery_id, attempt)
            .values(claimed_until=utcnow() + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        if renewed.rowcount != 1:
            return False
        delivery = session.get(ReportDelivery, delivery_id, populate_existing=True)
        return not _cancelled_if_stopped(session, delivery)


def _failed(sessions, delivery_id: int, attempt: int, exc: Exception, base: int) -> None:
    """A failed try: tried again after its backoff, or given up after the last try, or at
    once when the server refused the address for good (no mailbox has it: every try would
    build the report to be told so again). Its log says it as the server did."""
    refused = mail.refused_for_good(exc) is not None
    error = mail.failure_text(exc)
    given_up = refused or attempt >= MAX_ATTEMPTS
    log.warning(
        "report delivery %s not sent (try %s%s): %s",
        delivery_id, attempt, ", refused for good" if refused else "", error,
    )  # fmt: skip
    with sessions() as session, session.begin():
        session.execute(
            _this_try(delivery_id, attempt).values(
                state=DeliveryState.FAILED if given_up else DeliveryState.PENDING,
                next_attempt_at=utcnow() + timedelta(seconds=backoff_seconds(attempt, base)),
                claimed_until=None,
                error=error,
            )
        )
