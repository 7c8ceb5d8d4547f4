"""BrainstormService on SQLite and PostgreSQL: open, ideas, votes by reaction, recount, close, adopt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.errors import InvalidInput, LimitReached, NotAllowed, NotFound
from bot.models import Brainstorm, BrainstormIdea, BrainstormVote, Commitment
from bot.services import Services
from bot.services.base import Actor
from tests.unit.seeding import CHANNEL, GUILD, add_meeting, make_group

OTHER_GUILD = 1_000_000_000_000_000_002
OTHER_CHANNEL = 2_000_000_000_000_000_002
THREAD = 3_000_000_000_000_000_001
ANA, BOB, CAT, FAC, OUTSIDER, BOT = (
    4_000_000_000_000_000_001,
    4_000_000_000_000_000_002,
    4_000_000_000_000_000_003,
    4_000_000_000_000_000_004,
    4_000_000_000_000_000_005,
    4_000_000_000_000_000_099,
)


def actor(user_id: int, *, channel_id: int | None = CHANNEL, guild_id: int = GUILD, parent: int | None = None) -> Actor:
    return Actor(guild_id=guild_id, user_id=user_id, channel_id=channel_id, parent_channel_id=parent)


@pytest.fixture
async def group_id(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> int:
    return await make_group(
        sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BOB, CAT, FAC], facilitators=(FAC,)
    )


async def open_brainstorm(services: Services, **kwargs) -> int:
    info = await services.brainstorms.open(actor(ANA), issue=kwargs.pop("issue", "Cash flow is tight"), **kwargs)
    await services.brainstorms.attach_thread(brainstorm_id=info.id, thread_id=THREAD, message_id=THREAD + 1)
    return info.id


async def post_idea(services: Services, user_id: int, text: str, message_id: int, clock: ManualClock) -> int:
    _, idea = await services.brainstorms.add_idea(actor(user_id, channel_id=THREAD, parent=CHANNEL), text=text)
    await services.brainstorms.attach_idea_message(idea_id=idea.id, message_id=message_id)
    clock.advance(minutes=1)
    return idea.id


async def count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions.begin() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


# --- opening ----------------------------------------------------------------------------------------


async def test_open_stores_the_issue_in_the_channels_group(services: Services, group_id: int) -> None:
    info = await services.brainstorms.open(
        actor(ANA), issue="  Cash flow is tight  ", details="Invoices paid late", anonymous=True, max_votes=2
    )
    assert (info.group_id, info.group_channel_id, info.owner_id) == (group_id, CHANNEL, ANA)
    assert (info.issue, info.details, info.anonymous, info.max_votes, info.status) == (
        "Cash flow is tight", "Invoices paid late", True, 2, "open"
    )
    await services.brainstorms.attach_thread(brainstorm_id=info.id, thread_id=THREAD, message_id=99)
    shown = await services.brainstorms.show(actor(BOB, channel_id=THREAD, parent=CHANNEL))
    assert (shown.id, shown.thread_id, shown.message_id) == (info.id, THREAD, 99)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"issue": "   "}, "can't be empty"),
        ({"issue": "x" * 201}, "limit is 200"),
        ({"issue": "ok", "details": "d" * 1501}, "limit is 1,500"),
        ({"issue": "ok", "max_votes": 0}, "max_votes"),
        ({"issue": "ok", "max_votes": 26}, "max_votes"),
    ],
)
async def test_open_refuses_bad_input_and_stores_nothing(
    services: Services, sessions, group_id: int, kwargs: dict, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await services.brainstorms.open(actor(ANA), **kwargs)
    assert await count(sessions, Brainstorm) == 0


async def test_a_non_member_cannot_open_a_brainstorm(services: Services, sessions, group_id: int) -> None:
    with pytest.raises(NotAllowed):
        await services.brainstorms.open(actor(OUTSIDER), issue="Let me in")
    assert await count(sessions, Brainstorm) == 0


async def test_abandon_forgets_a_brainstorm_without_a_thread(services: Services, sessions, group_id: int) -> None:
    info = await services.brainstorms.open(actor(ANA), issue="Thread failed")
    await services.brainstorms.abandon(brainstorm_id=info.id)
    assert await count(sessions, Brainstorm) == 0


# --- ideas --------------------------------------------------------------------------------------------


async def test_ideas_are_numbered_and_implied_by_the_thread(services: Services, clock, group_id: int) -> None:
    brainstorm_id = await open_brainstorm(services)
    await post_idea(services, BOB, "Raise prices for new clients", 501, clock)
    info, idea = await services.brainstorms.add_idea(actor(CAT, channel_id=CHANNEL), text="Invoice upfront @everyone",
                                                     brainstorm_id=brainstorm_id)
    assert (info.id, idea.number, idea.author_id, idea.text) == (brainstorm_id, 2, CAT, "Invoice upfront @everyone")


@pytest.mark.parametrize(("text", "message"), [("  ", "can't be empty"), ("y" * 301, "limit is 300")])
async def test_bad_ideas_are_refused(services: Services, sessions, group_id: int, text: str, message: str) -> None:
    await open_brainstorm(services)
    with pytest.raises(InvalidInput, match=message):
        await services.brainstorms.add_idea(actor(BOB, channel_id=THREAD), text=text)
    assert await count(sessions, BrainstormIdea) == 0


async def test_an_idea_needs_a_brainstorm_outside_its_thread(services: Services, group_id: int) -> None:
    await open_brainstorm(services)
    with pytest.raises(InvalidInput, match="brainstorm"):
        await services.brainstorms.add_idea(actor(BOB, channel_id=CHANNEL), text="Where am I?")


async def test_at_most_25_ideas(services: Services, sessions, clock, group_id: int) -> None:
    await open_brainstorm(services)
    for n in range(25):
        await post_idea(services, BOB, f"Idea {n}", 1000 + n, clock)
    with pytest.raises(LimitReached, match="25 ideas"):
        await services.brainstorms.add_idea(actor(BOB, channel_id=THREAD), text="One too many")
    assert await count(sessions, BrainstormIdea) == 25


async def test_no_idea_on_a_closed_brainstorm(services: Services, group_id: int) -> None:
    brainstorm_id = await open_brainstorm(services)
    await services.brainstorms.close(actor(ANA), brainstorm_id=brainstorm_id, reactors={})
    with pytest.raises(InvalidInput, match="closed"):
        await services.brainstorms.add_idea(actor(BOB, channel_id=THREAD), text="Too late")


async def test_other_groups_and_servers_see_no_brainstorm(services: Services, sessions, clock, group_id: int) -> None:
    brainstorm_id = await open_brainstorm(services)
    await make_group(sessions, clock, name="Others", channel_id=OTHER_CHANNEL, members=[OUTSIDER])
    await make_group(sessions, clock, name="Elsewhere", channel_id=OTHER_CHANNEL + 1, members=[OUTSIDER],
                     guild_id=OTHER_GUILD)
    for who in (actor(OUTSIDER, channel_id=OTHER_CHANNEL), actor(BOB, guild_id=OTHER_GUILD)):
        with pytest.raises(NotFound):
            await services.brainstorms.add_idea(who, text="Sneaky", brainstorm_id=brainstorm_id)
        with pytest.raises(NotFound):
            await services.brainstorms.show(who, brainstorm_id=brainstorm_id)
        with pytest.raises(NotFound):
            await services.brainstorms.to_close(who, brainstorm_id=brainstorm_id)
    # From inside the thread, the outsider is "not found" too (not a member of its group).
    with pytest.raises(NotFound):
        await services.brainstorms.add_idea(actor(OUTSIDER, channel_id=THREAD, parent=CHANNEL), text="Sneaky")
    assert await services.brainstorms.choices(actor(OUTSIDER, channel_id=OTHER_CHANNEL), "") == []
    assert await count(sessions, BrainstormIdea) == 0


async def test_discard_idea_frees_its_number(services: Services, clock, group_id: int) -> None:
    await open_brainstorm(services)
    _, idea = await services.brainstorms.add_idea(actor(BOB, channel_id=THREAD), text="Unposted")
    await services.brainstorms.discard_idea(idea_id=idea.id)
    _, again = await services.brainstorms.add_idea(actor(BOB, channel_id=THREAD), text="Posted")
    assert again.number == 1


# --- votes ---------------------------------------------------------------------------------------------


async def test_votes_count_once_per_member_and_only_for_members(services: Services, clock, group_id: int) -> None:
    await open_brainstorm(services)
    await post_idea(services, BOB, "Raise prices", 501, clock)
    vote = services.brainstorms.vote
    assert (await vote(guild_id=GUILD, message_id=501, user_id=CAT)).status == "counted"
    assert (await vote(guild_id=GUILD, message_id=501, user_id=CAT)).status == "already"
    assert (await vote(guild_id=GUILD, message_id=501, user_id=OUTSIDER)).status == "not_member"
    assert (await vote(guild_id=GUILD, message_id=501, user_id=BOT)).status == "not_member"
    assert await vote(guild_id=GUILD, message_id=999, user_id=CAT) is None  # not an idea message
    assert await vote(guild_id=OTHER_GUILD, message_id=501, user_id=CAT) is None  # another server's event
    assert (await vote(guild_id=GUILD, message_id=501, user_id=ANA)).status == "counted"
    assert [i.votes for i in (await services.brainstorms.show(actor(ANA, channel_id=THREAD))).ideas] == [2]

    assert await services.brainstorms.unvote(guild_id=GUILD, message_id=501, user_id=CAT) is True
    assert await services.brainstorms.unvote(guild_id=GUILD, message_id=501, user_id=OUTSIDER) is False
    assert [i.votes for i in (await services.brainstorms.show(actor(ANA, channel_id=THREAD))).ideas] == [1]


async def test_dot_voting_refuses_votes_over_the_limit(services: Services, clock, group_id: int) -> None:
    await open_brainstorm(services, max_votes=2)
    for n, message_id in enumerate((501, 502, 503)):
        await post_idea(services, BOB, f"Idea {n + 1}", message_id, clock)
    vote = services.brainstorms.vote
    assert (await vote(guild_id=GUILD, message_id=501, user_id=CAT)).status == "counted"
    assert (await vote(guild_id=GUILD, message_id=503, user_id=CAT)).status == "counted"
    over = await vote(guild_id=GUILD, message_id=502, user_id=CAT)
    assert (over.status, over.idea_number, over.max_votes) == ("over_limit", 2, 2)
    assert [i.number for i in over.voted] == [1, 3]
    # Taking one back frees a vote.
    await services.brainstorms.unvote(guild_id=GUILD, message_id=503, user_id=CAT)
    assert (await vote(guild_id=GUILD, message_id=502, user_id=CAT)).status == "counted"


async def test_reactions_on_a_closed_brainstorm_change_nothing(services: Services, clock, group_id: int) -> None:
    brainstorm_id = await open_brainstorm(services)
    idea_id = await post_idea(services, BOB, "Raise prices", 501, clock)
    await services.brainstorms.close(actor(ANA), brainstorm_id=brainstorm_id, reactors={idea_id: [CAT]})
    assert (await services.brainstorms.vote(guild_id=GUILD, message_id=501, user_id=BOB)).status == "closed"
    assert await services.brainstorms.unvote(guild_id=GUILD, message_id=501, user_id=CAT) is False
    assert [i.votes for i in (await services.brainstorms.show(actor(ANA), brainstorm_id=brainstorm_id)).ideas] == [1]


# --- recount and close ------------------------------------------------------------------------------------


async def test_close_recounts_from_discord_and_ranks(services: Services, sessions, clock, group_id: int) -> None:
    brainstorm_id = await open_brainstorm(services)
    first = await post_idea(services, BOB, "First", 501, clock)
    second = await post_idea(services, CAT, "Second", 502, clock)
    third = await post_idea(services, BOB, "Third", 503, clock)
    unreachable = await post_idea(services, CAT, "Deleted message", 504, clock)
    for user_id in (ANA, BOB):
        await services.brainstorms.vote(guild_id=GUILD, message_id=501, user_id=user_id)
    await services.brainstorms.vote(guild_id=GUILD, message_id=504, user_id=ANA)

    # While the bot was away: Bob took his vote on #1 back, Cat and Fac backed #3, an outsider
    # and the bot itself reacted on #2. #4's message couldn't be fetched: its vote stands.
    reactors = {first: [ANA, BOT], second: [CAT, OUTSIDER, BOT], third: [CAT, FAC, BOT]}
    with pytest.raises(NotAllowed):
        await services.brainstorms.to_close(actor(BOB), brainstorm_id=brainstorm_id)
    with pytest.raises(NotAllowed):
        await services.brainstorms.close(actor(BOB), brainstorm_id=brainstorm_id, reactors=reactors)
    assert (await services.brainstorms.to_close(actor(FAC), brainstorm_id=brainstorm_id)).status == "open"

    closed = await services.brainstorms.close(actor(FAC), brainstorm_id=brainstorm_id, reactors=reactors)
    assert closed.status == "closed" and closed.closed_at == clock.now()
    # Ties (1 vote each) by time posted.
    assert [(i.number, i.votes) for i in closed.ideas] == [(3, 2), (1, 1), (2, 1), (4, 1)]
    assert unreachable in {i.id for i in closed.ideas}
    async with sessions.begin() as session:
        votes = set((await session.execute(select(BrainstormVote.idea_id, BrainstormVote.user_id))).tuples())
    assert votes == {(first, ANA), (second, CAT), (third, CAT), (third, FAC), (unreachable, ANA)}

    with pytest.raises(InvalidInput, match="already closed"):
        await services.brainstorms.close(actor(ANA), brainstorm_id=brainstorm_id, reactors={})


async def test_recount_keeps_counted_votes_first_under_dot_voting(services: Services, clock, group_id: int) -> None:
    brainstorm_id = await open_brainstorm(services, max_votes=1)
    first = await post_idea(services, BOB, "First", 501, clock)
    second = await post_idea(services, BOB, "Second", 502, clock)
    await services.brainstorms.vote(guild_id=GUILD, message_id=502, user_id=CAT)
    info = await services.brainstorms.recount(brainstorm_id=brainstorm_id, reactors={first: [CAT, ANA], second: [CAT]})
    assert info is not None
    assert {i.number: i.votes for i in info.ideas} == {1: 1, 2: 1}  # Cat keeps #2; Ana's #1 is new
    assert await services.brainstorms.open_brainstorms() == [info]


# --- ideas → commitments --------------------------------------------------------------------------------------


async def test_the_owner_turns_ideas_into_commitments(services: Services, sessions, clock, group_id: int) -> None:
    past = await add_meeting(sessions, group_id, clock.now() - timedelta(days=3))
    cancelled = await add_meeting(sessions, group_id, clock.now() + timedelta(days=5), status="cancelled")
    nxt = await add_meeting(sessions, group_id, clock.now() + timedelta(days=10))
    await add_meeting(sessions, group_id, clock.now() + timedelta(days=40))
    async with sessions.begin() as session:  # the group already has commitment #1
        session.add(Commitment(guild_id=GUILD, group_id=group_id, number=1, user_id=BOB, text="Old", status="open",
                               due_at=clock.now(), meeting_id=past, created_at=clock.now(), updated_at=clock.now()))
    brainstorm_id = await open_brainstorm(services)
    ideas = [await post_idea(services, BOB, f"Idea {n}", 500 + n, clock) for n in (1, 2, 3)]
    await services.brainstorms.close(actor(ANA), brainstorm_id=brainstorm_id, reactors={})

    with pytest.raises(NotAllowed):
        await services.brainstorms.adopt(actor(FAC), brainstorm_id=brainstorm_id, idea_ids=[ideas[0]])
    result = await services.brainstorms.adopt(actor(ANA), brainstorm_id=brainstorm_id, idea_ids=[ideas[2], ideas[0]])
    assert result.adopted == ((1, 2, "Idea 1"), (3, 3, "Idea 3"))
    assert result.meeting_id == nxt and result.meeting_id != cancelled
    again = await services.brainstorms.adopt(actor(ANA), brainstorm_id=brainstorm_id, idea_ids=[ideas[0], ideas[1]])
    assert (again.adopted, again.already) == (((2, 4, "Idea 2"),), (1,))

    async with sessions.begin() as session:
        rows = list(await session.scalars(select(Commitment).where(Commitment.user_id == ANA).order_by(Commitment.number)))
        links = {n: c for n, c in (await session.execute(select(BrainstormIdea.number, BrainstormIdea.commitment_id))).tuples()}
    assert [(c.number, c.text, c.status, c.meeting_id, c.due_at) for c in rows] == [
        (n, f"Idea {i}", "open", nxt, clock.now() - timedelta(minutes=3) + timedelta(days=10))
        for n, i in ((2, 1), (3, 3), (4, 2))
    ]
    assert links == {1: rows[0].id, 3: rows[1].id, 2: rows[2].id}


async def test_adopt_refuses_without_a_meeting_or_while_open(services: Services, sessions, clock, group_id: int) -> None:
    brainstorm_id = await open_brainstorm(services)
    idea_id = await post_idea(services, BOB, "Idea", 501, clock)
    with pytest.raises(InvalidInput, match="Close the brainstorm first"):
        await services.brainstorms.adopt(actor(ANA), brainstorm_id=brainstorm_id, idea_ids=[idea_id])
    await services.brainstorms.close(actor(ANA), brainstorm_id=brainstorm_id, reactors={})
    with pytest.raises(InvalidInput, match="no meeting scheduled"):
        await services.brainstorms.adopt(actor(ANA), brainstorm_id=brainstorm_id, idea_ids=[idea_id])
    with pytest.raises(NotFound):
        await services.brainstorms.adopt(actor(ANA), brainstorm_id=brainstorm_id, idea_ids=[idea_id + 100])
    assert await count(sessions, Commitment) == 0


# --- reading ------------------------------------------------------------------------------------------------------


async def test_list_and_choices(services: Services, sessions, clock, group_id: int) -> None:
    first = await open_brainstorm(services, issue="Hiring")
    second = await services.brainstorms.open(actor(BOB), issue="Pricing")
    await services.brainstorms.attach_thread(brainstorm_id=second.id, thread_id=THREAD + 10, message_id=1)
    await services.brainstorms.open(actor(BOB), issue="Never got a thread")
    await services.brainstorms.close(actor(ANA), brainstorm_id=first, reactors={})

    name, listed = await services.brainstorms.list_group(actor(CAT))
    assert name == "Makers" and [b.issue for b in listed] == ["Pricing", "Hiring"]
    _, closed = await services.brainstorms.list_group(actor(CAT), status="closed")
    assert [b.id for b in closed] == [first]
    with pytest.raises(InvalidInput):
        await services.brainstorms.list_group(actor(CAT), status="weird")
    choices = await services.brainstorms.choices(actor(CAT), "")
    assert [c.id for c in choices] == [second.id, first]
    assert choices[1].name == f"#{first} Hiring — Makers (closed)"
    assert [c.id for c in await services.brainstorms.choices(actor(CAT), "pric")] == [second.id]
