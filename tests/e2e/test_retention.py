"""Retention and a group's own data end to end (issue 16), on SQLite and PostgreSQL.

The bot removed from the server (GUILD_DELETE) keeps its data through an outage (GUILD_DELETE
``unavailable``) and DATA_RETENTION_DAYS, a re-add keeps it, and once the window passes the
scheduler's retention job purges it. ``/group export`` sends the facilitator what the group shares;
``/group delete`` asks first, refuses anyone else's click and a late one, then deletes.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.clock import ManualClock
from bot.models import Base, Commitment, OutboxRow, OutboxStatus
from tests.e2e.conftest import Harness
from tests.e2e.seeding import seed_group
from tests.sim import Channel, Guild, Sim


@pytest.fixture
def e2e_backend(backend: str) -> str:
    return backend


async def server_rows(app: App, guild_id: int) -> int:
    total = 0
    async with app.sessions.begin() as session:
        for table in Base.metadata.sorted_tables:
            if "guild_id" in table.c:
                total += await session.scalar(
                    select(func.count()).select_from(table).where(table.c.guild_id == guild_id)) or 0
    return total


async def pending(app: App, guild_id: int) -> int:
    async with app.sessions.begin() as session:
        return await session.scalar(select(func.count()).select_from(OutboxRow).where(
            OutboxRow.guild_id == guild_id, OutboxRow.status == OutboxStatus.PENDING)) or 0


async def test_an_outage_keeps_the_server_a_removal_purges_it_after_the_window(
    sim: Sim, guild: Guild, channel: Channel, app: App, clock: ManualClock
) -> None:
    ana, fac = sim.member(guild, "Ana"), sim.member(guild, "Fac")
    await seed_group(app, guild, channel, [ana, fac], facilitators=(fac,))
    await sim.command(ana, channel, "commit add", text="Ana writes the zebra report")
    rows, planned = await server_rows(app, guild.id), await pending(app, guild.id)
    assert planned > 0

    sim.guild_outage(guild)  # Discord lost the server for a while: not a removal
    await sim.settle()
    sim.guild_back(guild)
    await sim.settle()
    assert await app.services.retention.removed_at(guild.id) is None
    assert await pending(app, guild.id) == planned

    sim.remove_guild(guild)
    await sim.settle()
    assert await app.services.retention.removed_at(guild.id) == clock.now()
    assert await pending(app, guild.id) == 0  # nothing more is sent there
    clock.advance(days=30, seconds=-1)
    assert await app.scheduler.purge_removed_servers() == 0
    assert await server_rows(app, guild.id) == rows + 1  # and the removal mark
    clock.advance(seconds=1)
    assert await app.scheduler.purge_removed_servers() == 1
    assert await server_rows(app, guild.id) == 0


async def test_a_re_add_keeps_the_data(sim: Sim, guild: Guild, channel: Channel, app: App,
                                       clock: ManualClock) -> None:
    ana, fac = sim.member(guild, "Ana"), sim.member(guild, "Fac")
    await seed_group(app, guild, channel, [ana, fac], facilitators=(fac,))
    await sim.command(ana, channel, "commit add", text="Ana writes the zebra report")
    sim.remove_guild(guild)
    await sim.settle()
    clock.advance(days=2)
    sim.readd_guild(guild)
    await sim.settle()
    assert await app.services.retention.removed_at(guild.id) is None
    clock.advance(days=40)
    assert await app.scheduler.purge_removed_servers() == 0
    listing = await sim.command(ana, channel, "commit list")
    assert "zebra report" in listing.text


async def test_a_removal_while_the_bot_was_offline_is_noticed_at_connect(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, clock: ManualClock
) -> None:
    assert harness.app is not None
    fac = sim.member(guild, "Fac")
    await seed_group(harness.app, guild, channel, [fac], facilitators=(fac,))
    await harness.stop()
    sim.remove_guild(guild)  # nobody is connected to hear it
    app = await harness.start()
    await sim.settle()
    assert await app.services.retention.removed_at(guild.id) == clock.now()
    assert await pending(app, guild.id) == 0
    await harness.stop()
    sim.readd_guild(guild)
    app = await harness.start()
    await sim.settle()
    assert await app.services.retention.removed_at(guild.id) is None
    assert await pending(app, guild.id) > 0


async def test_group_export_and_delete(sim: Sim, guild: Guild, channel: Channel, app: App,
                                       clock: ManualClock) -> None:
    ana, bob, fac = sim.member(guild, "Ana"), sim.member(guild, "Bob"), sim.member(guild, "Fac")
    await seed_group(app, guild, channel, [ana, bob, fac], facilitators=(fac,))
    await sim.command(ana, channel, "commit add", text="Ana writes the zebra report")

    refused = await sim.command(ana, channel, "group export")
    assert refused.ephemeral and "Only a facilitator" in refused.content and not refused.files
    exported = await sim.command(fac, channel, "group export")
    assert exported.ephemeral
    files = {attachment.filename: attachment.data for attachment in exported.files}
    assert set(files) == {"group-export.md", "group-export.json"}
    document = json.loads(files["group-export.json"])
    assert [c["text"] for c in document["commitments"]] == ["Ana writes the zebra report"]
    assert {m["name"] for m in document["members"]} == {"Ana", "Bob", "Fac"}
    markdown = files["group-export.md"].decode()
    assert "#1 Ana: Ana writes the zebra report" in markdown and "Fac (facilitator)" in markdown

    assert (await sim.command(bob, channel, "group delete")).content.startswith("Only a facilitator")
    asked = await sim.command(fac, channel, "group delete")
    assert asked.ephemeral and "can't be undone" in asked.content
    other = await sim.click(bob, asked, label="Delete the group")
    assert other.ephemeral and "Only the facilitator who asked" in other.content
    clock.advance(minutes=11)
    late = await sim.click(fac, asked, label="Delete the group")
    assert late.ephemeral and "expired" in late.content
    async with app.sessions.begin() as session:
        assert await session.scalar(select(func.count()).select_from(Commitment)) == 1  # refusals kept it all

    asked = await sim.command(fac, channel, "group delete")
    done = await sim.click(fac, asked, label="Delete the group")
    assert "**Makers** is deleted" in done.text and "cancelled" in done.text
    assert await server_rows(app, guild.id) == 0
    gone = await sim.command(ana, channel, "commit list")
    assert gone.ephemeral and "zebra" not in gone.text
