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
        return _message(self)


class RecordedEvent:
    """An outbox row as this process wrote it: its values and :meth:`message`, without the
    ORM's bookkeeping. A change's events are written by plain statements and never read back
    through its session, so they need none (a ticket issued writes five)."""

    __slots__ = ("id", "channel", "seq", "type", "data", "created_at", "published_at")

    def __init__(
        self, *, channel: str, type: str, data: dict, created_at: datetime, id=None, seq=None
    ) -> None:
        self.id, self.seq, self.published_at = id, seq, None
        self.channel, self.type, self.data, self.created_at = channel, type, data, created_at

    def __repr__(self) -> str:
        return f"<RecordedEvent {self.channel} #{self.seq} {self.type}>"

    def message(self) -> dict:
        """The event as it travels over Redis and WebSocket."""
        return _message(self)


def _message(event) -> dict:
    return {
        "channel": event.channel,
        "id": event.seq,
        "type": event.type,
        "data": event.data,
        "ts": iso(event.created_at),
    }
