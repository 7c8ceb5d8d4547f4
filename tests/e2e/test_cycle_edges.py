"""Cycle edges in the simulator (issue 18): the next module's prompt right after an early
``/meeting end`` with no next meeting; an outage over two meetings posts one post-meeting prompt."""

from __future__ import annotations

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
    assert "superseded" in problems.embeds[0]["description"]
