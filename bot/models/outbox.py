"""The outbox: every message the bot sends on its own, one row per message."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, Snowflake


class OutboxStatus(StrEnum):
    """An outbox row's ``status``: pending → sent | failed | expired | cancelled."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


PENDING = OutboxStatus.PENDING


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        # One row per (kind, group, meeting or occurrence, recipient): scheduling twice is a no-op.
        UniqueConstraint("kind", "group_id", "occurrence", "recipient_id"),
        # The due scan reads only pending rows in due order.
        Index(
            "ix_outbox_pending_due",
            "due_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_outbox_group_status", "group_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    guild_id: Mapped[int] = mapped_column(Snowflake)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    # What makes the row unique besides kind, group and recipient: "meeting:<id>" or similar.
    occurrence: Mapped[str] = mapped_column(String(64))
    # 0 for a post to the group's channel; the user id for a DM.
    recipient_id: Mapped[int] = mapped_column(Snowflake, default=0)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None] = mapped_column(String(300))
    message_id: Mapped[int | None] = mapped_column(Snowflake)
    channel_id: Mapped[int | None] = mapped_column(Snowflake)
    claimed_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
