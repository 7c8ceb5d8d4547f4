"""Who came to a meeting, and what members thought of it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, Snowflake


class AttendanceStatus(StrEnum):
    """One member's attendance at one meeting."""

    PRESENT = "present"
    APOLOGIES = "apologies"  # sent apologies: away, but said so
    ABSENT = "absent"

    @property
    def label(self) -> str:
        return {"present": "Present", "apologies": "Apologies", "absent": "Absent"}[self.value]


class Attendance(Base):
    """A member's attendance at a meeting, as a facilitator took it.

    Taking attendance stores a row for every member of the group at once (the RSVPs fill in who
    hasn't been marked), so a meeting has either no attendance or a whole sheet.
    """

    __tablename__ = "attendance"
    __table_args__ = (Index("ix_attendance_group_user", "group_id", "user_id"),)

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    recorded_by: Mapped[int] = mapped_column(Snowflake)
    updated_at: Mapped[datetime]


class MeetingFeedback(Base):
    """One member's answer to "how was the meeting?": a score 1–5 and an optional line."""

    __tablename__ = "meeting_feedback"
    __table_args__ = (Index("ix_meeting_feedback_group", "group_id"),)

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"))
    score: Mapped[int] = mapped_column(Integer)
    line: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime]
