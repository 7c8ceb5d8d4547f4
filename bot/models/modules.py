"""A group's curriculum (its own copy of the year's modules) and members' check-ins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, Snowflake


class Module(Base):
    __tablename__ = "module"
    __table_args__ = (UniqueConstraint("group_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(String(1000))
    activities: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [{"title": ..., "url": ..., "kind": "read" | "watch" | "listen"}]
    resources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class CheckIn(Base):
    """A member's report on one cycle's module; ``visibility`` group / facilitator."""

    __tablename__ = "checkin"
    __table_args__ = (UniqueConstraint("group_id", "cycle_key", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"))
    # The cycle the check-in belongs to: "meeting:<id>" of the meeting that ends it.
    cycle_key: Mapped[str] = mapped_column(String(32))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id", ondelete="SET NULL"))
    module_number: Mapped[int] = mapped_column(Integer)
    module_title: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(Snowflake)
    consumed: Mapped[str | None] = mapped_column(String(1000))  # what I read / watched / listened to
    activities: Mapped[str | None] = mapped_column(String(1000))  # what I did of the activities
    learning: Mapped[str | None] = mapped_column(String(1000))  # my key learning
    application: Mapped[str | None] = mapped_column(String(1000))  # how I'll apply it
    visibility: Mapped[str] = mapped_column(String(16), default="group")
    message_id: Mapped[int | None] = mapped_column(Snowflake)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
