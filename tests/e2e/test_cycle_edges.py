"""Cycle edges in the simulator (issue 18): the next module's prompt right after an early
``/meeting end`` with no next meeting; an outage over two meetings posts one post-meeting prompt."""

from __future__ import annotations

import re

from bot.app import App
from tests.e2e.test_groups import create, run
from tests.sim import Channel, Guild, Sim


def module_prompts(sim: Sim, channel: Channel) -> list:
    return [m for m in sim.messages(channel) if "This cycle's module" in m.content]


def commitment_prompts(sim: Sim, channel: Channel) -> list:
    return [m for m in sim.messages(channel) if "What will you commit to" in m.content]


async def test_module_prompt_right_after_an_early_end_with_no_next_meeting(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    ana = sim.member(guild, "Ana")
    await create(sim, admin, channel, "Makers")
    await run(sim, ana, channel, "group join", group="Makers")
    await run(sim, admin, channel, "meeting schedule", when="2026-11-24 18:00")
    await sim.advance(minutes=1)
    before = len(module_prompts(sim, channel))

    await sim.advance(app.clock.now().replace(day=24, hour=20, minute=0) - app.clock.now())  # 2 h in
    ended = await run(sim, admin, channel, "meeting end")
    assert "ended" in ended.content
    await sim.advance(minutes=1)  # not T + 3 h: right after the end
    prompts = module_prompts(sim, channel)
    assert len(prompts) == before + 1
    fields = {f["name"]: f["value"] for f in prompts[-1].embeds[0].get("fields", [])}
    assert fields["Next meeting"] == "not set yet — facilitators, `/meeting schedule`"
    assert len(commitment_prompts(sim, channel)) == 1

    await sim.advance(hours=3)  # nothing more at T + 3 h
    assert len(module_prompts(sim, channel)) == before + 1
    assert len(commitment_prompts(sim, channel)) == 1


async def test_an_outage_over_two_meetings_posts_one_post_meeting_prompt(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    ana = sim.member(guild, "Ana")
    await create(sim, admin, channel, "Makers")
    await run(sim, ana, channel, "group join", group="Makers")
    await run(sim, admin, channel, "meeting schedule", when="2026-11-24 18:00")
    await run(sim, admin, channel, "meeting schedule", when="2026-11-26 18:00")
    await sim.advance(minutes=1)
    before = len(module_prompts(sim, channel))

    # Down from now until the evening after the second meeting.
    await sim.advance(app.clock.now().replace(day=26, hour=22, minute=0) - app.clock.now())
    assert len(commitment_prompts(sim, channel)) == 1  # the second meeting's; the first's expired
    await sim.advance(minutes=1)  # the next module's prompt follows the (late) end
    assert len(module_prompts(sim, channel)) == before + 1  # the next cycle's, once
    await sim.advance(days=1)
    assert len(commitment_prompts(sim, channel)) == 1
    assert len(module_prompts(sim, channel)) == before + 1
    problems = await run(sim, admin, channel, "admin outbox", show="problems")
    pages = [problems.embeds[0]["description"]]
    shown, total = map(int, re.match(r"Page (\d+)/(\d+)", problems.embeds[0]["footer"]["text"]).groups())  # type: ignore[union-attr]
    for _ in range(shown, total):  # (the meeting-day nudges expired in the outage too)
        problems = await sim.click(admin, problems, label="Next")
        pages.append(problems.embeds[0]["description"])
    assert any("superseded" in page for page in pages)


def meeting_reminders(sim: Sim, channel: Channel) -> list:
    return [m for m in sim.messages(channel) if m.content.startswith(("Reminder, ", "📋 The pack"))]


async def test_an_outage_over_a_week_posts_one_reminder_the_pack(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    ana = sim.member(guild, "Ana")
    await create(sim, admin, channel, "Makers")
    await run(sim, ana, channel, "group join", group="Makers")
    await run(sim, admin, channel, "meeting schedule", when="2026-12-10 18:00")
    await sim.advance(minutes=1)
    assert meeting_reminders(sim, channel) == []

    # Down from now until the evening before the meeting: the 7-day reminder and the pack are both due.
    await sim.advance(app.clock.now().replace(month=12, day=9, hour=20, minute=0) - app.clock.now())
    posted = meeting_reminders(sim, channel)
    assert [m.content.split(" **")[0] for m in posted] == ["📋 The pack for"]
    await sim.advance(hours=21)  # until the meeting: nothing more
    assert len(meeting_reminders(sim, channel)) == 1
    problems = await run(sim, admin, channel, "admin outbox", show="problems")
    assert "superseded: a later meeting pack of the same meeting was due too" in problems.embeds[0]["description"]


async def test_two_groups_each_get_brainstorm_number_one(sim: Sim, guild: Guild, channel: Channel, app: App) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    ana = sim.member(guild, "Ana")
    other = sim.channel(guild, "founders")
    await create(sim, admin, channel, "Makers")
    await create(sim, admin, other, "Founders")
    await run(sim, ana, channel, "group join", group="Makers")
    await run(sim, ana, other, "group join", group="Founders")

    first = await run(sim, ana, channel, "brainstorm open", issue="Cash flow is tight")
    second = await run(sim, ana, other, "brainstorm open", issue="Hiring is slow")
    assert "Brainstorm #1 is open" in first.content and "Brainstorm #1 is open" in second.content
    head = sim.messages(sim.threads(other)[0])[0]
    assert head.embeds[0]["footer"]["text"] == "Brainstorm #1 · Founders"

    shown = await run(sim, ana, other, "brainstorm show", brainstorm="#1")  # the channel's group's #1
    assert shown.embeds[0]["title"] == "Hiring is slow"
    shown = await run(sim, ana, channel, "brainstorm show", brainstorm="1")
    assert shown.embeds[0]["title"] == "Cash flow is tight"
    missing = await run(sim, ana, other, "brainstorm show", brainstorm="#2")
    assert missing.ephemeral and "**Founders** has no brainstorm #2" in missing.content
    listed = await run(sim, ana, other, "brainstorm list")
    assert "**#1** Hiring is slow" in listed.embeds[0]["description"]
    choices = await sim.autocomplete(ana, other, "brainstorm show", option="brainstorm", value="")
    assert sorted(c["name"].split(" — ")[0] for c in choices) == ["#1 Cash flow is tight", "#1 Hiring is slow"]
    picked = next(c for c in choices if "Hiring" in c["name"])
    shown = await run(sim, ana, channel, "brainstorm show", brainstorm=picked["value"])  # autocomplete: by id
    assert shown.embeds[0]["title"] == "Hiring is slow"
