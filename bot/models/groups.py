"""Peer groups, their members, buddies, and meetings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, Snowflake

DEFAULT_MEETING_REMINDER_HOURS = [168, 24]  # 7 days and 1 day before


class BuddyStatus(StrEnum):
    """A buddy pair's ``status``: pending → active | declined; active → ended."""

    PENDING = "pending"
    ACTIVE = "active"
    DECLINED = "declined"
    ENDED = "ended"


class NoteSharing(StrEnum):
    """A group's ``board_notes`` setting: whether report-back notes may appear on the board.

    ``member_chooses``: a note is private until its member shows it on the board (per note);
    ``private``: notes are never shown to anyone but their member.
    """

    MEMBER_CHOOSES = "member_chooses"
    PRIVATE = "private"


class SeriesStatus(StrEnum):
    """A meeting series' state, derived from ``ended_at`` (the table has no status column)."""

    ACTIVE = "active"
    ENDED = "ended"


class MeetingStatus(StrEnum):
    """A meeting's ``status``: scheduled → ended | cancelled."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    ENDED = "ended"


class Group(Base):
    __tablename__ = "peer_group"  # "group" is an SQL keyword
    __table_args__ = (UniqueConstraint("guild_id", "name_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake, index=True)
    channel_id: Mapped[int] = mapped_column(Snowflake, unique=True)
    name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(String(80))  # casefolded name, unique per server
    timezone: Mapped[str] = mapped_column(String(64))
    max_members: Mapped[int] = mapped_column(Integer, default=8)
    # Private by default: a new group doesn't announce commitments (groups made before keep theirs).
    announce_commitments: Mapped[bool] = mapped_column(Boolean, default=False)
    board_notes: Mapped[str] = mapped_column(String(16), default=NoteSharing.MEMBER_CHOOSES)
    meeting_reminder_hours: Mapped[list[int]] = mapped_column(
        JSON, default=lambda: list(DEFAULT_MEETING_REMINDER_HOURS)
    )
    reportback_lead_hours: Mapped[int] = mapped_column(Integer, default=48)
    checkin_nudge_lead_hours: Mapped[int] = mapped_column(Integer, default=72)
    # The meeting pack goes out this long before the meeting, instead of the 1-day reminder; 0: no pack.
    pack_lead_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    current_module_number: Mapped[int] = mapped_column(Integer, default=1)
    # Mirror planned meetings to the server's Events (needs Manage Events: bot/services/events_feature.py).
    discord_events: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # The voice or stage channel the events of online meetings (and meetings without a place) are in;
    # None: every event is external, at the meeting's place.
    event_channel_id: Mapped[int | None] = mapped_column(Snowflake)
    event_channel_stage: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_by: Mapped[int] = mapped_column(Snowflake)
    created_at: Mapped[datetime]
    archived_at: Mapped[datetime | None]
    # Set when the channel is deleted or the bot lost its permissions there.
    channel_broken_at: Mapped[datetime | None]
    channel_broken_reason: Mapped[str | None] = mapped_column(String(200))


class GroupMember(Base):
    __tablename__ = "group_member"

    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    guild_id: Mapped[int] = mapped_column(Snowflake, index=True)
    is_facilitator: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_at: Mapped[datetime]


class BuddyPair(Base):
    """Two members of a group paired for mutual accountability; ``status`` pending/active/declined/ended."""

    __tablename__ = "buddy_pair"
    __table_args__ = (Index("ix_buddy_pair_group_status", "group_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"))
    requester_id: Mapped[int] = mapped_column(Snowflake)
    partner_id: Mapped[int] = mapped_column(Snowflake)
    status: Mapped[str] = mapped_column(String(16), default=BuddyStatus.PENDING)
    created_at: Mapped[datetime]
    responded_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]


class MeetingSeries(Base):
    """A recurrence rule at a wall-clock time in the group's timezone."""

    __tablename__ = "meeting_series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"), index=True)
    rule_text: Mapped[str] = mapped_column(String(200))  # what the facilitator typed
    rrule: Mapped[str] = mapped_column(Text)  # the normalised RRULE
    local_time: Mapped[str] = mapped_column(String(5))  # HH:MM
    location: Mapped[str | None] = mapped_column(String(200))
    # The typed place (bot/places.py): ``location`` is its venue.
    address: Mapped[str | None] = mapped_column(String(200))
    place_link: Mapped[str | None] = mapped_column(String(500))
    place_kind: Mapped[str | None] = mapped_column(String(16))
    created_by: Mapped[int] = mapped_column(Snowflake)
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    @property
    def status(self) -> SeriesStatus:
        return SeriesStatus.ACTIVE if self.ended_at is None else SeriesStatus.ENDED


class Meeting(Base):
    """One dated meeting; ``status`` scheduled / cancelled / ended."""

    __tablename__ = "meeting"
    __table_args__ = (Index("ix_meeting_group_starts", "group_id", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_series.id", ondelete="SET NULL"))
    starts_at: Mapped[datetime]
    # For a meeting of a series: the occurrence it was made for (kept when the meeting is moved).
    series_occurrence_at: Mapped[datetime | None]
    location: Mapped[str | None] = mapped_column(String(200))
    # The typed place (bot/places.py): ``location`` is its venue.
    address: Mapped[str | None] = mapped_column(String(200))
    place_link: Mapped[str | None] = mapped_column(String(500))
    place_kind: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=MeetingStatus.SCHEDULED)
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # A member a facilitator asked to facilitate this meeting only (``/meeting substitute``).
    substitute_id: Mapped[int | None] = mapped_column(Snowflake)


class Rsvp(Base):
    """One member's answer to one meeting: going / maybe / no."""

    __tablename__ = "rsvp"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    answer: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime]
