"""The outbox: domain events written in the same transaction as the change they describe."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clinic.base import Base, BigId, JsonDoc, UTCDateTime, iso, utcnow


class EventChannel(Base):
    """A channel's event counter. Taking the next number locks the row, so events of one
    channel commit in the order of their numbers."""

    __tablename__ = "event_channels"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        UniqueConstraint("channel", "seq", name="uq_outbox_events_channel_seq"),
        Index("ix_outbox_events_unpublished", "published_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(200), nullable=False)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    data: Mapped[dict] = mapped_column(JsonDoc, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def message(self) -> dict:
        """The event as it travels over Redis and WebSocket."""
        return {
            "channel": self.channel,
            "id": self.seq,
            "type": self.type,
            "data": self.data,
            "ts": iso(self.created_at),
        }
