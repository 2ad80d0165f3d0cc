"""The manager's dashboard: today's revenue, visits and queue, as one small snapshot.

Every figure is one aggregate over today's rows (clinic day), read through indexes on the
time columns; the page reads it again whenever a payment or ticket event arrives.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clinic.base import iso, utcnow
from clinic.payments.models import Payment, Refund
from clinic.queue.models import Queue, QueueDay
from clinic.reference.models import Department
from clinic.reports.params import day_start
from clinic.visits.models import Visit
from clinic.visits.visits import department_channel


def today(session: Session, tz: ZoneInfo, now: datetime | None = None) -> dict:
    now = now or utcnow()
    day = now.astimezone(tz).date()
    lo, hi = day_start(day, tz), day_start(day + timedelta(days=1), tz)
    received, payments = session.execute(
        select(func.coalesce(func.sum(Payment.amount), 0), func.count(Payment.id)).where(
            Payment.created_at >= lo, Payment.created_at < hi
        )
    ).one()
    refunded = session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.created_at >= lo, Refund.created_at < hi
        )
    )
    visits = dict(
        session.execute(
            select(Visit.status, func.count(Visit.id))
            .where(Visit.starts_at >= lo, Visit.starts_at < hi)
            .group_by(Visit.status)
        ).all()
    )
    # Every active queue, with nobody waiting when no ticket was issued in it today.
    queues = [
        {"queue_id": queue_id, "code": code, "waiting": int(waiting)}
        for queue_id, code, waiting in session.execute(
            select(Queue.id, Queue.code, func.coalesce(QueueDay.waiting, 0))
            .outerjoin(QueueDay, (QueueDay.queue_id == Queue.id) & (QueueDay.day == day))
            .where(Queue.active.is_(True))
            .order_by(Queue.code)
        )
    ]
    return {
        "day": day.isoformat(),
        "at": iso(now),
        "revenue": {
            "received": int(received),
            "refunded": int(refunded),
            "net": int(received) - int(refunded),
            "payments": int(payments),
        },
        "visits": {"total": sum(visits.values()), "by_status": visits},
        "queue": {"waiting": sum(q["waiting"] for q in queues), "queues": queues},
    }


def live_channels(session: Session) -> list[str]:
    """The channels whose events change the dashboard: the cashiers' desk, every active
    queue's staff channel (tickets issued, called, paid) and every active department's
    calendar (visits booked, cancelled, begun, missed: the visits by status)."""
    ids = session.scalars(select(Queue.id).where(Queue.active.is_(True)).order_by(Queue.id))
    departments = session.scalars(
        select(Department.id).where(Department.active.is_(True)).order_by(Department.id)
    )
    return (
        ["payments:desk"]
        + [f"queue:{queue_id}" for queue_id in ids]
        + [department_channel(department_id) for department_id in departments]
    )
