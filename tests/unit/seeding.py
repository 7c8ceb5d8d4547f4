"""Groups and meetings written straight to the database, for the service tests of one feature.

(``tests/e2e/seeding.py`` is the end-to-end counterpart, through a running App; both use
``tests/seeding.py``.)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from tests.seeding import insert_group, insert_meeting

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
        group = await insert_group(
            session, guild_id=guild_id, channel_id=channel_id, name=name, members=members,
            facilitators=facilitators, created_at=clock.now(), announce=announce,
        )
        return group.id


async def add_meeting(
    sessions: async_sessionmaker[AsyncSession], group_id: int, starts_at: datetime, *, status: str = "scheduled",
    guild_id: int = GUILD,
) -> int:
    async with sessions.begin() as session:
        meeting = await insert_meeting(
            session, guild_id=guild_id, group_id=group_id, starts_at=starts_at, created_at=starts_at, status=status
        )
        return meeting.id
