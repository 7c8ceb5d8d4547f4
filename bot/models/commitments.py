"""Commitments made at one meeting and reported back on at the next, and shared wins."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, Snowflake


class CommitmentStatus(StrEnum):
    """A commitment's ``status``: open → done | partly | not_done | dropped | not_reported."""

    OPEN = "open"
    DONE = "done"
    PARTLY = "partly"
    NOT_DONE = "not_done"
    DROPPED = "dropped"
    NOT_REPORTED = "not_reported"

    @property
    def label(self) -> str:
        """How members read it: "not done", "not reported"."""
        return self.value.replace("_", " ")


OPEN = CommitmentStatus.OPEN


class Commitment(Base):
    __tablename__ = "commitment"
    __table_args__ = (
        UniqueConstraint("group_id", "number"),
        Index("ix_commitment_group_user_status", "group_id", "user_id", "status"),
        Index("ix_commitment_meeting", "meeting_id"),
        Index("ix_commitment_carried_from", "carried_from_id", unique=True),  # carried over at most once
        Index("ix_commitment_goal", "goal_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # per group: "#12"
    user_id: Mapped[int] = mapped_column(Snowflake)
    text: Mapped[str] = mapped_column(String(300))
    due_at: Mapped[datetime]
    # The meeting it is due at (its report-back), when there is one.
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    note: Mapped[str | None] = mapped_column(String(1000))
    # The member chose to show the note on the board (private otherwise; reset when the note changes).
    note_shared: Mapped[bool] = mapped_column(Boolean, default=False)
    reported_at: Mapped[datetime | None]
    # The unfinished commitment this one carries over ("#19, carried over from #12").
    carried_from_id: Mapped[int | None] = mapped_column(ForeignKey("commitment.id", ondelete="SET NULL"))
    # The member's goal this commitment works towards (``/commit add goal:``), if any.
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("goal.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Win(Base):
    __tablename__ = "win"
    __table_args__ = (Index("ix_win_group_user", "group_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(Snowflake)
    text: Mapped[str] = mapped_column(String(300))
    message_id: Mapped[int | None] = mapped_column(Snowflake)
    created_at: Mapped[datetime]
