"""Meetings end to end: series, the next meeting with RSVP buttons (also after a restart), cancel."""

from __future__ import annotations

from bot.app import App
from tests.e2e.conftest import Harness
from tests.e2e.test_groups import create, run
from tests.sim import Channel, Guild, Sim
from tests.sim.api import Reply
from tests.sim.state import Message


def _fields(reply: Reply | Message) -> dict[str, str]:
    embed = reply.embed if hasattr(reply, "embed") else reply.embeds[0]
    return {f["name"]: f["value"] for f in embed["fields"]}


async def test_series_next_and_rsvp_survive_a_restart(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    ana, outsider = sim.member(guild, "Ana"), sim.member(guild, "Outsider")
    await create(sim, admin, channel, "Makers", timezone="Europe/London")
    await run(sim, ana, channel, "group join", group="Makers")

    not_fac = await run(sim, ana, channel, "meeting recurring", rule="first tuesday")
    assert not_fac.ephemeral and "Only a facilitator" in not_fac.content
    bad = await run(sim, admin, channel, "meeting recurring", rule="FREQ=DAILY")
    assert bad.ephemeral and "more than one meeting a week" in bad.content

    series = await run(sim, admin, channel, "meeting recurring", rule="first tuesday", time="18:00", location="Zoom")
    assert "first Tuesday" in series.content and series.content.count("<t:") == 3
    assert "<t:1796148000:F>" in series.content  # Tue 1 Dec 2026 18:00 in London

    nxt = await run(sim, ana, channel, "meeting next")
    assert not nxt.ephemeral  # in the group's own channel everyone may answer
    assert "<t:1796148000:F>" in nxt.embed["description"] and "<t:1796148000:R>" in nxt.embed["description"]
    assert _fields(nxt)["Where"] == "Zoom"
    message = sim.last_message(channel)

    clicked = await sim.click(ana, message, label="Going")
    assert not clicked.ephemeral
    assert _fields(sim.last_message(channel))["Going (1)"] == f"<@{ana.id}>"

    refused = await sim.click(outsider, message, label="Maybe")
    assert refused.ephemeral and "Only members" in refused.content

    await harness.restart()
    await sim.click(ana, message, label="Can't make it")
    # (At start the scheduler may post the cycle's module prompt: read the meeting message itself.)
    fields = _fields(next(m for m in sim.messages(channel) if m.id == message.id))
    assert fields["Going (0)"] == "—" and fields["Can't make it (1)"] == f"<@{ana.id}>"

    listed = await run(sim, ana, channel, "meeting list")
    assert listed.embed["description"].count("<t:") == 6


async def test_schedule_move_cancel_and_refusals(sim: Sim, guild: Guild, channel: Channel, app: App) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    ana = sim.member(guild, "Ana")
    await create(sim, admin, channel, "Makers")
    await run(sim, ana, channel, "group join", group="Makers")

    past = await run(sim, admin, channel, "meeting schedule", when="2026-01-01 18:00")
    assert past.ephemeral and "past" in past.content
    unreadable = await run(sim, admin, channel, "meeting schedule", when="someday soon-ish")
    assert unreadable.ephemeral and "couldn't read" in unreadable.content
    member_try = await run(sim, ana, channel, "meeting schedule", when="3 Dec 6pm")
    assert member_try.ephemeral and "Only a facilitator" in member_try.content

    scheduled = await run(sim, admin, channel, "meeting schedule", when="3 Dec 6pm", location="Café")
    assert "<t:1796320800:F>" in scheduled.embed["description"]

    choices = await sim.autocomplete(admin, channel, "meeting move", option="meeting", value="")
    assert [c["name"] for c in choices] == ["Makers · Thu 03 Dec 2026 18:00 (UTC)"]
    moved = await run(sim, admin, channel, "meeting move", meeting=choices[0]["value"], when="4 Dec 6pm")
    assert "<t:1796407200:F>" in moved.content
    assert "moved to <t:1796407200:F>" in sim.last_message(channel).content

    cancelled = await run(sim, admin, channel, "meeting cancel")
    assert cancelled.ephemeral and "Cancelled" in cancelled.content
    assert "is cancelled" in sim.last_message(channel).content
    none = await run(sim, ana, channel, "meeting next")
    assert none.ephemeral and "no meeting planned" in none.content
