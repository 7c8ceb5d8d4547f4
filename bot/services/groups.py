"""Peer groups, members, facilitators, buddies and meetings (being built — see the groups issue)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from bot.models import Group
from bot.services.base import Actor, Service, groups_of_member


@dataclass(frozen=True, slots=True)
class GroupChoice:
    id: int
    name: str


class GroupService(Service):
    async def choices(self, actor: Actor, query: str, *, every_group: bool = False) -> list[GroupChoice]:
        """Groups for an autocomplete: the member's own (or, for /group join, every open group)."""
        needle = query.strip().casefold()
        async with self.begin() as session:
            if every_group:
                groups = list(
                    await session.scalars(
                        select(Group)
                        .where(Group.guild_id == actor.guild_id, Group.archived_at.is_(None))
                        .order_by(Group.name_key)
                    )
                )
            else:
                groups = await groups_of_member(session, actor.guild_id, actor.user_id)
        return [GroupChoice(g.id, g.name) for g in groups if needle in g.name_key][:25]

    async def find_id(self, guild_id: int, text: str) -> int | None:
        """A group id from what a member typed in a group option: an id, or a name."""
        text = text.strip()
        async with self.begin() as session:
            if text.isdigit():
                found = await session.scalar(select(Group.id).where(Group.guild_id == guild_id, Group.id == int(text)))
                if found is not None:
                    return found
            return await session.scalar(
                select(Group.id).where(Group.guild_id == guild_id, Group.name_key == func.lower(text.casefold()))
            )
