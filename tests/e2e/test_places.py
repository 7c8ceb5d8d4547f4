"""Places end to end: set when scheduling, changed with /meeting place, seen in /meeting next and the pack."""

from __future__ import annotations

from bot.app import App
from tests.e2e.test_groups import create, run
from tests.sim import Channel, Guild, Sim
from tests.sim.state import Message


def _where(message: Message) -> str:
    return {f["name"]: f["value"] for f in message.embeds[0]["fields"]}["Where"]


async def test_a_place_is_set_changed_and_shown_in_next_and_the_pack(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    await create(sim, admin, channel, "Makers", timezone="Europe/London")
    for member in (ana, bob):  # three in all: a pair would need no facilitator
        await run(sim, member, channel, "group join", group="Makers")

    bad = await run(sim, admin, channel, "meeting schedule", when="2026-12-01 18:00", link="javascript:alert(1)")
    assert bad.ephemeral and "https://" in bad.content
    offline = await run(sim, admin, channel, "meeting schedule", when="2026-12-01 18:00", online=True)
    assert offline.ephemeral and "needs its link" in offline.content
    nothing = await run(sim, ana, channel, "meeting next")
    assert nothing.ephemeral and "no meeting planned" in nothing.content  # the refusals stored nothing

    await run(sim, admin, channel, "meeting schedule", when="2026-12-01 18:00", venue="The *Hub* @everyone",
              address="1 High St", link="https://maps.example/hub")  # 8 days out
    nxt = await run(sim, ana, channel, "meeting next")
    assert _where(nxt) == "The \\*Hub\\* @everyone\n1 High St\n[Map](<https://maps.example/hub>)"
    assert nxt.message is not None and nxt.message.allowed_mentions == {"parse": []}

    not_fac = await run(sim, ana, channel, "meeting place", link="https://meet.example/x")
    assert not_fac.ephemeral and "Only a facilitator" in not_fac.content
    moved = await run(sim, admin, channel, "meeting place", venue="Zoom", online=True,
                      link="https://meet.example/x")
    assert moved.ephemeral and "<t:1796148000:F>" in moved.content
    assert "Online\nZoom\n[Join the meeting](<https://meet.example/x>)" in moved.content
    nxt = await run(sim, ana, channel, "meeting next")
    assert _where(nxt) == "Online\nZoom\n[Join the meeting](<https://meet.example/x>)"

    start = app.clock.now()
    await sim.advance(start.replace(day=24, hour=18, minute=1) - start)  # the week-ahead reminder
    [reminder] = [m for m in sim.messages(channel) if m.content.startswith("Reminder, ")]
    assert _where(reminder) == "Online\nZoom\n[Join the meeting](<https://meet.example/x>)"
    now = app.clock.now()
    await sim.advance(now.replace(day=30, hour=18, minute=1) - now)  # T - 24 h: the pack
    [pack] = [m for m in sim.messages(channel) if m.content.startswith("📋 The pack")]
    assert "**Where:** Online · Zoom · [Join the meeting](<https://meet.example/x>)" in pack.embeds[0]["description"]
