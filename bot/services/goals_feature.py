"""The goals feature's contributions: the monthly KPI nudge, and deleting a member's goals and KPIs.

A member with KPIs who hasn't logged a month (in their zone) gets one DM in the month after it:
before the group's first meeting of that month, at the report-back lead time inside their waking
window; with no meeting that month, on the 2nd (a row tied to no meeting, occurrence
``month:YYYY-MM``). Logging the month, or removing the KPIs, cancels it; ``GoalService`` re-plans
the member's group when a KPI is added or removed or a value logged.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import Feature, GroupPlan, NotificationKind, PlannedRow
from bot.models import Goal, Kpi, KpiEntry, OutboxRow
from bot.models.outbox import OutboxStatus
from bot.services.goals import GoalService
from bot.services.mydata import export_rows
from bot.services.outbox import member_dm_after, member_dm_due

KPI_NUDGE = "kpi_nudge"
NUDGE_DAY = 2  # with no meeting this month: the 2nd, from this hour (group time), inside the window
NUDGE_HOUR = 10
R_LOGGED = "KPIs logged (or the month to nudge for has passed)"


def _month_key(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


async def unlogged_members(session: AsyncSession, group_id: int, months: dict[int, date]) -> set[int]:
    """The members (of ``months``: user id → the month to log) with a KPI that existed in that month
    and has no value for it."""
    kpis = list(await session.scalars(select(Kpi).where(Kpi.group_id == group_id, Kpi.user_id.in_(list(months)))))
    due = [k for k in kpis if k.first_month <= months[k.user_id]]
    if not due:
        return set()
    logged = {
        (kpi_id, month)
        for kpi_id, month in await session.execute(
            select(KpiEntry.kpi_id, KpiEntry.month).where(KpiEntry.kpi_id.in_([k.id for k in due]))
        )
    }
    return {k.user_id for k in due if (k.id, months[k.user_id]) not in logged}


async def _already_nudged(session: AsyncSession, group_id: int) -> set[tuple[int, str]]:
    """(member, month) pairs a KPI nudge was already sent for (one nudge per month)."""
    rows = await session.scalars(
        select(OutboxRow).where(
            OutboxRow.group_id == group_id, OutboxRow.kind == KPI_NUDGE, OutboxRow.status == OutboxStatus.SENT
        )
    )
    return {(row.recipient_id, str(row.payload.get("month"))) for row in rows}


async def plan_kpi_nudges(session: AsyncSession, plan: GroupPlan) -> list[PlannedRow]:
    """Two months ahead of the clock: the month just ended (nudged this month) and the month under way
    (nudged next month), so the nudge is planned before a month turns without anything re-planning."""
    if not plan.members:
        return []
    zones = {
        user_id: (plan.reach.of(user_id).zone if plan.reach is not None else plan.zone) for user_id in plan.members
    }
    this_month = {user_id: plan.now.astimezone(zone).date().replace(day=1) for user_id, zone in zones.items()}
    sent = await _already_nudged(session, plan.group.id)
    rows: list[PlannedRow] = []
    for back in (1, 0):  # the month just ended, then the month under way
        months = {user_id: _add_months(month, -back) for user_id, month in this_month.items()}
        wanted = await unlogged_members(session, plan.group.id, months)
        for user_id in plan.members:
            month = months[user_id]
            key = _month_key(month)
            if user_id not in wanted or (user_id, key) in sent:
                continue
            zone = zones[user_id]
            opens = datetime.combine(_add_months(month, 1), time(), zone).astimezone(UTC)
            closes = datetime.combine(_add_months(month, 2), time(), zone).astimezone(UTC)
            payload = {"month": key}
            row: PlannedRow | None = None
            for slot in plan.meetings:
                if slot.meeting.starts_at <= plan.now:
                    continue
                due = member_dm_due(plan, slot.meeting, user_id, plan.group.reportback_lead_hours)
                if due >= closes:
                    break
                if due >= opens:
                    payload["starts_at"] = slot.meeting.starts_at.isoformat()
                    row = PlannedRow(KPI_NUDGE, slot.meeting, f"month:{key}", user_id, due, payload)
                    break
            if row is None:
                local = datetime.combine(_add_months(month, 1).replace(day=NUDGE_DAY), time(NUDGE_HOUR), plan.zone)
                row = PlannedRow(KPI_NUDGE, None, f"month:{key}", user_id,
                                 member_dm_after(plan, user_id, local.astimezone(UTC)), payload)
            rows.append(row)
    return rows


async def delete_goals_data(session: AsyncSession, guild_id: int, user_id: int, now: datetime) -> int:
    """The member's goals, KPIs and logged values in this server."""
    kpi_ids = list(await session.scalars(select(Kpi.id).where(Kpi.guild_id == guild_id, Kpi.user_id == user_id)))
    deleted = 0
    if kpi_ids:
        result = await session.execute(delete(KpiEntry).where(KpiEntry.kpi_id.in_(kpi_ids)))
        deleted += result.rowcount or 0  # type: ignore[attr-defined]
        result = await session.execute(delete(Kpi).where(Kpi.id.in_(kpi_ids)))
        deleted += result.rowcount or 0  # type: ignore[attr-defined]
    result = await session.execute(delete(Goal).where(Goal.guild_id == guild_id, Goal.user_id == user_id))
    deleted += result.rowcount or 0  # type: ignore[attr-defined]
    return deleted


async def export_goals(session: AsyncSession, guild_id: int, user_id: int) -> dict[str, Any]:
    """The member's goals, KPIs and logged values in this server (``/mydata export``)."""
    kpis = select(Kpi.id).where(Kpi.guild_id == guild_id, Kpi.user_id == user_id)
    return {
        "goal": await export_rows(session, select(Goal).where(Goal.guild_id == guild_id, Goal.user_id == user_id)
                                  .order_by(Goal.id)),
        "kpi": await export_rows(session, select(Kpi).where(Kpi.guild_id == guild_id, Kpi.user_id == user_id)
                                 .order_by(Kpi.id)),
        "kpi_entry": await export_rows(session, select(KpiEntry).where(KpiEntry.kpi_id.in_(kpis))
                                       .order_by(KpiEntry.id)),
    }


FEATURE = Feature(
    name="goals",
    services=(GoalService,),
    extension="cogs.goals",
    kinds=(
        # Worth sending for a week after its meeting's start (ending the meeting cancels it) or its due time.
        NotificationKind(KPI_NUDGE, "KPI nudge", plan_kpi_nudges, useful_after=timedelta(days=7), order=45,
                         unplanned_reason=R_LOGGED),
    ),
    export_member=export_goals,
    delete_member=delete_goals_data,
)
