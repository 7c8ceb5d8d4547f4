"""A member whose meeting falls at night in her zone is told so in every DM that names it (issue 18):
the welcome, the check-in nudge, the report-back DM and the carry-over DM."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app import App
from tests.e2e.test_groups import create, run
from tests.sim import Channel, Guild, Sim

MEETING = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # Tue 18:00 in London = Wed 05:00 in Sydney
NIGHT = "That's 05:00 on Wednesday your time."


def dm_text(message) -> str:  # type: ignore[no-untyped-def]
    parts = [message.content or ""]
    for embed in message.embeds:
        parts.append(embed.get("description") or "")
        parts.extend(f"{f['name']}: {f['value']}" for f in embed.get("fields", []))
    return "\n".join(parts)


async def test_a_sydney_members_dms_say_the_meeting_is_at_night_for_her(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    admin = sim.member(guild, "Admin", manage_guild=True)
    sia, ana = sim.member(guild, "Sia"), sim.member(guild, "Ana")
    await create(sim, admin, channel, "Makers", timezone="Europe/London")
    await run(sim, admin, channel, "meeting schedule", when="2026-12-01 18:00")
    await run(sim, admin, channel, "meeting schedule", when="2027-01-05 18:00")
    await run(sim, sia, channel, "timezone set", tz="Australia/Sydney")
    await run(sim, sia, channel, "group join", group="Makers")
    await run(sim, ana, channel, "group join", group="Makers")

    [welcome] = sim.dms(sia)
    fields = {f["name"]: f["value"] for f in welcome.embeds[0]["fields"]}
    assert fields["Next meeting"].endswith(f", in your own time. {NIGHT}")
    assert "your time." not in dm_text(sim.dms(ana)[0])  # London 18:00, and no zone set: nothing said

    await run(sim, sia, channel, "commit add", text="Send 10 invoices")
    await run(sim, ana, channel, "commit add", text="Call the bank")
    moved = await run(sim, ana, channel, "timezone set", tz="Europe/London", **{"from": "09:00", "to": "17:00"})
    assert moved.content.endswith("\n4 upcoming DMs moved to fit.")  # her nudge and report-back DM, both meetings
    assert "your time." not in dm_text(sim.dms(ana)[0])
    await sim.advance(MEETING - timedelta(hours=30) - app.clock.now())  # the nudges and report-back DMs
    nudge = next(m for m in sim.dms(sia) if "Check in so the group" in m.content)
    assert f"(<t:{int(MEETING.timestamp())}:R>). {NIGHT} How did module" in nudge.content
    report = next(m for m in sim.dms(sia) if m.embeds and m.embeds[0]["title"].startswith("Report back"))
    assert f"**Makers** meeting <t:{int(MEETING.timestamp())}:F>. {NIGHT}" in report.embeds[0]["description"]
    assert not [m for m in sim.dms(ana)[1:] if "your time." in dm_text(m)]

    await sim.advance(MEETING - timedelta(minutes=1) - app.clock.now())
    await sim.advance(MEETING + timedelta(hours=3, minutes=1) - app.clock.now())  # the meeting ends
    await sim.advance(hours=12)  # the carry-over DM, in her morning
    carry = next(m for m in sim.dms(sia) if m.embeds and m.embeds[0]["title"].startswith("Carry over?"))
    assert "— that's 05:00 on Wednesday your time; **Done late**" in carry.embeds[0]["description"]
