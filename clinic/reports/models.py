"""Report subscriptions and the log of their deliveries.

A delivery row is unique per (subscription, period): it is written before anything is sent,
so however often beat asks and whichever worker dies mid-send, one period is one delivery.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.base import Base, JsonDoc, UTCDateTime, utcnow


class Frequency:
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"

    ALL = (DAILY, WEEKLY, MONTHLY)


class DeliveryState:
    """pending -> sending -> sent; sending -> pending (a failed try, retried later with
    backoff) or failed (tries spent); pending or sending -> cancelled (unsubscribed). A
    ``sending`` row whose claim expired (its worker died) is claimed again."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"

    ALL = (PENDING, SENDING, SENT, FAILED, CANCELLED)
    FINAL = (SENT, FAILED, CANCELLED)


class ReportSubscription(Base):
    __tablename__ = "report_subscriptions"
    __table_args__ = (
        CheckConstraint("frequency IN ('daily', 'weekly', 'monthly')", name="frequency_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The report's parameters without the period: {"report", "by", "department_id", ...}.
    params: Mapped[dict] = mapped_column(JsonDoc, nullable=False)
    formats: Mapped[list] = mapped_column(JsonDoc, nullable=False)
    frequency: Mapped[str] = mapped_column(String(16), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    language: Mapped[str] = mapped_column(String(2), nullable=False, default="ru")
    created_by: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ReportDelivery(Base):
    __tablename__ = "report_deliveries"
    __table_args__ = (
        UniqueConstraint(
            "subscription_id", "period_start", name="uq_report_deliveries_subscription_period"
        ),
        CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'failed', 'cancelled')", name="state_known"
        ),
        Index("ix_report_deliveries_state_next", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("report_subscriptions.id"), nullable=False
    )
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    # A sender holds the delivery until then; past it, the sender is presumed dead.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    attachments: Mapped[list | None] = mapped_column(JsonDoc, nullable=True)

    subscription: Mapped[ReportSubscription] = relationship()
