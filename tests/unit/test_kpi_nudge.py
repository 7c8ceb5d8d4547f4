"""The KPI nudge on SQLite and PostgreSQL: planned only for members with KPIs not logged for a month,
before the next meeting inside their waking window, cancelled once logged; with no meeting that
month, a row tied to no meeting on the 2nd; never twice for one month."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.models import Goal, Kpi, KpiEntry, MemberProfile, OutboxRow, Win
from bot.models.outbox import OutboxStatus
from bot.services import FEATURES, Services
from bot.services.base import Actor
from bot.services.commitments import CommitmentRef
from bot.services.goals import Ref
from bot.services.goals_feature import KPI_NUDGE, R_LOGGED
from bot.services.outbox import plan_group
from tests.unit.seeding import CHANNEL, GUILD, add_meeting, make_group

ANA, BOB = 4_000_000_000_000_000_001, 4_000_000_000_000_000_002
OCT = date(2026, 10, 1)
PENDING, SENT, CANCELLED = OutboxStatus.PENDING, OutboxStatus.SENT, OutboxStatus.CANCELLED


def actor(user_id: int) -> Actor:
    return Actor(guild_id=GUILD, user_id=user_id, channel_id=CHANNEL)


async def nudges(sessions: async_sessionmaker[AsyncSession]) -> dict[str, OutboxRow]:
    """The KPI nudges by "<member>/<month>" (Ana is "ana", Bob "bob")."""
    names = {ANA: "ana", BOB: "bob"}
    async with sessions.begin() as session:
        rows = await session.scalars(select(OutboxRow).where(OutboxRow.kind == KPI_NUDGE).order_by(OutboxRow.id))
        return {f"{names[r.recipient_id]}/{r.payload['month']}": r for r in rows}


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
    assert sorted(rows) == ["ana/2026-10", "ana/2026-11"]  # it's 23 November: October, and November ahead
    october = rows["ana/2026-10"]
    assert (october.meeting_id, october.status) == (meeting_id, PENDING)
    # 48 hours before the meeting is 19:00 on the 26th, outside her window: the window's close before it.
    assert october.due_at == datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    # No meeting in December: November's nudge on 2 December, tied to no meeting, inside her window.
    november = rows["ana/2026-11"]
    assert (november.meeting_id, november.occurrence) == (None, "month:2026-11")
    assert november.due_at == datetime(2026, 12, 2, 10, 0, tzinfo=UTC)

    form = await services.goals.log_form(actor(ANA))
    await services.goals.log_values(actor(ANA), group_id=group_id, month=OCT, values={form.fields[0].kpi_id: "1200"})
    rows = await nudges(sessions)
    assert (rows["ana/2026-10"].status, rows["ana/2026-10"].reason) == (CANCELLED, R_LOGGED)
    assert rows["ana/2026-11"].status == PENDING
    await replan(sessions, group_id, clock.now())  # stays cancelled
    assert (await nudges(sessions))["ana/2026-10"].status == CANCELLED


async def test_removing_the_kpi_cancels_the_nudge(
    sessions: async_sessionmaker[AsyncSession], services: Services, clock: ManualClock
) -> None:
    group_id = await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BOB])
    await add_meeting(sessions, group_id, datetime(2026, 11, 28, 19, 0, tzinfo=UTC))
    await services.goals.add_kpi(actor(BOB), name="Clients", unit="clients")
    assert {k: r.status for k, r in (await nudges(sessions)).items()} == {"bob/2026-10": PENDING, "bob/2026-11": PENDING}
    await services.goals.remove_kpi(actor(BOB), kpi=Ref.parse("Clients"))
    assert {k: r.status for k, r in (await nudges(sessions)).items()} == {
        "bob/2026-10": CANCELLED, "bob/2026-11": CANCELLED,
    }


async def test_with_no_meeting_the_nudge_is_on_the_2nd_tied_to_no_meeting_and_sent_once(
    sessions: async_sessionmaker[AsyncSession], services: Services, clock: ManualClock
) -> None:
    group_id = await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BOB])
    await services.goals.add_kpi(actor(ANA), name="Revenue", unit="£")
    # October's would have gone on 2 November: three weeks late is not worth sending.
    rows = await nudges(sessions)
    assert sorted(rows) == ["ana/2026-11"]
    assert (rows["ana/2026-11"].meeting_id, rows["ana/2026-11"].occurrence) == (None, "month:2026-11")
    assert rows["ana/2026-11"].due_at == datetime(2026, 12, 2, 10, 0, tzinfo=UTC)

    # Sent on the 2nd; a meeting planned later that month brings no second nudge for November.
    async with sessions.begin() as session:
        row = await session.get(OutboxRow, rows["ana/2026-11"].id)
        assert row is not None
        row.status, row.sent_at = SENT, datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    meeting_id = await add_meeting(sessions, group_id, datetime(2026, 12, 20, 19, 0, tzinfo=UTC))
    await replan(sessions, group_id, clock.now())
    rows = await nudges(sessions)
    assert sorted(rows) == ["ana/2026-11", "ana/2026-12"]
    assert rows["ana/2026-11"].status == SENT
    # December's goes on 2 January (the meeting's nudge falls in December, which is December's own month).
    assert rows["ana/2026-12"].meeting_id is None and rows["ana/2026-12"].occurrence == "month:2026-12"
    assert meeting_id not in {r.meeting_id for r in rows.values()}


async def test_a_meeting_next_month_carries_the_nudge_for_the_month_under_way(
    sessions: async_sessionmaker[AsyncSession], services: Services, clock: ManualClock
) -> None:
    group_id = await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA])
    await services.goals.add_kpi(actor(ANA), name="Revenue", unit="£")
    meeting_id = await add_meeting(sessions, group_id, datetime(2027, 1, 10, 19, 0, tzinfo=UTC))
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    await replan(sessions, group_id, clock.now())
    rows = await nudges(sessions)
    assert (rows["ana/2026-11"].meeting_id, rows["ana/2026-11"].occurrence) == (None, "month:2026-11")
    assert rows["ana/2026-12"].meeting_id == meeting_id
    assert rows["ana/2026-12"].due_at == datetime(2027, 1, 8, 19, 0, tzinfo=UTC)


# --- "Share as a win" and deleting a member's goals data -------------------------------------------


async def test_a_done_commitment_is_shared_once_and_only_by_its_owner(
    sessions: async_sessionmaker[AsyncSession], services: Services, clock: ManualClock
) -> None:
    group_id = await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BOB])
    await add_meeting(sessions, group_id, datetime(2026, 11, 28, 19, 0, tzinfo=UTC))
    added = await services.commitments.add(actor(ANA), text="Send 10 invoices")
    with pytest.raises(InvalidInput, match="reported done"):
        await services.commitments.share_done(user_id=ANA, commitment_id=added.commitment.id)
    await services.commitments.report(actor(ANA), commitment=CommitmentRef.parse("#1"), status="done")
    with pytest.raises(NotAllowed):
        await services.commitments.share_done(user_id=BOB, commitment_id=added.commitment.id)
    won = await services.commitments.share_done(user_id=ANA, commitment_id=added.commitment.id)
    assert won.text == "Done: Send 10 invoices"
    with pytest.raises(InvalidInput, match="already shared"):
        await services.commitments.share_done(user_id=ANA, commitment_id=added.commitment.id)
    async with sessions.begin() as session:
        assert list(await session.scalars(select(Win.text))) == ["Done: Send 10 invoices"]


async def test_a_kpi_win_needs_the_target_reached_and_the_owner(
    sessions: async_sessionmaker[AsyncSession], services: Services, clock: ManualClock
) -> None:
    group_id = await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BOB])
    kpi = (await services.goals.add_kpi(actor(ANA), name="Revenue", unit="£", target="1000")).kpi
    logged = await services.goals.log_values(actor(ANA), group_id=group_id, month=OCT, values={kpi.id: "900"})
    assert logged.reached_ids == ()
    with pytest.raises(InvalidInput, match="no longer reaches"):
        await services.goals.target_win(actor(ANA), kpi_id=kpi.id, month=OCT)
    logged = await services.goals.log_values(actor(ANA), group_id=group_id, month=OCT, values={kpi.id: "1200"})
    assert logged.reached_ids == (kpi.id,)
    with pytest.raises(NotFound):
        await services.goals.target_win(actor(BOB), kpi_id=kpi.id, month=OCT)
    assert await services.goals.target_win(actor(ANA), kpi_id=kpi.id, month=OCT) == (
        group_id, "🎯 Revenue reached its target for Oct 2026"  # never the figure: the KPI is private
    )


async def test_deleting_a_members_data_takes_their_goals_and_kpis(
    sessions: async_sessionmaker[AsyncSession], services: Services, clock: ManualClock
) -> None:
    group_id = await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BOB])
    kpi = (await services.goals.add_kpi(actor(ANA), name="Revenue", unit="£")).kpi
    await services.goals.log_values(actor(ANA), group_id=group_id, month=OCT, values={kpi.id: "900"})
    await services.goals.add_goal(actor(ANA), text="Ten clients")
    await services.goals.add_goal(actor(BOB), text="Hire help")
    async with sessions.begin() as session:
        assert await FEATURES.delete_member(session, GUILD, ANA, clock.now()) >= 3
    async with sessions.begin() as session:
        assert list(await session.scalars(select(Goal.user_id))) == [BOB]
        assert list(await session.scalars(select(Kpi.id))) == []
        assert list(await session.scalars(select(KpiEntry.id))) == []


async def test_a_nudge_moving_to_an_earlier_meeting_is_the_same_row_retimed(
    sessions: async_sessionmaker[AsyncSession], services: Services, clock: ManualClock
) -> None:
    """December's nudge opens on 1 January. Planned on 31 December, the meeting of 2 January is too
    early for it (its lead falls before the month opens) and the one of 2 February takes it; planned
    again on 1 January, the 2 January meeting can take it. One row per member and month: retimed
    and moved, never cancelled as if the KPIs had been logged."""
    group_id = await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA])
    early = await add_meeting(sessions, group_id, datetime(2027, 1, 2, 19, 0, tzinfo=UTC))
    late = await add_meeting(sessions, group_id, datetime(2027, 2, 2, 19, 0, tzinfo=UTC))
    await services.goals.add_kpi(actor(ANA), name="Revenue", unit="£")
    clock.set(datetime(2026, 12, 31, 12, 0, tzinfo=UTC))
    await replan(sessions, group_id, clock.now())
    december = (await nudges(sessions))["ana/2026-12"]
    assert (december.meeting_id, december.occurrence, december.status) == (late, "month:2026-12", PENDING)

    clock.set(datetime(2027, 1, 1, 12, 0, tzinfo=UTC))
    await replan(sessions, group_id, clock.now())
    moved = (await nudges(sessions))["ana/2026-12"]
    assert moved.id == december.id and (moved.meeting_id, moved.status) == (early, PENDING)
    async with sessions.begin() as session:
        decembers = list(await session.scalars(select(OutboxRow).where(OutboxRow.kind == KPI_NUDGE)))
    assert [r.id for r in decembers if r.payload.get("month") == "2026-12"] == [december.id]  # no cancelled copy
