"""Groups end to end: the real bot against the Discord simulator, as members use it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import App
from tests.e2e.seeding import buttons
from tests.sim import Channel, Guild, Sim
from tests.sim.api import Reply, UsageError
from tests.sim.state import Member


async def run(sim: Sim, user: Member, channel: Channel, command_name: str, /, **options: Any) -> Reply:
    """``sim.command`` (kept as a name: other e2e modules import it)."""
    return await sim.command(user, channel, command_name, **options)


async def create(sim: Sim, user: Member, channel: Channel, group_name: str, **options: Any) -> Reply:
    return await run(sim, user, channel, "group create", name=group_name, **options)


async def test_create_join_info_and_refusals(sim: Sim, guild: Guild, channel: Channel, app: App) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    ana, bob, carl = sim.member(guild, "Ana"), sim.member(guild, "Bob"), sim.member(guild, "Carl")

    refused = await create(sim, ana, channel, "Ana's")
    assert refused.ephemeral and "Manage Server" in refused.content

    bad = await create(sim, admin, channel, "Hi @everyone")
    assert bad.ephemeral and "mentions" in bad.content

    created = await create(sim, admin, channel, "Tuesday Founders", max_members=3,
                                timezone="Europe/London")
    assert not created.ephemeral and "Tuesday Founders" in created.content

    dup = await create(sim, admin, sim.channel(guild, "other"), "tuesday founders")
    assert dup.ephemeral and "already a group" in dup.content

    choices = await sim.autocomplete(ana, channel, "group join", option="group", value="tues")
    assert [c["name"] for c in choices] == ["Tuesday Founders"]
    joined = await run(sim, ana, channel, "group join", group=choices[0]["value"])
    assert joined.ephemeral and joined.embed["title"] == "Welcome to Tuesday Founders"
    await run(sim, bob, channel, "group join", group="Tuesday Founders")
    full = await run(sim, carl, channel, "group join", group="Tuesday Founders")
    assert full.ephemeral and "full" in full.content

    not_fac = await run(sim, ana, channel, "group remove", member=bob)
    assert not_fac.ephemeral and "Only a facilitator" in not_fac.content

    info = await run(sim, bob, channel, "group info")
    assert info.ephemeral
    fields = {f["name"]: f["value"] for f in info.embed["fields"]}
    assert fields["Timezone"] == "Europe/London"
    assert f"<@{admin.id}> ★" in fields["Members (★ facilitator)"] and f"<@{ana.id}>" in fields["Members (★ facilitator)"]
    assert "None planned" in fields["Next meeting"]

    outsider = await run(sim, carl, channel, "group info", group="Tuesday Founders")
    assert outsider.ephemeral and "not in that group" in outsider.content

    listed = await run(sim, carl, channel, "group list")
    assert "Tuesday Founders" in listed.embed["description"] and "3/3" in listed.embed["description"]


async def test_facilitator_manages_members_and_archives(sim: Sim, guild: Guild, channel: Channel, app: App) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    await create(sim, admin, channel, "Makers")
    added = await run(sim, admin, channel, "group add", member=ana)
    assert "Added" in added.content
    promoted = await run(sim, admin, channel, "group facilitator", member=ana)
    assert promoted.ephemeral and "facilitator" in promoted.content and "Announced" in promoted.content
    announced = sim.last_message(channel)  # the group is told once, without a ping
    assert announced.content == f"<@{ana.id}> is now a facilitator of **Makers**."
    assert announced.allowed_mentions is not None and not announced.allowed_mentions.get("users")
    await run(sim, ana, channel, "group add", member=bob)
    removed = await run(sim, ana, channel, "group remove", member=bob)
    assert "Removed" in removed.content
    settings = await run(sim, ana, channel, "group settings", meeting_reminders="48, 2", timezone="Mars/Base")
    assert settings.ephemeral and "isn't a timezone" in settings.content
    settings = await run(sim, ana, channel, "group settings", meeting_reminders="48, 2")
    assert "48 h, 2 h" in settings.content
    archived = await run(sim, ana, channel, "group archive")
    assert "archived" in archived.content
    listed = await run(sim, bob, channel, "group list", archived=True)
    assert "Makers" in listed.embed["description"]


async def test_a_co_facilitator_steps_back_and_the_last_one_of_three_stays(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    await create(sim, admin, channel, "Makers")
    await run(sim, admin, channel, "group add", member=ana)
    await run(sim, admin, channel, "group add", member=bob)
    await run(sim, admin, channel, "group facilitator", member=ana)

    refused = await run(sim, bob, channel, "group facilitator", member=ana, remove=True)
    assert refused.ephemeral and "Only a facilitator" in refused.content
    refused = await run(sim, ana, channel, "group facilitator", member=bob, remove=True)
    assert refused.ephemeral and f"<@{bob.id}> isn't a facilitator of **Makers**" in refused.content

    removed = await run(sim, ana, channel, "group facilitator", member=admin, remove=True)
    assert removed.ephemeral and "Announced" in removed.content
    assert sim.last_message(channel).content == f"<@{admin.id}> is no longer a facilitator of **Makers**."
    info = await run(sim, bob, channel, "group info")
    assert f"<@{ana.id}> ★" in str(info.embed) and f"<@{admin.id}> ★" not in str(info.embed)

    # Ana is the last facilitator of three: refused, privately, and she stays one.
    last = await run(sim, ana, channel, "group facilitator", member=ana, remove=True)
    assert last.ephemeral and "You're the only facilitator of **Makers**" in last.content
    assert "`/group facilitator`" in last.content
    info = await run(sim, bob, channel, "group info")
    assert f"<@{ana.id}> ★" in str(info.embed)


async def test_refusals_dm_other_server_and_inert_mentions(sim: Sim, guild: Guild, channel: Channel, app: App) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    ana = sim.member(guild, "Ana")
    await create(sim, admin, channel, "Makers")
    await run(sim, ana, channel, "group join", group="Makers")

    # A server command in a DM: the client won't offer it (guild-only), so nothing reaches the bot.
    before, dms = len(sim.requests), len(sim.dms(ana))  # (her welcome DM)
    with pytest.raises(UsageError):
        await run(sim, ana, sim.dm_channel(ana), "group create", name="DM group")
    with pytest.raises(UsageError):
        await run(sim, ana, sim.dm_channel(ana), "meeting next")
    assert len(sim.requests) == before and len(sim.dms(ana)) == dms

    # A group of another server, typed into the group option by id or by name: not found here.
    other = sim.guild("Other Server")
    other_admin = sim.member(other, "Olga", manage_guild=True)
    other_channel = sim.text_channel(other, "general")
    theirs = await create(sim, other_admin, other_channel, "Secret Circle")
    assert not theirs.ephemeral
    secret_id = await app.services.groups.find_id(other.id, "Secret Circle")
    assert secret_id is not None
    for typed in (str(secret_id), "Secret Circle"):
        refused = await run(sim, ana, channel, "group join", group=typed)
        assert refused.ephemeral and "no group called" in refused.content
        info = await run(sim, admin, channel, "group info", group=typed)
        assert info.ephemeral and "no group called" in info.content
    assert "Secret Circle" not in (await run(sim, ana, channel, "group list")).text
    choices = await sim.autocomplete(ana, channel, "group join", option="group", value="sec")
    assert choices == []

    # Mentions inside a name: refused privately, nothing stored, and the reply pings nobody.
    role = sim.role(guild, "Founders")
    for name in ("Hi @everyone", "Hey @here", f"Team <@&{role.id}>", f"Ana's <@{ana.id}>"):
        bad = await create(sim, admin, sim.channel(guild, f"c{len(name)}"), name)
        assert bad.ephemeral and "can't contain mentions" in bad.content
        assert bad.message.allowed_mentions is not None
        assert not any(bad.message.allowed_mentions.get(key) for key in ("parse", "users", "roles"))
    listed = await run(sim, ana, channel, "group list")
    assert "Makers" in listed.text and "everyone" not in listed.text and "Founders" not in listed.text
    # Whatever the bot posts publicly mentions nobody unless it means to.
    for message in sim.messages(channel):
        assert message.allowed_mentions is not None, message.content
        mentions = message.allowed_mentions
        assert "everyone" not in mentions.get("parse", []) and "roles" not in mentions.get("parse", [])


async def test_a_member_who_joins_is_told_the_next_meeting_the_module_and_what_to_do_now(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    admin, ana = sim.member(guild, "Admin", manage_guild=True), sim.member(guild, "Ana")
    await create(sim, admin, channel, "Makers", timezone="Europe/London")
    await run(sim, admin, channel, "meeting recurring", rule="first tuesday", time="18:00")

    joined = await run(sim, ana, channel, "group join", group="Makers")
    assert joined.ephemeral
    fields = {f["name"]: f["value"] for f in joined.embed["fields"]}
    assert "<t:1796148000:F>" in fields["Next meeting"] and "your own time" in fields["Next meeting"]
    assert fields["This month's module"].startswith("1. ")
    assert "time zone" in fields["Now"] and "coming" in fields["Now"] and "check in" in fields["Now"]
    assert buttons(joined.message) == ["Set my time zone", "Check in", "Going", "Maybe", "Can't make it"]

    # The same welcome by DM, whose buttons work there too.
    [dm] = sim.dms(ana)
    assert dm.embeds[0]["title"] == "Welcome to Makers" and buttons(dm) == buttons(joined.message)
    going = await sim.click(ana, dm, label="Going")
    assert "Going" in going.content
    assert {f["name"]: f["value"] for f in going.embed["fields"]}["Going (1)"] == f"<@{ana.id}>"
    assert sim.dms(ana)[0].embeds[0]["title"] == "Welcome to Makers"  # the welcome stays as it was
    modal = await sim.click(ana, dm, label="Set my time zone")
    refused = await sim.submit_modal(ana, modal, {"tz:name": "Mars/Olympus"})
    assert refused.ephemeral and "Something went wrong" not in refused.content
    modal = await sim.click(ana, dm, label="Set my time zone")
    done = await sim.submit_modal(ana, modal, {"tz:name": "Australia/Sydney"})
    assert "Australia/Sydney" in done.content
    assert await app.services.guilds.member_timezone(guild.id, ana.id) == "Australia/Sydney"

    # Once the zone is set, the welcome no longer asks for it.
    bob = sim.member(guild, "Bob")
    await run(sim, bob, channel, "timezone set", tz="America/New_York")
    joined = await run(sim, bob, channel, "group join", group="Makers")
    assert "time zone" not in {f["name"]: f["value"] for f in joined.embed["fields"]}["Now"]
    assert buttons(joined.message)[0] == "Check in"
