"""Schedules (weekly templates and exceptions), visits, their history, moves and notices.

All instants are stored in UTC; the template's times are clinic wall-clock times
(``CLINIC_TZ``), turned into instants per date (see :mod:`clinic.visits.schedules`).

On PostgreSQL two exclusion constraints, made by migration 0009, forbid double booking:
``ex_visits_doctor_seat_time`` (one doctor, one seat, overlapping times) and
``ex_visits_patient_time`` (one patient, overlapping times), both ignoring cancelled and
no-show visits. A slot with capacity N has seats 0..N-1, so N patients may share it and an
N+1st cannot. SQLite has no such constraints: the booking check and the insert run in one
``BEGIN IMMEDIATE`` transaction, which serialises writers.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.base import Base, BigId, JsonDoc, UTCDateTime, utcnow
from clinic.reference.models import Doctor, Patient, Room


class WorkingHours(Base):
    """One row of a doctor's weekly template: a weekday's hours, breaks, slot and room."""

    __tablename__ = "working_hours"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),
        CheckConstraint("starts < ends", name="starts_before_ends"),
        CheckConstraint("slot_minutes >= 5 AND slot_minutes <= 480", name="slot_range"),
        CheckConstraint("capacity >= 1 AND capacity <= 20", name="capacity_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"), index=True, nullable=False)
    weekday: Mapped[int] = mapped_column(Integer, nullable=False)  # Monday 0 .. Sunday 6
    starts: Mapped[time] = mapped_column(Time, nullable=False)
    ends: Mapped[time] = mapped_column(Time, nullable=False)
    # [["13:00", "14:00"], ...]: clinic wall-clock times inside starts..ends.
    breaks: Mapped[list] = mapped_column(JsonDoc, nullable=False, default=list)
    slot_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=20)
    capacity: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"), nullable=True)
    # A date's own hours: on that date its rows replace the week's rows of its weekday.
    day: Mapped[date | None] = mapped_column(Date, nullable=True)


class ScheduleException(Base):
    """A doctor away (day off, leave, sick) or the whole clinic closed, for whole days."""

    __tablename__ = "schedule_exceptions"
    __table_args__ = (
        CheckConstraint("first_day <= last_day", name="days_in_order"),
        CheckConstraint("kind IN ('day_off', 'leave', 'sick', 'holiday')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("doctors.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    first_day: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    last_day: Mapped[date] = mapped_column(Date, nullable=False)
    note: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    created_by: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class DoctorService(Base):
    """The services a doctor offers; a doctor without rows offers his department's."""

    __tablename__ = "doctor_services"

    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), primary_key=True)


class Visit(Base):
    __tablename__ = "visits"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        CheckConstraint("seat >= 0", name="seat_not_negative"),
        CheckConstraint(
            "status IN ('scheduled', 'arrived', 'in_progress', 'completed', 'cancelled',"
            " 'no_show')",
            name="status_known",
        ),
        Index("ix_visits_doctor_time", "doctor_id", "starts_at"),
        Index("ix_visits_patient_time", "patient_id", "starts_at"),
        Index("ix_visits_status_time", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), nullable=False)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"), nullable=False)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"), nullable=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # Which of the slot's places (capacity) the visit holds; 0 when the capacity is 1.
    seat: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    moves: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # Where reminders and notices go; the patient may give none.
    notify_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    cancelled_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    late_cancellation: Mapped[bool] = mapped_column(nullable=False, default=False)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    patient: Mapped[Patient] = relationship(lazy="joined")
    doctor: Mapped[Doctor] = relationship(lazy="joined")
    room: Mapped[Room | None] = relationship(lazy="joined")
    services: Mapped[list["VisitService"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="VisitService.service_id"
    )


class VisitService(Base):
    """A service booked for the visit, with its price when booked (tiyin)."""

    __tablename__ = "visit_services"

    visit_id: Mapped[int] = mapped_column(
        ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True
    )
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), primary_key=True)
    price: Mapped[int] = mapped_column(BigInteger, nullable=False)


class VisitEvent(Base):
    """A visit's history: every transition and move with its actor and time."""

    __tablename__ = "visit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16), nullable=False)
    actor: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    data: Mapped[dict | None] = mapped_column(JsonDoc, nullable=True)


class VisitMove(Base):
    """A requested move of a visit, carried out once by its job (unique per job)."""

    __tablename__ = "visit_moves"
    __table_args__ = (UniqueConstraint("job_id", name="uq_visit_moves_job_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), nullable=False)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True, nullable=False)
    to_doctor_id: Mapped[int | None] = mapped_column(ForeignKey("doctors.id"), nullable=True)
    to_starts_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    from_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    from_doctor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    actor: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    outcome: Mapped[dict | None] = mapped_column(JsonDoc, nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class VisitNotice(Base):
    """A message to a patient, written with the change it tells of and sent after commit.

    ``key`` is unique: a reminder for one visit time, or one move's notice, exists once
    however often beat or a retried job asks for it.
    """

    __tablename__ = "visit_notices"
    __table_args__ = (UniqueConstraint("key", name="uq_visit_notices_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), nullable=False)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    to_address: Mapped[str] = mapped_column(String(254), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    # A sender holds the notice until then: two senders never mail it at once.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Why the last try failed; and, once given up (refused for good, or too long unsent),
    # when: no sender tries it again.
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
