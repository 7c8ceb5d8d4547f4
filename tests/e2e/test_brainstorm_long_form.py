"""``/brainstorm open long_form:True``: the modal keeps the options given with the command."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from bot.models import Brainstorm
from tests.e2e.seeding import seed_group
from tests.sim import Channel, Guild, Sim


async def test_the_long_form_keeps_anonymous_max_votes_and_group(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    group_id, _ = await seed_group(app, guild, channel, [ana, bob])
    elsewhere = sim.channel(guild, "lobby")

    form = await sim.command(
        ana, elsewhere, "brainstorm open", issue="Cash flow is tight", anonymous=True, max_votes=2, long_form=True,
        group="Makers",
    )
    assert form.modal is not None and form.modal.title == "Table an issue"
    opened = await sim.submit_modal(ana, form, {"Details": "Q1 is slow"})
    assert opened.ephemeral and "Brainstorm #1 is open" in opened.content

    async with app.sessions.begin() as session:
        [row] = await session.scalars(select(Brainstorm))
    assert (row.group_id, row.issue, row.details) == (group_id, "Cash flow is tight", "Q1 is slow")
    assert (row.anonymous, row.max_votes) == (True, 2)
    [thread] = sim.threads(channel)
    assert thread.name == "💡 Cash flow is tight"
