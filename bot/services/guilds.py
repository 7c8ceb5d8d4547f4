"""Server-wide settings (``/server setup``) and members' own settings (``/timezone set``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotAllowed
from bot.models import CommandSyncState, GuildSettings, MemberProfile
from bot.services.base import Actor, Service
from bot.timezones import validate_timezone


@dataclass(frozen=True, slots=True)
class ServerSetup:
    timezone: str
    facilitator_role_id: int | None


async def member_timezone(session: AsyncSession, guild_id: int, user_id: int) -> str:
    """In-session: the member's own timezone, else the server's, else UTC."""
    profile = await session.get(MemberProfile, (guild_id, user_id))
    if profile is not None and profile.timezone:
        return profile.timezone
    server_tz = await session.scalar(select(GuildSettings.timezone).where(GuildSettings.guild_id == guild_id))
    return server_tz or "UTC"


class GuildService(Service):
    async def setup(
        self, actor: Actor, *, timezone: str | None, facilitator_role_id: int | None
    ) -> ServerSetup:
        if not actor.can_manage_server:
            raise NotAllowed("Only members with **Manage Server** can set up Roundtable for this server.")
        tz = validate_timezone(timezone) if timezone is not None else None
        async with self.begin() as session:
            row = await session.get(GuildSettings, actor.guild_id)
            now = self.now()
            if row is None:
                row = GuildSettings(guild_id=actor.guild_id, timezone="UTC", created_at=now, updated_at=now)
                session.add(row)
            if tz is not None:
                row.timezone = tz
            if facilitator_role_id is not None:
                row.facilitator_role_id = facilitator_role_id
            row.updated_at = now
            return ServerSetup(timezone=row.timezone, facilitator_role_id=row.facilitator_role_id)

    async def get(self, guild_id: int) -> ServerSetup:
        async with self.begin() as session:
            row = await session.get(GuildSettings, guild_id)
            if row is None:
                return ServerSetup(timezone="UTC", facilitator_role_id=None)
            return ServerSetup(timezone=row.timezone, facilitator_role_id=row.facilitator_role_id)

    async def set_member_timezone(self, actor: Actor, timezone: str) -> str:
        tz = validate_timezone(timezone)
        async with self.begin() as session:
            row = await session.get(MemberProfile, (actor.guild_id, actor.user_id))
            if row is None:
                session.add(
                    MemberProfile(
                        guild_id=actor.guild_id, user_id=actor.user_id, timezone=tz, updated_at=self.now()
                    )
                )
            else:
                row.timezone = tz
                row.updated_at = self.now()
        return tz

    async def member_timezone(self, guild_id: int, user_id: int) -> str:
        """The member's own timezone, else the server's, else UTC."""
        async with self.begin() as session:
            return await member_timezone(session, guild_id, user_id)

    async def mark_welcomed(self, guild_id: int) -> bool:
        """Record that the getting-started message went out; False if it already had."""
        async with self.begin() as session:
            row = await session.get(GuildSettings, guild_id)
            now = self.now()
            if row is None:
                row = GuildSettings(guild_id=guild_id, timezone="UTC", created_at=now, updated_at=now)
                session.add(row)
            if row.welcomed_at is not None:
                return False
            row.welcomed_at = now
            return True

    # --- command sync state (used by the client; not a member-facing use case) -------------------

    async def command_hash(self, scope: str) -> str | None:
        async with self.begin() as session:
            row = await session.get(CommandSyncState, scope)
            return row.payload_hash if row else None

    async def record_command_hash(self, scope: str, payload_hash: str) -> None:
        async with self.begin() as session:
            row = await session.get(CommandSyncState, scope)
            if row is None:
                session.add(CommandSyncState(scope=scope, payload_hash=payload_hash, synced_at=self.now()))
            else:
                row.payload_hash = payload_hash
                row.synced_at = self.now()
