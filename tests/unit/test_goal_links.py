"""Commitments linked to goals (``/commit add goal:``), on SQLite and PostgreSQL: the member's own open
goal of the same group only; a goal's card lists its commitments and their outcomes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.models import Commitment, Goal
from bot.services import Services
from bot.services.base import Actor
from bot.services.commitments import CommitmentRef
from bot.services.goals import Ref
from tests.unit.seeding import CHANNEL, GUILD, make_group

OTHER_GUILD = 1_000_000_000_000_000_002
SECOND_CHANNEL = 2_000_000_000_000_000_002
FAR_CHANNEL = 2_000_000_000_000_000_003
ANA, BOB, STRANGER = 4_000_000_000_000_000_001, 4_000_000_000_000_000_002, 4_000_000_000_000_000_006
DUE = "2027-01-20"


def actor(user_id: int, *, channel_id: int = CHANNEL, guild_id: int = GUILD) -> Actor:
    return Actor(guild_id=guild_id, user_id=user_id, channel_id=channel_id)


async def commitments(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions.begin() as session:
        return await session.scalar(select(func.count()).select_from(Commitment)) or 0


@pytest.fixture
async def groups(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> None:
    await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BOB])
    await make_group(sessions, clock, name="Second", channel_id=SECOND_CHANNEL, members=[ANA])
    await make_group(sessions, clock, name="Far", channel_id=FAR_CHANNEL, members=[STRANGER], guild_id=OTHER_GUILD)


async def test_a_commitment_linked_to_a_goal_shows_on_its_card_with_its_outcome(services: Services, groups: None) -> None:
    goal = (await services.goals.add_goal(actor(ANA), text="Ten new clients", target="10")).goal
    added = await services.commitments.add(actor(ANA), text="Call five leads", due=DUE, goal=Ref.parse(f"id:{goal.id}"))
    assert added.goal is not None and added.goal.number == goal.number
    second = await services.commitments.add(actor(ANA), text="Post a case study", due=DUE, goal=Ref.parse("#1"))
    await services.commitments.add(actor(ANA), text="Unrelated", due=DUE)
    await services.commitments.report(actor(ANA), commitment=CommitmentRef(id=added.commitment.id), status="done")
    await services.commitments.report(actor(ANA), commitment=CommitmentRef(id=second.commitment.id), status="not_done")

    listing = await services.goals.list_goals(actor(BOB))
    card = listing.members[0].goals[0]
    assert [(c.number, c.text, c.status) for c in card.commitments] == [
        (1, "Call five leads", "done"), (2, "Post a case study", "not_done"),
    ]


async def test_the_autocomplete_offers_only_her_open_goals_of_that_group(services: Services, groups: None) -> None:
    here = (await services.goals.add_goal(actor(ANA), text="Here, open")).goal
    done = (await services.goals.add_goal(actor(ANA), text="Here, done")).goal
    await services.goals.update_goal(actor(ANA), goal=Ref.parse(f"id:{done.id}"), status="done")
    await services.goals.add_goal(actor(BOB), text="Bob's")
    elsewhere = (await services.goals.add_goal(actor(ANA, channel_id=SECOND_CHANNEL), text="In Second")).goal
    offered = await services.goals.goal_choices(actor(ANA), "", open_only=True, in_group=True)
    assert [g.id for g in offered] == [here.id]
    from_elsewhere = await services.goals.goal_choices(
        actor(ANA, channel_id=SECOND_CHANNEL), "", open_only=True, in_group=True
    )
    assert [g.id for g in from_elsewhere] == [elsewhere.id]
    # Not in a group's channel and in two groups: every open goal of hers.
    anywhere = await services.goals.goal_choices(actor(ANA, channel_id=1), "", open_only=True, in_group=True)
    assert {g.id for g in anywhere} == {here.id, elsewhere.id}


async def test_bad_goal_links_are_refused_and_store_nothing(
    services: Services, sessions: async_sessionmaker[AsyncSession], groups: None
) -> None:
    bobs = (await services.goals.add_goal(actor(BOB), text="Bob's goal")).goal
    second = (await services.goals.add_goal(actor(ANA, channel_id=SECOND_CHANNEL), text="In Second")).goal
    done = (await services.goals.add_goal(actor(ANA), text="Done already")).goal
    await services.goals.update_goal(actor(ANA), goal=Ref.parse(f"id:{done.id}"), status="done")
    far = (await services.goals.add_goal(actor(STRANGER, channel_id=FAR_CHANNEL, guild_id=OTHER_GUILD), text="Far")).goal

    with pytest.raises(NotAllowed, match="another member's goal"):
        await services.commitments.add(actor(ANA), text="x", due=DUE, goal=Ref.parse(f"id:{bobs.id}"))
    with pytest.raises(NotAllowed, match="another member's goal"):
        await services.commitments.add(actor(ANA), text="x", due=DUE, goal=Ref.parse(f"#{bobs.number}"))
    with pytest.raises(InvalidInput, match=r"in \*\*Second\*\*, not \*\*Makers\*\*"):
        await services.commitments.add(actor(ANA), text="x", due=DUE, goal=Ref.parse(f"id:{second.id}"))
    with pytest.raises(InvalidInput, match="open goal"):
        await services.commitments.add(actor(ANA), text="x", due=DUE, goal=Ref.parse(f"id:{done.id}"))
    with pytest.raises(NotFound):  # another server's goal isn't found
        await services.commitments.add(actor(ANA), text="x", due=DUE, goal=Ref.parse(f"id:{far.id}"))
    with pytest.raises(NotFound, match="no goal #9"):
        await services.commitments.add(actor(ANA), text="x", due=DUE, goal=Ref.parse("#9"))
    with pytest.raises(InvalidInput, match="isn't a goal"):
        await services.commitments.add(actor(ANA), text="x", due=DUE, goal=Ref.parse("my big goal"))
    assert await commitments(sessions) == 0


async def test_a_deleted_goal_unlinks_its_commitments(
    services: Services, sessions: async_sessionmaker[AsyncSession], groups: None
) -> None:
    goal = (await services.goals.add_goal(actor(ANA), text="Ten new clients")).goal
    added = await services.commitments.add(actor(ANA), text="Call", due=DUE, goal=Ref.parse(f"id:{goal.id}"))
    async with sessions.begin() as session:
        await session.delete(await session.get(Goal, goal.id))
    async with sessions.begin() as session:
        row = await session.get(Commitment, added.commitment.id)
        assert row is not None and row.goal_id is None


async def test_the_board_shows_each_members_goals_with_their_status(
    services: Services, sessions: async_sessionmaker[AsyncSession], clock: ManualClock, groups: None
) -> None:
    from datetime import timedelta

    from bot.models import Group
    from tests.unit.seeding import add_meeting

    async with sessions.begin() as session:
        group_id = await session.scalar(select(Group.id).where(Group.name == "Makers"))
    assert group_id is not None
    meeting_id = await add_meeting(sessions, group_id, clock.now() + timedelta(days=10))
    open_goal = (await services.goals.add_goal(actor(ANA), text="Ten new clients")).goal
    done = (await services.goals.add_goal(actor(ANA), text="Launch the site")).goal
    dropped = (await services.goals.add_goal(actor(BOB), text="Given up")).goal
    behind = (await services.goals.add_goal(actor(BOB), text="Hire")).goal
    await services.goals.update_goal(actor(ANA), goal=Ref.parse(f"id:{done.id}"), status="done")
    await services.goals.drop_goal(actor(BOB), goal=Ref.parse(f"id:{dropped.id}"))
    await services.goals.update_goal(actor(BOB), goal=Ref.parse(f"id:{behind.id}"), status="behind")
    await services.commitments.add(actor(ANA), text="Call five leads", goal=Ref.parse(f"id:{open_goal.id}"))
    await services.goals.add_goal(actor(ANA, channel_id=SECOND_CHANNEL), text="Another group's")

    board = await services.commitments.board(group_id=group_id, meeting_id=meeting_id)
    assert board is not None
    assert {u: [(g.text, g.status) for g in goals] for u, goals in board.goals.items()} == {
        ANA: [("Ten new clients", "on_track"), ("Launch the site", "done")],
        BOB: [("Hire", "behind")],  # a dropped goal isn't on the board; Bob has nothing due
    }
    assert [m.user_id for m in board.members] == [ANA]
