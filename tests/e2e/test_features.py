"""Features plugged in through the registry, end to end: the real App and the Discord simulator.

A test-only feature with a table, a command and a reminder comes in through one registration (its
``Feature``: no other file edited); a kind without a renderer stops the start with one line, and
the stopped App leaves nothing running (the next test starts as usual)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.app import App, StartupError
from bot.clock import ManualClock
from bot.features import FeatureRegistry
from bot.models import Group, GroupMember, OutboxRow
from bot.services import FEATURES
from bot.services.outbox import plan_group
from bot.settings import Settings
from tests.e2e.conftest import READY_TIMEOUT_SECONDS
from tests.e2e.goals_feature import GOALS, KPI_NUDGE
from tests.e2e.memo_feature import MEMO_REMINDER, MEMOS, MemoService, create_memo_table
from tests.e2e.seeding import seed_group
from tests.sim import Channel, Guild, Sim


@pytest.fixture
async def start_app(
    sim: Sim, settings: Settings, clock: ManualClock, _discord_globals: None
) -> AsyncIterator[list[App]]:
    started: list[App] = []
    yield started
    for app in started:
        await app.stop()


def bot_tasks() -> list[str]:
    """The tasks on the loop but the test's own and the simulator's server (where each one's code is)."""
    found = []
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        where = code.co_filename if code is not None else "?"
        if task is not asyncio.current_task() and "/tests/sim/" not in where and "/aiohttp/web" not in where:
            found.append(f"{task.get_name()} ({where})")
    return found


def build(
    settings: Settings, clock: ManualClock, *, features: FeatureRegistry, extensions: tuple[str, ...] = ()
) -> App:
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


async def test_a_planned_kind_without_a_renderer_stops_the_start_and_leaves_nothing_running(
    sim: Sim, settings: Settings, clock: ManualClock, start_app: list[App]
) -> None:
    app = build(settings, clock, features=FeatureRegistry((*FEATURES.features, GOALS)))  # its cog left out
    start_app.append(app)
    await app.migrate()
    with pytest.raises(StartupError) as failure:
        await app.start()
    assert str(failure.value) == "Notification kinds don't match the renderers: no renderer for test_kpi_nudge."
    assert not app.scheduler.running  # stopped before anything was scheduled or sent
    await app.stop()
    assert app.bot.is_closed()
    # Nothing of the bot's is left on the loop (a cog's task left cancelling once hung the loop's close).
    assert bot_tasks() == []


async def test_a_feature_with_a_table_a_command_and_a_reminder_plugs_in_with_one_registration(
    sim: Sim, guild: Guild, channel: Channel, settings: Settings, clock: ManualClock, start_app: list[App]
) -> None:
    app = build(settings, clock, features=FeatureRegistry((*FEATURES.features, MEMOS)))  # the one registration
    start_app.append(app)
    await app.migrate()
    await create_memo_table(app.engine)  # stands for the feature's migration
    await app.start()
    assert "tests.e2e.memo_cog" in app.bot.extensions  # loaded from the declaration
    assert isinstance(app.services.get(MemoService), MemoService)
    ana = sim.member(guild, "Ana")
    await seed_group(app, guild, channel, [ana], meeting=False)

    added = await sim.command(ana, channel, "memo add", text="Call *Bob* @everyone")
    assert added.ephemeral and "Noted for **Makers**" in added.content
    clock.advance(days=1)
    await app.run_due()
    await sim.settle()
    assert [m.content for m in sim.dms(ana)] == ["📝 Your memo: Call \\*Bob\\* @everyone"]
    assert sim.dms(ana)[0].allowed_mentions == {"parse": []}  # the member's text mentions nobody
    async with app.sessions.begin() as session:
        row = await session.scalar(select(OutboxRow).where(OutboxRow.kind == MEMO_REMINDER))
        assert row is not None and (row.status, row.meeting_id, row.recipient_id) == ("sent", None, ana.id)
