"""Goals tied to the meeting, end to end in the simulator: a commitment linked to a goal (the
autocomplete offers only the member's own open goals of the group), the goal's card listing its
commitments and their outcomes, and the meeting board showing each member's goals with their status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import App
from bot.models import Commitment
from bot.services.outbox import plan_group
from tests.e2e.conftest import Harness
from tests.e2e.seeding import MEETING_AT, buttons, seed_group
from tests.seeding import insert_meeting
from tests.sim import Channel, Guild, Sim


@pytest.fixture
def e2e_backend(backend: str) -> str:
    """Checked on SQLite and on PostgreSQL."""
    return backend


async def test_a_commitment_linked_to_a_goal_and_the_goals_on_the_board(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    await seed_group(app, guild, channel, [ana, bob])
    await sim.command(ana, channel, "goal add", text="Ten new clients", target="10", unit="clients")
    await sim.command(ana, channel, "goal add", text="Finished already")
    await sim.command(ana, channel, "goal update", goal="#2", status="done")
    await sim.command(bob, channel, "goal add", text="Hire an assistant")
    await sim.command(bob, channel, "goal update", goal="#3", status="behind")

    choices = await sim.autocomplete(ana, channel, "commit add", option="goal", value="", filled={"text": "x"})
    assert [c["name"] for c in choices] == ["#1 Ten new clients — on track"]  # not done ones, not Bob's
    added = await sim.command(ana, channel, "commit add", text="Call five leads", goal=choices[0]["value"])
    assert added.ephemeral and "Towards goal `#1` Ten new clients." in added.content

    not_yours = await sim.command(ana, channel, "commit add", text="Sneaky", goal="#3")
    assert not_yours.ephemeral and "another member's goal" in not_yours.content
    closed = await sim.command(ana, channel, "commit add", text="Late", goal="#2")
    assert closed.ephemeral and "open goal" in closed.content
    async with app.sessions.begin() as session:
        assert [c.text for c in await session.scalars(select(Commitment))] == ["Call five leads"]

    await sim.command(ana, channel, "commit done", commitment="#1")
    card = await sim.command(bob, channel, "goal list", member=ana)
    assert "`#1` Ten new clients" in card.text and "• `#1` Call five leads — *done*" in card.text

    # The meeting: the board shows each member's goals with their status (Bob has nothing due).
    await sim.advance(MEETING_AT - app.clock.now())
    [board] = [m for m in sim.messages(channel) if m.layout and "Report-back — " in m.text]
    text = board.text
    assert "🎯 Goals: 🟢 `#1` Ten new clients (*on track*) · ✅ `#2` Finished already (*done*)" in text
    assert f"<@{bob.id}>** — nothing due\n🎯 Goals: 🔴 `#3` Hire an assistant (*behind*)" in text


async def test_log_this_months_kpis_on_the_minutes_the_module_prompt_and_the_carry_over_dm(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    group_id, _meeting_id = await seed_group(app, guild, channel, [ana, bob])
    async with app.sessions.begin() as session:  # a next meeting, so the next module is prompted
        await insert_meeting(session, guild_id=guild.id, group_id=group_id, starts_at=MEETING_AT + timedelta(days=35),
                             created_at=app.clock.now())
        await plan_group(session, group_id, app.clock.now())
    label = "Log this month's KPIs"
    first_prompt = next(m for m in sim.messages(channel) if m.embeds and m.embeds[0]["title"].startswith("Module 1"))
    assert label not in buttons(first_prompt)  # nobody kept KPIs yet
    await sim.command(ana, channel, "kpi add", name="Revenue", unit="£")
    await sim.command(ana, channel, "commit add", text="Send 10 invoices")
    await sim.command(bob, channel, "commit add", text="Call the bank")

    await sim.advance(MEETING_AT + timedelta(hours=3, minutes=2) - app.clock.now())
    minutes = next(m for m in sim.messages(channel) if "What will you commit to before" in (m.content or ""))
    assert buttons(minutes) == [label]
    prompt = next(m for m in sim.messages(channel) if m.embeds and m.embeds[0]["title"].startswith("Module 2"))
    assert buttons(prompt) == ["Check in", label]

    opened = await sim.click(ana, minutes, label=label)  # the month just ended, in her zone
    assert opened.modal is not None and opened.modal.title == "KPIs for Nov 2026"
    logged = await sim.submit_modal(ana, opened, {"Revenue (£)": "1,200"})
    assert logged.ephemeral and "Revenue: **1,200 £**" in logged.content
    none = await sim.click(bob, prompt, label=label)
    assert none.modal is None and none.ephemeral and "no KPIs" in none.content

    await sim.advance(hours=12)  # the carry-over DMs: the button only for the member with KPIs
    ana_dm = next(m for m in sim.dms(ana) if "#1 Carry over" in buttons(m))
    bob_dm = next(m for m in sim.dms(bob) if "#2 Carry over" in buttons(m))
    assert label in buttons(ana_dm) and label not in buttons(bob_dm)
    from_dm = await sim.click(ana, ana_dm, label=label)
    assert from_dm.modal is not None and from_dm.modal.title == "KPIs for Nov 2026"
    again = await sim.submit_modal(ana, from_dm, {"Revenue (£)": "1,300"})
    assert "Revenue: **1,300 £**" in again.content
