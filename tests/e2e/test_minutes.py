"""The meeting pack before a meeting and the minutes after it, end to end in the simulator."""

from __future__ import annotations

from bot.app import App
from tests.e2e.test_groups import create, run
from tests.sim import Channel, Guild, Sim
from tests.sim.state import Message


def _fields(message: Message) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message.embeds[0]["fields"]}


async def test_pack_at_t_minus_24h_then_minutes_at_meeting_end(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    ana, bob, cat = sim.member(guild, "Ana"), sim.member(guild, "Bob"), sim.member(guild, "Cat")
    await create(sim, admin, channel, "Makers", timezone="Europe/London")
    for member in (ana, bob, cat):
        await run(sim, member, channel, "group join", group="Makers")
    await run(sim, admin, channel, "meeting schedule", when="2026-12-01 18:00", venue="Zoom")  # 8 days out
    card = await run(sim, ana, channel, "meeting next")
    await sim.click(ana, card, label="Going")
    await sim.click(bob, card, label="Can't make it")
    tabled = await run(sim, cat, channel, "meeting table", issue="Pricing my course")
    assert not tabled.ephemeral or "Pricing" in (tabled.content + str(tabled.embeds))

    def packs() -> list[Message]:
        return [m for m in sim.messages(channel) if m.content.startswith("📋 The pack")]

    def day_reminders() -> list[Message]:
        return [m for m in sim.messages(channel) if m.content.startswith("Reminder, one day to go")]

    start = app.clock.now()
    await sim.advance(start.replace(day=30, hour=17, minute=59) - start)  # a minute before T - 24 h
    assert packs() == []
    await sim.advance(minutes=2)
    [pack] = packs()
    assert day_reminders() == []  # the pack replaces the 1-day reminder
    assert "<t:1796148000:F>" in pack.content  # Tue 1 Dec 2026 18:00 in London, each viewer's own time
    # Only who hasn't answered is pinged: the admin (a member too) and Cat, not Ana nor Bob.
    pinged = {int(u) for u in (pack.allowed_mentions or {}).get("users", [])}
    assert cat.id in pinged and ana.id not in pinged and bob.id not in pinged
    fields = _fields(pack)
    assert fields["Going (1)"] == f"<@{ana.id}>" and fields["Apologies (1)"] == f"<@{bob.id}>"
    assert "Pricing my course" in fields["Hot seats"] and f"<@{cat.id}>" in fields["Hot seats"]
    assert "Zoom" in pack.embeds[0]["description"]
    await sim.advance(hours=20)
    assert len(packs()) == 1 and day_reminders() == []  # once

    await run(sim, ana, channel, "commit add", text="Ship the landing page")  # before the meeting: not new in it
    await sim.advance(hours=4, minutes=10)  # T + 11 min
    made = await run(sim, ana, channel, "commit add", text="Call three customers", due="2026-12-20")
    assert "Call three customers" in made.content + str(made.embeds), made.content
    ended = await run(sim, admin, channel, "meeting end")
    assert "ended" in ended.content
    await sim.advance(minutes=1)
    [minutes] = [m for m in sim.messages(channel) if m.embeds and m.embeds[0].get("title", "").startswith("Minutes")]
    text = minutes.embeds[0]["description"]
    assert "Report-back" in text and "New commitments" in text and "Call three customers" in text
    assert "Ship the landing page" not in text.split("New commitments")[1].split("Wins")[0]
    assert f"<@{ana.id}>" in text and "Next meeting: not scheduled yet" in text
    assert "What will you commit to before the next meeting?" in minutes.content  # the old line, kept
    await sim.advance(hours=4)  # the scheduler's T + 3 h doesn't post them again
    assert len([m for m in sim.messages(channel) if m.embeds and m.embeds[0].get("title", "").startswith("Minutes")]) == 1

    again = await run(sim, bob, channel, "meeting minutes")
    assert again.ephemeral and again.embed["title"].startswith("Minutes")
    assert "Call three customers" in again.embed["description"]
    [export] = again.files
    assert export.filename == "minutes-2026-12-01.md" and b"## New commitments" in export.data
    outsider = sim.member(guild, "Outsider")
    refused = await run(sim, outsider, channel, "meeting minutes")
    assert refused.ephemeral and "member" in refused.content
