"""Shared set-up for end-to-end tests: a group written straight to the database, and reading buttons.

Tests of one feature seed the group this way (``tests/seeding.py``, as the unit tests do) so they
exercise that feature's commands, not ``/group create`` (covered by test_groups.py).
"""

from __future__ import annotations

from datetime import timedelta

from bot.app import App
from bot.services.outbox import plan_group
from tests.conftest import START
from tests.seeding import insert_group, insert_meeting
from tests.sim import Channel, Guild
from tests.sim.state import Member, Message

MEETING_AT = START + timedelta(days=10, hours=8)  # Thu 3 Dec 2026, 18:00 UTC


async def seed_group(
    app: App, guild: Guild, channel: Channel, members: list[Member], *, facilitators: tuple[Member, ...] = (),
    meeting: bool = True,
) -> tuple[int, int | None]:
    """A group bound to ``channel`` with ``members`` (and one meeting at MEETING_AT); its outbox planned.

    What falls due at once (the module prompt) is sent before this returns, as the running bot
    does right after a commit, so a test's first command is not interleaved with it.
    """
    now = app.clock.now()
    async with app.sessions.begin() as session:
        group = await insert_group(
            session, guild_id=guild.id, channel_id=channel.id, name="Makers", members=[m.id for m in members],
            facilitators={m.id for m in facilitators}, created_at=now,
        )
        meeting_id = None
        if meeting:
            row = await insert_meeting(session, guild_id=guild.id, group_id=group.id, starts_at=MEETING_AT, created_at=now)
            meeting_id = row.id
        await plan_group(session, group.id, now)
    await app.run_due()
    return group.id, meeting_id


def buttons(message: Message) -> list[str]:
    """The labels of a message's buttons, in order."""
    return [c["label"] for c in message.iter_components() if c.get("type") == 2]
