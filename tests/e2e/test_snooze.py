"""Remind me later and /away end to end: a snoozed report-back DM comes back once, after a restart,
with its buttons; a snooze after the meeting started is refused; an away member gets no DMs and the
board and /group info show her as away."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import App
from bot.models import MemberProfile, OutboxRow
from bot.services.snooze import SNOOZE
from tests.e2e.conftest import Harness
from tests.e2e.seeding import MEETING_AT, buttons, seed_group
from tests.sim import Channel, Guild, Sim
from tests.sim.api import message_text

REMIND = "Remind me later"


@pytest.fixture
def e2e_backend(backend: str) -> str:
    """Both databases: a snooze is an outbox row (the claim differs between SQLite and PostgreSQL)."""
    return backend


SNOOZED = "⏰ The reminder you asked for:"


def reportback_dms(sim: Sim, member) -> list:  # type: ignore[no-untyped-def]
    return [m for m in sim.dms(member) if any(label.endswith(" Done") for label in buttons(m))]


async def snooze_rows(app: App) -> list[OutboxRow]:
    async with app.sessions.begin() as session:
        return list(await session.scalars(select(OutboxRow).where(OutboxRow.kind == SNOOZE).order_by(OutboxRow.id)))


async def test_a_snoozed_reminder_comes_back_once_after_a_restart(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    await seed_group(app, guild, channel, [ana, bob])
    await sim.command(ana, channel, "commit add", text="Send 10 invoices")
    await sim.advance(MEETING_AT - timedelta(hours=48) - app.clock.now())  # Tue 1 Dec 18:00 UTC
    [dm] = reportback_dms(sim, ana)
    assert buttons(dm)[-1] == REMIND

    asked = await sim.click(ana, dm, label=REMIND)
    assert asked.ephemeral and "When should I remind you?" in asked.content
    assert buttons(asked.message) == ["In 1 hour", "Tomorrow morning", "The day before the meeting"]  # type: ignore[arg-type]
    chosen = await sim.click(ana, asked, label="In 1 hour")
    assert chosen.interaction.response_type == 7  # the private offer becomes the confirmation
    assert chosen.content.startswith("⏰ Done: I'll remind you <t:")
    [row] = await snooze_rows(app)
    assert row.status == "pending" and row.due_at == app.clock.now() + timedelta(hours=1)

    app = await harness.restart()
    await sim.advance(minutes=59)
    assert len(reportback_dms(sim, ana)) == 1
    await sim.advance(minutes=1)
    first, again = reportback_dms(sim, ana)
    assert first.id == dm.id and again.content.startswith(SNOOZED)
    assert "Send 10 invoices" in message_text(again) and buttons(again) == buttons(dm)  # as it is now, same buttons
    await sim.advance(hours=6)
    await harness.restart()
    await sim.advance(hours=1)
    assert len(reportback_dms(sim, ana)) == 2  # once
    [row] = await snooze_rows(harness.app)  # type: ignore[arg-type]
    assert row.status == "sent" and row.message_id == again.id
    assert reportback_dms(sim, bob) == []  # Bob has nothing to report

    # The old DM's button still works after the restarts; once the meeting has started it is refused.
    assert "When should I remind you?" in (await sim.click(ana, first, label=REMIND)).content
    await sim.advance(MEETING_AT + timedelta(minutes=5) - harness.app.clock.now())  # type: ignore[union-attr]
    refused = await sim.click(ana, again, label=REMIND)
    assert refused.ephemeral and "has already started" in refused.content
    assert len(await snooze_rows(harness.app)) == 1  # type: ignore[arg-type]


async def test_an_away_member_is_silent_and_shown_as_away(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    await seed_group(app, guild, channel, [ana, bob])
    await sim.command(ana, channel, "commit add", text="Send 10 invoices")
    await sim.command(bob, channel, "commit add", text="Call the bank")

    for typed, said in (("yesterday", "in the past"), ("in 2 years", "more than a year ahead"),
                        ("whenever", "couldn't read")):
        refused = await sim.command(ana, channel, "away set", until=typed)
        assert refused.ephemeral and said in refused.content
    async with app.sessions.begin() as session:
        assert await session.get(MemberProfile, (guild.id, ana.id)) is None  # nothing stored
    assert "You're not away" in (await sim.command(ana, channel, "away end")).content

    away = await sim.command(ana, channel, "away set", until="10 December", note="Holiday @everyone")
    assert away.ephemeral and "You're away through **Thursday 10 December 2026**" in away.content
    assert "Note: Holiday @everyone" in away.content and "won't be sent" in away.content
    assert "away through" in (await sim.command(ana, channel, "away status")).content
    info = await sim.command(bob, channel, "group info")
    [members] = [f["value"] for f in info.embed["fields"] if f["name"].startswith("Members")]
    assert f"<@{ana.id}> (away until <t:" in members and f"<@{bob.id}> (away" not in members

    await sim.advance(MEETING_AT - timedelta(hours=72) - app.clock.now())  # the check-in nudges
    await sim.advance(hours=24)  # the report-back DMs
    assert reportback_dms(sim, bob) != [] and len(sim.dms(bob)) == 2
    await sim.advance(MEETING_AT - app.clock.now())
    assert sim.dms(ana) == []  # no check-in nudge, no report-back DM
    [board] = [m for m in sim.messages(channel) if m.layout and "Report-back — " in m.text]
    text = message_text(board)
    assert f"Away: <@{ana.id}> (away until <t:" in text
    assert f"**<@{ana.id}>** — away until <t:" in text
    assert f"Not reported yet: <@{bob.id}>" in text  # not Ana: she's away

    assert "Welcome back" in (await sim.command(ana, channel, "away end")).content
    assert "You're not away" in (await sim.command(ana, channel, "away status")).content


async def test_remind_me_later_after_leaving_the_group_is_refused(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    await seed_group(app, guild, channel, [ana, bob])
    await sim.command(ana, channel, "commit add", text="Send 10 invoices")
    await sim.advance(MEETING_AT - timedelta(hours=48) - app.clock.now())
    [dm] = reportback_dms(sim, ana)
    asked = await sim.click(ana, dm, label=REMIND)
    assert "You've left **Makers**" in (await sim.command(ana, channel, "group leave")).content
    for reply in (await sim.click(ana, dm, label=REMIND), await sim.click(ana, asked, label="Tomorrow morning")):
        assert reply.ephemeral and "You're no longer in **Makers**" in reply.content
    assert await snooze_rows(app) == []
