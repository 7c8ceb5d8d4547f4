"""Meetings end to end: series, the next meeting with RSVP buttons (also after a restart), cancel."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from bot.models import Meeting
from tests.e2e.conftest import Harness
from tests.e2e.seeding import buttons, seed_group
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
    await run(sim, sim.member(guild, "Bea"), channel, "group join", group="Makers")  # three: not a pair

    not_fac = await run(sim, ana, channel, "meeting recurring", rule="first tuesday")
    assert not_fac.ephemeral and "Only a facilitator" in not_fac.content
    bad = await run(sim, admin, channel, "meeting recurring", rule="FREQ=DAILY")
    assert bad.ephemeral and "more than one meeting a week" in bad.content

    series = await run(sim, admin, channel, "meeting recurring", rule="first tuesday", time="18:00", venue="Zoom")
    assert series.ephemeral
    assert "first Tuesday" in series.content and series.content.count("<t:") == 3
    assert "<t:1796148000:F>" in series.content  # Tue 1 Dec 2026 18:00 in London
    schedule = [m for m in sim.messages(channel) if m.content.startswith("📅")]
    assert len(schedule) == 1  # the group is told its schedule, once, in its channel
    assert "first Tuesday" in schedule[0].content and "<t:1796148000:F>" in schedule[0].content
    assert "**Where:** Zoom" in schedule[0].content  # the series' place

    before = len(sim.messages(channel))
    nxt = await run(sim, ana, channel, "meeting next")
    assert nxt.ephemeral and len(sim.messages(channel)) == before  # looking it up is private
    assert "<t:1796148000:F>" in nxt.embed["description"] and "<t:1796148000:R>" in nxt.embed["description"]
    assert _fields(nxt)["Where"] == "Zoom"
    assert buttons(nxt.message) == ["Going", "Maybe", "Can't make it", "Share with the group", "Add to calendar"]
    privately = await sim.click(ana, nxt, label="Going")
    assert _fields(privately)["Going (1)"] == f"<@{ana.id}>"
    assert buttons(privately.message)[-2:] == ["Share with the group", "Add to calendar"]

    not_member = await sim.click(outsider, nxt, label="Share with the group")
    assert not_member.ephemeral and "not a member" in not_member.content
    assert len(sim.messages(channel)) == before
    shared = await sim.click(ana, nxt, label="Share with the group")
    assert shared.ephemeral and f"<#{channel.id}>" in shared.content
    message = sim.last_message(channel)
    assert _fields(message)["Going (1)"] == f"<@{ana.id}>"
    assert buttons(message) == ["Going", "Maybe", "Can't make it"]
    assert len(sim.messages(channel)) == before + 1

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
    await run(sim, sim.member(guild, "Bea"), channel, "group join", group="Makers")  # three: not a pair

    past = await run(sim, admin, channel, "meeting schedule", when="2026-01-01 18:00")
    assert past.ephemeral and "past" in past.content
    unreadable = await run(sim, admin, channel, "meeting schedule", when="someday soon-ish")
    assert unreadable.ephemeral and "couldn't read" in unreadable.content
    member_try = await run(sim, ana, channel, "meeting schedule", when="3 Dec 6pm")
    assert member_try.ephemeral and "Only a facilitator" in member_try.content

    scheduled = await run(sim, admin, channel, "meeting schedule", when="3 Dec 6pm", venue="Café")
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


async def test_a_facilitator_ends_the_meeting_and_the_channel_is_asked_for_commitments(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    ana = sim.member(guild, "Ana")
    await create(sim, admin, channel, "Makers")
    await run(sim, ana, channel, "group join", group="Makers")
    await run(sim, sim.member(guild, "Bea"), channel, "group join", group="Makers")  # three: not a pair
    scheduled = await run(sim, admin, channel, "meeting schedule", when="2026-11-24 18:00")
    assert scheduled.embed["footer"]["text"] == "1st meeting of Makers"  # by its place, never an internal id
    async with app.sessions.begin() as session:
        meeting_id = await session.scalar(select(Meeting.id).where(Meeting.status == "scheduled"))

    early = await run(sim, admin, channel, "meeting end")
    assert early.ephemeral and "No meeting of **Makers** is under way" in early.content

    await sim.advance(app.clock.now().replace(day=24, hour=18, minute=5) - app.clock.now())
    member_try = await run(sim, ana, channel, "meeting end")
    assert member_try.ephemeral and "Only a facilitator" in member_try.content
    assert (await app.services.meetings.get(meeting_id)).status == "scheduled"  # type: ignore[union-attr]

    ended = await run(sim, admin, channel, "meeting end")
    assert "Meeting of <t:1795543200:F> ended" in ended.content  # Tue 24 Nov 2026 18:00 UTC
    assert (await app.services.meetings.get(meeting_id)).status == "ended"  # type: ignore[union-attr]

    await sim.advance(minutes=1)
    prompts = [m for m in sim.messages(channel) if "What will you commit to before" in m.content]
    assert len(prompts) == 1 and "/commit add" in prompts[0].content

    again = await run(sim, admin, channel, "meeting end")
    assert again.ephemeral and "under way" in again.content
    await sim.advance(hours=4)  # the scheduler's own end of the meeting doesn't ask a second time
    assert len([m for m in sim.messages(channel) if "What will you commit to before" in m.content]) == 1


async def test_meeting_reminders_a_week_and_a_day_before_through_the_scheduler(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    ana = sim.member(guild, "Ana")
    await create(sim, admin, channel, "Makers", timezone="Europe/London")
    await run(sim, ana, channel, "group join", group="Makers")
    await run(sim, admin, channel, "meeting schedule", when="2026-12-01 18:00", venue="Zoom")  # 8 days out

    def reminders() -> list[Message]:
        # The week-ahead reminder, then (instead of the 1-day reminder) the meeting pack.
        return [m for m in sim.messages(channel) if m.content.startswith(("Reminder, ", "📋 The pack"))]

    start = app.clock.now()
    await sim.advance(start.replace(day=24, hour=17, minute=59) - start)  # a minute before "7 days before"
    assert reminders() == []
    await sim.advance(minutes=2)
    [week] = reminders()
    assert week.content == (
        "Reminder, one week to go: **Makers** meets <t:1796148000:F> (<t:1796148000:R>), in your own time."
    )
    embed = week.embeds[0]
    assert embed["title"] == "Meeting reminder (one week to go) — Makers"
    assert "<t:1796148000:F>" in embed["description"] and "<t:1796148000:R>" in embed["description"]
    assert {f["name"]: f["value"] for f in embed["fields"]}["Where"] == "Zoom"
    labels = [c.get("label") for c in week.iter_components() if c.get("type") == 2]
    assert labels == ["Going", "Maybe", "Can't make it"]

    clicked = await sim.click(ana, week, label="Going")
    assert f"<@{ana.id}>" in _fields(clicked)["Going (1)"]

    await harness.restart()  # nothing is sent again after a restart
    now = app.clock.now()
    await sim.advance(now.replace(day=30, hour=17, minute=59) - now)
    assert len(reminders()) == 1
    await sim.advance(minutes=2)
    assert len(reminders()) == 2
    day = reminders()[1]
    assert day.content.startswith("📋 The pack for **Makers**'s meeting <t:1796148000:F>.")
    assert _fields(day)["Going (1)"] == f"<@{ana.id}>"  # the answers so far

    await sim.advance(hours=23)
    assert len(reminders()) == 2


async def test_what_a_command_makes_due_now_is_sent_without_waiting_for_the_tick(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    """The commit wakes the scheduler: no clock step, no explicit run, and the tick is 30 s away."""
    admin = sim.member(guild, "Admin", manage_guild=True)
    await create(sim, admin, channel, "Makers")
    assert app.settings.scheduler_tick_seconds >= 30

    await run(sim, admin, channel, "meeting schedule", when="3 Dec 6pm")
    await sim.settle()

    prompts = [m for m in sim.messages(channel) if m.content.startswith("📚 This cycle's module for **Makers**")]
    assert len(prompts) == 1


async def test_the_series_announcement_names_its_place(sim: Sim, guild: Guild, channel: Channel, app: App) -> None:
    fac, ana, bea = sim.member(guild, "Fac"), sim.member(guild, "Ana"), sim.member(guild, "Bea")
    await seed_group(app, guild, channel, [fac, ana, bea], facilitators=(fac,), meeting=False)
    await run(sim, fac, channel, "meeting recurring", rule="first tuesday", link="https://meet.example/abc")
    [online] = [m for m in sim.messages(channel) if m.content.startswith("📅")]
    assert "**Where:** Online · [Join the meeting](<https://meet.example/abc>)" in online.content
    await run(sim, fac, channel, "meeting recurring", rule="last friday", venue="The *Hub* @everyone",
              address="1 High St")
    in_person = [m for m in sim.messages(channel) if m.content.startswith("📅")][-1]
    assert "**Where:** The \\*Hub\\*" in in_person.content and "1 High St" in in_person.content
    assert in_person.allowed_mentions is None or not in_person.allowed_mentions.get("parse")
    await run(sim, fac, channel, "meeting recurring", rule="first monday")
    assert "Where" not in [m for m in sim.messages(channel) if m.content.startswith("📅")][-1].content
