"""Queue KPIs from the day's tickets: waiting time p50 and p90, service time, no-shows, per
queue, room or hour."""

from __future__ import annotations

from typing import Iterator

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from clinic.accounts.models import User
from clinic.queue.models import Queue, Ticket, TicketEvent, TicketStatus
from clinic.reference.models import Room
from clinic.reports.common import Built, Column, by_position, key_text, minutes, stream, within
from clinic.reports.params import ReportParams
from clinic.reports.sql import Dialect


def queue_report(session: Session, p: ReportParams, d: Dialect, lo, hi) -> Built:
    key = {
        "queue": Ticket.queue_id,
        "room": func.coalesce(Ticket.room_id, Queue.room_id, literal(0)),
        "hour": d.local_hour(Ticket.queued_at),
    }[p.by]

    def scoped(statement):
        statement = statement.select_from(Ticket).join(Queue, Queue.id == Ticket.queue_id)
        statement = statement.where(within(Ticket.queued_at, lo, hi))
        if p.doctor_id is not None:
            # His own queue's tickets, and those he called from a shared one (the department's
            # queue several doctors call from): called next, or called back after a postponing.
            called_by_him = (
                select(TicketEvent.id)
                .join(User, User.username == TicketEvent.actor)
                .where(
                    TicketEvent.ticket_id == Ticket.id,
                    TicketEvent.action.in_(("called", "called_back")),
                    User.doctor_id == p.doctor_id,
                )
                .exists()
            )
            statement = statement.where(or_(Queue.doctor_id == p.doctor_id, called_by_him))
        if p.department_id is not None:
            statement = statement.where(Queue.department_id == p.department_id)
        return statement

    served = Ticket.status == TicketStatus.SERVED
    # A service runs from its start, or, finished straight from the call (the doctor never
    # pressed Start), from the ticket's last call: it is counted, not left out of the mean.
    began = func.coalesce(Ticket.started_at, Ticket.called_at)
    service = d.seconds(began, Ticket.finished_at)
    counts = (
        scoped(
            select(
                key.label("key"),
                func.count(Ticket.id).label("tickets"),
                func.sum(case((served, 1), else_=0)).label("served"),
                func.sum(case((Ticket.status == TicketStatus.NO_SHOW, 1), else_=0)).label(
                    "no_shows"
                ),
                func.avg(
                    case(
                        (
                            and_(
                                served,
                                began.is_not(None),
                                Ticket.finished_at.is_not(None),
                            ),
                            service,
                        ),
                        else_=None,
                    )
                ).label("service"),
            )
        )
        .group_by(by_position(1))
        .subquery()
    )
    # The wait ends at the ticket's first call, kept in its history: ``called_at`` is its
    # last call (the board shows recalls), and a recall does not make the patient wait
    # longer. A transferred ticket's new one has its own history (and keeps the queue time).
    first_call = (
        select(func.min(TicketEvent.at))
        .where(TicketEvent.ticket_id == Ticket.id, TicketEvent.to_status == TicketStatus.CALLED)
        .scalar_subquery()
    )
    called = func.coalesce(first_call, Ticket.called_at)
    waits = (
        scoped(select(key.label("key"), d.seconds(Ticket.queued_at, called).label("wait")))
        .where(Ticket.called_at.is_not(None), called >= Ticket.queued_at)
        .subquery()
    )
    # Percentiles by nearest rank, with window functions both databases have: the p-th
    # percentile of n waits is the ceil(p * n / 100)-th smallest.
    ranked = select(
        waits.c.key,
        waits.c.wait,
        func.row_number().over(partition_by=waits.c.key, order_by=waits.c.wait).label("rank"),
        func.count().over(partition_by=waits.c.key).label("n"),
    ).subquery()

    def nth(percent: int):
        return func.max(case((ranked.c.rank == (ranked.c.n * percent + 99) // 100, ranked.c.wait)))

    percentiles = (
        select(ranked.c.key, nth(50).label("p50"), nth(90).label("p90"))
        .group_by(ranked.c.key)
        .subquery()
    )
    statement = select(
        counts.c.key,
        counts.c.tickets,
        counts.c.served,
        counts.c.no_shows,
        percentiles.c.p50,
        percentiles.c.p90,
        counts.c.service,
    ).outerjoin(percentiles, percentiles.c.key == counts.c.key)
    if p.by == "queue":
        statement = statement.add_columns(Queue.code).outerjoin(Queue, Queue.id == counts.c.key)
    elif p.by == "room":
        statement = statement.add_columns(Room.number).outerjoin(Room, Room.id == counts.c.key)
    # Rows with no department, doctor or room ("not given") last, on either database.
    statement = statement.order_by(counts.c.key.is_(None), counts.c.key)

    def rows() -> Iterator[tuple]:
        for row in stream(session, statement):
            name = row[7] if len(row) > 7 else None
            key_value = None if p.by == "room" and not row[0] else row[0]
            yield (
                key_text(p, key_value, name),
                int(row[1]),
                int(row[2] or 0),
                int(row[3] or 0),
                minutes(row[4]),
                minutes(row[5]),
                minutes(row[6]),
            )

    columns = (
        Column(f"by.{p.by}", "text"),
        Column("tickets"),
        Column("served"),
        Column("no_shows"),
        Column("wait_p50", "minutes"),
        Column("wait_p90", "minutes"),
        Column("service_avg", "minutes"),
    )
    return Built(p, columns, rows())
