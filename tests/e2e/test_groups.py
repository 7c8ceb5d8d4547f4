"""Groups end to end: the real bot against the Discord simulator, as members use it."""

from __future__ import annotations

from typing import Any

from bot.app import App
from tests.sim import Channel, Guild, Sim
from tests.sim.api import Reply
from tests.sim.options import build_data
from tests.sim.state import Member


async def run(sim: Sim, user: Member, channel: Channel, command_name: str, /, **options: Any) -> Reply:
    """``Sim.command`` for commands with a ``name`` or ``member`` option (its own parameters' names)."""
    command = sim._command_for(user, channel, command_name)
    data = build_data(sim.world, command, command_name, options, guild_id=channel.guild_id)
    return await sim._answer(sim._interaction(2, user, channel, data))


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
    assert joined.ephemeral and "Welcome to **Tuesday Founders**" in joined.content
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
    assert "facilitator" in promoted.content
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


async def test_help_works_and_the_bot_welcomes_a_new_server(sim: Sim, guild: Guild, channel: Channel, app: App) -> None:
    ana = sim.member(guild, "Ana")
    shown = await run(sim, ana, channel, "help")
    assert shown.ephemeral and "Start a group" in [f["name"] for f in shown.embed["fields"]]
