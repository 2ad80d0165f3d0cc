"""Report subscriptions: a report e-mailed daily, weekly or monthly, once per period.

Beat asks every few minutes. Each ask writes the delivery row of the subscription's last
complete period if it is missing (unique per subscription and period: a restarted beat, two
beats, or a retried task find it written), then sends due deliveries
(:mod:`clinic.reports.mailing`). Here: subscribing, the unsubscribe links, the periods and
their delivery rows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import getaddresses
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, object_session

from clinic.accounts.models import User
from clinic.accounts.permissions import Staff, permissions_of
from clinic.base import is_id, iso, utcnow
from clinic.errors import Conflict, NotFound
from clinic.reference.editing import one_at_a_time
from clinic.reference.models import Department, Doctor
from clinic.reports import refusals as R
from clinic.reports.building import format_reasons, parse_formats
from clinic.reports.models import DeliveryState, Frequency, ReportDelivery, ReportSubscription
from clinic.reports.params import LANGUAGES, parse_params
from clinic.reports.sql import as_date

# One mailbox, written as the e-mail's To header will hold it: none of the characters a
# header reads as a list, a comment or a name with its address (``a@b.uz,c.uz`` is two
# addresses, ``<x@y.uz>.uz`` is x@y.uz), no control character, and a domain that does not
# end with a dot.
_NOT_IN_ADDRESS = r'@\s\x00-\x1f\x7f<>()\[\]\\,;:"'
EMAIL = re.compile(rf"^[^{_NOT_IN_ADDRESS}]+@[^{_NOT_IN_ADDRESS}]+\.[^{_NOT_IN_ADDRESS}.]+$")


def is_email_address(text: str) -> bool:
    """Whether ``text`` is one e-mail address that the report e-mail's To header sends to as
    it is listed, and to nothing else."""
    if not EMAIL.match(text) or len(text) > 254:
        return False
    if any(unicodedata.category(char)[0] in "CZ" for char in text):
        # An invisible character pasted with it (a zero-width space, a byte-order mark, a
        # direction mark): in no mailbox's name, and a server takes no such address.
        return False
    header = EmailMessage()
    header["To"] = text
    return getaddresses([str(header["To"])]) == [("", text)]


def subscription_as_dict(sub: ReportSubscription) -> dict:
    """A subscription as the API shows it, with the names of its filters: the department's
    in each language and the doctor's, deactivated since or not (a list of subscriptions
    tells their filters apart by them)."""
    return {
        "id": sub.id,
        "params": sub.params,
        **_filter_names(object_session(sub), sub.params),
        "formats": sub.formats,
        "frequency": sub.frequency,
        "email": sub.email,
        "language": sub.language,
        "active": sub.active,
        "created_by": sub.created_by,
        "created_at": iso(sub.created_at),
        "unsubscribed_at": iso(sub.unsubscribed_at),
    }


def _filter_names(session: Session, params: dict) -> dict:
    """The department a subscription is filtered by, named in each language, and the
    doctor, by name; None for a filter it has not."""
    department = doctor = None
    if is_id(params.get("department_id")):
        department = session.get(Department, params["department_id"])
    if is_id(params.get("doctor_id")):
        doctor = session.get(Doctor, params["doctor_id"])
    return {
        "department_names": (
            {lang: getattr(department, f"name_{lang}") for lang in LANGUAGES}
            if department is not None
            else None
        ),
        "doctor_name": doctor.full_name if doctor is not None else None,
    }


def delivery_as_dict(delivery: ReportDelivery) -> dict:
    return {
        "id": delivery.id,
        "subscription_id": delivery.subscription_id,
        "period_start": delivery.period_start.isoformat(),
        "period_end": delivery.period_end.isoformat(),
        "state": delivery.state,
        "attempts": delivery.attempts,
        "next_attempt_at": iso(delivery.next_attempt_at),
        "sent_at": iso(delivery.sent_at),
        "error": delivery.error,
        "attachments": delivery.attachments or [],
    }


def subscribe(session: Session, data: dict, staff: Staff, *, created_by: str) -> ReportSubscription:
    """A new subscription; the report's parameters are checked as for a report built now."""
    reasons = {}
    frequency = data.get("frequency")
    if frequency not in Frequency.ALL:
        reasons["frequency"] = [(R.UNKNOWN_FREQUENCY, f"One of: {', '.join(Frequency.ALL)}.")]
    email = (data.get("email") or "").strip() if isinstance(data.get("email"), str) else ""
    if not is_email_address(email):
        reasons["email"] = [(R.EMAIL_FORMAT, "A valid e-mail address is required.")]
    for key in ("start", "end"):
        if data.get(key) is not None:
            # Each e-mail covers the period its frequency closes (yesterday, last week...).
            reasons[key] = [
                (
                    R.PERIOD_NOT_TAKEN,
                    "Not taken: each e-mail covers the period its frequency closes.",
                )
            ]
    # Every field wrong is named at once: the report's own, and these.
    params = parse_params(
        session,
        data,
        staff,
        with_period=False,
        # Mailed for the periods to come: a department closed, a doctor gone would mail a
        # report of zeros every period.
        active_filters=True,
        refused={**reasons, **format_reasons(data.get("formats"))},
    )
    formats = parse_formats(data.get("formats"))
    stored = params.as_dict()
    for key in ("start", "end"):
        stored.pop(key)
    # One mailbox however its address is capitalised (Boss@Clinic.uz is boss@clinic.uz).
    # Subscriptions to one address are made one after another (a double click on Subscribe,
    # two managers at once): the second finds the first and is refused.
    one_at_a_time(session, f"report subscriptions to {email.lower()}")
    same = [
        other
        for other in session.scalars(
            select(ReportSubscription)
            .where(
                func.lower(ReportSubscription.email) == email.lower(),
                ReportSubscription.frequency == frequency,
            )
            .order_by(ReportSubscription.id)
        )
        if _same_report(other.params, stored) and sorted(other.formats) == sorted(formats)
    ]
    # The same report to this address stopped before (unsubscribed, and now subscribed
    # again): what it mailed reached the address already.
    taken_over = [other.id for other in same if not other.active]
    for other in same:
        if not other.active:
            continue
        if owner_refusal(session, other) is not None:
            # Its owner left (disabled, or no longer reading reports): it mails nothing, and
            # the new one takes it over for good, so that the address never gets two.
            unsubscribe(session, other.id)
            taken_over.append(other.id)
            continue
        detail = f"{email} already receives this report {frequency} (subscription {other.id})"
        raise Conflict(detail, code=R.ALREADY_SUBSCRIBED, errors={"email": [detail]})
    sub = ReportSubscription(
        params=stored,
        formats=formats,
        frequency=frequency,
        email=email,
        language=params.language if params.language in LANGUAGES else "ru",
        created_by=created_by,
        created_at=utcnow(),
        active=True,
    )
    session.add(sub)
    session.flush()
    if taken_over:
        _mailed_before(session, sub, taken_over)
    return sub


def _mailed_before(session: Session, sub: ReportSubscription, taken_over: list[int]) -> None:
    """The period the subscriptions taken over (or stopped before) mailed last reached the
    address already: the new one's delivery of it is written cancelled, saying so, and that
    period is not mailed twice."""
    last = session.scalar(
        select(ReportDelivery)
        .where(
            ReportDelivery.subscription_id.in_(taken_over),
            ReportDelivery.state == DeliveryState.SENT,
        )
        .order_by(ReportDelivery.period_start.desc())
        .limit(1)
    )
    if last is None:
        return
    session.add(
        ReportDelivery(
            subscription_id=sub.id,
            period_start=last.period_start,
            period_end=last.period_end,
            state=DeliveryState.CANCELLED,
            attempts=0,
            next_attempt_at=utcnow(),
            created_at=utcnow(),
            error=f"not sent: subscription {last.subscription_id} mailed it to this address",
        )
    )
    session.flush()


def owner_refusal(session: Session, sub: ReportSubscription) -> str | None:
    """Why the subscription's owner may not be mailed the clinic's figures now, or None: he
    must be active and may read reports, as he had to be to subscribe."""
    owner = session.scalar(select(User).where(User.username == sub.created_by))
    if owner is None:
        return f"not sent: its owner {sub.created_by!r} is not a user"
    if not owner.active:
        return f"not sent: its owner {owner.username} is disabled"
    if "reports.read" not in permissions_of(owner.roles):
        return f"not sent: its owner {owner.username} may no longer read reports (reports.read)"
    return None


def get_subscription(session: Session, subscription_id) -> ReportSubscription:
    sub = session.get(ReportSubscription, subscription_id) if is_id(subscription_id) else None
    if sub is None:
        raise NotFound(f"subscription {subscription_id} does not exist")
    return sub


def unsubscribe(session: Session, subscription_id: int) -> ReportSubscription:
    """Stop the subscription; deliveries not yet sent are cancelled. Idempotent."""
    sub = get_subscription(session, subscription_id)
    if sub.active:
        sub.active = False
        sub.unsubscribed_at = utcnow()
        session.execute(
            update(ReportDelivery)
            .where(
                ReportDelivery.subscription_id == sub.id,
                ReportDelivery.state == DeliveryState.PENDING,
            )
            .values(state=DeliveryState.CANCELLED)
            .execution_options(synchronize_session=False)
        )
        session.flush()
    return sub


def still_mailing(session: Session, sub: ReportSubscription) -> list[ReportSubscription]:
    """The subscriptions that mail what ``sub`` mailed, which its e-mails' unsubscribe link
    stops: ``sub`` itself while it is active; once it is stopped, those made since that carry
    it on (taken over by a successor, or subscribed again), active now: the same report in
    any language and files, to the same address however capitalised, as often."""
    if sub.active:
        return [sub]
    return [
        other
        for other in session.scalars(
            select(ReportSubscription)
            .where(
                ReportSubscription.active.is_(True),
                func.lower(ReportSubscription.email) == sub.email.lower(),
                ReportSubscription.frequency == sub.frequency,
                # Made since it stopped: one of the address's that ran beside it (the same
                # report in other files) is not its to stop.
                ReportSubscription.created_at >= sub.unsubscribed_at,
            )
            .order_by(ReportSubscription.id)
        )
        if _same_report(other.params, sub.params)
    ]


# --- unsubscribe links ---------------------------------------------------------------------


def _signature(secret: str, subscription_id: int) -> str:
    digest = hmac.new(
        secret.encode(), f"report-unsubscribe:{subscription_id}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


def unsubscribe_token(secret: str, subscription_id: int) -> str:
    return f"{subscription_id}.{_signature(secret, subscription_id)}"


def subscription_of_token(secret: str, token: str) -> int | None:
    """The subscription a signed unsubscribe token names, or None for a forged one."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 64:
        return None
    number, signature = token.split(".")
    if not (number.isascii() and number.isdigit()) or not is_id(int(number)):
        return None
    expected = _signature(secret, int(number))
    return int(number) if hmac.compare_digest(expected, signature) else None


# --- periods and the delivery rows ---------------------------------------------------------


def last_complete_period(frequency: str, today: date) -> tuple[date, date]:
    """The last whole period before ``today`` (a clinic day): yesterday, last Monday to
    Sunday, or last month."""
    if frequency == Frequency.DAILY:
        day = today - timedelta(days=1)
        return day, day
    if frequency == Frequency.WEEKLY:
        monday = today - timedelta(days=today.weekday() + 7)
        return monday, monday + timedelta(days=6)
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


# Periods a subscription catches up at most, when no delivery row was written for days (beat
# or the whole system stopped over a weekend): each is mailed once, none is left out.
MAX_CATCH_UP = 31


def _same_report(params: dict, others: dict) -> bool:
    """Whether two subscriptions' parameters are one report: the language it is mailed in
    does not make another (its figures would arrive twice)."""
    return {**params, "language": None} == {**others, "language": None}


def due_periods(
    frequency: str, today: date, *, newest: date | None, first: date
) -> list[tuple[date, date]]:
    """The periods whose delivery rows are to be written, oldest first: the last complete
    one, and before it each period after ``newest`` (the latest period written already),
    back to ``first`` (the subscription's first period) at most, so that a day when nothing
    asked leaves no period unmailed."""
    periods = [last_complete_period(frequency, today)]
    while len(periods) < MAX_CATCH_UP:
        start, end = last_complete_period(frequency, periods[-1][0])
        if (newest is not None and start <= newest) or start < first:
            break
        periods.append((start, end))
    return periods[::-1]


def schedule_deliveries(session: Session, *, tz: ZoneInfo, now: datetime | None = None) -> int:
    """Write the missing delivery rows of every active subscription's last complete period,
    and of the periods since the one it had last, which nobody asked for (the system was
    stopped); returns how many were new. A row that exists is left alone (unique per
    period)."""
    today = (now or utcnow()).astimezone(tz).date()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    made = 0
    newest = (
        select(func.max(ReportDelivery.period_start))
        .where(ReportDelivery.subscription_id == ReportSubscription.id)
        .scalar_subquery()
    )
    subs = session.execute(
        select(
            ReportSubscription.id,
            ReportSubscription.frequency,
            ReportSubscription.created_at,
            newest,
        ).where(ReportSubscription.active.is_(True))
    ).all()
    for sub_id, frequency, created_at, latest in subs:
        first = last_complete_period(frequency, created_at.astimezone(tz).date())[0]
        for start, end in due_periods(frequency, today, newest=as_date(latest), first=first):
            made += _write_delivery(session, insert, sub_id, start, end, now)
    return made


def _write_delivery(session: Session, insert, sub_id: int, start: date, end: date, now) -> int:
    """The delivery row of one period, unless it exists; 1 when it was new."""
    result = session.execute(
        insert(ReportDelivery)
        .values(
            subscription_id=sub_id,
            period_start=start,
            period_end=end,
            state=DeliveryState.PENDING,
            attempts=0,
            next_attempt_at=now or utcnow(),
            created_at=utcnow(),
            error="",
        )
        .on_conflict_do_nothing(index_elements=["subscription_id", "period_start"])
    )
    return max(result.rowcount or 0, 0)


def deliveries_of(session: Session, subscription_id: int, limit: int = 100) -> list[ReportDelivery]:
    get_subscription(session, subscription_id)
    return list(
        session.scalars(
            select(ReportDelivery)
            .where(ReportDelivery.subscription_id == subscription_id)
            .order_by(ReportDelivery.period_start.desc())
            .limit(limit)
        )
    )


def all_subscriptions(session: Session) -> list[ReportSubscription]:
    return list(session.scalars(select(ReportSubscription).order_by(ReportSubscription.id)))
