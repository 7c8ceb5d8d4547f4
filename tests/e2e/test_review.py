"""``/group stats`` and ``/group review`` end to end in the simulator: the chart attached as a PNG
with the same numbers in the embed, each member's row for the facilitator only, the year in review
private with Share, and the shared one without the figures the member keeps private."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image

from bot.app import App
from bot.models import Group
from bot.services.base import Actor
from bot.services.outbox import plan_group
from tests.e2e.conftest import Harness
from tests.e2e.seeding import MEETING_AT, buttons, seed_group
from tests.sim import Channel, Guild, Sim

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def e2e_backend(backend: str) -> str:
    """Checked on SQLite and on PostgreSQL."""
    return backend


def image_size(data: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.size


async def test_group_stats_as_a_chart_with_its_numbers(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob, fac = sim.member(guild, "Ana"), sim.member(guild, "Bob"), sim.member(guild, "Fac")
    admin = sim.member(guild, "Admin", manage_guild=True)
    _group_id, meeting_id = await seed_group(app, guild, channel, [ana, bob, fac], facilitators=(fac,))
    assert meeting_id is not None
    await sim.command(ana, channel, "goal add", text="Ten new clients")
    await sim.command(ana, channel, "commit add", text="Send invoices")
    await sim.command(bob, channel, "commit add", text="Call the bank")
    await sim.command(ana, channel, "commit done", commitment="#1")
    for member, answer in ((ana, "going"), (fac, "going"), (bob, "no")):
        await app.services.meetings.rsvp(guild_id=guild.id, user_id=member.id, meeting_id=meeting_id, answer=answer)
    await sim.advance(MEETING_AT + timedelta(hours=4) - app.clock.now())

    stats = await sim.command(fac, channel, "group stats")
    assert stats.ephemeral
    [image] = stats.files
    assert image.filename == "group-stats.png" and image.data.startswith(PNG_MAGIC)
    assert image_size(image.data) == (1000, 400)
    assert "3 Dec 2026: completed 50% (1 of 2) · attendance 67% (2 of 3)" in stats.text
    assert "Goals: on track 1, at risk 0, behind 0, done 0, dropped 0" in stats.text
    assert image.description is not None and "attendance 67% (2 of 3)" in image.description
    assert f"<@{bob.id}>: completed 0% (0 done of 1) · at 0 of 1 meeting" in stats.text  # the facilitator's view

    mine = await sim.command(bob, channel, "group stats")
    assert "attendance 67% (2 of 3)" in mine.text and f"<@{bob.id}>: completed" in mine.text
    assert f"<@{ana.id}>: completed" not in mine.text  # a member sees only their own row
    refused = await sim.command(admin, channel, "group stats")
    assert refused.ephemeral and refused.files == [] and "stays in the group" in refused.content


async def test_the_year_in_review_privately_then_shared_without_private_figures(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    group_id, _meeting_id = await seed_group(app, guild, channel, [ana, bob])
    me = Actor(guild_id=guild.id, user_id=ana.id, channel_id=channel.id)
    for name, visibility in (("Revenue", "private"), ("Clients", "change")):
        await app.services.goals.add_kpi(me, name=name, unit="n", visibility=visibility)
    kpis = {c.name: c.id for c in await app.services.goals.kpi_choices(me, "")}
    for month, revenue, clients in (("2026-10", "1000", "10"), ("2026-11", "1500", "12")):
        form = await app.services.goals.log_form(me, month=month)
        await app.services.goals.log_values(
            me, group_id=group_id, month=form.month, values={kpis["Revenue"]: revenue, kpis["Clients"]: clients}
        )
    await sim.command(ana, channel, "goal add", text="Ten new clients")
    await sim.command(ana, channel, "win", text="First big client")

    review = await sim.command(ana, channel, "group review")
    assert review.ephemeral and buttons(review.message) == ["Share with the group"]
    [image] = review.files
    assert image.filename == "year-in-review.png" and image_size(image.data) == (1000, 750)
    assert "Revenue (n): Oct 2026 1,000, Nov 2026 1,500" in review.text  # her own figures, privately
    assert "Goal: Ten new clients — on track" in review.text and "Win: First big client" in review.text
    assert "**Share** posts it to the group: Revenue left out (private); Clients as the % change only." in review.text

    shared = await sim.click(ana, review.message, label="Share with the group")
    assert shared.interaction.response_type == 7 and buttons(shared.message) == []  # shared once: the button is gone
    assert "Shared in" in shared.text
    posted = sim.last_message(channel)
    text = "\n".join(e.get("description") or "" for e in posted.embeds)
    assert posted.content == f"🎉 <@{ana.id}> shared their year in review."
    assert posted.allowed_mentions is not None and posted.allowed_mentions.get("parse") == []
    assert "Clients: Nov 2026 +20 %" in text and "Revenue" not in text and "1,500" not in text
    [card] = posted.attachments
    assert card.filename == "year-in-review.png" and card.data.startswith(PNG_MAGIC)


async def test_the_twelfth_module_sends_each_member_their_year(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    group_id, _meeting_id = await seed_group(app, guild, channel, [ana, bob])
    await sim.command(ana, channel, "win", text="First big client")

    def review_dms(member) -> list:  # type: ignore[no-untyped-def]
        return [m for m in sim.dms(member) if "Show my year in review" in buttons(m)]

    assert review_dms(ana) == []  # module 1: no review
    async with app.sessions.begin() as session:
        group = await session.get(Group, group_id)
        assert group is not None
        group.current_module_number = 12
        await plan_group(session, group_id, app.clock.now())
    await app.run_due()
    [dm] = review_dms(ana)
    assert len(review_dms(bob)) == 1
    assert "your year in **Makers**" in dm.content and "wins: **1**" in dm.content
    app = await harness.restart()  # the button works after a restart
    shown = await sim.click(ana, dm, label="Show my year in review")
    [image] = shown.files
    assert image.filename == "year-in-review.png" and image.data.startswith(PNG_MAGIC)
    assert "Win: First big client" in shown.text and buttons(shown.message) == ["Share with the group"]
    async with app.sessions.begin() as session:
        await plan_group(session, group_id, app.clock.now())
    await sim.advance(hours=1)
    assert len(review_dms(ana)) == 1  # once
