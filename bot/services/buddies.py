"""In-session queries over buddy pairs (the pairs themselves are managed by ``GroupService.buddy_*``).

The one place that says what "a member's active buddy" is, for the buddy commands, the
buddy summary and the outbox planner.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import BuddyPair, BuddyStatus

ACTIVE = BuddyStatus.ACTIVE


async def active_buddy_pair(session: AsyncSession, group_id: int, user_id: int) -> BuddyPair | None:
    """The member's active pair in the group (the newest, should there ever be two), or None."""
    return await session.scalar(
        select(BuddyPair)
        .where(
            BuddyPair.group_id == group_id,
            BuddyPair.status == ACTIVE,
            or_(BuddyPair.requester_id == user_id, BuddyPair.partner_id == user_id),
        )
        .order_by(BuddyPair.id.desc())
        .limit(1)
    )


async def members_with_active_buddy(session: AsyncSession, group_id: int) -> set[int]:
    """Every member of the group who has an active buddy there."""
    rows = await session.execute(
        select(BuddyPair.requester_id, BuddyPair.partner_id).where(
            BuddyPair.group_id == group_id, BuddyPair.status == ACTIVE
        )
    )
    return {user_id for pair in rows for user_id in pair}


def buddy_of(pair: BuddyPair, user_id: int) -> int:
    """The other member of ``pair``."""
    return pair.partner_id if pair.requester_id == user_id else pair.requester_id
