"""Discord's own Events: the guild scheduled event each planned meeting is mirrored to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, Snowflake


class DiscordEvent(Base):
    """The guild scheduled event of one meeting, and a digest of what it was last given."""

    __tablename__ = "discord_event"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(Snowflake, unique=True)
    synced: Mapped[str] = mapped_column(String(64))  # digest of the name, times and place sent
    updated_at: Mapped[datetime]


class DiscordEventSync(Base):
    """A group's sync state: ``generation`` grows each time what its events should show changes."""

    __tablename__ = "discord_event_sync"

    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"), primary_key=True)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    fingerprint: Mapped[str] = mapped_column(String(64), default="")


class DiscordEventGuild(Base):
    """Whether the bot has Manage Events in the server (as last seen)."""

    __tablename__ = "discord_event_guild"

    guild_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    can_manage: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]


class DiscordEventInterest(Base):
    """An RSVP "going" the bot recorded because the member marked the event Interested."""

    __tablename__ = "discord_event_interest"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    guild_id: Mapped[int] = mapped_column(Snowflake)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
