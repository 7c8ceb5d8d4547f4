"""The simulator proves itself: reactions, DMs, rate limits and the contract check."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from tests.e2e.conftest import Harness
from tests.sim import Channel, Guild, Sim


@pytest.fixture
def extensions() -> Sequence[str]:
    return ["tests.e2e.probe_cog"]


async def test_the_bot_sees_reactions(sim: Sim, guild: Guild, channel: Channel, harness: Harness) -> None:
    alice = sim.member(guild, "Alice")
    await sim.command(alice, channel, "probe post")
    posted = sim.last_message(channel)
    assert harness.app is not None
    probe = harness.app.bot.get_cog("ProbeCog")

    sim.react(alice, posted)
    sim.unreact(alice, posted)
    await sim.settle()

    assert posted.content == "React here."
    assert sim.reactors(posted) == [sim.bot.id]  # the bot's own 👍 stays
    assert [r for r in probe.reactions if r[1] == alice.id] == [
        ("add", alice.id, posted.id, "👍"),
        ("remove", alice.id, posted.id, "👍"),
    ]


async def test_a_dm_reaches_the_member(sim: Sim, guild: Guild, channel: Channel, harness: Harness) -> None:
    alice = sim.member(guild, "Alice")

    reply = await sim.command(alice, channel, "probe dm")

    assert reply.content == "Sent you a DM."
    assert [m.content for m in sim.dms(alice)] == ["Hello from the bot."]


async def test_a_member_with_closed_dms_is_told_instead(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness
) -> None:
    alice = sim.member(guild, "Alice")
    sim.close_dms(alice)

    reply = await sim.command(alice, channel, "probe dm")

    assert reply.content == "Your DMs are closed."
    assert sim.dms(alice) == []
    refused = [r for r in sim.requests if r.template == "/channels/{channel_id}/messages" and r.status == 403]
    assert len(refused) == 1


async def test_a_rate_limited_burst_loses_no_message(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness
) -> None:
    alice = sim.member(guild, "Alice")
    sim.rate_limits.enable(bucket_limit=3, bucket_window=0.2)
    sim.rate_limits.force("POST", "/channels/{channel_id}/messages", times=1, retry_after=0.1)

    reply = await sim.command(alice, channel, "probe burst", count=8)

    assert reply.content == "Sent 8."
    assert sorted(m.content for m in sim.messages(channel)) == sorted(f"burst {n}" for n in range(8))
    assert sim.rate_limits.limited  # at least the forced 429 was answered
    assert any(r.status == 429 for r in sim.requests)


async def test_interactions_answered_at_once_each_have_their_own_callback_bucket(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness
) -> None:
    """As on Discord, an interaction's callback is limited per interaction: six members using a
    command at the same moment are all answered at once, even with one request per bucket."""
    members = [sim.member(guild, f"Member {n}") for n in range(6)]
    sim.rate_limits.enable(bucket_limit=1, bucket_window=5.0)

    replies = await asyncio.gather(*(sim.command(m, channel, "probe echo", text=f"hi {n}") for n, m in enumerate(members)))

    assert [r.content for r in replies] == [f"echo: hi {n}" for n in range(6)]
    callbacks = [r for r in sim.requests if r.template == "/interactions/{interaction_id}/{interaction_token}/callback"]
    assert len(callbacks) == 6 and all(r.status in (200, 204) for r in callbacks)
    assert sim.rate_limits.limited == []


async def test_an_oversized_embed_is_caught_by_the_contract_check(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness
) -> None:
    alice = sim.member(guild, "Alice")

    reply = await sim.command(alice, channel, "probe bigembed")

    problems = sim.forget_problems()  # provoked on purpose: clear them so teardown passes
    assert len(problems) == 1
    assert "$.data.embeds" in problems[0] and "7012 characters" in problems[0]
    assert "6000" in problems[0]
    # Discord answered 400 (50035); the bot's error renderer then told the member something went wrong.
    assert any(r.status == 400 for r in sim.requests)
    assert reply.ephemeral and "ref" in reply.text.lower()


async def test_threads_files_selects_nonces_and_reactor_pages(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness
) -> None:
    alice, bob, cleo = sim.member(guild, "Alice"), sim.member(guild, "Bob"), sim.member(guild, "Cleo")

    closed = await sim.command(alice, channel, "probe thread")
    [thread] = sim.threads(channel)
    assert closed.content == "Thread Pricing ideas closed."
    assert thread.archived and thread.locked and thread.id == sim.messages(channel)[0].id
    assert [m.content for m in sim.messages(thread)] == ["First idea"]

    got = await sim.command(alice, channel, "probe file", upload=("note.txt", b"hello"))
    assert got.content == "Got note.txt (5 bytes)."
    assert [(f.filename, f.data) for f in got.files] == [("shout.txt", b"HELLO")]
    chosen = await sim.select(alice, got, ["Partly"])
    assert chosen.content == "Chose partly."

    same = await sim.command(alice, channel, "probe nonce")
    assert same.content == "same"
    assert [m.content for m in sim.messages(channel)].count("Once only") == 1

    target = sim.messages(channel)[0]
    for member in (alice, bob, cleo):
        sim.react(member, target)
    await sim.settle()
    counted = await sim.command(alice, channel, "probe voters", message_id=str(target.id))
    assert counted.content == "3 voters"
