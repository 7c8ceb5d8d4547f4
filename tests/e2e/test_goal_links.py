"""Goals tied to the meeting, end to end in the simulator: a commitment linked to a goal (the
autocomplete offers only the member's own open goals of the group), the goal's card listing its
commitments and their outcomes, and the meeting board showing each member's goals with their status."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import App
from bot.models import Commitment
from tests.e2e.conftest import Harness
from tests.e2e.seeding import MEETING_AT, seed_group
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
    board = sim.last_message(channel)
    text = "\n".join(embed.get("description") or "" for embed in board.embeds)
    assert "🎯 Goals: 🟢 `#1` Ten new clients (*on track*) · ✅ `#2` Finished already (*done*)" in text
    assert f"<@{bob.id}>** — nothing due\n🎯 Goals: 🔴 `#3` Hire an assistant (*behind*)" in text
