"""Reminders: a notice per visit time, written once, however often beat asks.

Each reminder's key names the visit and its start, so a visit moved after its reminder
gets a new one for the new time, and a second run of beat writes nothing new.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.base import utcnow
from clinic.visits import notify, schedules
from clinic.visits.events import NoticeKind, VisitStatus
from clinic.visits.models import Visit

ROOM = ("каб.", "xona", "room")  # the word before the room's number: ru, uz, en


reminder_key = notify.reminder_key


def write_reminders(session: Session, *, hours: int, tz: ZoneInfo, now=None) -> int:
    """Write the reminders of scheduled visits starting within ``hours``; returns how many
    were new."""
    now = now or utcnow()
    due = session.scalars(
        select(Visit).where(
            Visit.status == VisitStatus.SCHEDULED,
            Visit.notify_email.is_not(None),
            Visit.starts_at > now,
            Visit.starts_at <= now + timedelta(hours=hours),
        )
    ).all()
    # A visit on a day its doctor is away (or the clinic closed), or at a time his hours no
    # longer cover (cut short since it was booked), waits for the registrar to move or
    # cancel it: a reminder would send the patient to a doctor who is not there.
    days = [visit.starts_at.astimezone(tz).date() for visit in due]
    away = (
        schedules.exceptions_between(
            session, {visit.doctor_id for visit in due}, min(days), max(days)
        )
        if due
        else []
    )
    worked = schedules.hours_for(session, {visit.doctor_id for visit in due}) if due else []
    written = 0
    for visit, day in zip(due, days):
        if schedules.away_on(away, visit.doctor_id, day) is not None or not visit.doctor.active:
            continue  # nor one of a doctor who has left, waiting to be moved to a colleague
        if not schedules.in_hours(worked, visit.doctor_id, visit.starts_at, visit.ends_at, tz):
            continue
        when = visit.starts_at.astimezone(tz).strftime("%d.%m.%Y %H:%M")
        doctor = visit.doctor.full_name
        ru, uz, en = (f", {w} {visit.room.number}" if visit.room else "" for w in ROOM)
        # In the clinic's three languages: the patient's own is not known.
        notice = notify.write_notice(
            session,
            visit,
            key=reminder_key(visit),
            kind=NoticeKind.REMINDER,
            subject="Напоминание о приёме / Qabul haqida eslatma / Visit reminder",
            body=(
                f"{visit.patient.full_name},\n\n"
                f"напоминаем о приёме {when} (врач: {doctor}{ru}).\n"
                f"{when} dagi qabulingizni eslatamiz (shifokor: {doctor}{uz}).\n"
                f"A reminder of your visit at {when} (doctor: {doctor}{en}).\n"
            ),
        )
        written += notice is not None
    return written
