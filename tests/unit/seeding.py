"""Groups and meetings written straight to the database, for the service tests of one feature.

(``tests/e2e/seeding.py`` is the end-to-end counterpart, through a running App.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.models import Group, GroupMember, Meeting

GUILD = 1_000_000_000_000_000_001
CHANNEL = 2_000_000_000_000_000_001


async def make_group(
    sessions: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    *,
    name: str,
    channel_id: int,
    members: list[int],
    facilitators: tuple[int, ...] = (),
    guild_id: int = GUILD,
    announce: bool = True,
) -> int:
    """A group in UTC with ``members`` (joined a second apart, in order); the first created it."""
    async with sessions.begin() as session:
        group = Group(
            guild_id=guild_id, channel_id=channel_id, name=name, name_key=name.casefold(), timezone="UTC",
            created_by=members[0], created_at=clock.now(), announce_commitments=announce,
        )
        session.add(group)
        await session.flush()
        for index, user_id in enumerate(members):
            session.add(GroupMember(
                group_id=group.id, user_id=user_id, guild_id=guild_id, is_facilitator=user_id in facilitators,
                joined_at=clock.now() + timedelta(seconds=index),
            ))
        return group.id


async def add_meeting(
    sessions: async_sessionmaker[AsyncSession], group_id: int, starts_at: datetime, *, status: str = "scheduled",
    guild_id: int = GUILD,
) -> int:
    async with sessions.begin() as session:
        meeting = Meeting(guild_id=guild_id, group_id=group_id, starts_at=starts_at, status=status, created_at=starts_at)
        session.add(meeting)
        await session.flush()
        return meeting.id
