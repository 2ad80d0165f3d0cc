"""Visits that do not happen: cancelled by the patient or the clinic (with the patient's
notice when the clinic cancels one still to come), and those nobody came to, or whose patient
left the queue unseen, marked no-shows by the periodic task (or cancelled by the clinic when
the fault was its own).
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.base import CLINIC_TZ, utcnow
from clinic.db import TZ_KEY
from clinic.errors import Conflict, ValidationFailed
from clinic.queue import calls
from clinic.queue.models import Ticket, TicketStatus
from clinic.queue.tickets import followed
from clinic.visits import notify
from clinic.visits.events import VISIT_CANCELLED, CancelledBy, NoticeKind, VisitStatus
from clinic.visits.models import Visit
from clinic.visits.schedules import away_on, day_bounds, exceptions_between, hours_for, in_hours
from clinic.visits.told_last import calendars_told_last
from clinic.visits.visits import announce, held_ticket_statuses, set_status


def cancel(
    session: Session,
    visit: Visit,
    *,
    by: str,
    reason: str,
    late_window_hours: int,
    actor: str = "",
    now=None,
    tz: ZoneInfo | None = None,
) -> Visit:
    """Cancel by the patient or the clinic, with a reason. A patient's cancellation inside
    ``late_window_hours`` of the visit is flagged late (the clinic's own never is). The
    clinic's cancellation of a visit still to come writes the patient's notice (keyed
    :func:`cancelled_notice_key`, times in ``tz``); send it after commit."""
    now = now or utcnow()
    if by not in CancelledBy.ALL:
        raise ValidationFailed("who cancels?", errors={"by": ["patient or clinic"]})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("say why", errors={"reason": ["required"]})
    late = by == CancelledBy.PATIENT and visit.starts_at - now < timedelta(hours=late_window_hours)
    # Its calendars are told once its ticket has left the queue (see check-in): the queue
    # day's row and counters first, as every step of the queue takes them.
    set_status(
        session,
        visit,
        VisitStatus.CANCELLED,
        actor,
        now,
        "cancelled",
        {"by": by, "reason": reason[:500], "late": late},
        announced=False,
    )
    visit.cancelled_by = by
    visit.cancel_reason = reason[:500]
    visit.late_cancellation = late
    ticket = session.get(Ticket, visit.ticket_id) if visit.ticket_id else None
    if ticket is not None:
        # Sent to the laboratory to come back, he holds the laboratory's ticket now.
        ticket = followed(session, ticket)
    if ticket is not None and ticket.status in TicketStatus.ACTIVE:
        # An arrived patient's ticket leaves the queue with the visit: nobody calls him, nor
        # sends him back to a doctor whose visit is gone.
        calls.cancel(session, ticket, actor=actor, reason=f"visit {visit.id} cancelled", now=now)
    announce(session, visit, VISIT_CANCELLED, {"action": "cancelled"})
    notify.drop_unsent_reminders(session, visit)
    if by == CancelledBy.CLINIC and visit.starts_at > now:
        # The patient did not ask for it: he is told, or he would come to a visit that is gone.
        _write_cancelled_notice(session, visit, tz=tz)
    session.flush()
    return visit


def cancelled_notice_key(visit: Visit) -> str:
    return f"cancelled:{visit.id}"


def _write_cancelled_notice(session: Session, visit: Visit, *, tz: ZoneInfo | None) -> None:
    # Without the staff's reason, which is written for colleagues, not for the patient. In
    # the clinic's zone, the process's (the session's) when the caller named none.
    tz = tz or session.info.get(TZ_KEY) or CLINIC_TZ
    when = visit.starts_at.astimezone(tz).strftime("%d.%m.%Y %H:%M")
    doctor = visit.doctor.full_name
    notify.write_notice(
        session,
        visit,
        key=cancelled_notice_key(visit),
        kind=NoticeKind.CANCELLED,
        subject="Ваш приём отменён / Qabulingiz bekor qilindi / Your visit has been cancelled",
        body=(
            f"{visit.patient.full_name},\n\n"
            f"ваш приём {when} (врач: {doctor}) отменён клиникой. Позвоните нам, чтобы"
            " записаться на другое время.\n"
            f"{when} dagi qabulingiz (shifokor: {doctor}) klinika tomonidan bekor qilindi."
            " Boshqa vaqtga yozilish uchun bizga qo'ng'iroq qiling.\n"
            f"Your visit at {when} (doctor: {doctor}) has been cancelled by the clinic."
            " Please call us to book another time.\n"
        ),
    )


def mark_no_shows(session: Session, *, grace_minutes: int, tz: ZoneInfo, now=None) -> list[int]:
    """Scheduled visits whose start and booking (a walk-in's slot began before he came) are
    more than the grace period ago become no-shows; returns their ids. One on a day its
    doctor was away or the clinic closed, of a doctor who has left, or at a time his hours no
    longer cover (cut short since its booking: a week saved, a date's own hours), and nobody
    moved it, is no patient's fault: the clinic cancels it, so no-shows stay the patients'.
    An arrived visit of a day gone whose patient left the queue unseen becomes one too
    (:func:`left_unseen`)."""
    now = now or utcnow()
    cutoff = now - timedelta(minutes=grace_minutes)
    due = session.scalars(
        select(Visit)
        .where(Visit.status == VisitStatus.SCHEDULED, Visit.starts_at < cutoff)
        .where(Visit.created_at < cutoff)  # a walk-in's grace runs from his booking
        .order_by(Visit.id)
        .limit(500)
    ).all()
    days = [visit.starts_at.astimezone(tz).date() for visit in due]
    doctor_ids = {v.doctor_id for v in due}
    away = exceptions_between(session, doctor_ids, min(days), max(days)) if due else []
    hours = hours_for(session, doctor_ids) if due else []
    left = left_unseen(session, tz=tz, now=now)
    marked = []
    # The calendars hear the sweep's visits once all of them are marked: told of one and then
    # taking the next one's row, it would hold their event counters while a check-in held
    # that row and waited for them (a late patient arriving as his visit is swept).
    with calendars_told_last(session):
        for visit, day in zip(due, days):
            closed = away_on(away, visit.doctor_id, day)
            reason = f"{closed.kind.replace('_', ' ')}: {day.isoformat()}" if closed else None
            reason = reason or (None if visit.doctor.active else f"the doctor has left: {day}")
            if reason is None and not in_hours(
                hours, visit.doctor_id, visit.starts_at, visit.ends_at, tz
            ):
                reason = f"outside the doctor's hours: {day.isoformat()}"
            try:
                with session.begin_nested():
                    if reason is not None:
                        cancel(
                            session, visit, by=CancelledBy.CLINIC, late_window_hours=0,
                            reason=reason, actor="system", now=now,
                        )  # fmt: skip
                        continue
                    set_status(session, visit, VisitStatus.NO_SHOW, "system", now, "no_show")
            except Conflict:
                continue  # it changed meanwhile (the patient arrived): leave it
            marked.append(visit.id)
        for visit in left:
            day = visit.starts_at.astimezone(tz).date().isoformat()
            try:
                with session.begin_nested():
                    set_status(
                        session, visit, VisitStatus.NO_SHOW, "system", now, "no_show",
                        {"reason": f"left unseen: {day}"},
                    )  # fmt: skip
            except Conflict:
                continue  # begun or cancelled meanwhile: as the staff left it
            marked.append(visit.id)
    return marked


# How far back the sweep looks for visits left unseen: it runs every few minutes, so a day
# just over is seen to at once; the bound keeps the visits it reads and leaves (a patient
# sent on to another queue and served there) from filling its reading for good.
LEFT_UNSEEN_DAYS = 7


def left_unseen(session: Session, *, tz: ZoneInfo, now) -> list[Visit]:
    """Arrived visits of a clinic day already over (in ``tz``) whose patient holds a cancelled
    ticket: he left the queue (from his phone, or the desk cancelled him, or the day closed
    on him) and was not checked in again that day, as check-in allows no longer. One without
    a ticket was seen by the calendar (his doctor may still complete it), and one whose
    ticket is in a queue still moves with it: those are left as they are. The earliest 500
    of the last :data:`LEFT_UNSEEN_DAYS` days, in two statements. The payments count him
    unseen from the day after already, as they count a no-show (:mod:`clinic.payments.unseen`)."""
    today, _ = day_bounds(now.astimezone(tz).date(), tz)
    arrived = session.scalars(
        select(Visit)
        .join(Ticket, Ticket.id == Visit.ticket_id)
        .where(Visit.status == VisitStatus.ARRIVED, Visit.starts_at < today)
        .where(Visit.starts_at >= today - timedelta(days=LEFT_UNSEEN_DAYS))
        # Its own ticket cancelled, or sent on (to the laboratory, to come back): the one he
        # holds now may be. Any other moves the visit along, and is not read run after run.
        .where(Ticket.status.in_((TicketStatus.CANCELLED, TicketStatus.TRANSFERRED)))
        .order_by(Visit.id)
        .limit(500)
    ).all()
    held = held_ticket_statuses(session, arrived)
    return [visit for visit in arrived if held.get(visit.id) == TicketStatus.CANCELLED]
