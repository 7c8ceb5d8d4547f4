"""Server-wide and bot-wide rows: server settings, members' own settings, DM channels, command sync."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, Snowflake


class GuildSettings(Base):
    """One server's settings (``/server setup``)."""

    __tablename__ = "guild_settings"

    guild_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    facilitator_role_id: Mapped[int | None] = mapped_column(Snowflake)
    welcomed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MemberProfile(Base):
    """A member's own settings in one server (``/timezone set``)."""

    __tablename__ = "member_profile"

    guild_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    timezone: Mapped[str | None] = mapped_column(String(64))
    # The member's waking window (``HH:MM`` local, bot.waking); both None: the default 08:00–21:00.
    waking_start: Mapped[str | None] = mapped_column(String(5))
    waking_end: Mapped[str | None] = mapped_column(String(5))
    # ``/away``: DMs due before this instant are not sent (the start of the day after the date the
    # member gave, in her zone); the member shows as away while it is in the future. None: never away.
    away_until: Mapped[datetime | None]
    away_note: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime]


class DMChannel(Base):
    """A user's DM channel with the bot, stored once opened so a DM costs one request.

    ``dms_closed_at`` is set when Discord refuses a DM (403 / 50007): the bot then uses the
    channel fallback until the member runs a command again.
    """

    __tablename__ = "dm_channel"

    user_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    channel_id: Mapped[int | None] = mapped_column(Snowflake)
    dms_closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class CommandSyncState(Base):
    """The hash of the command payloads last synced to a scope ("global" or a guild id)."""

    __tablename__ = "command_sync_state"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    payload_hash: Mapped[str] = mapped_column(String(64))
    synced_at: Mapped[datetime]


class GuildRemoval(Base):
    """The bot was removed from this server at ``removed_at`` (not an outage): its data is kept
    ``DATA_RETENTION_DAYS`` in case it is re-added (which deletes this row), then purged."""

    __tablename__ = "guild_removal"

    guild_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    removed_at: Mapped[datetime]
