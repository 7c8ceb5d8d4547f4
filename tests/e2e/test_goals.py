"""Goals and KPIs end to end, as members use them: the real bot against the Discord simulator.

The group is written to the database directly (``seed_group``); everything a member does goes
through Discord: goals set and updated, KPIs logged through the paged modal, a chart attached, and
a "change only" KPI seen by another member without its figure.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.models import Goal, Kpi, KpiEntry
from tests.e2e.conftest import Harness
from tests.e2e.seeding import MEETING_AT, buttons, seed_group
from tests.sim import Channel, Guild, Sim

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def e2e_backend(backend: str) -> str:
    """Values are exact decimals stored as text: checked on SQLite and on PostgreSQL."""
    return backend


async def entries(app: App) -> dict[tuple[str, str], str]:
    async with app.sessions.begin() as session:
        rows = await session.execute(select(Kpi.name, KpiEntry.month, KpiEntry.value).join(Kpi, Kpi.id == KpiEntry.kpi_id))
        return {(name, f"{month:%Y-%m}"): str(value) for name, month, value in rows}


async def test_goals_set_updated_and_listed(sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    await seed_group(app, guild, channel, [ana, bob])

    added = await sim.command(
        ana, channel, "goal add", text="Ten new clients *now*", target="10", unit="clients", by="2027-06-30"
    )
    assert added.ephemeral
    assert "`#1` Ten new clients \\*now\\* — target 10 clients · by 30 Jun 2027 · *on track*" in added.content
    loud = await sim.command(bob, channel, "goal add", text="Launch @everyone")
    assert "Launch @everyone" in loud.content
    assert loud.message.allowed_mentions is not None and loud.message.allowed_mentions.get("parse") == []

    choices = await sim.autocomplete(ana, channel, "goal update", option="goal", value="")
    assert [c["name"] for c in choices] == ["#1 Ten new clients *now* — on track"]
    updated = await sim.command(ana, channel, "goal update", goal=choices[0]["value"], status="at_risk", note="slow month")
    assert updated.ephemeral and "*at risk*" in updated.content and "slow month" in updated.content

    not_yours = await sim.command(bob, channel, "goal update", goal="#1", status="done")
    assert not_yours.ephemeral and "another member's goal" in not_yours.content
    past = await sim.command(ana, channel, "goal add", text="Yesterday's goal", by="2026-01-01")
    assert past.ephemeral and "in the past" in past.content

    listing = await sim.command(bob, channel, "goal list")
    assert "Ten new clients" in listing.text and "Launch @everyone" in listing.text and "🟠" in listing.text
    dropped = await sim.command(bob, channel, "goal drop", goal="#2")
    assert "Dropped `#2`" in dropped.content
    async with app.sessions.begin() as session:
        assert list(await session.scalars(select(Goal.status).order_by(Goal.number))) == ["at_risk", "dropped"]


async def test_kpis_logged_through_the_modal_charted_and_shared_as_change_only(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob, fac = sim.member(guild, "Ana"), sim.member(guild, "Bob"), sim.member(guild, "Fac")
    await seed_group(app, guild, channel, [ana, bob, fac], facilitators=(fac,))

    added = await sim.command(ana, channel, "kpi add", name="Revenue", unit="£", target="12,000")
    assert added.ephemeral and "private" in added.content
    await sim.command(ana, channel, "kpi add", name="Clients", unit="clients", visibility="change")
    for name in ("Calls", "Hours", "Leads", "Posts"):
        await sim.command(ana, channel, "kpi add", name=name, unit="n")
    too_long = await sim.command(ana, channel, "kpi add", name="Churn", unit="customers lost")
    assert too_long.ephemeral and "12 characters" in too_long.content

    # The month just ended (October: it's 23 November), five KPIs to a page, by name.
    opened = await sim.command(ana, channel, "kpi log")
    assert opened.modal is not None and opened.modal.title == "KPIs for Oct 2026 (1/2)"
    assert list(opened.modal.labels().values()) == [
        "Calls (n)", "Clients (clients)", "Hours (n)", "Leads (n)", "Posts (n)",
    ]
    bad = await sim.submit_modal(ana, opened, {"Clients (clients)": "20", "Calls (n)": "NaN"})
    assert bad.ephemeral and "isn't a number" in bad.content
    assert await entries(app) == {}  # nothing stored, not even the good value

    opened = await sim.command(ana, channel, "kpi log")
    logged = await sim.submit_modal(ana, opened, {"Clients (clients)": "20", "Calls (n)": "1,250.50"})
    assert logged.ephemeral and "Logged for **Oct 2026**" in logged.content
    assert buttons(logged.message) == ["Next KPIs"]
    app = await harness.restart()  # the button still works after a restart
    second = await sim.click(ana, logged.message, label="Next KPIs")
    assert second.modal is not None and list(second.modal.labels().values()) == ["Revenue (£)"]
    refused = await sim.submit_modal(ana, second, {"Revenue (£)": "£3k"})
    assert refused.ephemeral and "just the number" in refused.content
    second = await sim.click(ana, logged.message, label="Next KPIs")
    done = await sim.submit_modal(ana, second, {"Revenue (£)": "10,000"})
    assert "Revenue: **10,000 £**" in done.content and buttons(done.message) == []

    # This month too (it has begun); a future month is refused.
    november = await sim.command(ana, channel, "kpi log", month="2026-11")
    await sim.submit_modal(ana, november, {"Clients (clients)": "23"})
    future = await sim.command(ana, channel, "kpi log", month="2027-01")
    assert future.ephemeral and "hasn't happened yet" in future.content
    assert await entries(app) == {
        ("Calls", "2026-10"): "1250.5", ("Clients", "2026-10"): "20", ("Revenue", "2026-10"): "10000",
        ("Clients", "2026-11"): "23",
    }

    # A chart of Revenue, privately, with its numbers as text.
    [choice] = await sim.autocomplete(ana, channel, "kpi chart", option="kpi", value="rev")
    assert choice["name"] == "Revenue (£)"
    chart = await sim.command(ana, channel, "kpi chart", kpi=choice["value"])
    assert chart.ephemeral
    [image] = chart.files
    assert image.filename == "kpi.png" and image.data.startswith(PNG_MAGIC) and len(image.data) > 5_000
    assert chart.embed["image"]["url"] == "attachment://kpi.png"
    assert "Oct 2026: 10,000 £" in chart.embed["description"] and "target 12,000 £" in chart.embed["description"]
    assert "Share with the group" not in buttons(chart.message)  # type: ignore[arg-type]  # private: hers alone

    # A fully shared KPI's chart she may post in the channel, once, on her click.
    [calls] = await sim.autocomplete(ana, channel, "kpi chart", option="kpi", value="calls")
    await sim.command(ana, channel, "kpi edit", kpi=calls["value"], visibility="full")
    calls_chart = await sim.command(ana, channel, "kpi chart", kpi=calls["value"])
    assert buttons(calls_chart.message) == ["Share with the group"]  # type: ignore[arg-type]
    before = len(sim.messages(channel))
    shared = await sim.click(ana, calls_chart.message, label="Share with the group")  # type: ignore[arg-type]
    assert shared.ephemeral and "Shared in" in shared.text
    [post] = sim.messages(channel)[before:]
    assert post.content == f"📈 <@{ana.id}> shared a KPI." and post.attachments
    assert "Oct 2026: 1,250.5 n" in post.embeds[0]["description"]
    assert post.allowed_mentions is not None and post.allowed_mentions.get("parse") == []
    await sim.command(ana, channel, "kpi edit", kpi=calls["value"], visibility="private")  # back to hers alone

    # Bob sees the "change only" KPI's change, never its figure, and nothing of the private one.
    seen = await sim.command(bob, channel, "kpi list", member=ana)
    assert seen.ephemeral
    assert "Clients" in seen.text and "+15 % on last month" in seen.text
    assert "23 clients" not in seen.text and "**23" not in seen.text and "Revenue" not in seen.text
    offered = await sim.autocomplete(bob, channel, "kpi history", option="kpi", value="", member=ana)
    assert [c["name"] for c in offered] == ["Clients (clients)"]
    history = await sim.command(bob, channel, "kpi history", kpi=offered[0]["value"], member=ana)
    assert "Nov 2026: +15 % on last month" in history.text and "Oct 2026: logged" in history.text
    assert "20 clients" not in history.text and "23 clients" not in history.text
    # The facilitator sees that Revenue was logged, not how much.
    facilitator = await sim.command(fac, channel, "kpi list", member=ana)
    assert "Revenue" in facilitator.text and "Oct 2026: logged" in facilitator.text and "10,000" not in facilitator.text

    # Only Ana may change who sees it.
    refused = await sim.command(bob, channel, "kpi edit", kpi=offered[0]["value"], visibility="full")
    assert refused.ephemeral and "only they can change" in refused.content
    async with app.sessions.begin() as session:
        assert await session.scalar(select(Kpi.visibility).where(Kpi.name == "Clients")) == "change"
        assert await session.scalar(select(func.count()).select_from(Kpi)) == 6


async def test_commit_stats_attach_a_completion_chart(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    await seed_group(app, guild, channel, [ana, bob])
    before = await sim.command(ana, channel, "commit stats")
    assert before.files == []  # no cycle yet: no chart
    await sim.command(ana, channel, "commit add", text="Send 10 invoices")
    await sim.command(ana, channel, "commit add", text="Call the bank")
    await sim.command(ana, channel, "commit done", commitment="#1")
    await sim.advance(MEETING_AT - app.clock.now() + timedelta(hours=3, minutes=5))  # a cycle counts once it ended

    stats = await sim.command(ana, channel, "commit stats")
    assert stats.ephemeral
    [image] = stats.files
    assert image.filename == "completion.png" and image.data.startswith(PNG_MAGIC)
    assert stats.embed["image"]["url"] == "attachment://completion.png"
    assert "**50%** (1 done, 0 partly of 2)" in stats.text  # the chart's figure, as text
