"""The brainstorm cog offline: its commands, what it renders, and the raw reaction listeners
driven with real discord.py events against the real services (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest
from discord import app_commands
from sqlalchemy import select

from bot.app import App
from bot.clock import ManualClock
from bot.models import BrainstormVote
from bot.services.brainstorms import BrainstormInfo, IdeaInfo
from bot.settings import Settings
from bot.ui.pages import join_lines
from cogs.brainstorms import (
    AdoptSelect,
    BrainstormCog,
    IdeaButton,
    idea_line,
    results_embeds,
    thread_name,
)
from tests.conftest import START
from tests.unit.test_brainstorms import (
    ANA,
    BOB,
    BOT,
    CAT,
    GUILD,
    OUTSIDER,
    THREAD,
    actor,
    make_group,
    open_brainstorm,
    post_idea,
)


def _info(ideas: int, *, anonymous: bool = False, text_length: int = 300) -> BrainstormInfo:
    return BrainstormInfo(
        id=7, number=3, guild_id=GUILD, group_id=1, group_name="Makers", group_channel_id=2, owner_id=ANA,
        issue="I" * 200, details=None, anonymous=anonymous, max_votes=None, status="closed", thread_id=THREAD,
        message_id=1, created_at=START, closed_at=START,
        ideas=tuple(
            IdeaInfo(id=100 + n, number=n, author_id=BOB, text=f"{n} " + "x" * (text_length - 3), votes=25 - n,
                     message_id=500 + n, commitment_id=None, created_at=START)
            for n in range(1, ideas + 1)
        ),
    )


def test_idea_lines_name_the_author_unless_anonymous() -> None:
    named, anonymous = _info(1, text_length=10), _info(1, anonymous=True, text_length=10)
    assert idea_line(named, named.ideas[0]) == f"💡 #1 1 xxxxxxx — <@{BOB}>"
    assert idea_line(anonymous, anonymous.ideas[0]) == "💡 #1 1 xxxxxxx"


def test_results_of_25_long_ideas_are_paged_within_discord_limits() -> None:
    embeds = results_embeds(_info(25))
    assert len(embeds) > 1
    assert all(len(e.description or "") <= 4096 and len(e) <= 6000 and len(e.title or "") <= 256 for e in embeds)
    text = "\n".join(e.description or "" for e in embeds)
    assert all(f"💡 #{n} " in text for n in range(1, 26))  # nothing cut
    assert results_embeds(_info(0))[0].description == "No ideas were posted."


def test_join_lines_never_splits_a_line() -> None:
    lines = [f"line {n} " + "y" * 90 for n in range(100)]
    pages = join_lines(lines, limit=1000)
    assert all(len(page) <= 1000 for page in pages)
    assert "\n".join(pages).split("\n") == lines


def test_the_owner_select_offers_every_idea_within_limits() -> None:
    select = AdoptSelect.for_ideas(_info(25))
    assert select.custom_id == "brainstorm:adopt:7"
    assert len(select.item.options) == 25 and select.item.max_values == 25
    assert all(len(option.label) <= 100 for option in select.item.options)
    assert [option.value for option in select.item.options][:2] == ["101", "102"]
    assert IdeaButton(123456789).custom_id == "brainstorm:idea:123456789"
    assert len(thread_name("z" * 200)) == 100


# --- the real bot, never connected --------------------------------------------------------------------------


@pytest.fixture
async def app(database_url: str, clock: ManualClock) -> AsyncIterator[App]:
    settings = Settings(discord_token="offline", database_url=database_url, _env_file=None)  # type: ignore[call-arg]
    app = App(settings, clock=clock)
    await app.bot.load_extension("cogs.brainstorms")
    app.bot._connection.user = discord.ClientUser(
        state=app.bot._connection, data={"id": BOT, "username": "Roundtable", "discriminator": "0", "avatar": None}
    )
    yield app
    await app.bot.unload_extension("cogs.brainstorms")
    await app.engine.dispose()


def _reaction(message_id: int, user_id: int, emoji: str = "👍", *, kind: str = "REACTION_ADD"):
    data = {"message_id": message_id, "channel_id": THREAD, "user_id": user_id, "guild_id": GUILD, "type": 0}
    return discord.RawReactionActionEvent(data, discord.PartialEmoji(name=emoji), kind)  # type: ignore[arg-type]


def test_brainstorm_commands_are_registered() -> None:
    group = BrainstormCog.brainstorm
    assert isinstance(group, app_commands.Group) and group.guild_only
    assert sorted(c.name for c in group.commands) == ["close", "idea", "list", "open", "show"]


async def test_reaction_listeners_count_member_votes_only(app: App, clock: ManualClock) -> None:
    services = app.services
    await make_group(app.sessions, clock, name="Makers", channel_id=2_000_000_000_000_000_001,
                     members=[ANA, BOB, CAT])
    brainstorm_id = await open_brainstorm(services)
    await post_idea(services, BOB, "Raise prices", 501, clock)
    cog = app.bot.get_cog("BrainstormCog")  # the extension's own copy of the class
    assert cog is not None

    await cog.on_raw_reaction_add(_reaction(501, CAT))
    await cog.on_raw_reaction_add(_reaction(501, CAT))  # twice: one vote
    await cog.on_raw_reaction_add(_reaction(501, ANA))
    await cog.on_raw_reaction_add(_reaction(501, BOT))  # the bot's own 👍
    await cog.on_raw_reaction_add(_reaction(501, OUTSIDER))  # not in the group
    await cog.on_raw_reaction_add(_reaction(501, BOB, "🎉"))  # another emoji
    await cog.on_raw_reaction_add(_reaction(999, BOB))  # not an idea
    await cog.on_raw_reaction_remove(_reaction(501, ANA, kind="REACTION_REMOVE"))

    shown = await services.brainstorms.show(actor(BOB), brainstorm_id=brainstorm_id)
    assert [i.votes for i in shown.ideas] == [1]
    async with app.sessions.begin() as session:
        voters = set(await session.scalars(select(BrainstormVote.user_id)))
    assert voters == {CAT}


def test_tied_ideas_share_their_rank() -> None:
    from cogs.brainstorms import ranks

    assert ranks([3, 2, 2, 1]) == ["1", "=2", "=2", "4"]
    assert ranks([0, 0]) == ["=1", "=1"]
    assert ranks([5]) == ["1"]
    assert ranks([]) == []
