"""The one way tests write a group, its members and meetings straight to the database.

In-session, no commit: ``tests/unit/seeding.py`` (service tests) and ``tests/e2e/seeding.py``
(through a running App, outbox planned) wrap these, as do the scheduler and outbox tests. A test of
one feature seeds this way so it exercises that feature, not ``/group create`` (test_groups.py).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Group, GroupMember, Meeting


async def insert_group(
    session: AsyncSession,
    *,
    guild_id: int,
    channel_id: int,
    name: str,
    members: Sequence[int],
    facilitators: Collection[int] = (),
    timezone: str = "UTC",
    created_at: datetime,
    announce: bool = True,
    created_by: int | None = None,
) -> Group:
    """A group with ``members`` (joined a second apart, in order); the first created it unless ``created_by``."""
    group = Group(
        guild_id=guild_id, channel_id=channel_id, name=name, name_key=name.casefold(), timezone=timezone,
        created_by=members[0] if created_by is None else created_by, created_at=created_at, announce_commitments=announce,
    )
    session.add(group)
    await session.flush()
    for index, user_id in enumerate(members):
        session.add(GroupMember(
            group_id=group.id, user_id=user_id, guild_id=guild_id, is_facilitator=user_id in facilitators,
            joined_at=created_at + timedelta(seconds=index),
        ))
    await session.flush()
    return group


async def insert_meeting(
    session: AsyncSession, *, guild_id: int, group_id: int, starts_at: datetime, created_at: datetime,
    status: str = "scheduled",
) -> Meeting:
    meeting = Meeting(guild_id=guild_id, group_id=group_id, starts_at=starts_at, status=status, created_at=created_at)
    session.add(meeting)
    await session.flush()
    return meeting
