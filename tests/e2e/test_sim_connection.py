"""The simulator proves itself: the real bot logs in, syncs its commands, reconnects and restarts."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests.e2e.conftest import Harness
from tests.sim import Channel, Guild, Sim


@pytest.fixture
def extensions() -> Sequence[str]:
    return ["tests.e2e.probe_cog"]


def _names(commands: list[dict]) -> set[str]:
    return {command["name"] for command in commands}


async def test_the_bot_logs_in_and_syncs_its_commands(sim: Sim, guild: Guild, harness: Harness) -> None:
    # (How fast it gets ready is a benchmark's business: bench/ and docs/PERFORMANCE.md, not a timed test.)
    assert harness.app is not None and harness.app.bot.is_ready()
    assert [g.id for g in harness.app.bot.guilds] == [guild.id]
    assert harness.app.bot.user is not None and harness.app.bot.user.id == sim.bot.id
    # Globally, and to the development server at once.
    assert {"probe", "server", "timezone"} <= _names(sim.registered_commands())
    assert _names(sim.registered_commands(guild)) == _names(sim.registered_commands())
    called = [(r.method, r.template) for r in sim.requests]
    assert called[:3] == [
        ("GET", "/users/@me"),
        ("GET", "/oauth2/applications/@me"),
        ("PUT", "/applications/{application_id}/commands"),
    ]
    assert ("GET", "/gateway/bot") in called
    assert sim.gateway.identifies == 1


async def test_a_restart_keeps_the_database_and_does_not_sync_again(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness
) -> None:
    alice = sim.member(guild, "Alice")
    syncs_before = [r for r in sim.requests if r.method == "PUT"]

    await harness.restart()

    assert [r for r in sim.requests if r.method == "PUT"] == syncs_before  # the stored hash matched
    assert sim.gateway.identifies == 2
    reply = await sim.command(alice, channel, "probe echo", text="after restart")
    assert reply.content == "echo: after restart"


async def test_a_persistent_button_works_after_a_restart(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness
) -> None:
    alice = sim.member(guild, "Alice")
    await sim.command(alice, channel, "probe post")
    posted = sim.last_message(channel)

    await harness.restart()
    clicked = await sim.click(alice, posted, label="Count 0")

    assert clicked.content == "Count is 1"
    assert posted.content == "Count is 1"  # type 7 edits the message the button is on
    assert [c["label"] for c in posted.iter_components() if c["type"] == 2] == ["Count 1"]


async def test_events_missed_while_disconnected_arrive_on_resume(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness
) -> None:
    alice = sim.member(guild, "Alice")
    await sim.command(alice, channel, "probe post")
    posted = sim.last_message(channel)
    probe = harness.app.bot.get_cog("ProbeCog") if harness.app else None
    assert probe is not None

    await sim.gateway.drop(resumable=True)
    sim.react(alice, posted)  # while the bot is away: kept for the RESUME
    await sim.drop_connection(resumable=True)

    assert sim.gateway.resumes >= 1 and sim.gateway.identifies == 1
    assert ("add", alice.id, posted.id, "👍") in probe.reactions


async def test_an_invalidated_session_identifies_again(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness
) -> None:
    alice = sim.member(guild, "Alice")

    await sim.drop_connection(resumable=False)

    assert sim.gateway.identifies == 2
    reply = await sim.command(alice, channel, "probe echo", text="still here")
    assert reply.content == "echo: still here"


async def test_a_server_that_removes_the_bot_is_gone_from_its_cache(
    sim: Sim, guild: Guild, harness: Harness
) -> None:
    assert harness.app is not None
    sim.remove_guild(guild)
    await sim.settle()
    assert harness.app.bot.get_guild(guild.id) is None


async def test_two_bot_processes_each_get_every_event_and_one_stopping_leaves_the_other_connected(
    sim: Sim, guild: Guild, harness: Harness
) -> None:
    first = harness.app
    assert first is not None
    second = await harness.start_another()
    assert sim.gateway.identifies == 2 and len(sim.gateway.live_sessions) == 2

    ops = sim.channel(guild, "ops")
    await sim.settle()
    assert first.bot.get_channel(ops.id) is not None and second.bot.get_channel(ops.id) is not None

    await second.stop()
    harness.others.remove(second)
    await sim.settle()
    assert sim.gateway.connected  # the first bot's connection is untouched
    notes = sim.channel(guild, "notes")
    await sim.settle()
    assert first.bot.get_channel(notes.id) is not None
