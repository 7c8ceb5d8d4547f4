"""What every service shares: the session factory, the clock, the acting member, group access.

Each public service method is one use case and one transaction (``async with self.begin()``);
nothing else commits. Helpers here take an open session and never commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.models import Group, GroupMember


@dataclass(frozen=True, slots=True)
class Actor:
    """The member acting, as the adapter saw them: plain ids and flags, no discord objects."""

    guild_id: int
    user_id: int
    display_name: str = ""
    can_manage_server: bool = False
    role_ids: frozenset[int] = field(default_factory=frozenset)
    # The channel the command was used in, and its parent when that channel is a thread.
    channel_id: int | None = None
    parent_channel_id: int | None = None


@dataclass(frozen=True, slots=True)
class ServiceContext:
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock


class Service:
    def __init__(self, context: ServiceContext) -> None:
        self._sessions = context.sessions
        self._clock = context.clock
        self.context = context

    def now(self) -> datetime:
        return self._clock.now()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with self._sessions.begin() as session:
            yield session


# --- group access, shared by every feature -------------------------------------------------------


async def resolve_group(session: AsyncSession, actor: Actor, group_id: int | None) -> Group:
    """The group a command acts on.

    An explicit ``group_id`` (from autocomplete) must be a group of this server the member is in
    — or one a server manager manages. Otherwise: the group bound to the current channel (or the
    thread's parent), else the member's only group, else the member is asked to choose.
    Archived groups are never implied.
    """
    if group_id is not None:
        group = await session.get(Group, group_id)
        if group is None or group.guild_id != actor.guild_id:
            raise NotFound("That group doesn't exist in this server.")
        if not actor.can_manage_server and await membership(session, group.id, actor.user_id) is None:
            raise NotFound("You're not in that group.")
        return group

    for channel_id in (actor.channel_id, actor.parent_channel_id):
        if channel_id is None:
            continue
        group = await session.scalar(
            select(Group).where(
                Group.guild_id == actor.guild_id,
                Group.channel_id == channel_id,
                Group.archived_at.is_(None),
            )
        )
        if group is not None:
            return group

    groups = list(
        await session.scalars(
            select(Group)
            .join(GroupMember, GroupMember.group_id == Group.id)
            .where(
                Group.guild_id == actor.guild_id,
                GroupMember.user_id == actor.user_id,
                Group.archived_at.is_(None),
            )
            .order_by(Group.name_key)
        )
    )
    if len(groups) == 1:
        return groups[0]
    if not groups:
        raise NotFound("You're not in a group in this server yet. Use `/group join` to join one.")
    raise InvalidInput("You're in several groups: pick one with the `group` option.")


async def membership(session: AsyncSession, group_id: int, user_id: int) -> GroupMember | None:
    return await session.get(GroupMember, (group_id, user_id))


async def require_member(session: AsyncSession, group: Group, actor: Actor) -> GroupMember:
    member = await membership(session, group.id, actor.user_id)
    if member is None:
        raise NotAllowed(f"You're not a member of **{group.name}**.")
    return member


async def require_facilitator(session: AsyncSession, group: Group, actor: Actor) -> None:
    """Facilitators of the group may manage it; so may members with Manage Server."""
    if actor.can_manage_server:
        return
    member = await membership(session, group.id, actor.user_id)
    if member is None or not member.is_facilitator:
        raise NotAllowed(f"Only a facilitator of **{group.name}** can do that.")


def require_active(group: Group) -> None:
    if group.archived_at is not None:
        raise InvalidInput(f"**{group.name}** is archived.")


async def groups_of_member(
    session: AsyncSession, guild_id: int, user_id: int, *, include_archived: bool = False
) -> list[Group]:
    query = (
        select(Group)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(Group.guild_id == guild_id, GroupMember.user_id == user_id)
        .order_by(Group.name_key)
    )
    if not include_archived:
        query = query.where(Group.archived_at.is_(None))
    return list(await session.scalars(query))
