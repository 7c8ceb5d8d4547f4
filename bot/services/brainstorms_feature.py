"""The brainstorms feature's contributions: export and forget of a member's brainstorms, ideas and votes.

Forgetting keeps the group's brainstorms whole: a brainstorm they tabled stays, emptied, owned by
"a former member"; their ideas stay, by "a former member"; their votes go and the ideas' counts
(the ranking) are recounted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import Feature
from bot.models import Brainstorm, BrainstormIdea, BrainstormVote
from bot.services.brainstorms import BrainstormService
from bot.services.mydata import FORMER_MEMBER_ID, REMOVED_TEXT, affected, export_rows


async def export_brainstorms(session: AsyncSession, guild_id: int, user_id: int) -> dict[str, Any]:
    return {
        "brainstorm": await export_rows(session, select(Brainstorm).where(
            Brainstorm.guild_id == guild_id, Brainstorm.owner_id == user_id).order_by(Brainstorm.id)),
        "brainstorm_idea": await export_rows(session, select(BrainstormIdea).where(
            BrainstormIdea.guild_id == guild_id, BrainstormIdea.author_id == user_id).order_by(BrainstormIdea.id)),
        "brainstorm_vote": await export_rows(session, select(BrainstormVote).where(
            BrainstormVote.guild_id == guild_id, BrainstormVote.user_id == user_id)),
    }


async def forget_brainstorms(session: AsyncSession, guild_id: int, user_id: int, now: datetime) -> int:
    voted = list(await session.scalars(select(BrainstormVote.idea_id).where(
        BrainstormVote.guild_id == guild_id, BrainstormVote.user_id == user_id)))
    rows = await affected(session, delete(BrainstormVote).where(
        BrainstormVote.guild_id == guild_id, BrainstormVote.user_id == user_id))
    if voted:
        count = (select(func.count()).select_from(BrainstormVote)
                 .where(BrainstormVote.idea_id == BrainstormIdea.id).scalar_subquery())
        await session.execute(update(BrainstormIdea).where(BrainstormIdea.id.in_(voted)).values(votes=count))
    rows += await affected(session, update(BrainstormIdea).where(
        BrainstormIdea.guild_id == guild_id, BrainstormIdea.author_id == user_id).values(author_id=FORMER_MEMBER_ID)
    )
    rows += await affected(session, update(Brainstorm).where(
        Brainstorm.guild_id == guild_id, Brainstorm.owner_id == user_id
    ).values(owner_id=FORMER_MEMBER_ID, issue=REMOVED_TEXT, details=None))
    return rows


FEATURE = Feature(name="brainstorms", services=(BrainstormService,), extension="cogs.brainstorms",
                  export_member=export_brainstorms, delete_member=forget_brainstorms)
