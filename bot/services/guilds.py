"""Server-wide settings (``/server setup``) and members' own settings (``/timezone set``: zone, waking window)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotAllowed
from bot.models import CommandSyncState, GuildSettings, MemberProfile
from bot.services import outbox
from bot.services.base import Actor, Service, groups_of_member
from bot.timezones import validate_timezone
from bot.waking import DEFAULT_WINDOW, Window, parse_window, window_of


@dataclass(frozen=True, slots=True)
class ServerSetup:
    timezone: str
    facilitator_role_id: int | None


@dataclass(frozen=True, slots=True)
class MemberSettings:
    timezone: str | None  # None: the member's groups' zones are used
    window: Window
    retimed: int  # pending DMs moved to the new zone or window
async def member_timezone(session: AsyncSession, guild_id: int, user_id: int) -> str:
    """In-session: the member's own timezone, else the server's, else UTC."""
    profile = await session.get(MemberProfile, (guild_id, user_id))
    if profile is not None and profile.timezone:
        return profile.timezone
    server_tz = await session.scalar(select(GuildSettings.timezone).where(GuildSettings.guild_id == guild_id))
    return server_tz or "UTC"


async def own_timezone(session: AsyncSession, guild_id: int, user_id: int) -> str | None:
    """In-session: the timezone the member set themselves, None if they set none."""
    profile = await session.get(MemberProfile, (guild_id, user_id))
    return profile.timezone if profile is not None and profile.timezone else None


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
        async with self.read() as session:
            row = await session.get(GuildSettings, guild_id)
            if row is None:
                return ServerSetup(timezone="UTC", facilitator_role_id=None)
            return ServerSetup(timezone=row.timezone, facilitator_role_id=row.facilitator_role_id)

    async def set_member_timezone(
        self, actor: Actor, timezone: str | None = None, *, start: str | None = None, end: str | None = None
    ) -> MemberSettings:
        """``/timezone set``: the member's zone and/or waking window (``from``/``to``, either may be
        left out to keep the other side as it was). Re-plans the member's pending DMs in every group
        of the server, in the same transaction."""
        tz = validate_timezone(timezone) if timezone is not None else None
        async with self.begin() as session:
            row = await session.get(MemberProfile, (actor.guild_id, actor.user_id))
            current = window_of(row.waking_start, row.waking_end) if row is not None else DEFAULT_WINDOW
            window = None
            if start is not None or end is not None:
                window = parse_window(start if start is not None else f"{current.start:%H:%M}",
                                      end if end is not None else f"{current.end:%H:%M}")
            if tz is None and window is None:  # nothing to change: what is set
                return MemberSettings(row.timezone if row is not None else None, current, 0)
            now = self.now()
            if row is None:
                row = MemberProfile(guild_id=actor.guild_id, user_id=actor.user_id, timezone=None, updated_at=now)
                session.add(row)
            if tz is not None:
                row.timezone = tz
            if window is not None:
                row.waking_start, row.waking_end = f"{window.start:%H:%M}", f"{window.end:%H:%M}"
            row.updated_at = now
            retimed = 0
            for group in await groups_of_member(session, actor.guild_id, actor.user_id):
                retimed += (await outbox.plan_group(session, group.id, now)).retimed
            return MemberSettings(row.timezone, window_of(row.waking_start, row.waking_end), retimed)

    async def member_timezone(self, guild_id: int, user_id: int) -> str:
        """The member's own timezone, else the server's, else UTC."""
        async with self.read() as session:
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
        async with self.read() as session:
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
