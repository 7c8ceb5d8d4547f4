"""Export and forget end to end: the export's attachment parsed; forget after the Confirm button;
the group's list afterwards names "a former member"."""

from __future__ import annotations

import json

from bot.app import App
from tests.e2e.seeding import seed_group
from tests.sim import Channel, Guild, Sim


async def test_export_then_forget_with_confirmation(sim: Sim, guild: Guild, channel: Channel, app: App) -> None:
    ana, bob, fac = sim.member(guild, "Ana"), sim.member(guild, "Bob"), sim.member(guild, "Fac")
    await seed_group(app, guild, channel, [ana, bob, fac], facilitators=(fac,))
    await sim.command(ana, channel, "commit add", text="Ana writes the zebra report")
    await sim.command(bob, channel, "commit add", text="Bob calls the bank")

    exported = await sim.command(ana, channel, "mydata export")
    assert exported.ephemeral
    files = {attachment.filename: attachment.data for attachment in exported.files}
    document = json.loads(files["mydata.json"])
    text = json.dumps(document)
    assert "Ana writes the zebra report" in text and "Bob calls the bank" not in text
    assert "Ana writes the zebra report" in files["commitment.csv"].decode()

    asked = await sim.command(ana, channel, "mydata forget")
    assert asked.ephemeral and "can't be undone" in asked.content
    refused = await sim.click(bob, asked, label="Delete my data")
    assert refused.ephemeral and "Only the member who asked" in refused.content
    done = await sim.click(ana, asked, label="Delete my data")
    assert "your data in this server is deleted" in done.text

    listing = await sim.command(bob, channel, "commit list")
    assert "a former member" in listing.text and "zebra" not in listing.text and "Bob calls the bank" in listing.text
    again = await sim.command(ana, channel, "mydata export")
    assert "no data about you" in again.content


async def test_export_in_a_dm_and_the_only_facilitator_is_refused(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    ana, fac = sim.member(guild, "Ana"), sim.member(guild, "Fac")
    await seed_group(app, guild, channel, [ana, fac], facilitators=(fac,))
    await sim.command(ana, channel, "commit add", text="Ana writes the zebra report")
    exported = await sim.command(ana, sim.dm_channel(ana), "mydata export")
    document = json.loads({a.filename: a.data for a in exported.files}["mydata.json"])
    assert list(document["servers"]) == [str(guild.id)]

    asked = await sim.command(fac, channel, "mydata forget")
    refused = await sim.click(fac, asked, label="Delete my data")
    assert "only facilitator of **Makers**" in refused.text
