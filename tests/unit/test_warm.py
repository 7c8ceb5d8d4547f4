"""``bot.warm``: the start-up warm-up reads as a real member and writes nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.models import Commitment, OutboxRow
from bot.services import Services
from bot.warm import warm_caches, warm_statements
from tests.unit.test_groups import ALICE, CHANNEL, actor, make_group


async def counts(sessions: Any) -> tuple[int, int]:
    async with sessions() as session:
        outbox = await session.scalar(select(func.count()).select_from(OutboxRow))
        commitments = await session.scalar(select(func.count()).select_from(Commitment))
    return outbox or 0, commitments or 0


async def test_the_warm_up_reads_as_a_member_and_changes_nothing(services: Services, sessions: Any) -> None:
    assert await warm_statements(services) == 0  # no group yet: nothing to read as
    group_id = await make_group(services)
    await services.groups.join(actor(ALICE, channel=CHANNEL), group_id=group_id)
    await services.commitments.add(actor(ALICE, channel=CHANNEL), text="Call three customers", due="next friday")
    before = await counts(sessions)
    assert await warm_caches(services) >= 0
    assert await warm_statements(services) > 0
    assert await counts(sessions) == before
    assert (await services.commitments.list_commitments(actor(ALICE, channel=CHANNEL))).members[0].commitments[0].text \
        == "Call three customers"
