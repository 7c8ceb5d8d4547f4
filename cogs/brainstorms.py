"""``/brainstorm``: a member tables an issue, the group posts ideas and votes on them with 👍.

Votes arrive as raw reaction events (so uncached messages and restarts don't lose them); on close
and at start the bot recounts the 👍 reactors of every idea message from Discord.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any, Final, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import RoundtableBot
from bot.dispatch import Pacer
from bot.errors import InvalidInput, UserError
from bot.models import BrainstormStatus
from bot.services.brainstorms import (
    DETAILS_MAX,
    IDEA_MAX,
    ISSUE_MAX,
    MAX_VOTES_LIMIT,
    BrainstormInfo,
    IdeaInfo,
    VoteResult,
)
from bot.ui.actor import actor_from
from bot.ui.base import Modal, RendersErrors, bot_of
from bot.ui.dm import mention_only, send_to_member
from bot.ui.errors import log_failure
from bot.ui.members import who
from bot.ui.notify import OutgoingMessage
from bot.ui.options import (
    BoundedInt,
    BrainstormOption,
    GroupOption,
    RequiredBrainstormOption,
    TextTransformer,
)
from bot.ui.pages import (
    FIELD_VALUE,
    MESSAGE_CHARS,
    PAGE_LINES_CHARS,
    embed_pages,
    join_lines,
    number_pages,
    respond_pages,
)
from bot.ui.reply import defer, respond
from bot.ui.text import inert
from bot.ui.time import Style, ts
from bot.ui.words import plural

log = logging.getLogger(__name__)

VOTE_EMOJI = "👍"
THREAD_ARCHIVE_MINUTES: Final = 10080  # a week: brainstorms run between meetings
NOTICE_SECONDS = 30.0  # the short-lived channel notice when a member's DMs are closed
DESCRIPTION_LIMIT = PAGE_LINES_CHARS
REACTION_ATTEMPTS = 3


# --- rendering ---------------------------------------------------------------------------------------


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _votes(n: int) -> str:
    return f"{n} vote" if n == 1 else f"{n} votes"


def idea_line(info: BrainstormInfo, idea: IdeaInfo) -> str:
    """"💡 #3 Raise prices for new clients — <@Bob>" (the author left out when anonymous)."""
    line = f"💡 #{idea.number} {inert(idea.text)}"
    return line if info.anonymous else f"{line} — {who(idea.author_id)}"


def ranks(votes: list[int]) -> list[str]:
    """Competition ranking of ideas already sorted by votes: tied ideas share a rank, shown "=2"."""
    labels = []
    for votes_here in votes:
        rank = 1 + sum(v > votes_here for v in votes)
        tied = votes.count(votes_here) > 1
        labels.append(f"={rank}" if tied else str(rank))
    return labels


def ranked_lines(info: BrainstormInfo) -> list[str]:
    labels = ranks([idea.votes for idea in info.ideas])
    return [
        f"**{label}.** {idea_line(info, idea)} · **{_votes(idea.votes)}**"
        for label, idea in zip(labels, info.ideas, strict=True)
    ]


def issue_embed(info: BrainstormInfo) -> discord.Embed:
    embed = discord.Embed(
        title=inert(info.issue, 256), description=inert(info.details, 4096) if info.details else None,
        colour=discord.Colour.gold(),
    )
    embed.add_field(name="Tabled by", value=who(info.owner_id))
    voting = f"React {VOTE_EMOJI} on the ideas you back"
    if info.max_votes is not None:
        voting += f" (at most {info.max_votes} each)"
    embed.add_field(name="Voting", value=voting)
    if info.anonymous:
        embed.add_field(name="Ideas", value="Posted without their author's name")
    embed.set_footer(text=f"Brainstorm #{info.number} · {info.group_name}")
    return embed


def results_embeds(info: BrainstormInfo) -> list[discord.Embed]:
    lines = ranked_lines(info) or ["No ideas were posted."]
    pages = join_lines(lines, DESCRIPTION_LIMIT)
    embeds = []
    for n, page in enumerate(pages, start=1):
        title = f"Brainstorm #{info.number} results: {inert(info.issue, 200)}"
        if len(pages) > 1:
            title += f" ({n}/{len(pages)})"
        embeds.append(discord.Embed(title=title, description=page, colour=discord.Colour.green()))
    return embeds


def thread_name(issue: str) -> str:
    return _shorten(f"💡 {issue}", 100)


# --- persistent components ----------------------------------------------------------------------------


def _cog(interaction: discord.Interaction) -> BrainstormCog:
    return cast(BrainstormCog, bot_of(interaction).get_cog(BrainstormCog.__cog_name__))


class IdeaButton(
    RendersErrors, discord.ui.DynamicItem[discord.ui.Button], template=r"brainstorm:idea:(?P<id>[0-9]+)"
):
    """"Add an idea" under the issue: opens the idea modal (works after a restart)."""

    def __init__(self, brainstorm_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Add an idea",
                emoji="💡",
                style=discord.ButtonStyle.primary,
                custom_id=f"brainstorm:idea:{brainstorm_id}",
            )
        )
        self.brainstorm_id = brainstorm_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> IdeaButton:
        return cls(int(match["id"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        info = await interaction.client.services.brainstorms.show(actor_from(interaction), brainstorm_id=self.brainstorm_id)
        if info.status != BrainstormStatus.OPEN:
            raise InvalidInput(f"Brainstorm #{info.number} is closed: it takes no more ideas.")
        await interaction.response.send_modal(IdeaModal(self.brainstorm_id, info.issue))


class IdeaModal(Modal):
    text: discord.ui.TextInput[IdeaModal] = discord.ui.TextInput(
        label="Your idea", style=discord.TextStyle.paragraph, min_length=1, max_length=IDEA_MAX
    )

    def __init__(self, brainstorm_id: int, issue: str) -> None:
        super().__init__(title=_shorten(f"Idea: {issue}", 45), custom_id=f"brainstorm:ideamodal:{brainstorm_id}")
        self.brainstorm_id = brainstorm_id

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).post_idea(interaction, self.text.value, self.brainstorm_id)


class OpenModal(Modal):
    """The long form for ``/brainstorm open``: the issue and room for its details."""

    issue: discord.ui.TextInput[OpenModal] = discord.ui.TextInput(label="The issue", min_length=1, max_length=ISSUE_MAX)
    details: discord.ui.TextInput[OpenModal] = discord.ui.TextInput(
        label="Details", style=discord.TextStyle.paragraph, required=False, max_length=DETAILS_MAX
    )

    def __init__(self, *, issue: str, anonymous: bool, max_votes: int | None, group: int | None) -> None:
        super().__init__(title="Table an issue")
        self.issue.default = issue[:ISSUE_MAX]
        self.anonymous = anonymous
        self.max_votes = max_votes
        self.group_id = group

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).open_brainstorm(
            interaction, issue=self.issue.value, details=self.details.value or None, anonymous=self.anonymous,
            max_votes=self.max_votes, group=self.group_id,
        )


class AdoptSelect(
    RendersErrors, discord.ui.DynamicItem[discord.ui.Select], template=r"brainstorm:adopt:(?P<id>[0-9]+)"
):
    """The owner's choice of ideas to commit to, under the results (works after a restart)."""

    def __init__(self, brainstorm_id: int, options: list[discord.SelectOption]) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=f"brainstorm:adopt:{brainstorm_id}",
                placeholder=f"Choose up to {len(options)} ideas you'll commit to"
                if len(options) > 1 else "Choose the idea you'll commit to",
                min_values=1,
                max_values=max(1, len(options)),
                options=options,
            )
        )
        self.brainstorm_id = brainstorm_id

    @classmethod
    async def from_custom_id(  # type: ignore[override]  # the item is the select this class built
        cls, interaction: discord.Interaction, item: discord.ui.Select[Any], match: re.Match[str], /
    ) -> AdoptSelect:
        return cls(int(match["id"]), list(item.options))

    @classmethod
    def for_ideas(cls, info: BrainstormInfo) -> AdoptSelect:
        options = [
            discord.SelectOption(
                label=_shorten(f"#{idea.number} {idea.text}", 100), value=str(idea.id), description=_votes(idea.votes)
            )
            for idea in info.ideas[:25]
        ]
        return cls(info.id, options)

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        await defer(interaction)
        result = await interaction.client.services.brainstorms.adopt(
            actor_from(interaction), brainstorm_id=self.brainstorm_id, idea_ids=[int(v) for v in self.item.values]
        )
        due = ts(result.due_at, Style.LONG_DATE)
        lines = [f"#{commitment} {inert(text, 200)} (idea #{idea})" for idea, commitment, text in result.adopted]
        message = f"New commitments, due at the meeting on {due}:\n" + "\n".join(lines) if lines else ""
        if result.already:
            numbers = ", ".join(f"#{n}" for n in result.already)
            message += f"\nAlready commitments: idea {numbers}."
        message = message.strip()
        if len(message) <= MESSAGE_CHARS:
            await respond(interaction, message)
        else:  # 25 long ideas: pages, not a message Discord would refuse
            await respond_pages(interaction, embed_pages("New commitments", join_lines(message.split("\n"), PAGE_LINES_CHARS)))


# --- the cog ---------------------------------------------------------------------------------------------------


class BrainstormCog(commands.Cog):
    # The recount's requests (at start, and at a close) are paced, leaving Discord's global limit
    # to the outbox and to answering members.
    recount_requests_per_second = 10.0
    reaction_retry_delay = 1.0

    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot
        self.service = bot.services.brainstorms
        self._recount: asyncio.Task[None] | None = None
        self._recount_pacer = Pacer(self.recount_requests_per_second)
        self.recount_done = asyncio.Event()
        # discord.py runs each raw reaction event in its own task: a quick add then remove could
        # otherwise commit out of order (the remove finding no vote yet, the add counted after).
        # Events are dispatched in order and the lock is FIFO, so votes apply in Discord's order.
        self._votes_lock = asyncio.Lock()

    brainstorm = app_commands.Group(name="brainstorm", description="Table an issue; the group brainstorms it", guild_only=True)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(IdeaButton, AdoptSelect)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(IdeaButton, AdoptSelect)
        # Wait for the recount to stop: the bot closes (and unloads) before the engine is disposed,
        # and a recount cancelled in the middle of a query must finish closing its session first.
        if self._recount is not None and not self._recount.done():
            self._recount.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recount

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """At start (and after a reconnect that needed a new session, when reaction events may have
        been missed) recount the open brainstorms. cog_load runs before the gateway is ready, so the
        recount is a task the cog owns: a strong reference, and a done-callback that logs a failure."""
        if self._recount is not None and not self._recount.done():
            return
        self.recount_done.clear()
        self._recount = asyncio.create_task(self._recount_open(), name="brainstorm-recount")
        self._recount.add_done_callback(self._recount_finished)

    def _recount_finished(self, task: asyncio.Task[None]) -> None:
        self.recount_done.set()
        if not task.cancelled() and task.exception() is not None:
            log_failure("brainstorm recount", task.exception())  # type: ignore[arg-type]

    # --- commands --------------------------------------------------------------------------------------

    @brainstorm.command(name="open", description="Table an issue for your group to brainstorm")
    @app_commands.describe(
        issue="The issue you're up against (up to 200 characters)",
        details="More about it (up to 1,500 characters)",
        anonymous="Post ideas without their author's name",
        max_votes="Dot-voting: how many ideas each member may back (default: no limit)",
        long_form="Write the details in a larger box",
        group="Your group (default: this channel's, or your only group)",
    )
    async def brainstorm_open(
        self,
        interaction: discord.Interaction,
        issue: app_commands.Transform[str, TextTransformer(ISSUE_MAX, what="issue")],
        details: app_commands.Transform[str, TextTransformer(DETAILS_MAX, what="details")] | None = None,
        anonymous: bool = False,
        max_votes: app_commands.Transform[int, BoundedInt(1, MAX_VOTES_LIMIT, what="vote limit")] | None = None,
        long_form: bool = False,
        group: GroupOption = None,
    ) -> None:
        if long_form and details is None:
            await interaction.response.send_modal(
                OpenModal(issue=issue, anonymous=anonymous, max_votes=max_votes, group=group)
            )
            return
        await self.open_brainstorm(
            interaction, issue=issue, details=details, anonymous=anonymous, max_votes=max_votes, group=group
        )

    @brainstorm.command(name="idea", description="Post an idea on a brainstorm")
    @app_commands.describe(text="Your idea (up to 300 characters)", brainstorm="The brainstorm (default: this thread's)")
    async def brainstorm_idea(
        self,
        interaction: discord.Interaction,
        text: app_commands.Transform[str, TextTransformer(IDEA_MAX, what="idea")],
        brainstorm: BrainstormOption = None,
    ) -> None:
        await self.post_idea(interaction, text, brainstorm)

    @brainstorm.command(name="close", description="Close a brainstorm: count the votes and rank the ideas")
    @app_commands.describe(brainstorm="The brainstorm (default: this thread's)")
    async def brainstorm_close(self, interaction: discord.Interaction, brainstorm: BrainstormOption = None) -> None:
        actor = actor_from(interaction)
        info = await self.service.to_close(actor, brainstorm_id=brainstorm)
        await defer(interaction)
        async with self._votes_lock:  # no vote event applied between reading the reactors and the close
            reactors, _missing = await self._reactors(info)
            closed = await self.service.close(actor, brainstorm_id=info.id, reactors=reactors)
        await self._post_results(closed)
        await respond(interaction, f"Brainstorm #{closed.number} is closed; the ranked ideas are posted.")

    @brainstorm.command(name="list", description="Your group's brainstorms")
    @app_commands.describe(status="Only open or only closed brainstorms", group="Your group")
    @app_commands.choices(
        status=[app_commands.Choice(name=status, value=status) for status in BrainstormStatus]
    )
    async def brainstorm_list(
        self, interaction: discord.Interaction, status: str | None = None, group: GroupOption = None
    ) -> None:
        name, brainstorms = await self.service.list_group(actor_from(interaction), status=status, group_id=group)
        if not brainstorms:
            which = f"{status} brainstorms" if status else "brainstorms"
            await respond(interaction, f"**{name}** has no {which} yet.")
            return
        lines = [
            f"**#{b.number}** {inert(b.issue, 120)} — {b.status} — {who(b.owner_id)}"
            + (f" — <#{b.thread_id}>" if b.thread_id else "")
            for b in brainstorms
        ]
        await respond_pages(interaction, embed_pages(f"Brainstorms of {name}", join_lines(lines, DESCRIPTION_LIMIT)))

    @brainstorm.command(name="show", description="A brainstorm's issue and its ideas, ranked by votes")
    @app_commands.describe(brainstorm="The brainstorm")
    async def brainstorm_show(self, interaction: discord.Interaction, brainstorm: RequiredBrainstormOption) -> None:
        info = await self.service.show(actor_from(interaction), brainstorm_id=brainstorm)
        embed = issue_embed(info)
        state = info.status
        if info.closed_at is not None:
            state += f" {ts(info.closed_at, Style.RELATIVE)}"
        embed.add_field(name="Status", value=state + (f" · <#{info.thread_id}>" if info.thread_id else ""))
        pages = join_lines(ranked_lines(info) or ["No ideas yet."], DESCRIPTION_LIMIT)
        fits = len(pages) == 1 and len(pages[0]) <= FIELD_VALUE
        embed.add_field(name="Ideas, ranked", value=pages[0] if fits else "On the next pages.", inline=False)
        if fits:
            await respond(interaction, embed=embed)
            return
        ideas = [discord.Embed(title="Ideas, ranked", description=page) for page in pages]
        number_pages(ideas, footer=f"Brainstorm #{info.number}")
        await respond_pages(interaction, [embed, *ideas])

    # --- shared flows (commands, button, modals) ----------------------------------------------------------

    async def open_brainstorm(
        self,
        interaction: discord.Interaction,
        *,
        issue: str,
        details: str | None,
        anonymous: bool,
        max_votes: int | None,
        group: int | None,
    ) -> None:
        info = await self.service.open(
            actor_from(interaction), issue=issue, details=details, anonymous=anonymous, max_votes=max_votes,
            group_id=group,
        )
        await defer(interaction)
        thread: discord.Thread | None = None
        try:
            channel = await self._channel(info.group_channel_id)
            if not isinstance(channel, discord.TextChannel):
                raise TypeError(f"channel {info.group_channel_id} is not a text channel")
            thread = await channel.create_thread(
                name=thread_name(info.issue),
                type=discord.ChannelType.public_thread,
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
                reason=f"Brainstorm #{info.number}",
            )
            view = discord.ui.View(timeout=None)
            view.add_item(IdeaButton(info.id))
            message = await thread.send(
                f"React {VOTE_EMOJI} on the ideas you back.", embed=issue_embed(info), view=view
            )
        except (discord.HTTPException, TypeError) as error:
            await self.service.abandon(brainstorm_id=info.id)
            if thread is not None:
                with contextlib.suppress(discord.HTTPException):
                    await thread.delete()
            log.info("Could not open the thread for brainstorm %s: %s", info.id, error)
            raise UserError(
                f"I couldn't open a thread in <#{info.group_channel_id}>: I need the **Create Public Threads** "
                "and **Send Messages in Threads** permissions there."
            ) from error
        await self.service.attach_thread(brainstorm_id=info.id, thread_id=thread.id, message_id=message.id)
        await respond(interaction, f"Brainstorm #{info.number} is open: {thread.mention}. Add the first idea there.")

    async def post_idea(self, interaction: discord.Interaction, text: str, brainstorm_id: int | None) -> None:
        info, idea = await self.service.add_idea(actor_from(interaction), text=text, brainstorm_id=brainstorm_id)
        await defer(interaction)
        try:
            thread = await self._channel(info.thread_id or 0)
            if not isinstance(thread, discord.Thread):
                raise TypeError("not a thread")
            message = await thread.send(idea_line(info, idea))
        except (discord.HTTPException, TypeError) as error:
            await self.service.discard_idea(idea_id=idea.id)
            raise UserError(f"I couldn't post in the brainstorm's thread (<#{info.thread_id}>), so the idea wasn't added.") from error
        await self.service.attach_idea_message(idea_id=idea.id, message_id=message.id)
        await self._add_vote_reaction(message)
        await respond(interaction, f"Idea #{idea.number} is posted in {thread.mention}.")

    # --- votes -------------------------------------------------------------------------------------------------

    def _is_vote(self, payload: discord.RawReactionActionEvent) -> bool:
        return (
            payload.guild_id is not None
            and str(payload.emoji) == VOTE_EMOJI
            and (self.bot.user is None or payload.user_id != self.bot.user.id)
        )

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if not self._is_vote(payload):
            return
        assert payload.guild_id is not None
        try:
            async with self._votes_lock:
                result = await self.service.vote(
                    guild_id=payload.guild_id, message_id=payload.message_id, user_id=payload.user_id
                )
            if result is not None and result.status == "over_limit":
                await self._refuse_over_limit(payload, result)
        except Exception as error:
            log_failure(f"brainstorm vote (message {payload.message_id}, user {payload.user_id})", error)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        if not self._is_vote(payload):
            return
        assert payload.guild_id is not None
        try:
            async with self._votes_lock:
                await self.service.unvote(guild_id=payload.guild_id, message_id=payload.message_id, user_id=payload.user_id)
        except Exception as error:
            log_failure(f"brainstorm unvote (message {payload.message_id}, user {payload.user_id})", error)

    async def _refuse_over_limit(self, payload: discord.RawReactionActionEvent, result: VoteResult) -> None:
        """Take the uncounted 👍 back (when allowed) and tell the member privately which votes they have."""
        message = discord.PartialMessage(channel=self.bot.get_partial_messageable(payload.channel_id), id=payload.message_id)
        # Without Manage Messages the reaction stays; it is still not counted.
        with contextlib.suppress(discord.HTTPException):
            await message.remove_reaction(VOTE_EMOJI, discord.Object(payload.user_id))
        backed = ", ".join(f"#{idea.number}" for idea in result.voted)
        notice = (
            f"Brainstorm #{result.brainstorm_number} allows {result.max_votes} votes each, and you back {backed}. "
            f"Your vote on idea #{result.idea_number} wasn't counted: take a {VOTE_EMOJI} back first to move it."
        )
        # DMs closed: a short-lived notice in the thread instead.
        await send_to_member(
            self.bot, payload.user_id, OutgoingMessage(content=notice),
            fallback=OutgoingMessage(content=f"<@{payload.user_id}> {notice}", allowed_mentions=mention_only(payload.user_id)),
            channel_id=payload.channel_id, guild_id=payload.guild_id, delete_fallback_after=NOTICE_SECONDS,
        )

    # --- recount -------------------------------------------------------------------------------------------------

    async def _reactors(
        self, info: BrainstormInfo, *, changed_only: bool = False
    ) -> tuple[dict[int, set[int]], list[discord.Message]]:
        """Who reacted 👍 on each reachable idea message (the bot left out), and the messages missing
        the bot's own 👍. Unreachable messages are left out: their votes stand.

        The thread's messages are read a hundred at a time (their 👍 counts come with them), so the
        requests don't grow with the ideas; the reactors are then listed only for ideas that have a
        👍 — or, with ``changed_only`` (the recount at start), only where the count differs from the
        stored votes. Who voted for an idea whose count is unchanged is left as stored: the close
        recounts every idea from Discord.
        """
        reactors: dict[int, set[int]] = {}
        missing: list[discord.Message] = []
        ideas = {idea.message_id: idea for idea in info.ideas if idea.message_id is not None}
        if not ideas:
            return reactors, missing
        try:
            thread = await self._channel(info.thread_id or 0)
        except discord.HTTPException:
            return reactors, missing
        if not isinstance(thread, discord.Thread):
            return reactors, missing
        me = self.bot.user.id if self.bot.user else 0
        found: dict[int, discord.Message] = {}
        try:
            await self._recount_pacer.wait()
            async for posted in thread.history(limit=None, oldest_first=True):
                if posted.id in ideas:
                    found[posted.id] = posted
        except discord.HTTPException as error:
            log.info("Brainstorm %s: thread %s unreadable (%s)", info.id, info.thread_id, error)
            return reactors, missing
        for message_id, idea in ideas.items():
            message = found.get(message_id)
            if message is None:
                log.info("Brainstorm %s: idea message %s not in its thread", info.id, message_id)
                continue
            reaction = next((r for r in message.reactions if str(r.emoji) == VOTE_EMOJI), None)
            mine = reaction is not None and reaction.me
            if not mine:
                missing.append(message)
            others = 0 if reaction is None else reaction.count - (1 if mine else 0)
            if others == 0 or (changed_only and others == idea.votes):
                if others == 0:
                    reactors[idea.id] = set()
                continue
            assert reaction is not None
            try:
                await self._recount_pacer.wait()
                # Paginated by discord.py: 100 reactors a request, each after the last.
                users = {user.id async for user in reaction.users(limit=None)}
            except discord.HTTPException as error:
                log.info("Brainstorm %s: reactors of idea message %s unreadable (%s)", info.id, message_id, error)
                continue
            users.discard(me)
            reactors[idea.id] = users
        return reactors, missing

    async def _recount_open(self) -> None:
        for info in await self.service.open_brainstorms():
            if not self.bot.serves_guild(info.guild_id):
                continue  # another process holds the server's shard: its reactions, and its recount
            try:
                async with self._votes_lock:  # a live vote is applied before the read or after the recount
                    reactors, missing = await self._reactors(info, changed_only=True)
                    if reactors:
                        await self.service.recount(brainstorm_id=info.id, reactors=reactors)
                for message in missing:  # a 👍 Discord refused earlier, tried again
                    await self._recount_pacer.wait()
                    await self._add_vote_reaction(message)
            except Exception as error:
                log_failure(f"recount of brainstorm {info.id}", error)
        log.info("Brainstorm votes recounted")

    # --- Discord helpers -----------------------------------------------------------------------------------------

    async def _channel(self, channel_id: int) -> Any:
        channel = self.bot.get_channel(channel_id)
        if channel is None:
            channel = await self.bot.fetch_channel(channel_id)
        return channel

    async def _add_vote_reaction(self, message: discord.Message) -> bool:
        """The bot's own 👍 (so voting is one tap), retried when Discord refuses it for a moment."""
        for attempt in range(1, REACTION_ATTEMPTS + 1):
            try:
                await message.add_reaction(VOTE_EMOJI)
                return True
            except (discord.Forbidden, discord.NotFound) as error:
                log.info("Can't add %s to message %s: %s", VOTE_EMOJI, message.id, error)
                return False
            except discord.HTTPException as error:
                log.info("Adding %s to message %s failed (try %d): %s", VOTE_EMOJI, message.id, attempt, error)
                if attempt < REACTION_ATTEMPTS:
                    await asyncio.sleep(self.reaction_retry_delay * attempt)
        return False  # the recount at the next start adds it

    async def _post_results(self, info: BrainstormInfo) -> None:
        """Ranked ideas in the thread and the group channel; the owner's choice; the thread locked."""
        embeds = results_embeds(info)
        thread = None
        try:
            thread = await self._channel(info.thread_id or 0)
        except discord.HTTPException as error:
            log.info("Brainstorm %s: thread unreachable for results (%s)", info.id, error)
        posted: discord.Message | None = None
        if isinstance(thread, discord.Thread):
            for embed in embeds:
                message = await _send_quietly(thread, embed=embed)
                posted = posted or message
        owner_view: discord.ui.View | None = None
        if info.ideas:
            owner_view = discord.ui.View(timeout=None)
            owner_view.add_item(AdoptSelect.for_ideas(info))
        try:
            channel = await self._channel(info.group_channel_id)
        except discord.HTTPException as error:
            log.info("Brainstorm %s: group channel unreachable for results (%s)", info.id, error)
            channel = None
        if channel is not None:
            # The results are posted once, in the thread; the channel gets a line that links to them
            # (or, when the thread is out of reach, the results themselves).
            if posted is not None:
                count = plural(len(info.ideas), "idea")
                await _send_quietly(channel, f"💡 Brainstorm closed: **{inert(info.issue, 200)}** — {count}, "
                                    f"ranked by the group's {VOTE_EMOJI}: {posted.jump_url}")
            else:
                for embed in embeds:
                    await _send_quietly(channel, embed=embed)
            if owner_view is not None:
                pick = f"up to {min(len(info.ideas), 25)} ideas" if len(info.ideas) > 1 else "the idea"
                await _send_quietly(
                    channel,
                    f"<@{info.owner_id}>, choose {pick} you'll commit to: they become your commitments "
                    "for the next meeting.",
                    view=owner_view,
                    allowed_mentions=discord.AllowedMentions(users=[discord.Object(info.owner_id)]),
                )
        if isinstance(thread, discord.Thread):
            try:
                await thread.edit(locked=True, archived=True, reason=f"Brainstorm #{info.number} closed")
            except discord.HTTPException:
                try:  # without Manage Threads the bot can still archive its own thread
                    await thread.edit(archived=True)
                except discord.HTTPException as error:
                    log.info("Brainstorm %s: thread not archived (%s)", info.id, error)


async def _send_quietly(channel: Any, content: str | None = None, **kwargs: Any) -> discord.Message | None:
    try:
        return await channel.send(content, **kwargs)
    except discord.HTTPException as error:
        log.info("Could not post brainstorm results in %s: %s", getattr(channel, "id", channel), error)
        return None


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(BrainstormCog(bot))
