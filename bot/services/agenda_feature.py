"""The agenda feature's contributions: export and delete of the agenda items a member tabled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import Feature
from bot.models import AgendaItem
from bot.services.agenda import AgendaService
from bot.services.mydata import affected, export_rows


async def export_agenda(session: AsyncSession, guild_id: int, user_id: int) -> dict[str, Any]:
    return {"agenda_item": await export_rows(session, select(AgendaItem).where(
        AgendaItem.guild_id == guild_id, AgendaItem.user_id == user_id).order_by(AgendaItem.id))}


async def delete_agenda(session: AsyncSession, guild_id: int, user_id: int, now: datetime) -> int:
    return await affected(
        session, delete(AgendaItem).where(AgendaItem.guild_id == guild_id, AgendaItem.user_id == user_id)
    )


# Its commands are under /meeting (``cogs.meetings``, drawn by ``cogs.agenda``): no cog of its own.
FEATURE = Feature(name="agenda", services=(AgendaService,),
                  export_member=export_agenda, delete_member=delete_agenda)
