"""Long queue days for tests: thousands of waiting tickets in one bulk insert."""

from __future__ import annotations

import secrets
from datetime import time, timedelta

from sqlalchemy import insert, update

from clinic.base import utcnow
from clinic.queue import admin as queue_admin
from clinic.queue import tickets as q
from clinic.queue.models import QueueDay, Ticket, TicketSource
from clinic.queue.models import TicketStatus as S
from clinic.queue.numbering import ensure_day
from clinic.reference import directory as reference


def make_queue(runtime, code: str) -> int:
    """A department and its shared queue, both named ``code`` (lower-case letters)."""
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {
                "code": code,
                "ticket_prefix": code[-3:].upper(),
                "name_ru": "Терапия",
                "name_uz": "Terapiya",
                "name_en": "Therapy",
            },
        )
        # Open until the day's last minute: seeded days are issued at the real time.
        return queue_admin.create_queue(
            s, {"code": code, "department_id": department.id, "closes_at": time(23, 59, 59, 999999)}
        ).id


def seed_waiting(runtime, queue_id: int, count: int) -> int:
    """``count`` waiting tickets in today's day of the queue (the first issued the usual way,
    the rest inserted at once, numbered on); returns the day's id."""
    tz = runtime.settings.tz
    with runtime.db.transaction() as s:
        first = q.issue_ticket(s, queue_id, tz=tz, actor="seed")
        day_id, prefix, start = first.queue_day_id, first.code.split("-")[0], first.queued_at
    if count > 1:
        rows = [
            {
                "queue_day_id": day_id,
                "queue_id": queue_id,
                "number": n,
                "code": f"{prefix}-{n:03d}",
                "source": TicketSource.DESK,
                "priority": 0,
                "status": S.WAITING,
                "comment": "",
                "token": secrets.token_urlsafe(32),
                "queued_at": start + timedelta(milliseconds=n),
                "created_at": utcnow(),
                "recalls": 0,
            }
            for n in range(2, count + 1)
        ]
        with runtime.db.transaction() as s:
            s.execute(insert(Ticket), rows)
            s.execute(
                update(QueueDay)
                .where(QueueDay.id == day_id)
                .values(last_number=count, waiting=count)
            )
    return day_id


def close_today(runtime, queue_id: int) -> None:
    """The queue's clinic day of now closed, as its closing time's run leaves it: the queue
    takes no ticket, at the desk, the kiosk, online or by transfer, until the next day."""
    with runtime.db.transaction() as s:
        queue = q.get_queue(s, queue_id)
        today = q.clinic_day(utcnow(), runtime.settings.tz)
        ensure_day(s, queue, today)
        s.execute(
            update(QueueDay)
            .where(QueueDay.queue_id == queue_id, QueueDay.day == today)
            .values(closed_at=utcnow())
        )
