"""Buddies end to end: ask by DM (or in the channel when DMs are closed), accept or decline, unpair."""

from __future__ import annotations

from bot.app import App
from bot.models import DMChannel
from tests.e2e.test_groups import create, run
from tests.sim import Channel, Guild, Sim


async def test_pair_by_dm_accept_and_unpair(sim: Sim, guild: Guild, channel: Channel, app: App) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    ana, bob, outsider = sim.member(guild, "Ana"), sim.member(guild, "Bob"), sim.member(guild, "Out")
    await create(sim, admin, channel, "Makers")
    for member in (ana, bob):
        await run(sim, member, channel, "group join", group="Makers")

    not_member = await run(sim, ana, channel, "buddy pair", member=outsider)
    assert not_member.ephemeral and "isn't in **Makers**" in not_member.content

    asked = await run(sim, ana, channel, "buddy pair", member=bob)
    assert asked.ephemeral and "by DM" in asked.content
    request = sim.dms(bob)[-1]
    assert f"<@{ana.id}> asks you" in request.content

    wrong = await sim.click(ana, request, label="Accept")
    assert wrong.ephemeral
    await sim.click(bob, request, label="Accept")
    assert "are now buddies" in sim.dms(bob)[-1].content

    again = await run(sim, bob, channel, "buddy pair", member=ana)
    assert again.ephemeral and "already have a buddy" in again.content
    ended = await run(sim, bob, channel, "buddy unpair")
    assert "no longer buddies" in ended.content


async def test_closed_dms_ask_in_the_channel_and_decline(sim: Sim, guild: Guild, channel: Channel, app: App) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob", dms_open=False)
    await create(sim, admin, channel, "Makers")
    for member in (ana, bob):
        await run(sim, member, channel, "group join", group="Makers")
    asked = await run(sim, ana, channel, "buddy pair", member=bob)
    assert "couldn't DM them" in asked.content
    request = sim.last_message(channel)
    assert f"<@{bob.id}>" in request.content
    await sim.click(bob, request, label="Decline")
    assert "declined" in sim.last_message(channel).content


async def test_a_refused_dm_is_remembered_for_the_scheduled_ones(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    """A buddy request goes through the one DM helper: the DM channel is remembered, and so are closed DMs."""
    admin = sim.member(guild, "Admin", manage_guild=True)
    ana, bob, cat = sim.member(guild, "Ana"), sim.member(guild, "Bob", dms_open=False), sim.member(guild, "Cat")
    await create(sim, admin, channel, "Makers")
    for member in (ana, bob, cat):
        await run(sim, member, channel, "group join", group="Makers")

    assert "couldn't DM them" in (await run(sim, ana, channel, "buddy pair", member=bob)).content
    assert "by DM" in (await run(sim, ana, channel, "buddy pair", member=cat)).content
    async with app.sessions.begin() as session:
        closed, opened = await session.get(DMChannel, bob.id), await session.get(DMChannel, cat.id)
    assert closed is not None and closed.dms_closed_at is not None
    assert opened is not None and opened.dms_closed_at is None and opened.channel_id == sim.dms(cat)[-1].channel_id
