"""Two bot processes, one shard of two each, on one PostgreSQL database and one Discord.

Each process is its own ``App`` (engine, client connection, scheduler) with ``SHARD_COUNT=2`` and
``SHARD_IDS=0`` or ``1``, as the Compose profile runs them. The simulator routes a server's events
to the session of its shard (``(guild_id >> 22) % 2``) and events without a server to shard 0.
PostgreSQL only: several processes need it (``bot.settings``); without a server these tests skip
with the reason (fail under REQUIRE_POSTGRES=1), like the other PostgreSQL variants.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import App
from bot.clock import ManualClock
from bot.models import BotProcess, BrainstormIdea, Commitment, OutboxRow, OutboxStatus
from bot.settings import Settings
from tests.e2e.conftest import Harness
from tests.e2e.seeding import MEETING_AT, buttons, seed_group
from tests.e2e.test_scheduler import make_group
from tests.sim import Channel, Guild, Member, Sim

pytestmark = pytest.mark.postgres

# Discord's global limit, scaled down from 50/s (two bots in one test process share one event loop,
# too slow on a busy machine to reach 50/s): two processes each sending at the whole budget (12/s)
# exceed it, their shares (3/s each) stay under it.
GLOBAL_LIMIT = 10
BUDGET = 6.0  # the bot's total


@pytest.fixture
def e2e_backend() -> str:
    return "postgres"


@dataclass
class Pair:
    """Shard 0's process and shard 1's, and their harnesses (to stop one)."""

    zero: Harness
    one: Harness

    @property
    def apps(self) -> tuple[App, App]:
        assert self.zero.app is not None and self.one.app is not None
        return self.zero.app, self.one.app


def shard_settings(base: Settings, shard: int) -> Settings:
    return Settings(
        discord_token=base.discord_token,
        database_url=base.database_url,
        discord_api_base=base.discord_api_base,
        dev_guild_ids=base.dev_guild_ids,
        send_budget_per_second=BUDGET,
        shard_count=2,
        shard_ids=[shard],
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
async def pair(sim: Sim, settings: Settings, clock: ManualClock, _discord_globals: None) -> AsyncIterator[Pair]:
    sim.gateway.max_concurrency = 2  # shards 0 and 1 in two IDENTIFY buckets: no 5 s wait between them
    running = Pair(
        zero=Harness(sim=sim, settings=shard_settings(settings, 0), clock=clock, extensions=()),
        one=Harness(sim=sim, settings=shard_settings(settings, 1), clock=clock, extensions=()),
    )
    try:
        await running.zero.start()
        await running.one.start()
        yield running
    finally:
        await running.one.stop()
        await running.zero.stop()


def interactions_received(sim: Sim, shard: int) -> set[int]:
    """The ids of the interactions Discord delivered to a shard's sessions."""
    return {
        int(payload["id"])
        for session in sim.gateway.sessions_of(shard)
        for payload in session.received("INTERACTION_CREATE")
    }


def commands_answered(app: App, command: str) -> float:
    """How many times this process answered ``/command`` (its own /metrics)."""
    value = app.metrics.registry.get_sample_value(
        "roundtable_interaction_seconds_count", {"command": command, "outcome": "ok"}
    )
    return value or 0.0


async def test_each_servers_commands_are_answered_once_by_its_shards_process_and_dm_buttons_by_shard_zero(
    sim: Sim, guild: Guild, pair: Pair, clock: ManualClock
) -> None:
    zero, one = pair.apps
    assert sim.gateway.identifies == 2
    assert sorted(session.shard for session in sim.gateway.live_sessions) == [(0, 2), (1, 2)]
    # Commands synced once: the global ones by shard 0's process, the dev server's by its shard's.
    puts = [r.template for r in sim.requests if r.method == "PUT" and r.template and r.template.endswith("/commands")]
    assert sorted(puts) == sorted(["/applications/{application_id}/commands",
                                   "/applications/{application_id}/guilds/{guild_id}/commands"])

    servers: dict[int, tuple[Guild, Channel, Member]] = {}
    for shard in (0, 1):
        server = sim.guild(f"Shard {shard} server", shard=(shard, 2))
        await sim.settle()
        channel = sim.text_channel(server, "general")
        member = sim.member(server, f"Member {shard}")
        servers[shard] = (server, channel, member)
        await seed_group(zero, server, channel, [member])
    assert zero.bot.get_guild(servers[0][0].id) is not None and zero.bot.get_guild(servers[1][0].id) is None
    assert one.bot.get_guild(servers[1][0].id) is not None and one.bot.get_guild(servers[0][0].id) is None

    replies = {}
    for shard, (_server, channel, member) in servers.items():
        replies[shard] = await sim.command(member, channel, "commit add", text=f"Ship shard {shard}")
        assert replies[shard].ephemeral and f"Ship shard {shard}" in replies[shard].content
        assert len(replies[shard].messages) == 1
    assert interactions_received(sim, 0) & {replies[0].interaction.id, replies[1].interaction.id} == {replies[0].interaction.id}
    assert interactions_received(sim, 1) & {replies[0].interaction.id, replies[1].interaction.id} == {replies[1].interaction.id}
    assert (commands_answered(zero, "commit add"), commands_answered(one, "commit add")) == (1, 1)
    async with zero.sessions() as session:
        texts = sorted((await session.scalars(select(Commitment.text))).all())
    assert texts == ["Ship shard 0", "Ship shard 1"]  # each stored once

    # The report-back DMs, sent by either process; a click in a DM (no server) reaches shard 0.
    clock.advance(MEETING_AT - timedelta(hours=48) - clock.now())
    await asyncio.gather(zero.run_due(), one.run_due())
    await sim.settle()
    member_one = servers[1][2]
    [dm] = [m for m in sim.dms(member_one) if "#1 Done" in buttons(m)]
    clicked = await sim.click(member_one, dm, label="#1 Done")
    assert clicked.interaction.response_type == 7  # the DM updated in place, once
    assert clicked.interaction.id in interactions_received(sim, 0)
    assert clicked.interaction.id not in interactions_received(sim, 1)
    async with zero.sessions() as session:
        status = await session.scalar(select(Commitment.status).where(Commitment.text == "Ship shard 1"))
    assert status == "done"


async def test_two_processes_share_the_budget_and_one_finishes_the_fan_out_the_other_stopped_in(
    sim: Sim, guild: Guild, pair: Pair, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    zero, one = pair.apps
    # Both live: each paces at half the bot's budget.
    assert await zero.scheduler.heartbeat() == BUDGET / 2 and await one.scheduler.heartbeat() == BUDGET / 2
    assert zero.scheduler.dispatcher.pacer.interval == pytest.approx(2 / BUDGET)
    async with zero.sessions() as session:
        rows = {row.shard_ids for row in await session.scalars(select(BotProcess))}
    assert rows == {"0", "1"}

    monkeypatch.setattr("bot.dispatch.CLAIM_BATCH", 10)  # small claims, so the processes take turns
    group_ids, channels, members = [], [], []
    for n in range(10):
        group_channel = sim.channel(guild, f"group-{n}")
        group_members = [sim.member(guild, f"Member {n}.{i}") for i in range(8)]
        group_id, _ = await make_group(zero, guild, group_channel, group_members, timedelta(days=10), name=f"Group {n}")
        group_ids.append(group_id)
        channels.append(group_channel)
        members += group_members
    await asyncio.gather(zero.run_due(), one.run_due())  # each group's module prompt
    await sim.settle()
    sim.rate_limits.enable(global_limit=GLOBAL_LIMIT)  # counted across both connections (one token)
    clock.advance(days=10, minutes=-1)  # every reminder, nudge and report-back DM is due at once

    sent_by = {"zero": 0, "one": 0}
    halfway = asyncio.Event()

    def counting(name: str, mark_sent: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def mark(marks: Sequence[Any]) -> None:  # the dispatcher marks sent rows in batches
            await mark_sent(marks)
            sent_by[name] += len(marks)
            if sent_by["zero"] >= 15:
                halfway.set()

        return mark

    monkeypatch.setattr(zero.services.outbox, "mark_sent_many", counting("zero", zero.services.outbox.mark_sent_many))
    monkeypatch.setattr(one.services.outbox, "mark_sent_many", counting("one", one.services.outbox.mark_sent_many))
    runs = [asyncio.create_task(zero.run_due()), asyncio.create_task(one.run_due())]
    async with asyncio.timeout(30):
        await halfway.wait()
    await pair.zero.stop()  # mid fan-out: its claims not yet tried are released
    await asyncio.gather(*runs)
    stopped_at = sent_by["zero"]
    assert await one.scheduler.heartbeat() == BUDGET  # alone now: the whole budget
    await one.run_due()  # what shard 0's process released (if the run above had finished before)
    await sim.settle()

    async with one.sessions() as session:
        outbox = list(await session.scalars(select(OutboxRow).where(OutboxRow.group_id.in_(group_ids))))
        processes = list(await session.scalars(select(BotProcess.shard_ids)))
    assert processes == ["1"]  # the stopped process left
    sent = [row for row in outbox if row.status == OutboxStatus.SENT]
    assert not [row for row in outbox if row.status == OutboxStatus.PENDING and row.due_at <= clock.now()]
    assert len(sent) == 10 * (2 + 8)  # per group: its module prompt, the meeting pack, 8 check-in nudges
    delivered = [m for c in channels for m in sim.messages(c)] + [m for member in members for m in sim.dms(member)]
    assert sorted(m.id for m in delivered) == sorted(row.message_id for row in sent)  # each row once, nothing else
    assert sim.rate_limits.limited_global == []
    assert sent_by["zero"] == stopped_at and sent_by["one"] == len(sent) - 10 - stopped_at  # the rest: shard 1's


async def test_the_vote_recount_at_start_reads_each_servers_brainstorms_once_in_its_shards_process(
    sim: Sim, pair: Pair
) -> None:
    zero, _one = pair.apps
    threads, ideas, voters = {}, {}, {}
    for shard in (0, 1):
        server = sim.guild(f"Shard {shard} server", shard=(shard, 2))
        await sim.settle()
        channel = sim.text_channel(server, "general")
        ana, bob = sim.member(server, f"Ana {shard}"), sim.member(server, f"Bob {shard}")
        await seed_group(zero, server, channel, [ana, bob])
        await sim.command(ana, channel, "brainstorm open", issue=f"Where do clients come from, {shard}?")
        [threads[shard]] = sim.threads(channel)
        await sim.command(bob, threads[shard], "brainstorm idea", text=f"Referrals {shard}")
        ideas[shard] = sim.messages(threads[shard])[1]
        voters[shard] = ana

    await pair.one.stop()
    await pair.zero.stop()
    for shard in (0, 1):  # votes while both processes are down
        sim.react(voters[shard], ideas[shard])
    mark = len(sim.requests)
    await pair.zero.start()
    await pair.one.start()
    for app in pair.apps:
        cog = app.bot.get_cog("BrainstormCog")
        assert cog is not None
        async with asyncio.timeout(10):
            await cog.recount_done.wait()  # type: ignore[attr-defined]
    await sim.settle()

    for shard in (0, 1):
        reads = [r for r in sim.requests[mark:]
                 if r.method == "GET" and r.template == "/channels/{channel_id}/messages" and f"/channels/{threads[shard].id}/" in r.path]
        assert len(reads) == 1, f"shard {shard}'s brainstorm was read {len(reads)} times at start"
    async with pair.apps[1].sessions() as session:
        counted = sorted((await session.scalars(select(BrainstormIdea.votes))).all())
    assert counted == [1, 1]  # each vote made while down, counted once
