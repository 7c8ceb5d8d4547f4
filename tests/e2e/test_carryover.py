"""Carry-over end to end: a meeting ends, each member with unfinished commitments gets one DM inside
her waking window, and Carry over makes "#N, carried over from #M" on the list and the next board,
with the buttons still working after a restart."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.app import App
from bot.models import Commitment, OutboxRow
from bot.services.outbox import plan_group
from tests.e2e.conftest import Harness
from tests.e2e.seeding import MEETING_AT, buttons, seed_group
from tests.seeding import insert_meeting
from tests.sim import Channel, Guild, Sim

NEXT_AT = MEETING_AT + timedelta(days=35)
SYDNEY = ZoneInfo("Australia/Sydney")


def carry_dms(sim: Sim, member) -> list:  # type: ignore[no-untyped-def]
    return [m for m in sim.dms(member) if any(label.endswith("Carry over") for label in buttons(m))]


async def test_carry_over_after_the_meeting(sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    group_id, _meeting_id = await seed_group(app, guild, channel, [ana, bob])
    async with app.sessions.begin() as session:
        await insert_meeting(session, guild_id=guild.id, group_id=group_id, starts_at=NEXT_AT, created_at=app.clock.now())
        await plan_group(session, group_id, app.clock.now())
    await sim.command(ana, channel, "timezone set", tz="Australia/Sydney")
    await sim.command(ana, channel, "commit add", text="Send 10 invoices")  # #1
    await sim.command(ana, channel, "commit add", text="Call the bank")  # #2
    await sim.command(bob, channel, "commit add", text="Hire an assistant")  # #3
    await sim.command(bob, channel, "commit done", commitment="#3")

    # The meeting ends at 21:00 UTC = 08:00 in Sydney: Ana's DM goes when her window opens, Bob has none.
    await sim.advance(MEETING_AT + timedelta(hours=3, minutes=1) - app.clock.now())
    await sim.advance(hours=12)
    [dm] = carry_dms(sim, ana)
    assert carry_dms(sim, bob) == []
    assert buttons(dm) == ["#1 Carry over", "#1 Done late", "#1 Drop", "#2 Carry over", "#2 Done late", "#2 Drop",
                           "Remind me later"]
    assert "Send 10 invoices" in dm.embeds[0]["description"] and "not reported" in dm.embeds[0]["description"]
    async with app.sessions.begin() as session:
        row = await session.scalar(select(OutboxRow).where(OutboxRow.kind == "carryover_dm"))
        assert row is not None and row.sent_at is not None and row.recipient_id == ana.id
        assert 8 <= row.sent_at.astimezone(SYDNEY).hour < 21  # inside her default waking window

    # Carry over #1: a new commitment, due at the next meeting; the DM redraws without #1.
    carried = await sim.click(ana, dm, label="#1 Carry over")
    assert carried.interaction.response_type == 7
    [said] = [m for m in carried.messages if m.flags & 64]  # the private confirmation
    assert "Carried over: `#4, carried over from #1` Send 10 invoices" in said.content
    [dm] = carry_dms(sim, ana)
    assert buttons(dm) == ["#2 Carry over", "#2 Done late", "#2 Drop", "Remind me later"]
    listing = await sim.command(ana, channel, "commit list")
    assert "#4, carried over from #1" in listing.text and "Send 10 invoices" in listing.text

    # A restart: the old DM's buttons still work.
    await harness.restart()
    await sim.click(ana, dm, label="#2 Drop")
    async with harness.app.sessions.begin() as session:
        rows = {r.number: (r.status, r.carried_from_id) for r in await session.scalars(select(Commitment))}
    assert rows[2] == ("dropped", None) and rows[4][0] == "open" and rows[4][1] is not None
    stats = await sim.command(ana, channel, "commit stats")
    assert "Carried over: **1**" in stats.text

    # The next board shows the carried commitment so.
    await sim.advance(NEXT_AT - harness.app.clock.now())
    board = sim.last_message(channel)
    text = board.text
    assert "`#4, carried over from #1` Send 10 invoices" in text
