"""The goals feature's data hooks (named "goals_kpis": the planned KPI nudge may declare "goals"): export and
delete of a member's goals, KPIs and KPI values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import Feature
from bot.models import Goal, Kpi, KpiEntry
from bot.services.mydata import affected, export_rows


def _kpis_of(guild_id: int, user_id: int) -> Any:
    return select(Kpi.id).where(Kpi.guild_id == guild_id, Kpi.user_id == user_id)


async def export_goals(session: AsyncSession, guild_id: int, user_id: int) -> dict[str, Any]:
    return {
        "goal": await export_rows(session, select(Goal).where(Goal.guild_id == guild_id, Goal.user_id == user_id)
                                  .order_by(Goal.id)),
        "kpi": await export_rows(session, select(Kpi).where(Kpi.guild_id == guild_id, Kpi.user_id == user_id)
                                 .order_by(Kpi.id)),
        "kpi_entry": await export_rows(session, select(KpiEntry).where(KpiEntry.kpi_id.in_(_kpis_of(guild_id, user_id)))
                                       .order_by(KpiEntry.id)),
    }


async def delete_goals(session: AsyncSession, guild_id: int, user_id: int, now: datetime) -> int:
    rows = 0
    for statement in (
        delete(KpiEntry).where(KpiEntry.kpi_id.in_(_kpis_of(guild_id, user_id))),
        delete(Kpi).where(Kpi.guild_id == guild_id, Kpi.user_id == user_id),
        delete(Goal).where(Goal.guild_id == guild_id, Goal.user_id == user_id),
    ):
        rows += await affected(session, statement)
    return rows


FEATURE = Feature(name="goals_kpis", export_member=export_goals, delete_member=delete_goals)
