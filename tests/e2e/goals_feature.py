"""A test-only feature plugged in through the registry (``GOALS``: a KPI nudge tied to no meeting),
and its extension (``setup``: the kind's renderer), for tests/e2e/test_features.py."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.client import RoundtableBot
from bot.features import Feature, GroupPlan, NotificationKind, PlannedRow
from bot.ui.notify import Notification, OutgoingMessage, Rendered

KPI_NUDGE = "test_kpi_nudge"


async def plan_kpi_nudges(session: AsyncSession, plan: GroupPlan) -> Iterable[PlannedRow]:
    """A DM to each member a day after the group was created, tied to no meeting."""
    due = plan.group.created_at + timedelta(days=1)
    return [PlannedRow(KPI_NUDGE, None, f"day:{due:%Y-%m-%d}", user_id, due, {}) for user_id in plan.members]


GOALS = Feature(
    name="test_goals",
    kinds=(NotificationKind(KPI_NUDGE, "KPI nudge", plan_kpi_nudges, useful_after=timedelta(days=1)),),
)


async def render_kpi_nudge(notification: Notification) -> Rendered:
    return Rendered(OutgoingMessage(content="How are your KPIs this month?"))


async def setup(bot: RoundtableBot) -> None:
    """The goals feature's 'cog': its renderer."""
    bot.notifications.register(KPI_NUDGE, render_kpi_nudge)
