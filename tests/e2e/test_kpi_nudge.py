"""The KPI nudge and "Share as a win" end to end: the real bot against the Discord simulator.

The nudge DM arrives before the meeting, its button opens the ``/kpi log`` modal, and logging
before it cancels the nudge. A commitment reported done, or a KPI reaching its target, offers its
owner a **Share as a win** button that posts the win once, only on the owner's click. The report-back
DM shows the member's open goals.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.app import App
from bot.models import KpiEntry, OutboxRow
from bot.services.goals_feature import KPI_NUDGE
from tests.e2e.conftest import Harness
from tests.e2e.seeding import MEETING_AT, buttons, seed_group
from tests.sim import Channel, Guild, Sim

LOG_BUTTON = "Log this month's KPIs"
SHARE = "Share as a win"


async def nudge_statuses(app: App) -> dict[int, str]:
    async with app.sessions.begin() as session:
        rows = await session.scalars(select(OutboxRow).where(OutboxRow.kind == KPI_NUDGE, OutboxRow.meeting_id.is_not(None)))
        return {row.recipient_id: row.status for row in rows}


async def test_the_nudge_arrives_opens_the_modal_and_logging_first_cancels_it(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob, cat = sim.member(guild, "Ana"), sim.member(guild, "Bob"), sim.member(guild, "Cat")
    await seed_group(app, guild, channel, [ana, bob, cat])
    await sim.command(ana, channel, "kpi add", name="Revenue", unit="£")
    await sim.command(bob, channel, "kpi add", name="Clients", unit="clients")  # Cat has no KPI
    # Bob logs November before his nudge: it is cancelled.
    early = await sim.command(bob, channel, "kpi log", month="2026-11")
    await sim.submit_modal(bob, early, {"Clients (clients)": "4"})
    assert await nudge_statuses(app) == {ana.id: "pending", bob.id: "cancelled"}

    # The meeting is on 3 December: November's nudge goes at the report-back lead time, 48 hours before.
    await sim.advance(MEETING_AT - timedelta(hours=48) - app.clock.now())
    [nudge] = [m for m in sim.dms(ana) if LOG_BUTTON in buttons(m)]
    assert "Nov 2026" in nudge.content
    assert not [m for m in sim.dms(bob) + sim.dms(cat) if LOG_BUTTON in buttons(m)]
    assert await nudge_statuses(app) == {ana.id: "sent", bob.id: "cancelled"}

    await harness.restart()  # the button works after a restart
    opened = await sim.click(ana, nudge, label=LOG_BUTTON)
    assert opened.modal is not None and opened.modal.title == "KPIs for Nov 2026"
    logged = await sim.submit_modal(ana, opened, {"Revenue (£)": "1,250"})
    assert logged.ephemeral and "Logged for **Nov 2026**" in logged.content
    async with harness.app.sessions.begin() as session:
        assert sorted(str(v) for v in await session.scalars(select(KpiEntry.value))) == ["1250", "4"]


def wins_posted(sim: Sim, channel: Channel) -> list[str]:
    return [m.content for m in sim.world.channel_messages(channel.id) if "shared a win" in (m.content or "")]


async def test_share_as_a_win_posts_once_and_only_for_the_owner(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    await seed_group(app, guild, channel, [ana, bob])
    await sim.command(ana, channel, "commit add", text="Send 10 invoices @everyone")
    done = await sim.command(ana, channel, "commit done", commitment="#1")
    assert done.ephemeral and buttons(done.message) == [SHARE]
    assert wins_posted(sim, channel) == []  # nothing posted without her click

    not_yours = await sim.click(bob, done.message, label=SHARE)
    assert not_yours.ephemeral and "member who made the commitment" in not_yours.content
    shared = await sim.click(ana, done.message, label=SHARE)
    assert shared.ephemeral and "Shared in" in shared.content
    again = await sim.click(ana, done.message, label=SHARE)
    assert again.ephemeral and "already shared" in again.content
    assert wins_posted(sim, channel) == [f"🎉 <@{ana.id}> shared a win: Done: Send 10 invoices @everyone"]
    posted = next(m for m in sim.world.channel_messages(channel.id) if "shared a win" in (m.content or ""))
    assert posted.allowed_mentions is not None and posted.allowed_mentions.get("parse") == []


async def test_a_kpi_reaching_its_target_offers_the_win_without_the_figure(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    await seed_group(app, guild, channel, [ana, bob])
    await sim.command(ana, channel, "kpi add", name="Revenue", unit="£", target="10,000")
    opened = await sim.command(ana, channel, "kpi log")
    logged = await sim.submit_modal(ana, opened, {"Revenue (£)": "12,500"})
    assert "reached its target" in logged.content and buttons(logged.message) == [SHARE]
    assert wins_posted(sim, channel) == []

    not_yours = await sim.click(bob, logged.message, label=SHARE)
    assert not_yours.ephemeral and "can't find that KPI" in not_yours.content
    await sim.click(ana, logged.message, label=SHARE)
    await sim.click(ana, logged.message, label=SHARE)
    assert wins_posted(sim, channel) == [f"🎉 <@{ana.id}> shared a win: 🎯 Revenue reached its target for Oct 2026"]


async def test_a_done_click_in_the_report_back_dm_offers_the_win(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    await seed_group(app, guild, channel, [ana, bob])
    await sim.command(ana, channel, "commit add", text="Call the bank")
    await sim.command(ana, channel, "goal add", text="Ten new clients")
    await sim.command(ana, channel, "goal add", text="Hire help")
    await sim.command(ana, channel, "goal update", goal="#2", status="done")
    await sim.advance(MEETING_AT - timedelta(hours=48) - app.clock.now())
    [dm] = [m for m in sim.dms(ana) if "#1 Done" in buttons(m)]
    # The report-back DM shows her open goals with their status (the done one is left out).
    goals = [e for e in dm.embeds if e.get("title") == "Your goals"]
    assert [e["description"] for e in goals] == ["`#1` Ten new clients — *on track*"]
    clicked = await sim.click(ana, dm, label="#1 Done")
    [dm] = [m for m in sim.dms(ana) if "#1 Done" in buttons(m)]
    assert any(e.get("title") == "Your goals" for e in dm.embeds)  # still there once redrawn
    [offer] = [m for m in clicked.messages if SHARE in buttons(m)]
    assert wins_posted(sim, channel) == []
    await harness.restart()
    await sim.click(ana, offer, label=SHARE)
    assert wins_posted(sim, channel) == [f"🎉 <@{ana.id}> shared a win: Done: Call the bank"]
