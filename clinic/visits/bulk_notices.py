"""The letters of a bulk move: one per moved patient (and address) listing every visit of
his the job moved, and one per visit that fitted nowhere. Written once, by unique keys,
however often the job runs; sent after commit."""

from __future__ import annotations

import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.base import iso
from clinic.visits import notify
from clinic.visits.events import NoticeKind, VisitStatus
from clinic.visits.models import Visit, VisitNotice
from clinic.visits.rescheduling import write_moves_notice


def notice_key(job_id: str, visit_id: int) -> str:
    """The key of one visit's notice, as jobs begun before notices were per patient wrote."""
    return f"bulk:{job_id}:{visit_id}"


def patient_notice_key(job_id: str, patient_id: int, address: str) -> str:
    # Per address too: the patient may have given his visits different ones.
    digest = hashlib.sha256(address.strip().lower().encode()).hexdigest()[:16]
    return f"bulk:{job_id}:{patient_id}:{digest}"


def write_notices(session: Session, job_id: str, moved: list[dict], *, tz: ZoneInfo) -> list[str]:
    """The bulk move's notices, one per patient (and address) listing every visit of his it
    moved, with its time now (a registrar may have moved it again since; a visit cancelled
    since is left out). Returns the keys of all of them, written now or by an earlier run."""
    came_from = {m["visit_id"]: datetime.fromisoformat(m["from"]["starts_at"]) for m in moved}
    if not came_from:
        return []
    # A job begun before the notices were one per patient wrote one per visit: those visits'
    # patients have been told.
    told = set(
        session.scalars(
            select(VisitNotice.visit_id).where(
                VisitNotice.key.in_([notice_key(job_id, visit_id) for visit_id in came_from])
            )
        )
    )
    visits = session.scalars(
        select(Visit)
        .where(Visit.id.in_([i for i in came_from if i not in told]))
        .order_by(Visit.starts_at, Visit.id)
    ).all()
    # One mailbox however its address is capitalised (Ivan@Ex.uz is ivan@ex.uz): one letter
    # to it, listing every visit of his booked with it, sent to the spelling first met.
    letters: dict[tuple[int, str], list[Visit]] = {}
    for visit in visits:
        if visit.notify_email and visit.status in VisitStatus.MOVABLE:
            mailbox = (visit.patient_id, visit.notify_email.strip().lower())
            letters.setdefault(mailbox, []).append(visit)
    keys = []
    for (patient_id, address), his in letters.items():
        key = patient_notice_key(job_id, patient_id, address)
        write_moves_notice(session, [(one, came_from[one.id]) for one in his], key=key, tz=tz)
        keys.append(key)
    return keys


def write_unplaced_notices(
    session: Session, job_id: str, unplaced: list[dict], *, tz: ZoneInfo
) -> list[str]:
    """Tell each patient whose visit fitted nowhere that it will not take place (no reminder
    goes while it waits on a day its doctor is away): one still where the job left it, with
    an address. Returns the keys, written now or by an earlier run."""
    keys = []
    for left in unplaced:
        visit = session.get(Visit, left["visit_id"])
        if (
            visit is None
            or not visit.notify_email
            or visit.status not in VisitStatus.MOVABLE
            or iso(visit.starts_at) != left["starts_at"]
            or visit.doctor_id != left["doctor_id"]
        ):
            continue  # moved or cancelled by the desk since: that told him
        key = f"bulk:{job_id}:unplaced:{visit.id}"
        when = visit.starts_at.astimezone(tz).strftime("%d.%m.%Y %H:%M")
        doctor = visit.doctor.full_name
        notify.write_notice(
            session, visit, key=key, kind=NoticeKind.CANCELLED,
            subject="Ваш приём не состоится / Qabulingiz bo'lmaydi"
            " / Your visit cannot take place",
            body=(
                f"{visit.patient.full_name},\n\n"
                f"ваш приём {when} (врач: {doctor}) не состоится: врача в этот день не будет."
                " Позвоните нам, чтобы записаться на другое время.\n"
                f"{when} dagi qabulingiz (shifokor: {doctor}) bo'lmaydi: shifokor bu kuni"
                " ishlamaydi. Boshqa vaqtga yozilish uchun bizga qo'ng'iroq qiling.\n"
                f"Your visit at {when} (doctor: {doctor}) cannot take place: the doctor is"
                " away that day. Please call us to book another time.\n"
            ),
        )  # fmt: skip
        keys.append(key)
    return keys
