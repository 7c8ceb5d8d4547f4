"""``/meeting substitute`` end to end: a member facilitates one meeting (attendance, the agenda's
order, ending it), is told privately, and everyone sees it on the meeting card."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import App
from bot.models import Meeting
from tests.e2e.seeding import MEETING_AT, buttons, seed_group
from tests.sim import Channel, Guild, Sim


@pytest.fixture
def e2e_backend(backend: str) -> str:
    """Both databases: the substitute is a column of the meeting, read by every meeting-scoped check."""
    return backend


async def test_a_substitute_facilitates_one_meeting(sim: Sim, guild: Guild, channel: Channel, app: App) -> None:
    fac, sia, bob = sim.member(guild, "Fac"), sim.member(guild, "Sia"), sim.member(guild, "Bob")
    await seed_group(app, guild, channel, [fac, sia, bob], facilitators=(fac,))

    # Bad input first: told privately, nothing stored.
    refused = await sim.command(bob, channel, "meeting substitute", member=sia)
    assert refused.ephemeral and "Only a facilitator" in refused.content
    outsider = sim.member(guild, "Out")
    refused = await sim.command(fac, channel, "meeting substitute", member=outsider)
    assert refused.ephemeral and "isn't in **Makers**" in refused.content
    refused = await sim.command(fac, channel, "meeting substitute", clear=True)
    assert refused.ephemeral and "nothing to clear" in refused.content
    async with app.sessions.begin() as session:
        assert [m.substitute_id for m in await session.scalars(select(Meeting))] == [None]

    done = await sim.command(fac, channel, "meeting substitute", member=sia)
    assert done.ephemeral and f"<@{sia.id}> facilitates the meeting of" in done.content
    assert "only that one" in done.content
    dm = sim.dms(sia)[-1]
    assert "You're facilitating the **1st meeting of Makers**" in dm.content
    assert str(sia.id) not in dm.content  # no internal ids
    card = await sim.command(bob, channel, "meeting next")
    assert any(f.get("value") == f"<@{sia.id}> is facilitating this one." for f in card.embed.get("fields", []))
    info = await sim.command(bob, channel, "group info")
    assert "is facilitating this one" in str(info.embed)

    # At the meeting Sia takes attendance from the channel's prompt and ends it; Bob still can't.
    await sim.advance(MEETING_AT - app.clock.now())
    [prompt] = [m for m in sim.messages(channel) if "Take attendance" in buttons(m)]
    assert f"<@{sia.id}> (facilitating this one) or a facilitator: **Take attendance**" in prompt.content
    assert prompt.allowed_mentions is None or not prompt.allowed_mentions.get("users")  # named, not pinged
    refused = await sim.click(bob, prompt, label="Take attendance")
    assert refused.ephemeral and "Only a facilitator" in refused.content
    sheet = await sim.click(sia, prompt, label="Take attendance")
    assert sheet.ephemeral and sheet.embed["title"] == "Attendance — 1st meeting of Makers"
    # Not the group: she can't schedule another meeting.
    refused = await sim.command(sia, channel, "meeting schedule", when="2027-01-07 18:00")
    assert refused.ephemeral and "Only a facilitator" in refused.content
    ended = await sim.command(sia, channel, "meeting end")
    assert "ended" in ended.content
    # And now it's over: no substitute for an ended meeting (nothing stored).
    async with app.sessions.begin() as session:
        meeting_id = (await session.scalars(select(Meeting))).one().id
    refused = await sim.command(fac, channel, "meeting substitute", member=bob, meeting=str(meeting_id))
    assert refused.ephemeral and "That meeting is over" in refused.content
    async with app.sessions.begin() as session:
        assert [m.substitute_id for m in await session.scalars(select(Meeting))] == [sia.id]
