"""A year of a group with outbox pruning on: history is deleted, and nothing is ever sent twice.

The planners read finished rows as "already sent" (a sent row is never re-sent; one KPI nudge a
month). Pruning must delete only rows no planner can want again. The test runs a group through
fourteen monthly cycles with the shortest retention allowed; at every step it plans, prunes and
plans again, and asserts the second plan adds and revives nothing. The table stays flat.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from bot.app import App
from bot.clock import ManualClock
from bot.models import OutboxRow
from bot.services.outbox import MIN_OUTBOX_RETENTION, PlanResult, plan_group
from tests.conftest import START
from tests.e2e.seeding import seed_group
from tests.sim import Channel, Guild, Sim
from tests.sim.state import Message

END = START + timedelta(days=430)


async def outbox_size(app: App) -> int:
    async with app.sessions.begin() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxRow)) or 0)


async def plan(app: App, group_id: int) -> PlanResult:
    async with app.sessions.begin() as session:
        return await plan_group(session, group_id, app.clock.now())


def text_of(message: Message) -> str:
    return repr((message.channel_id, message.text))


async def test_a_year_with_pruning_sends_each_message_once_and_the_table_stays_flat(
    sim: Sim, guild: Guild, channel: Channel, app: App, clock: ManualClock
) -> None:
    app.settings.outbox_retention_days = MIN_OUTBOX_RETENTION.days
    ana, bob, cat = sim.member(guild, "Ana"), sim.member(guild, "Bob"), sim.member(guild, "Cat")
    group_id, _ = await seed_group(app, guild, channel, [ana, bob, cat], facilitators=(ana,), meeting=False)
    series = await sim.command(ana, channel, "meeting recurring", rule="first tuesday", time="18:00")
    assert "first Tuesday" in series.content
    await sim.command(bob, channel, "kpi add", name="Clients", unit="clients")  # never logged: a nudge a month

    pruned = 0
    sizes: list[int] = []
    committed_for: set[int] = set()  # months Cat has committed in (the table's size is read then too)
    while clock.now() < END:
        due = await app.services.outbox.next_due()
        target = min(END, due if due is not None else END)
        clock.advance(max(target - clock.now(), timedelta(0)))
        await app.run_due()
        await sim.settle()
        # Cat commits once a month, so report-back DMs, boards and carry-overs run all year.
        month = clock.now().year * 12 + clock.now().month
        if month not in committed_for:
            committed_for.add(month)
            sizes.append(await outbox_size(app))
            await sim.command(cat, channel, "commit add", text=f"Call five clients ({clock.now():%B})")

        await plan(app, group_id)
        pruned += await app.scheduler.prune_outbox()  # at every step, not once an hour
        again = await plan(app, group_id)  # the same moment: only pruning could make it want more
        assert (again.inserted, again.revived) == (0, 0), f"pruning made the planner want more at {clock.now()}"

    assert pruned > 100
    # Every message the bot posted or sent by DM, once: nothing re-sent after its row was pruned.
    everything = [*sim.messages(channel), *(m for member in (ana, bob, cat) for m in sim.dms(member))]
    repeated = {text: n for text, n in Counter(map(text_of, everything)).items() if n > 1}
    assert not repeated
    boards = [m for m in sim.messages(channel) if m.layout and "Report-back — " in m.text]
    assert len(boards) >= 12
    # Flat: after the first retention window the table holds about the same number of rows each month.
    settled = sizes[4:]
    assert settled and max(settled) <= min(settled) * 1.3, sizes
