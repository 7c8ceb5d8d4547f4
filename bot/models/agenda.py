"""The meeting's agenda: the issues members table for it, in hot-seat order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, Snowflake


class AgendaItem(Base):
    """One member's issue on one meeting's agenda (one per member per meeting).

    ``position`` is the hot-seat order (1 goes first). It is the fair order until a facilitator
    reorders the agenda (``reordered_at`` set on the meeting's items); after that, new items join
    at the end.
    """

    __tablename__ = "agenda_item"
    __table_args__ = (
        UniqueConstraint("meeting_id", "user_id"),
        Index("ix_agenda_item_group_user", "group_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"))
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(Snowflake)
    issue: Mapped[str] = mapped_column(String(200))
    # Tabled by opening a brainstorm for the meeting.
    brainstorm_id: Mapped[int | None] = mapped_column(ForeignKey("brainstorm.id", ondelete="SET NULL"))
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    reordered_at: Mapped[datetime | None]
