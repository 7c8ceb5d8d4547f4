"""The KPI nudge on SQLite and PostgreSQL: planned only for members with KPIs not logged for the month
just ended, before the next meeting inside their waking window, cancelled once logged; with no
meeting this month, a row tied to no meeting on the 2nd."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.models import MemberProfile, OutboxRow
from bot.models.outbox import OutboxStatus
from bot.services import Services
from bot.services.base import Actor
from bot.services.goals import Ref
from bot.services.goals_feature import KPI_NUDGE
from bot.services.outbox import plan_group
from tests.unit.seeding import CHANNEL, GUILD, add_meeting, make_group

ANA, BOB = 4_000_000_000_000_000_001, 4_000_000_000_000_000_002
OCT = date(2026, 10, 1)


def actor(user_id: int) -> Actor:
    return Actor(guild_id=GUILD, user_id=user_id, channel_id=CHANNEL)


async def nudges(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxRow]:
    async with sessions.begin() as session:
        return list(await session.scalars(select(OutboxRow).where(OutboxRow.kind == KPI_NUDGE).order_by(OutboxRow.id)))


async def replan(sessions: async_sessionmaker[AsyncSession], group_id: int, now: datetime) -> None:
    async with sessions.begin() as session:
        await plan_group(session, group_id, now)


async def test_the_nudge_goes_before_the_meeting_inside_the_window_and_is_cancelled_once_logged(
    sessions: async_sessionmaker[AsyncSession], services: Services, clock: ManualClock
) -> None:
    group_id = await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BOB])
    async with sessions.begin() as session:  # Ana reads DMs 08:00-12:00 UTC only
        session.add(MemberProfile(guild_id=GUILD, user_id=ANA, timezone="UTC", waking_start="08:00",
                                  waking_end="12:00", updated_at=clock.now()))
    meeting_id = await add_meeting(sessions, group_id, datetime(2026, 11, 28, 19, 0, tzinfo=UTC))
    await services.goals.add_kpi(actor(ANA), name="Revenue", unit="£")  # Bob has no KPI

    rows = await nudges(sessions)
    assert [(r.recipient_id, r.meeting_id, r.status) for r in rows] == [(ANA, meeting_id, OutboxStatus.PENDING)]
    # 48 hours before the meeting is 19:00 on the 26th, outside her window: the window's close before it.
    assert rows[0].due_at == datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert rows[0].payload["month"] == "2026-10"

    await services.goals.log_values(actor(ANA), group_id=group_id, month=OCT,
                                    values={(await services.goals.log_form(actor(ANA))).fields[0].kpi_id: "1200"})
    rows = await nudges(sessions)
    assert [(r.recipient_id, r.status, r.reason) for r in rows] == [(ANA, OutboxStatus.CANCELLED, "KPIs logged")]
    await replan(sessions, group_id, clock.now())
    assert [r.status for r in await nudges(sessions)] == [OutboxStatus.CANCELLED]


async def test_removing_the_kpi_cancels_the_nudge(
    sessions: async_sessionmaker[AsyncSession], services: Services, clock: ManualClock
) -> None:
    group_id = await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BOB])
    await add_meeting(sessions, group_id, datetime(2026, 11, 28, 19, 0, tzinfo=UTC))
    await services.goals.add_kpi(actor(BOB), name="Clients", unit="clients")
    assert [(r.recipient_id, r.status) for r in await nudges(sessions)] == [(BOB, OutboxStatus.PENDING)]
    await services.goals.remove_kpi(actor(BOB), kpi=Ref.parse("Clients"))
    assert [r.status for r in await nudges(sessions)] == [OutboxStatus.CANCELLED]


async def test_with_no_meeting_this_month_the_nudge_is_on_the_2nd_tied_to_no_meeting(
    sessions: async_sessionmaker[AsyncSession], services: Services, clock: ManualClock
) -> None:
    group_id = await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BOB])
    await services.goals.add_kpi(actor(ANA), name="Revenue", unit="£")
    # October's nudge would have gone on 2 November: three weeks late is not worth sending.
    assert await nudges(sessions) == []

    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    await replan(sessions, group_id, clock.now())
    rows = await nudges(sessions)
    assert [(r.recipient_id, r.meeting_id, r.occurrence) for r in rows] == [(ANA, None, "month:2026-11")]
    assert rows[0].due_at == datetime(2026, 12, 2, 10, 0, tzinfo=UTC)

    # Sent on the 2nd; a meeting planned later that month brings no second nudge for November.
    async with sessions.begin() as session:
        row = await session.get(OutboxRow, rows[0].id)
        assert row is not None
        row.status, row.sent_at = OutboxStatus.SENT, datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    await add_meeting(sessions, group_id, datetime(2026, 12, 20, 19, 0, tzinfo=UTC))
    await replan(sessions, group_id, clock.now())
    assert [(r.occurrence, r.status) for r in await nudges(sessions)] == [("month:2026-11", OutboxStatus.SENT)]


async def test_a_meeting_next_month_leaves_the_nudge_on_the_2nd(
    sessions: async_sessionmaker[AsyncSession], services: Services, clock: ManualClock
) -> None:
    group_id = await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA])
    await services.goals.add_kpi(actor(ANA), name="Revenue", unit="£")
    await add_meeting(sessions, group_id, datetime(2027, 1, 10, 19, 0, tzinfo=UTC))
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    await replan(sessions, group_id, clock.now())
    assert [(r.meeting_id, r.occurrence) for r in await nudges(sessions)] == [(None, "month:2026-11")]
