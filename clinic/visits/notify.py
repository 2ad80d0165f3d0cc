"""Telling patients: notices are rows written with the change, sent after commit.

The :class:`Notifier` interface is what a channel implements; e-mail is the first one, and
an SMS gateway can be added beside it. A sender claims a notice with a guarded update before
sending, so two senders (beat running twice, a retried job) never mail it both; a sender
that dies mid-send leaves the claim to expire and the notice is sent by the next one.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from clinic import mail
from clinic.base import iso, utcnow
from clinic.settings import Settings
from clinic.visits import schedules
from clinic.visits.events import NoticeKind, VisitStatus
from clinic.visits.history import record_history
from clinic.visits.models import Visit, VisitEvent, VisitNotice

log = logging.getLogger(__name__)
# A notice the mail server keeps refusing (a full mailbox) or never reaches is given up this
# long after it was written: what it tells of is past by then, and someone must phone.
GIVE_UP_AFTER = timedelta(days=2)


class Notifier(Protocol):
    def send(self, to: str, subject: str, body: str) -> None:
        """Deliver one message or raise."""


class EmailNotifier:
    """Plain-text e-mail through the configured SMTP server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, to: str, subject: str, body: str) -> None:
        s = self.settings
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = to
        message["Subject"] = subject
        # Every message must carry its date (RFC 5322): the clinic's time, with its offset.
        message["Date"] = format_datetime(utcnow().astimezone(s.tz))
        message.set_content(body)
        mail.send(s, message)


def reminder_key(visit: Visit) -> str:
    """A reminder's key: the visit and the start it tells of (one reminder per visit time)."""
    return f"reminder:{visit.id}:{iso(visit.starts_at)}"


def write_notice(
    session: Session, visit: Visit, *, key: str, kind: str, subject: str, body: str
) -> VisitNotice | None:
    """A notice for the visit's e-mail address (None when it has none, or the key exists)."""
    if not visit.notify_email:
        return None
    notice = VisitNotice(
        key=key[:120],
        visit_id=visit.id,
        kind=kind,
        to_address=visit.notify_email,
        subject=subject[:200],
        body=body,
        created_at=utcnow(),
        attempts=0,
    )
    try:
        with session.begin_nested():
            session.add(notice)
            session.flush()
    except IntegrityError:
        return None  # written before (beat ran twice, or the job is a retry)
    return notice


def drop_unsent_reminders(session: Session, visit: Visit) -> None:
    """Unsent reminders of the visit tell of a time it no longer has (it was cancelled or
    moved; a moved visit gets a reminder of its new time): they are not sent."""
    session.execute(
        delete(VisitNotice)
        .where(
            VisitNotice.visit_id == visit.id,
            VisitNotice.kind == NoticeKind.REMINDER,
            VisitNotice.sent_at.is_(None),
        )
        .execution_options(synchronize_session=False)
    )


def readdress_unsent(session: Session, visit: Visit) -> None:
    """The visit's address was corrected: what is not sent yet goes to the address as it is
    now, and nowhere when the patient gave it up. (One a sender is mailing this moment goes
    where it was written to.) One given up on the old address is tried again on the new."""
    unsent = (VisitNotice.visit_id == visit.id, VisitNotice.sent_at.is_(None))
    if visit.notify_email:
        change = (
            update(VisitNotice)
            .where(*unsent)
            .values(to_address=visit.notify_email, failed_at=None, error=None)
        )
    else:
        change = delete(VisitNotice).where(*unsent)
    session.execute(change.execution_options(synchronize_session=False))


def _not_sent(session: Session, notice_id: int, exc: BaseException) -> bool:
    """Keep why the notice did not go; returns whether it waits for a later try. Refused for
    good (an address no mailbox has), or still not delivered :data:`GIVE_UP_AFTER` after it
    was written, it is given up: no sender tries it again, and the visit's history says the
    patient was not told (the registrar phones him). Anything else waits for the next run."""
    notice = session.get(VisitNotice, notice_id, populate_existing=True)
    if notice is None:
        return False
    refused = mail.refused_for_good(exc)
    notice.error = refused or mail.failure_text(exc)
    if refused is None and utcnow() - notice.created_at < GIVE_UP_AFTER:
        log.warning("notice %s not sent, left for a later try: %s", notice_id, exc)
        return True
    notice.failed_at, notice.claimed_until = utcnow(), None  # no sender holds it any more
    log.warning("notice %s given up, the patient was not told: %s", notice_id, notice.error)
    visit = session.get(Visit, notice.visit_id)
    record_history(
        session, visit, "notice_undelivered", visit.status, "mail", notice.failed_at,
        {"kind": notice.kind, "to": notice.to_address, "error": notice.error},
    )  # fmt: skip
    return False


def _claim(session: Session, notice_id: int, lease_seconds: int) -> VisitNotice | None:
    now = utcnow()
    claimed = session.execute(
        update(VisitNotice)
        .where(
            VisitNotice.id == notice_id,
            VisitNotice.sent_at.is_(None),
            VisitNotice.failed_at.is_(None),
            or_(VisitNotice.claimed_until.is_(None), VisitNotice.claimed_until < now),
        )
        .values(
            claimed_until=now + timedelta(seconds=lease_seconds), attempts=VisitNotice.attempts + 1
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return None
    return session.get(VisitNotice, notice_id, populate_existing=True)


def _reminder_stands(session: Session, notice: VisitNotice, tz: ZoneInfo) -> bool:
    """Whether a reminder still tells the truth: its visit is scheduled at the time its key
    names, with a doctor who still works here, on a day he is not away (nor the clinic
    closed), inside his hours."""
    visit = session.get(Visit, notice.visit_id)
    if visit is None or visit.status != VisitStatus.SCHEDULED or not visit.doctor.active:
        return False
    if notice.key != reminder_key(visit):
        return False
    day = visit.starts_at.astimezone(tz).date()
    away = schedules.exceptions_between(session, [visit.doctor_id], day, day)
    if schedules.away_on(away, visit.doctor_id, day) is not None:
        return False
    hours = schedules.hours_for(session, [visit.doctor_id])
    return schedules.in_hours(hours, visit.doctor_id, visit.starts_at, visit.ends_at, tz)


def _move_job(key: str) -> str | None:
    """The job whose move a notice tells of, by its key: ``moved:<job>`` (one move, see
    :func:`clinic.visits.rescheduling.notice_key`) or ``bulk:<job>:...`` (a bulk move's)."""
    kind, _, rest = key.partition(":")
    return rest.split(":", 1)[0] if kind in ("moved", "bulk") and rest else None


def _move_stands(session: Session, notice: VisitNotice) -> bool:
    """Whether a move's notice still tells the truth: a visit it tells of is scheduled or
    arrived where that move put it, and nobody moved it since. A bulk move's letter lists the
    patient's visits its job moved: it stands while one of them does."""
    visit = session.get(Visit, notice.visit_id)
    if visit is None:
        return False
    job_id = _move_job(notice.key)
    his = select(Visit.id).where(
        Visit.patient_id == visit.patient_id, Visit.status.in_(VisitStatus.MOVABLE)
    )
    moves = session.execute(
        select(VisitEvent.visit_id, VisitEvent.data)
        .where(VisitEvent.visit_id.in_(his), VisitEvent.action == "rescheduled")
        .order_by(VisitEvent.id)
    )
    jobs_of: dict[int, list] = {}  # each visit of his still to come: the jobs that moved it
    for visit_id, data in moves:
        jobs_of.setdefault(visit_id, []).append((data or {}).get("job_id"))
    told = [jobs for jobs in jobs_of.values() if job_id in jobs]
    if job_id is None or not told:
        # No move of a visit still to come is recorded for it: it stands while its visit does.
        return visit.status in VisitStatus.MOVABLE
    return any(jobs[-1] == job_id for jobs in told)


def _stands(session: Session, notice: VisitNotice, tz: ZoneInfo) -> bool:
    """Whether a claimed notice still tells the truth (a cancellation always does)."""
    if notice.kind == NoticeKind.REMINDER:
        return _reminder_stands(session, notice, tz)
    if notice.kind == NoticeKind.RESCHEDULED:
        return _move_stands(session, notice)
    return True


def _held_elsewhere(session: Session, notice_id: int) -> bool:
    """Whether a notice this sender could not claim is still to go (another sender holds
    it), rather than sent or given up meanwhile."""
    notice = session.get(VisitNotice, notice_id, populate_existing=True)
    return notice is not None and notice.sent_at is None and notice.failed_at is None


def send_notices(
    sessions: sessionmaker,
    notifier: Notifier,
    *,
    lease_seconds: int,
    tz: ZoneInfo,
    keys=None,
    limit: int = 200,
) -> int:
    """Send unsent notices (those with these ``keys``, or any); returns how many this call
    sent. Without a mail server configured nothing is claimed: the notices wait for one.

    One visit's notices go in the order they were written: a keyed one goes after those of
    its visit written before it and still unsent, and none goes while an earlier one of its
    visit waits (another sender holds it, or the mail server did not take it).

    A reminder or a move's notice is checked again as it is claimed (``tz``: the clinic's,
    for its day): one whose visit was cancelled or moved since it was written (a reminder:
    also its doctor declared away) is dropped unsent. Taken back, the absence leaves the
    visit reminded anew (the key is free).
    """
    if isinstance(notifier, EmailNotifier) and not notifier.settings.smtp_host:
        return 0
    # A reminder held back (the mail server was down) until its visit began would tell of a
    # time that is gone: it is not sent. One whose visit is no longer scheduled (arrived,
    # marked a no-show, cancelled) is claimed to be dropped (``_reminder_stands``).
    still_to_come = select(Visit.id).where(Visit.starts_at > utcnow())
    with sessions() as session:
        query = select(VisitNotice.id, VisitNotice.visit_id).where(
            VisitNotice.sent_at.is_(None),
            VisitNotice.failed_at.is_(None),
            or_(
                VisitNotice.kind != NoticeKind.REMINDER,
                VisitNotice.visit_id.in_(still_to_come),
            ),
        )
        if keys is not None:
            # The keyed notices, and those of their visits written before them: a move's
            # notice the mail server did not take goes (or is dropped) before the
            # cancellation that came after it, which is the last word.
            keyed = aliased(VisitNotice)
            query = query.where(
                select(keyed.id)
                .where(
                    keyed.key.in_(list(keys)),
                    keyed.visit_id == VisitNotice.visit_id,
                    keyed.id >= VisitNotice.id,
                )
                .exists()
            )
        # The visits whose notices were tried least first: those a mail server keeps refusing
        # (an address it does not know) must not fill every run's ``limit`` and keep new ones
        # from going. One visit's notices go in the order they were written.
        other = aliased(VisitNotice)
        tried = (
            select(func.max(other.attempts))
            .where(
                other.visit_id == VisitNotice.visit_id,
                other.sent_at.is_(None),
                other.failed_at.is_(None),
            )
            .scalar_subquery()
        )
        pending = list(session.execute(query.order_by(tried, VisitNotice.id).limit(limit)))
    sent = 0
    waiting: set[int] = set()  # visits with an earlier notice still to go: theirs wait
    for notice_id, visit_id in pending:
        if visit_id in waiting:
            continue
        with sessions() as session, session.begin():
            notice = _claim(session, notice_id, lease_seconds)
            if notice is None and _held_elsewhere(session, notice_id):
                waiting.add(visit_id)
            if notice is not None and not _stands(session, notice, tz):
                session.delete(notice)
                notice = None
            if notice is not None:
                message = (notice.to_address, notice.subject, notice.body)
        if notice is None:
            continue
        try:
            notifier.send(*message)
        except (OSError, smtplib.SMTPException) as exc:
            with sessions() as session, session.begin():
                if _not_sent(session, notice_id, exc):
                    waiting.add(visit_id)
            continue
        with sessions() as session, session.begin():
            session.execute(
                update(VisitNotice).where(VisitNotice.id == notice_id).values(sent_at=utcnow())
            )
        sent += 1
    return sent
