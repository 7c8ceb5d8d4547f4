"""A two-member group (a buddy pair) end to end: it runs its meeting with no facilitator, and gets one
summary — the report-back board in the channel they share — not the board and then buddy DMs repeating it."""

from __future__ import annotations

from datetime import timedelta

from bot.app import App
from tests.e2e.seeding import MEETING_AT, seed_group
from tests.e2e.test_reportback import board_of
from tests.sim import Channel, Guild, Sim

BUDDY_LINE = "'s commitments due at the meeting"  # the buddy summary DM's opening


async def test_a_pair_runs_its_meeting_without_a_facilitator_and_gets_one_summary(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    await seed_group(app, guild, channel, [ana, bob])  # no facilitator
    await sim.command(ana, channel, "buddy pair", member=bob)
    await sim.click(bob, sim.dms(bob)[-1], label="Accept")
    assert "are now buddies" in sim.dms(bob)[-1].content
    await sim.command(ana, channel, "commit add", text="Send 10 invoices")
    await sim.command(bob, channel, "commit add", text="Fix the website")

    # Either may do what a facilitator does: Bob moves the meeting half an hour later.
    [choice] = await sim.autocomplete(bob, channel, "meeting move", option="meeting", value="")
    moved = await sim.command(bob, channel, "meeting move", meeting=choice["value"], when="2026-12-03 18:30")
    assert "Moved to" in moved.content
    starts = MEETING_AT + timedelta(minutes=30)

    await sim.advance(starts + timedelta(minutes=10) - app.clock.now())
    board = board_of(sim, channel)  # exactly one board
    assert "Send 10 invoices" in board.text and "Fix the website" in board.text
    for member in (ana, bob):
        assert not [m for m in sim.dms(member) if BUDDY_LINE in m.content or any(
            BUDDY_LINE in (e.get("description") or "") for e in m.embeds)]

    # And Ana ends it, no facilitator needed.
    ended = await sim.command(ana, channel, "meeting end")
    assert "ended" in ended.content
    await sim.advance(hours=4)
    board_of(sim, channel)  # still the one board
    for member in (ana, bob):
        assert not [m for m in sim.dms(member) if any(BUDDY_LINE in (e.get("description") or "") for e in m.embeds)]
