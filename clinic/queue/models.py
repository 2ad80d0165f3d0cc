"""The electronic queue: queues, their days, tickets, each ticket's history, display boards."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.base import Base, BigId, JsonDoc, UTCDateTime, utcnow
from clinic.reference.models import Department, Doctor, Room


class TicketStatus:
    WAITING = "waiting"
    CALLED = "called"
    IN_SERVICE = "in_service"
    SERVED = "served"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    TRANSFERRED = "transferred"
    POSTPONED = "postponed"

    ALL = (WAITING, CALLED, IN_SERVICE, SERVED, NO_SHOW, CANCELLED, TRANSFERRED, POSTPONED)
    ACTIVE = (WAITING, CALLED, IN_SERVICE, POSTPONED)
    FINAL = (SERVED, NO_SHOW, CANCELLED, TRANSFERRED)


class TicketSource:
    DESK = "desk"
    KIOSK = "kiosk"
    ONLINE = "online"
    APPOINTMENT = "appointment"

    ALL = (DESK, KIOSK, ONLINE, APPOINTMENT)


class Priority:
    """Higher is called first; within a priority, the earlier queue time.

    Privileged patients (veterans, people with disabilities, pregnant women, a parent with a
    small child) go ahead of the walk-ins, after the urgent ones and after those who come back
    (a return from another queue, or a check-in for a booked visit). The numbers are stored:
    renumbering them takes a migration (0020 put ``privileged`` between normal and returned).
    """

    NORMAL = 0
    PRIVILEGED = 1
    RETURNED = 2
    URGENT = 3

    NAMES = {"normal": NORMAL, "privileged": PRIVILEGED, "returned": RETURNED, "urgent": URGENT}
    # How the API, the events and the screens name a stored priority.
    NAME_OF = {number: name for name, number in NAMES.items()}


# Where a queue's day ends when its configuration does not say (clinic time).
DEFAULT_CLOSES_AT = time(20, 0)


class Queue(Base):
    """A standing queue: a department's, or one doctor's room's. Tickets live per day."""

    __tablename__ = "queues"
    __table_args__ = (
        CheckConstraint("start_number >= 1 AND start_number <= 9000", name="start_number_range"),
        CheckConstraint("online_daily_limit >= 0", name="online_limit_not_negative"),
        CheckConstraint("close_action IN ('no_show', 'cancel')", name="close_action_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False)
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("doctors.id"), nullable=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"), nullable=True)
    prefix: Mapped[str] = mapped_column(String(3), nullable=False)
    start_number: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    online_from: Mapped[time | None] = mapped_column(Time, nullable=True)
    online_until: Mapped[time | None] = mapped_column(Time, nullable=True)
    online_daily_limit: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    pay_before_doctor: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # When the day's queue closes (clinic time), and what happens to whoever still waits.
    closes_at: Mapped[time] = mapped_column(Time, nullable=False, default=DEFAULT_CLOSES_AT)
    close_action: Mapped[str] = mapped_column(String(16), nullable=False, default="no_show")
    default_service_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=10)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    department: Mapped[Department] = relationship()
    doctor: Mapped[Doctor | None] = relationship()
    room: Mapped[Room | None] = relationship()


class QueueDay(Base):
    """One queue on one clinic day: its ticket counter, online count and closing figures."""

    __tablename__ = "queue_days"
    __table_args__ = (UniqueConstraint("queue_id", "day", name="uq_queue_days_queue_id_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    last_number: Mapped[int] = mapped_column(Integer, nullable=False)
    online_issued: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # How many of the day's tickets wait: kept by every change to or from "waiting" under this
    # row's lock, so boards and events read it instead of counting a long day.
    waiting: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    stats: Mapped[dict | None] = mapped_column(JsonDoc, nullable=True)

    queue: Mapped[Queue] = relationship()


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("queue_day_id", "number", name="uq_tickets_queue_day_id_number"),
        # One active online ticket per phone per queue per day, decided by the database.
        Index(
            "uq_tickets_active_online_phone",
            "queue_day_id",
            "phone",
            unique=True,
            sqlite_where=text(
                "source = 'online' AND status IN ('waiting', 'called', 'in_service', 'postponed')"
            ),
            postgresql_where=text(
                "source = 'online' AND status IN ('waiting', 'called', 'in_service', 'postponed')"
            ),
        ),
        # The board's last calls: the day's newest calls first, without reading the day.
        Index("ix_tickets_day_called_at", "queue_day_id", "called_at"),
        # Where a patient went: the ticket a transfer (or a return) opened from this one.
        Index("ix_tickets_transferred_from_id", "transferred_from_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_day_id: Mapped[int] = mapped_column(ForeignKey("queue_days.id"), nullable=False)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    code: Mapped[str] = mapped_column(String(12), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=Priority.NORMAL)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=TicketStatus.WAITING)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"), nullable=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), nullable=True)
    visit_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    phone: Mapped[str | None] = mapped_column(String(13), nullable=True)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # The secret in the patient's link (QR): it alone opens the ticket's own page.
    token: Mapped[str] = mapped_column(String(43), unique=True, nullable=False)
    # Queue time: kept across transfers, so a transferred patient does not start again.
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    recalls: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Set when the ticket's invoice is paid: a "pay before the doctor" queue calls only these.
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    transferred_from_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True)
    return_to_queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id"), nullable=True)
    # The kiosk's or the joining phone's idempotency key, with whose it is: the same request
    # sent again after its answer was lost is answered with this ticket, not a second one.
    request_key: Mapped[str | None] = mapped_column(String(180), unique=True, nullable=True)

    queue: Mapped[Queue] = relationship(foreign_keys=[queue_id])
    room: Mapped[Room | None] = relationship()


# Call next and a patient's position read the day's waiting tickets in calling order straight
# from this index, however long the day.
Index(
    "ix_tickets_calling_order",
    Ticket.queue_day_id,
    Ticket.status,
    Ticket.priority.desc(),
    Ticket.queued_at,
    Ticket.id,
)


class TicketEvent(Base):
    """A ticket's history: every transition with its time and actor."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16), nullable=False)
    actor: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    data: Mapped[dict | None] = mapped_column(JsonDoc, nullable=True)


class Board(Base):
    """A display board: which queues it shows and how it announces calls."""

    __tablename__ = "boards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    queue_ids: Mapped[list] = mapped_column(JsonDoc, nullable=False, default=list)
    # "ru", "uz", "en" or several joined with "+": the call-out is spoken in each, in order.
    voice_languages: Mapped[str] = mapped_column(String(20), nullable=False, default="ru+uz")
    chime: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # The language of the board's own texts, whatever the browser of its screen prefers.
    language: Mapped[str] = mapped_column(
        String(2), nullable=False, default="ru", server_default="ru"
    )
    # The board's name in other languages ({"uz": "1-zal"}); ``name`` where one is missing.
    titles: Mapped[dict | None] = mapped_column(JsonDoc, nullable=True)


class BoardScreen(Base):
    """A screen paired with a board: it proves itself with a long-lived device secret (kept
    as a SHA-256), not with anyone's session, so it runs for months untouched until an
    administrator revokes it. Before pairing it holds a one-time pairing code instead."""

    __tablename__ = "board_screens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    board_id: Mapped[int] = mapped_column(
        ForeignKey("boards.id", ondelete="CASCADE"), nullable=False, index=True
    )
    label: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    secret_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    paired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A display account that opened its board paired the screen by itself: the screen works
    # while that account's credentials hold as they did then (``users.session_version``). A
    # screen paired with a code has neither.
    paired_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    paired_by_version: Mapped[int | None] = mapped_column(Integer, nullable=True)

    board: Mapped[Board] = relationship()
