"""Brainstorms end to end (issue 6): the real bot against the Discord simulator.

The group, its members and its meeting are written to the database directly (as in
``test_commitments``); everything a member does goes through Discord: commands, the "Add an idea"
button and its modal, 👍 reactions (also while the bot is stopped), the owner's select menu.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.app import App
from bot.models import BrainstormIdea, Commitment
from bot.services.brainstorms import BrainstormInfo, BrainstormService
from cogs.brainstorms import BrainstormCog
from tests.e2e.conftest import Harness
from tests.e2e.seeding import MEETING_AT, seed_group
from tests.sim import Channel, Guild, Sim, UsageError
from tests.sim.state import Message

IDEAS = [  # (author, text), in the order they are posted
    ("ana", "Raise prices for new clients"),
    ("bob", "Ask three clients for referrals"),  # through the button and its modal
    ("cat", "Hire a part-time bookkeeper"),
    ("bob", "Drop the smallest client"),
    ("cat", "Run a webinar"),
]


def cog_of(harness: Harness) -> BrainstormCog:
    """The running cog (load_extension executes the module afresh: not this module's class)."""
    assert harness.app is not None
    cog = harness.app.bot.get_cog(BrainstormCog.__cog_name__)
    assert cog is not None and type(cog).__name__ == "BrainstormCog"
    return cog  # type: ignore[return-value]


async def votes(app: App, brainstorm_id: int) -> dict[int, int]:
    async with app.sessions.begin() as session:
        rows = await session.scalars(select(BrainstormIdea).where(BrainstormIdea.brainstorm_id == brainstorm_id))
        return {row.number: row.votes for row in rows}


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def test_open_ideas_votes_restart_close_and_adopt(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana, bob, cat = sim.member(guild, "Ana"), sim.member(guild, "Bob"), sim.member(guild, "Cat")
    outsider = sim.member(guild, "Outsider")
    members = {"ana": ana, "bob": bob, "cat": cat}
    group_id, meeting_id = await seed_group(app, guild, channel, [ana, bob, cat])

    # Ana tables an issue: a thread under the group channel, the issue embed, the button, the voting line.
    opened = await sim.command(ana, channel, "brainstorm open", issue="Cash flow is tight", details="Q1 is slow")
    assert opened.ephemeral and "Brainstorm #1 is open" in opened.content
    [thread] = sim.threads(channel)
    assert thread.name == "💡 Cash flow is tight"
    [head] = sim.messages(thread)
    assert head.content == "React 👍 on the ideas you back."
    assert head.embeds[0]["title"] == "Cash flow is tight" and head.embeds[0]["description"] == "Q1 is slow"
    assert [c["label"] for c in head.iter_components() if c.get("type") == 2] == ["Add an idea"]

    # Three members add five ideas; Bob's first one through the button and its modal.
    for author, text in IDEAS:
        member = members[author]
        if text.startswith("Ask three"):
            form = await sim.click(member, head, label="Add an idea")
            assert form.modal is not None
            reply = await sim.submit_modal(member, form, {"Your idea": text})
        else:
            reply = await sim.command(member, thread, "brainstorm idea", text=text)
        assert reply.ephemeral and "is posted in" in reply.content
        await sim.advance(minutes=1)  # ideas posted at distinct times
    posted = sim.messages(thread)[1:]
    assert [m.content for m in posted] == [
        f"💡 #{n} {text} — <@{members[author].id}>" for n, (author, text) in enumerate(IDEAS, start=1)
    ]
    bot_id = app.bot.user.id  # type: ignore[union-attr]
    for message in posted:
        assert sim.reactors(message) == [bot_id]  # the bot's own 👍: one tap to vote
        assert message.allowed_mentions is not None and message.allowed_mentions.get("parse") == []
    idea: dict[int, Message] = dict(enumerate(posted, start=1))

    # Votes by reaction: a removal, a double tap, a non-member, other emoji; the bot's own 👍 never counts.
    for member, number in ((bob, 1), (cat, 1), (ana, 2), (cat, 2), (ana, 3), (bob, 3), (outsider, 4)):
        sim.react(member, idea[number])
    sim.react(bob, idea[5], "🎉")
    sim.unreact(cat, idea[2])
    await sim.settle()
    assert await votes(app, 1) == {1: 2, 2: 1, 3: 2, 4: 0, 5: 0}

    # The bot is stopped while votes change; the recount at start picks them up.
    await harness.stop()
    sim.react(cat, idea[5])
    sim.react(ana, idea[5])
    sim.unreact(bob, idea[1])
    sim.react(cat, idea[2])
    app = await harness.start()
    await asyncio.wait_for(cog_of(harness).recount_done.wait(), timeout=10)
    assert await votes(app, 1) == {1: 1, 2: 2, 3: 2, 4: 0, 5: 2}

    # After the restart, raw reaction events still count on messages the bot never cached.
    sim.react(bob, idea[4])
    await sim.settle()
    assert await votes(app, 1) == {1: 1, 2: 2, 3: 2, 4: 1, 5: 2}

    # Stopped again; this time no recount at start: the close must recount from Discord itself.
    await harness.stop()
    sim.unreact(ana, idea[3])
    sim.react(cat, idea[4])

    async def nothing_open(self: BrainstormService) -> list[BrainstormInfo]:
        return []

    monkeypatch.setattr(BrainstormService, "open_brainstorms", nothing_open)
    app = await harness.start()
    await asyncio.wait_for(cog_of(harness).recount_done.wait(), timeout=10)
    assert await votes(app, 1) == {1: 1, 2: 2, 3: 2, 4: 1, 5: 2}  # stale until the close

    before = len(sim.messages(channel))
    closed = await sim.command(ana, thread, "brainstorm close")
    assert closed.ephemeral and "Brainstorm #1 is closed" in closed.content
    assert await votes(app, 1) == {1: 1, 2: 2, 3: 1, 4: 2, 5: 2}
    ranked = [2, 4, 5, 1, 3]  # votes, then time posted; tied ideas share their rank
    expected = "\n".join(
        f"**{rank}.** 💡 #{n} {IDEAS[n - 1][1]} — <@{members[IDEAS[n - 1][0]].id}> · **{v}**"
        for rank, n, v in zip(
            ["=1", "=1", "=1", "=4", "=4"], ranked, ["2 votes", "2 votes", "2 votes", "1 vote", "1 vote"], strict=True
        )
    )
    thread_results = sim.messages(thread)[-1]
    assert thread_results.embeds[0]["description"] == expected
    assert thread_results.embeds[0]["title"] == "Brainstorm #1 results: Cash flow is tight"
    # Posted once, in the thread; the channel gets one line linking to them.
    link, prompt = sim.messages(channel)[before:]
    assert not link.embeds and "Cash flow is tight" in link.content and "5 ideas" in link.content
    assert f"/channels/{guild.id}/{thread.id}/{thread_results.id}" in link.content
    assert prompt.content.startswith(f"<@{ana.id}>, choose up to 5 ideas you'll commit to")
    [refreshed] = sim.threads(channel)
    assert refreshed.locked and refreshed.archived

    # Ana picks two ideas: they become her commitments, due at the next meeting, linked to their idea.
    picked = await sim.select(ana, prompt, ["#2 Ask three clients for referrals", "#5 Run a webinar"])
    assert picked.ephemeral and "New commitments" in picked.content
    async with app.sessions.begin() as session:
        commitments = list(
            await session.scalars(
                select(Commitment).where(Commitment.group_id == group_id).order_by(Commitment.number)
            )
        )
        ideas = {i.number: i for i in await session.scalars(select(BrainstormIdea))}
    assert [(c.number, c.user_id, c.text, c.status, c.meeting_id) for c in commitments] == [
        (1, ana.id, "Ask three clients for referrals", "open", meeting_id),
        (2, ana.id, "Run a webinar", "open", meeting_id),
    ]
    assert all(aware(c.due_at) == MEETING_AT for c in commitments)
    assert {n: i.commitment_id for n, i in ideas.items()} == {
        1: None, 2: commitments[0].id, 3: None, 4: None, 5: commitments[1].id
    }

    # Votes after the close change nothing.
    sim.react(bob, idea[1])
    await sim.settle()
    assert (await votes(app, 1))[1] == 1


async def test_refusals(sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App) -> None:
    ana, bob, fac = sim.member(guild, "Ana"), sim.member(guild, "Bob"), sim.member(guild, "Fac")
    outsider = sim.member(guild, "Outsider")
    await seed_group(app, guild, channel, [ana, bob, fac], facilitators=(fac,))
    await sim.command(ana, channel, "brainstorm open", issue="Hiring")
    [thread] = sim.threads(channel)
    head = sim.messages(thread)[0]

    # Mentions inside an idea are inert.
    pinged = await sim.command(bob, thread, "brainstorm idea", text="Ask @everyone and <@&123> and @here")
    assert pinged.ephemeral
    idea = sim.last_message(thread)
    assert idea.content == f"💡 #1 Ask @everyone and <@&123> and @here — <@{bob.id}>"
    assert idea.allowed_mentions is not None and idea.allowed_mentions.get("parse") == []
    assert not idea.allowed_mentions.get("users") and not idea.allowed_mentions.get("roles")

    # An over-long idea: the Discord client refuses it; a blank one, the bot; nothing stored.
    with pytest.raises(UsageError):
        await sim.command(bob, thread, "brainstorm idea", text="x" * 301)
    blank = await sim.command(bob, thread, "brainstorm idea", text="   ")
    assert blank.ephemeral and "can't be empty" in blank.content
    # A non-member can't add ideas.
    stranger = await sim.command(outsider, thread, "brainstorm idea", text="Me too")
    assert stranger.ephemeral
    assert len(sim.messages(thread)) == 2
    async with app.sessions.begin() as session:
        assert [i.text for i in await session.scalars(select(BrainstormIdea))] == [
            "Ask @everyone and <@&123> and @here"
        ]

    # Closing someone else's brainstorm: a member can't, a facilitator can.
    refused = await sim.command(bob, thread, "brainstorm close")
    assert refused.ephemeral and "Only the member who tabled this issue, or a facilitator" in refused.content
    assert sim.threads(channel)[0].archived is False
    done = await sim.command(fac, thread, "brainstorm close", brainstorm="1")
    assert done.ephemeral and "is closed" in done.content
    again = await sim.command(ana, channel, "brainstorm close", brainstorm="1")
    assert again.ephemeral and "already closed" in again.content

    # An idea on a closed brainstorm: by command and by the button.
    late = await sim.command(ana, channel, "brainstorm idea", text="One more", brainstorm="1")
    assert late.ephemeral and "closed: it takes no more ideas" in late.content
    clicked = await sim.click(ana, head, label="Add an idea")
    assert clicked.modal is None and "closed: it takes no more ideas" in clicked.text
    async with app.sessions.begin() as session:
        assert len(list(await session.scalars(select(BrainstormIdea)))) == 1
    # Only the owner picks ideas.
    prompt = sim.last_message(channel)
    not_yours = await sim.select(bob, prompt, ["#1 Ask @everyone and <@&123> and @here"])
    assert not_yours.ephemeral and "can choose its ideas" in not_yours.content


async def test_the_recount_at_start_reads_each_thread_not_each_idea(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    """Twenty-five ideas (the most a brainstorm takes), two of whose votes changed while the bot was down: the recount at start reads the
    thread's messages (their 👍 counts come with them) and lists the reactors of those two only."""
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    await seed_group(app, guild, channel, [ana, bob])
    await sim.command(ana, channel, "brainstorm open", issue="Where do new clients come from?")
    [thread] = sim.threads(channel)
    for number in range(1, 26):
        await sim.command(bob, thread, "brainstorm idea", text=f"Idea number {number}")
    ideas = sim.messages(thread)[1:]
    assert len(ideas) == 25
    sim.react(ana, ideas[0])
    await sim.settle()

    await harness.stop()
    sim.react(bob, ideas[4])
    sim.unreact(ana, ideas[0])
    mark = len(sim.requests)
    app = await harness.start()
    await asyncio.wait_for(cog_of(harness).recount_done.wait(), timeout=10)
    assert await votes(app, 1) == {n: (1 if n == 5 else 0) for n in range(1, 26)}
    recount = [r for r in sim.requests[mark:] if f"/channels/{thread.id}/" in r.path and r.method == "GET"]
    templates = [r.template for r in recount]
    assert templates.count("/channels/{channel_id}/messages") == 1  # 26 messages: one page
    assert "/channels/{channel_id}/messages/{message_id}" not in templates  # no fetch per idea
    reactors = [r for r in recount if "/reactions/" in r.path]
    assert len(reactors) == 1  # idea 5 only: idea 1's 👍 count is back to the bot's own, nothing to list
