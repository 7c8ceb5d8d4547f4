"""A feature plugged in through the registry, end to end: the real App and the Discord simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.app import App
from bot.clock import ManualClock
from bot.features import FeatureRegistry
from bot.models import Group, GroupMember, OutboxRow
from bot.services import FEATURES
from bot.services.outbox import plan_group
from bot.settings import Settings
from tests.e2e.conftest import READY_TIMEOUT_SECONDS
from tests.e2e.goals_feature import GOALS, KPI_NUDGE
from tests.sim import Channel, Guild, Sim


@pytest.fixture
async def start_app(
    sim: Sim, settings: Settings, clock: ManualClock, _discord_globals: None
) -> AsyncIterator[list[App]]:
    started: list[App] = []
    yield started
    for app in started:
        await app.stop()


def build(settings: Settings, clock: ManualClock, *, features: FeatureRegistry, extensions: tuple[str, ...]) -> App:
    return App(settings, clock=clock, guild_ready_timeout=READY_TIMEOUT_SECONDS, extra_extensions=extensions,
               features=features)


async def test_a_plugged_in_kind_tied_to_no_meeting_reaches_the_member(
    sim: Sim, guild: Guild, channel: Channel, settings: Settings, clock: ManualClock, start_app: list[App]
) -> None:
    app = build(settings, clock, features=FeatureRegistry((*FEATURES.features, GOALS)),
                extensions=("tests.e2e.goals_feature",))
    start_app.append(app)
    await app.migrate()
    await app.start()
    ana = sim.member(guild, "Ana")
    now = clock.now()
    async with app.sessions.begin() as session:
        group = Group(guild_id=guild.id, channel_id=channel.id, name="Makers", name_key="makers", timezone="UTC",
                      created_by=ana.user.id, created_at=now)
        session.add(group)
        await session.flush()
        session.add(GroupMember(group_id=group.id, user_id=ana.user.id, guild_id=guild.id, is_facilitator=True,
                                joined_at=now))
        await plan_group(session, group.id, now)
    clock.advance(days=1)
    await app.run_due()
    await sim.settle()
    assert [m.content for m in sim.dms(ana)] == ["How are your KPIs this month?"]
    async with app.sessions.begin() as session:
        row = await session.scalar(select(OutboxRow).where(OutboxRow.kind == KPI_NUDGE))
        assert row is not None and (row.status, row.meeting_id) == ("sent", None)
