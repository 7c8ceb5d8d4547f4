"""Member text end to end: markdown in a commitment is shown as typed, invisible text is refused.

The real bot against the Discord simulator; the group and its meeting are seeded in the database.
"""

from __future__ import annotations

from sqlalchemy import func, select

from bot.app import App
from bot.models import Commitment, Group
from tests.e2e.conftest import Harness
from tests.e2e.seeding import seed_group
from tests.sim import Channel, Guild, Sim

HOSTILE = "```Read [the brief](https://evil.example/x) @everyone"
# Every backtick and the masked link's bracket escaped; the URL itself left whole; the mention as typed.
SHOWN = "\\`\\`\\`Read \\[the brief](https://evil.example/x) @everyone"


async def test_markdown_in_a_commitment_is_shown_as_typed_in_the_list_and_the_announcement(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    await seed_group(app, guild, channel, [ana, bob])

    added = await sim.command(ana, channel, "commit add", text=HOSTILE)
    assert added.ephemeral and SHOWN in added.content
    announcement = sim.last_message(channel)
    assert announcement.content.startswith(f"<@{ana.id}> committed to: {SHOWN} (`#1`")
    assert announcement.allowed_mentions is not None and announcement.allowed_mentions.get("parse") == []
    await sim.command(bob, channel, "commit add", text="Call the bank")

    listing = await sim.command(bob, channel, "commit list")
    assert listing.ephemeral
    assert SHOWN in listing.text and "```" not in listing.text.replace("\\`", "")
    # The line after Ana's is still a line of its own, not swallowed by a code block.
    assert "`#2` Call the bank" in listing.text

    # What is stored is what Ana typed: escaping is for display only.
    async with app.sessions.begin() as session:
        assert await session.scalar(select(Commitment.text).where(Commitment.number == 1)) == HOSTILE


async def test_a_commitment_of_zero_width_spaces_is_refused_privately(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana = sim.member(guild, "Ana")
    await seed_group(app, guild, channel, [ana])
    before = len(sim.messages(channel))

    refused = await sim.command(ana, channel, "commit add", text="\u200b\u200b\u2060\ufeff")
    assert refused.ephemeral and "can't be empty" in refused.content
    async with app.sessions.begin() as session:
        assert await session.scalar(select(func.count()).select_from(Commitment)) == 0
    assert len(sim.messages(channel)) == before  # nothing announced


async def test_lookalike_group_names_are_refused_and_typed_names_find_the_group(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    nfd_cafe = "Cafe\u0301 Club"  # "Café Club" with the accent as a combining mark
    assert not (await sim.command(admin, channel, "group create", name="Alpha")).ephemeral
    assert not (await sim.command(admin, sim.channel(guild, "cafe"), "group create", name="Café Club")).ephemeral

    for lookalike in ("Al\u200bpha", "ＡＬＰＨＡ", nfd_cafe):
        refused = await sim.command(admin, sim.channel(guild, "spare"), "group create", name=lookalike)
        assert refused.ephemeral and "already a group" in refused.content
    invisible = await sim.command(admin, sim.channel(guild, "spare"), "group create", name="\u200b\u2060")
    assert invisible.ephemeral and "needs a name" in invisible.content
    async with app.sessions.begin() as session:
        assert sorted(await session.scalars(select(Group.name))) == ["Alpha", "Café Club"]

    # A name typed by hand into a group option, spelled either way, finds the group.
    info = await sim.command(admin, sim.channel(guild, "spare"), "group info", group=nfd_cafe)
    assert info.ephemeral and "Café Club" in info.text
