"""The Discord Events feature's contributions: the ``discord_events`` sync row, and the member data it keeps.

One outbox row per group (recipient 0, tied to no meeting), occurrence ``sync:<generation>``: the
group's generation (``discord_event_sync``) grows whenever what its events should show changes (a
meeting scheduled, moved, re-placed, cancelled or ended; the setting; the permission given again),
so every change plans one new row, due at once, and an unchanged group plans the row it already
sent. The cog's renderer (``cogs/events.py``) does the REST calls from the current state and
reports the row synced. Nothing is planned while the server hasn't given Manage Events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import Feature, GroupPlan, NotificationKind, PlannedRow
from bot.models.discord_events import DiscordEvent, DiscordEventInterest, DiscordEventSync
from bot.services.discord_events import EventsService, can_manage, fingerprint, wanted_specs
from bot.services.mydata import affected, export_rows

DISCORD_EVENTS = "discord_events"


async def plan_discord_events(session: AsyncSession, plan: GroupPlan) -> list[PlannedRow]:
    group = plan.group
    if not await can_manage(session, group.guild_id):
        return []
    specs = await wanted_specs(session, group, [slot.meeting for slot in plan.meetings], plan.now)
    if not specs:
        tracked = await session.scalar(
            select(func.count()).select_from(DiscordEvent).where(DiscordEvent.group_id == group.id))
        if not tracked:
            return []  # nothing to show, nothing shown
    wanted = fingerprint(specs)
    state = await session.get(DiscordEventSync, group.id)
    if state is None:
        state = DiscordEventSync(group_id=group.id, guild_id=group.guild_id, generation=0, fingerprint="")
        session.add(state)
    if state.fingerprint != wanted:
        state.generation = (state.generation or 0) + 1
        state.fingerprint = wanted
    return [PlannedRow(DISCORD_EVENTS, None, f"sync:{state.generation}", 0, plan.now,
                       {"generation": state.generation})]


async def export_interest(session: AsyncSession, guild_id: int, user_id: int) -> dict[str, Any]:
    rows = await export_rows(session, select(DiscordEventInterest).where(
        DiscordEventInterest.guild_id == guild_id, DiscordEventInterest.user_id == user_id))
    return {"discord_event_interest": rows} if rows else {}


async def delete_interest(session: AsyncSession, guild_id: int, user_id: int, now: datetime) -> int:
    return await affected(session, delete(DiscordEventInterest).where(
        DiscordEventInterest.guild_id == guild_id, DiscordEventInterest.user_id == user_id))


FEATURE = Feature(
    name="discord_events",
    kinds=(
        NotificationKind(DISCORD_EVENTS, "Discord Events sync", plan_discord_events, useful_after=None, order=10,
                         unplanned_reason="no longer needed: a newer sync or no Manage Events"),
    ),
    services=(EventsService,),
    extension="cogs.events",
    export_member=export_interest,
    delete_member=delete_interest,
)
