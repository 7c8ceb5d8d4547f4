"""The buddies feature's contributions: the buddy summary DM after each meeting (to members with
an active buddy), and ending a member's buddy pairs when they leave or are removed.

Buddy pairs themselves are managed by ``GroupService`` (``/buddy …``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import Feature, GroupPlan, NotificationKind, PlannedRow
from bot.models import BuddyPair, Group
from bot.services.base import PAIR_SIZE
from bot.services.buddies import members_with_active_buddy
from bot.services.groups import _end_buddy_pairs
from bot.services.mydata import affected, export_rows
from bot.services.outbox import (
    BUDDY_SUMMARY,
    BUDDY_SUMMARY_DELAY,
    R_NO_BUDDY,
    meeting_occurrence,
    meeting_payload,
    member_dm_after,
)


async def plan_buddy_summaries(session: AsyncSession, plan: GroupPlan) -> list[PlannedRow]:
    """A DM per member with an active buddy, about the buddy's report-back. Not in a pair (a group
    of two): there the report-back board in the channel, which they share, already shows both of
    them, so a DM each would only repeat half of it."""
    if len(plan.members) == PAIR_SIZE:
        return []
    buddies = await members_with_active_buddy(session, plan.group.id)
    rows: list[PlannedRow] = []
    for slot in plan.meetings:
        meeting = slot.meeting
        for user_id in plan.members:
            if user_id in buddies:
                due = member_dm_after(plan, user_id, meeting.starts_at + BUDDY_SUMMARY_DELAY)
                rows.append(PlannedRow(BUDDY_SUMMARY, meeting, meeting_occurrence(meeting), user_id, due,
                                       meeting_payload(meeting)))
    return rows


async def end_pairs(session: AsyncSession, group: Group, user_id: int, now: datetime) -> None:
    await _end_buddy_pairs(session, group.id, user_id, now)


def _pairs_of(guild_id: int, user_id: int) -> Any:
    return (BuddyPair.guild_id == guild_id) & or_(BuddyPair.requester_id == user_id, BuddyPair.partner_id == user_id)


async def export_pairs(session: AsyncSession, guild_id: int, user_id: int) -> dict[str, Any]:
    # The other member of the pair is theirs to export, not this member's: left out.
    return {"buddy_pair": await export_rows(session, select(BuddyPair).where(_pairs_of(guild_id, user_id)),
                                            leave_out=("requester_id", "partner_id"))}


async def delete_pairs(session: AsyncSession, guild_id: int, user_id: int, now: datetime) -> int:
    return await affected(session, delete(BuddyPair).where(_pairs_of(guild_id, user_id)))


FEATURE = Feature(
    name="buddies",
    extension="cogs.buddies",
    kinds=(
        NotificationKind(BUDDY_SUMMARY, "Buddy summary", plan_buddy_summaries,
                         useful_after=timedelta(hours=24), order=50, unplanned_reason=R_NO_BUDDY),
    ),
    member_left=end_pairs,
    export_member=export_pairs,
    delete_member=delete_pairs,
)
