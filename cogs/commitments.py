"""``/commit …`` and ``/win``; the report-back DM buttons; the commitments' outbox renderers.

Thin adapter over :class:`bot.services.commitments.CommitmentService`: parse, call one service
method, render. The pure formatting functions (``*_embeds``, ``reportback_view``…) are used by the
commands, the buttons and the renderers alike, and keep every message within Discord's limits.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import RoundtableBot
from bot.services.buddies_feature import BUDDY_SUMMARY
from bot.services.commitments import (
    DONE,
    DROPPED,
    NOT_DONE,
    NOT_REPORTED,
    NOTE_MAX,
    OPEN,
    PARTLY,
    TEXT_MAX,
    Board,
    CarryOver,
    CarryResult,
    CommitmentInfo,
    CommitmentList,
    CommitmentRef,
    CycleRate,
    MemberCommitments,
    PostedBoard,
    ReportBack,
    ReportClosed,
    Stats,
)
from bot.services.commitments_feature import CARRYOVER_DM, REPORTBACK_BOARD, REPORTBACK_DM, REPORTBACK_NUDGE
from bot.services.goals import GoalInfo, Ref
from bot.ui.actor import actor_from
from bot.ui.base import Modal, RendersErrors
from bot.ui.charts import render_completion_chart
from bot.ui.dm import mention_only, send_to_member
from bot.ui.errors import log_failure
from bot.ui.layout import Block, layout_pages
from bot.ui.members import avatar_urls, who
from bot.ui.notify import Notification, OutgoingMessage, Rendered, Renderer
from bot.ui.options import CommitmentOption, GroupOption, RefTransformer, TextTransformer, WhenOption
from bot.ui.pages import (
    EMBED_DESCRIPTION,
    MESSAGE_EMBED_CHARS,
    MESSAGE_EMBEDS,
    embed_pages,
    fit_message,
    paginate,
    respond_pages,
)
from bot.ui.reply import defer, respond
from bot.ui.snooze import add_remind_later, away_label
from bot.ui.text import inert
from bot.ui.time import Style, ts
from bot.ui.wins import ShareWinButton
from bot.ui.words import plural
from bot.waking import unsociable_note
from cogs.goals import board_goal_line, goals_to_link, with_log_kpis

log = logging.getLogger(__name__)

# What the report-back DM promises (CommitmentService.report_by_button keeps it).
REPORT_RULES = (
    "Change your answers freely until the board is posted at the meeting's start; after that a change"
    " updates the board, until the meeting ends. Then the report closes and unfinished ones can be"
    " carried over."
)

# Discord's limits (the embed and message ones are in bot.ui.pages).
DESCRIPTION_MAX = EMBED_DESCRIPTION
CHOICE_NAME_MAX = 100
# A report-back DM has one row of buttons per commitment; a message holds five rows.
DM_BUTTON_ROWS = 5

STATUS_MARK: dict[str, str] = {OPEN: "⬜", DONE: "✅", PARTLY: "🟨", NOT_DONE: "❌", DROPPED: "➖", NOT_REPORTED: "❔"}
STATUS_CHOICES = [
    app_commands.Choice(name="done", value=DONE),
    app_commands.Choice(name="partly", value=PARTLY),
    app_commands.Choice(name="not done", value=NOT_DONE),
    app_commands.Choice(name="dropped", value=DROPPED),
]
LIST_STATUS_CHOICES = [
    app_commands.Choice(name="open", value=OPEN),
    *STATUS_CHOICES,
    app_commands.Choice(name="not reported", value=NOT_REPORTED),
    app_commands.Choice(name="all", value="all"),
]
STATUS_LABELS_FOR_LIST = {c.value: c.name for c in LIST_STATUS_CHOICES}
EMBED_COLOUR = discord.Colour.blurple()


# --- formatting ----------------------------------------------------------------------------------


def local_day(when: datetime, tz: str) -> str:
    """``Thu 3 Dec`` in ``tz`` (for plain text, where Discord timestamps don't render)."""
    local = when.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b}"


def commitment_ref(item: CommitmentInfo) -> str:
    """``#19``, or ``#19, carried over from #12``."""
    if item.carried_from_number is None:
        return f"#{item.number}"
    return f"#{item.number}, carried over from #{item.carried_from_number}"


def commitment_line(item: CommitmentInfo, *, with_note: bool = True, note_privacy: bool = False) -> str:
    """One commitment; ``note_privacy`` (the member's own DM) says who can read its note."""
    line = f"{STATUS_MARK[item.status]} `{commitment_ref(item)}` {inert(item.text)} — *{item.status_label}*"
    if with_note and item.note:
        line += "\n  ↳ " + inert(item.note).replace("\n", "\n    ")
        if note_privacy:
            line += " · *" + ("on the board" if item.note_shared else "only you can see this note") + "*"
    return line


def rate_line(rate: CycleRate) -> str:
    if rate.rate is None:
        return "Completion: nothing to count yet."
    return (
        f"Completion: **{rate.rate:.0%}** — {rate.done} done, {rate.partly} partly of {rate.counted}"
        " (partly counts half; dropped ones don't count)"
    )


def list_pages(listing: CommitmentList) -> list[discord.Embed]:
    """``/commit list``: one embed per page, a member's commitments kept together."""
    label = "all" if listing.status is None else STATUS_LABELS_FOR_LIST.get(listing.status, listing.status)
    title = f"Commitments in {listing.group_name} — {label}"
    blocks = [
        [f"**{who(member.user_id)}**", *(commitment_line(c) + f" · due {ts(c.due_at, Style.SHORT_DATE)}" for c in member.commitments)]
        for member in listing.members
    ]
    return embed_pages(title, paginate(blocks, DESCRIPTION_MAX - 100), colour=EMBED_COLOUR)


def board_header(board: Board) -> list[str]:
    """The board's lines above the members: when, the completion rate, who hasn't reported."""
    lines = [f"Commitments due at the meeting {ts(board.meeting_starts_at, Style.FULL)}.", rate_line(board.rate)]
    if board.not_reported:
        lines.append("Not reported yet: " + ", ".join(f"<@{u}>" for u in board.not_reported))
    else:
        lines.append("Everyone has reported. 🎉")
    if board.apologies:
        lines.append("Apologies: " + ", ".join(who(u) for u in board.apologies))
    if board.away:
        lines.append("Away: " + ", ".join(f"{who(u)} ({away_label(until)})" for u, until in board.away.items()))
    return lines


def board_member_lines(board: Board, member: MemberCommitments) -> list[str]:
    """One member's section of the board: their name (apologies, away), each commitment due, their goals."""
    marks = " — apologies" if member.user_id in board.apologies else ""
    if member.user_id in board.away:
        marks += f" — {away_label(board.away[member.user_id])}"
    return [f"**{who(member.user_id)}**{marks}", *(commitment_line(c) for c in member.commitments),
            *board_goal_line(board.goals.get(member.user_id, ()))]


def board_people(board: Board) -> list[int]:
    """Everyone with a section on the board: members with something due, then those with goals only."""
    due = [m.user_id for m in board.members]
    return [*due, *(u for u in board.goals if u not in due)]


def board_messages(board: Board, avatar: Callable[[int], str] | None = None) -> list[OutgoingMessage]:
    """The report-back board at meeting time: a layout message (components v2) with one section per
    member (``avatar`` gives each section's thumbnail; None: plain text blocks), continued in
    further messages past 40 components or 4,000 characters, never cut. It pings only the members
    who haven't reported. Edit a posted board with ``message.edit(view=board_messages(...)[0].view)``.
    """
    blocks = [
        Block(board_member_lines(board, m), thumbnail=avatar(m.user_id) if avatar else None,
              continued=f"**{who(m.user_id)}** (continued)")
        for m in board.members
    ]
    due = {m.user_id for m in board.members}
    blocks += [Block([f"**{who(u)}** — nothing due", *board_goal_line(goals)], thumbnail=avatar(u) if avatar else None)
               for u, goals in board.goals.items() if u not in due]
    views = layout_pages(f"Report-back — {board.group_name}", "\n".join(board_header(board)), blocks,
                         colour=EMBED_COLOUR)
    pinged = discord.AllowedMentions(everyone=False, roles=False,
                                     users=[discord.Object(u) for u in board.not_reported])
    return [OutgoingMessage(view=view, allowed_mentions=pinged) for view in views]


def _with_space(note: str) -> str:
    return f" {note}" if note else ""


def _with_dash(note: str) -> str:
    return f" — {note}" if note else ""


def reportback_embeds(report: ReportBack, *, buddy_id: int | None = None) -> list[discord.Embed]:
    """The member's own report-back DM, or (``buddy_id``) the summary their buddy gets.

    Long lists continue in further embeds of the same message (nothing cut); past one message's
    limits the footer points to ``/commit list``.
    """
    when = ts(report.meeting_starts_at, Style.FULL)
    if buddy_id is not None:
        title = f"Your buddy's report-back — {report.group_name}"
        lines = [f"<@{buddy_id}>'s commitments due at the meeting {when}:"]
    else:
        title = f"Report back — {report.group_name}"
        lines = [f"Your commitments due at the **{report.group_name}** meeting {when}."]
        if report.meeting_id:  # a real meeting (not a lone commitment's due time)
            lines[0] += _with_space(unsociable_note(report.meeting_starts_at, report.own_zone))
        if report.open:
            lines.append("Tap how each went.")
        else:
            lines.append("All reported — thank you! 🙌")
        lines.append(REPORT_RULES)
    header = "\n".join(lines)
    blocks = [[commitment_line(c, note_privacy=buddy_id is None) for c in report.commitments]]
    pages = paginate(blocks, DESCRIPTION_MAX - len(header) - 4) or [""]
    return fit_message(title, header, pages, "More commitments than fit here: see /commit list", colour=EMBED_COLOUR)


def buttoned(report: ReportBack) -> list[CommitmentInfo]:
    """The commitments the DM has buttons for: the first five still reportable, in the list's order."""
    return [c for c in report.commitments if c.status not in (DROPPED, NOT_REPORTED)][:DM_BUTTON_ROWS]


def reportback_view(report: ReportBack) -> discord.ui.View | None:
    """Buttons for up to five commitments (one row each), in the list's order: a click never moves them."""
    items = buttoned(report)
    if not items:
        return None
    view = discord.ui.View(timeout=None)
    for row, item in enumerate(items):
        for status in (DONE, PARTLY, NOT_DONE):
            view.add_item(ReportButton(item.id, status, number=item.number, current=item.status, row=row))
        view.add_item(NoteButton(item.id, number=item.number, row=row))
        if item.note and report.notes_shareable:
            view.add_item(ShareNoteButton(item.id, share=not item.note_shared, number=item.number, row=row))
    return add_remind_later(view, kind=REPORTBACK_DM, group_id=report.group_id, meeting_id=report.meeting_id)


def goals_embed(goals: Sequence[GoalInfo]) -> discord.Embed:
    lines = [f"`#{goal.number}` {inert(goal.text)} — *{goal.status_label}*" for goal in goals]
    return discord.Embed(title="Your goals", description="\n".join(lines)[:EMBED_DESCRIPTION], colour=EMBED_COLOUR)


def reportback_message(report: ReportBack, goals: Sequence[GoalInfo] = ()) -> OutgoingMessage:
    embeds = reportback_embeds(report)
    if goals:  # her open goals with their status, when they fit in the message
        extra = goals_embed(goals)
        if len(embeds) < MESSAGE_EMBEDS and sum(len(e) for e in embeds) + len(extra) <= MESSAGE_EMBED_CHARS:
            embeds.append(extra)
    hidden = len([c for c in report.commitments if c.status not in (DROPPED, NOT_REPORTED)]) - DM_BUTTON_ROWS
    content = None
    if hidden > 0:
        content = f"Buttons below are for {DM_BUTTON_ROWS} of them; report the other {hidden} with `/commit report`."
    return OutgoingMessage(content=content, embeds=embeds, view=reportback_view(report))


STATS_DEFINITIONS = (
    "A cycle: the commitments due at one meeting that has ended; dropped ones don't count. "
    "Completion: done, plus partly at half, over the rest. Streak: cycles in a row, newest first, with "
    "every commitment done. Kept this year: done (late too) in this year's cycles. Carried over: "
    "commitments of this year's cycles carried to a later meeting."
)


def stats_embed(stats: Stats) -> discord.Embed:
    lines = [
        f"Stats for <@{stats.user_id}> in **{stats.group_name}**",
        f"Streak: **{plural(stats.streak, 'cycle')}** in a row with every commitment done",
        f"Kept this year: **{stats.kept_this_year}** · Carried over: **{stats.carried_over}**",
        f"Wins this year: **{stats.wins_this_year}** · Open now: **{stats.open_now}**",
        "",
        "**Completion per meeting cycle** (newest first)",
    ]
    if not stats.cycles:
        lines.append("No ended meetings with your commitments yet.")
    for cycle in stats.cycles[:12]:
        rate = "—" if cycle.rate.rate is None else f"{cycle.rate.rate:.0%}"
        lines.append(
            f"{ts(cycle.starts_at, Style.LONG_DATE)}: **{rate}** ({cycle.rate.done} done, {cycle.rate.partly} partly"
            f" of {cycle.rate.counted})"
        )
    embed = discord.Embed(title="Commitment stats", description="\n".join(lines), colour=EMBED_COLOUR)
    return embed.set_footer(text=STATS_DEFINITIONS)


def choice_name(item: CommitmentInfo, tz: str) -> str:
    """``#12 Send 10 invoices — due Thu 3 Dec``, shortened in the middle of the text if needed."""
    suffix = f" — due {local_day(item.due_at, tz)}"
    prefix = f"#{item.number} "
    room = CHOICE_NAME_MAX - len(prefix) - len(suffix)
    text = item.text if len(item.text) <= room else item.text[: room - 1] + "…"
    return prefix + text + suffix


# --- the carry-over DM ----------------------------------------------------------------------------


def carryover_embeds(offer: CarryOver) -> list[discord.Embed]:
    """After the meeting: the member's commitments that ended unfinished, and what each can become."""
    when = ts(offer.meeting_starts_at, Style.FULL)
    lines = [f"The **{offer.group_name}** meeting {when} is over. These commitments didn't get finished:"]
    if not offer.commitments:
        lines = [f"Nothing left over from the **{offer.group_name}** meeting {when}. Thank you! 🙌"]
    elif offer.next_meeting_at is not None:
        lines.append(
            f"**Carry over** makes a new commitment due at the next meeting, {ts(offer.next_meeting_at, Style.FULL)}"
            f"{_with_dash(unsociable_note(offer.next_meeting_at, offer.own_zone, clause=True))};"
            " **Done late** marks it done; **Drop** lets it go."
        )
    else:
        lines.append(
            "No next meeting is scheduled yet, so **Carry over** has nowhere to go: **Done late** marks it done,"
            " **Drop** lets it go, or add it again with `/commit add`."
        )
    header = "\n".join(lines)
    blocks = [[commitment_line(c) for c in offer.commitments]]
    pages = paginate(blocks, DESCRIPTION_MAX - len(header) - 4) or [""]
    return fit_message(f"Carry over? — {offer.group_name}", header, pages, "More than fit here: see /commit list",
                       colour=EMBED_COLOUR)


def carryover_view(offer: CarryOver) -> discord.ui.View | None:
    """Carry over / Done late / Drop for up to five commitments (one row each, in number order)."""
    items = offer.commitments[:DM_BUTTON_ROWS]
    if not items:
        return None
    view = discord.ui.View(timeout=None)
    for row, item in enumerate(items):
        for action in CarryButton.LABELS:
            view.add_item(CarryButton(item.id, action, number=item.number, row=row))
    return add_remind_later(view, kind=CARRYOVER_DM, group_id=offer.group_id, meeting_id=offer.meeting_id)


def carryover_message(offer: CarryOver) -> OutgoingMessage:
    hidden = len(offer.commitments) - DM_BUTTON_ROWS
    content = None
    if hidden > 0:
        content = (f"Buttons below are for {DM_BUTTON_ROWS} of them; the other {hidden} come back here once these"
                   " are answered.")
    return OutgoingMessage(content=content, embeds=carryover_embeds(offer), view=carryover_view(offer))


def carry_reply(result: CarryResult) -> str:
    """The private confirmation of a carry-over click."""
    item = result.commitment
    if result.carried is not None:
        new = result.carried
        return f"Carried over: `{commitment_ref(new)}` {inert(new.text)} — due {ts(new.due_at, Style.FULL)}."
    if not result.changed:
        return f"`#{item.number}` was already {item.status_label}."
    return f"`#{item.number}` is now {item.status_label}."


class CarryButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"carry:(?P<action>carry|late|drop):(?P<id>[0-9]+)",
):
    """Carry over / Done late / Drop for one unfinished commitment; works after a restart."""

    LABELS: ClassVar[dict[str, str]] = {"carry": "Carry over", "late": "Done late", "drop": "Drop"}
    STYLES: ClassVar[dict[str, discord.ButtonStyle]] = {
        "carry": discord.ButtonStyle.primary, "late": discord.ButtonStyle.success, "drop": discord.ButtonStyle.secondary,
    }

    def __init__(self, commitment_id: int, action: str, *, number: int | None = None, row: int | None = None) -> None:
        label = self.LABELS[action] if number is None else f"#{number} {self.LABELS[action]}"
        super().__init__(
            discord.ui.Button(label=label, style=self.STYLES[action], custom_id=f"carry:{action}:{commitment_id}", row=row)
        )
        self.commitment_id = commitment_id
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> CarryButton:
        return cls(int(match["id"]), match["action"])

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        result = await interaction.client.services.commitments.carry_by_button(
            user_id=interaction.user.id, commitment_id=self.commitment_id, action=self.action
        )
        if result.offer is not None:
            message = carryover_message(result.offer)
            await interaction.response.edit_message(content=message.content, embeds=message.embeds, view=message.view)
            await respond(interaction, carry_reply(result))
        else:
            await respond(interaction, carry_reply(result))


# --- the report-back DM buttons ------------------------------------------------------------------


class ReportButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"commit:report:(?P<id>[0-9]+):(?P<status>done|partly|not_done)",
):
    """Done / Partly / Not done for one commitment; works after a restart (the id is in custom_id)."""

    LABELS: ClassVar[dict[str, str]] = {DONE: "Done", PARTLY: "Partly", NOT_DONE: "Not done"}
    STYLES: ClassVar[dict[str, discord.ButtonStyle]] = {DONE: discord.ButtonStyle.success, PARTLY: discord.ButtonStyle.primary, NOT_DONE: discord.ButtonStyle.danger}

    def __init__(
        self, commitment_id: int, status: str, *, number: int | None = None, current: str | None = None,
        row: int | None = None,
    ) -> None:
        label = self.LABELS[status] if number is None else f"#{number} {self.LABELS[status]}"
        style = self.STYLES[status] if current == status else discord.ButtonStyle.secondary
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=f"commit:report:{commitment_id}:{status}", row=row)
        )
        self.commitment_id = commitment_id
        self.status = status

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> ReportButton:
        return cls(int(match["id"]), match["status"])

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        try:
            changed, report = await interaction.client.services.commitments.report_by_button(
                user_id=interaction.user.id, commitment_id=self.commitment_id, status=self.status
            )
        except ReportClosed as closed:
            await respond(interaction, closed_reply(closed.offer), view=carryover_view(closed.offer))
            return
        await redraw(interaction, report)
        await refresh_board(interaction.client, changed.board)
        if self.status == DONE and changed.changed:
            await respond(interaction, "Well done! Share it with your group?", view=share_view(changed.commitment))


class NoteButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"commit:note:(?P<id>[0-9]+)",
):
    """"Add a note": opens a modal; the note is saved with the commitment."""

    def __init__(self, commitment_id: int, *, number: int | None = None, row: int | None = None) -> None:
        label = "Add a note" if number is None else f"#{number} Add a note"
        super().__init__(
            discord.ui.Button(
                label=label, style=discord.ButtonStyle.secondary, emoji="📝", custom_id=f"commit:note:{commitment_id}",
                row=row,
            )
        )
        self.commitment_id = commitment_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> NoteButton:
        return cls(int(match["id"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        commitment = await interaction.client.services.commitments.commitment_for_note(
            user_id=interaction.user.id, commitment_id=self.commitment_id
        )
        await interaction.response.send_modal(NoteModal(commitment))


class NoteModal(Modal):
    def __init__(self, commitment: CommitmentInfo) -> None:
        title = f"Note on #{commitment.number}"
        super().__init__(title=title[:45], custom_id=f"commit:notemodal:{commitment.id}")
        self.commitment_id = commitment.id
        self.note: discord.ui.TextInput[NoteModal] = discord.ui.TextInput(
            label="How did it go?", style=discord.TextStyle.paragraph, max_length=1000,
            default=commitment.note, placeholder=commitment.text[:100],
        )
        self.add_item(self.note)

    async def on_submit(self, interaction: discord.Interaction[RoundtableBot]) -> None:  # type: ignore[override]
        changed, report = await interaction.client.services.commitments.note_by_button(
            user_id=interaction.user.id, commitment_id=self.commitment_id, note=self.note.value
        )
        await redraw(interaction, report)
        await refresh_board(interaction.client, changed.board)


class ShareNoteButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"commit:share:(?P<id>[0-9]+):(?P<share>on|off)",
):
    """"Show on the board" / "Keep private" for the member's own note: a note is private until shown."""

    def __init__(self, commitment_id: int, *, share: bool, number: int | None = None, row: int | None = None) -> None:
        label = "Show note on the board" if share else "Keep note private"
        super().__init__(
            discord.ui.Button(
                label=label if number is None else f"#{number} {label}", style=discord.ButtonStyle.secondary,
                emoji="👥" if share else "🔒", custom_id=f"commit:share:{commitment_id}:{'on' if share else 'off'}",
                row=row,
            )
        )
        self.commitment_id = commitment_id
        self.share = share

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> ShareNoteButton:
        return cls(int(match["id"]), share=match["share"] == "on")

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        try:
            changed, report = await interaction.client.services.commitments.share_note(
                user_id=interaction.user.id, commitment_id=self.commitment_id, shared=self.share
            )
        except ReportClosed as closed:
            await respond(interaction, closed_reply(closed.offer), view=carryover_view(closed.offer))
            return
        await redraw(interaction, report)
        await refresh_board(interaction.client, changed.board)


def share_view(item: CommitmentInfo) -> discord.ui.View:
    """"Share as a win" for a commitment reported done (posted only on the owner's click)."""
    view = discord.ui.View(timeout=None)
    view.add_item(ShareWinButton.commitment(item.guild_id, item.id))
    return view


def closed_reply(offer: CarryOver) -> str:
    """A report-back click after the meeting ended: closed; the carry-over buttons follow."""
    text = (f"The report-back for the **{offer.group_name}** meeting {ts(offer.meeting_starts_at, Style.FULL)} is"
            " closed: the meeting has ended, so answers no longer change.")
    if not offer.commitments:
        return text + " Nothing is left to carry over."
    items = "\n".join(commitment_line(c, with_note=False) for c in offer.commitments[:DM_BUTTON_ROWS])
    if offer.next_meeting_at is None:
        choice = "No next meeting is scheduled yet: **Done late** marks one done, **Drop** lets it go."
    else:
        choice = ("**Carry over** makes a new commitment due at the next meeting, "
                  f"{ts(offer.next_meeting_at, Style.FULL)}; **Done late** marks it done; **Drop** lets it go.")
    return f"{text}\n{items}\n{choice}"


async def refresh_board(bot: RoundtableBot, posted: PostedBoard | None) -> None:
    """Edit the posted board in place after a later answer (a board that is gone is left alone)."""
    if posted is None:
        return
    board = await bot.services.commitments.board(group_id=posted.group_id, meeting_id=posted.meeting_id)
    if board is None:
        return
    avatars = await avatar_urls(bot, board_people(board))
    first = board_messages(board, avatars.__getitem__)[0]  # a board past one message: its first is edited
    message = bot.get_partial_messageable(posted.channel_id, guild_id=posted.guild_id).get_partial_message(posted.message_id)
    try:
        # A layout message is edited with a layout view; an edit pings nobody again.
        await message.edit(view=first.view, allowed_mentions=discord.AllowedMentions.none())
    except discord.HTTPException as error:
        log.warning("Couldn't update the board of meeting %s (message %s): %s", posted.meeting_id, posted.message_id, error)


async def redraw(interaction: discord.Interaction[RoundtableBot], report: ReportBack) -> None:
    """Update the report-back DM in place after a click."""
    goals = await interaction.client.services.goals.open_goals(group_id=report.group_id, user_id=report.user_id)
    message = reportback_message(report, goals)
    await interaction.response.edit_message(content=message.content, embeds=message.embeds, view=message.view)


def _to_send(report: ReportBack | None, *, apologies_skip: bool = False) -> ReportBack | str:
    """The one send-time check of the report-back DM and the meeting-day nudge: the report, or why
    nothing is sent."""
    if report is None:
        return "the meeting or group is gone"
    if apologies_skip and report.apologies:
        return "sent apologies for the meeting"
    if not report.open:
        return "nothing left to report"
    return report


def reportback_dm(report: ReportBack, goals: Sequence[GoalInfo]) -> Rendered:
    """The report-back DM, with its fallback in the group channel for closed DMs."""
    fallback = OutgoingMessage(
        content=(
            f"<@{report.user_id}>, {plural(len(report.open), 'commitment')} to report on before "
            f"{local_day(report.meeting_starts_at, report.timezone)} ({ts(report.meeting_starts_at, Style.RELATIVE)})"
            " — `/commit report`" + _with_space(unsociable_note(report.meeting_starts_at, report.own_zone))
        ),
        allowed_mentions=mention_only(report.user_id),
    )
    return Rendered(message=reportback_message(report, goals), fallback=fallback)


def reportback_nudge(report: ReportBack) -> Rendered:
    """The meeting-day nudge: what is still open, with the report-back buttons."""
    when = f"{ts(report.meeting_starts_at, Style.FULL)} ({ts(report.meeting_starts_at, Style.RELATIVE)})"
    lines = [f"**{report.group_name}** meets {when}: {plural(len(report.open), 'commitment')} still to"
             " report on. Tap how each went:", *(commitment_line(c, with_note=False) for c in buttoned(report))]
    content = "\n".join(lines)
    fallback = OutgoingMessage(
        content=(f"<@{report.user_id}>, **{report.group_name}** meets {ts(report.meeting_starts_at, Style.RELATIVE)}:"
                 f" {plural(len(report.open), 'commitment')} still to report on — `/commit report`"),
        allowed_mentions=mention_only(report.user_id),
    )
    return Rendered(message=OutgoingMessage(content=content, view=reportback_view(report)), fallback=fallback)


# --- the cog -------------------------------------------------------------------------------------


class CommitmentsCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    commit = app_commands.Group(name="commit", description="Commit before the next meeting and report back", guild_only=True)

    def _renderers(self) -> dict[str, Renderer]:
        return {
            REPORTBACK_DM: self.render_reportback_dm,
            REPORTBACK_NUDGE: self.render_reportback_nudge,
            REPORTBACK_BOARD: self.render_reportback_board,
            BUDDY_SUMMARY: self.render_buddy_summary,
            CARRYOVER_DM: self.render_carryover_dm,
        }

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ReportButton, NoteButton, ShareNoteButton, ShareWinButton, CarryButton)
        self.bot.notifications.register_all(self._renderers())
        # The fan-outs before a meeting: each claimed batch rendered together.
        self.bot.notifications.register_batch(REPORTBACK_DM, self.render_reportback_dms)
        self.bot.notifications.register_batch(REPORTBACK_NUDGE, self.render_reportback_nudges)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ReportButton, NoteButton, ShareNoteButton, ShareWinButton, CarryButton)
        self.bot.notifications.unregister_all(self._renderers())

    # autocomplete ---------------------------------------------------------------------------------

    async def _choices(
        self, interaction: discord.Interaction, current: str, *, include_managed: bool = False
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        try:
            actor = actor_from(interaction)
            items = await self.bot.services.commitments.choices(actor, current, include_managed=include_managed)
            tz = await self.bot.services.guilds.member_timezone(actor.guild_id, actor.user_id)
        except Exception as error:  # an autocomplete has no way to show an error: offer nothing
            log_failure("commitment autocomplete", error)
            return []
        return [app_commands.Choice(name=choice_name(item, tz), value=f"id:{item.id}") for item in items]

    async def own_commitments(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await self._choices(interaction, current)

    async def droppable_commitments(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._choices(interaction, current, include_managed=True)

    # commands -------------------------------------------------------------------------------------

    @commit.command(name="add", description="Commit to something before the next meeting")
    @app_commands.describe(
        text="What you'll do (up to 300 characters)",
        due="Due date if not the next meeting, in your timezone (e.g. 'next friday 17:00')",
        group="Your group (defaults to this channel's group)",
        goal="One of your open goals in the group that this works towards",
    )
    @app_commands.autocomplete(goal=goals_to_link)
    async def commit_add(
        self,
        interaction: discord.Interaction,
        text: app_commands.Transform[str, TextTransformer(TEXT_MAX, what="commitment")],
        due: WhenOption | None = None,
        group: GroupOption = None,
        goal: app_commands.Transform[str, RefTransformer(100, what="goal")] | None = None,
    ) -> None:
        added = await self.bot.services.commitments.add(
            actor_from(interaction), text=text, due=due, group_id=group, goal=Ref.parse(goal) if goal else None
        )
        item = added.commitment
        when = "the next meeting, " if item.meeting_id is not None else ""
        towards = f"\nTowards goal `#{added.goal.number}` {inert(added.goal.text)}." if added.goal is not None else ""
        await respond(
            interaction,
            f"Committed: `#{item.number}` {inert(item.text)}\nDue {when}{ts(item.due_at, Style.FULL)} ({added.group_name}).{towards}",
        )
        if added.announce_channel_id is not None:
            channel = self.bot.get_partial_messageable(added.announce_channel_id, guild_id=item.guild_id)
            try:
                await channel.send(f"<@{item.user_id}> committed to: {inert(item.text)} (`#{item.number}`, due {ts(item.due_at, Style.DATE_TIME)})")
            except discord.HTTPException as error:
                log.warning("Couldn't announce commitment %s in %s: %s", item.id, added.announce_channel_id, error)
                await respond(interaction, f"I couldn't post it in <#{added.announce_channel_id}> (missing access?).")

    @commit.command(name="list", description="The group's open commitments, by member")
    @app_commands.describe(member="Only this member's", status="Which ones (default: open)", group="Your group")
    @app_commands.choices(status=LIST_STATUS_CHOICES)
    async def commit_list(
        self,
        interaction: discord.Interaction,
        member: discord.Member | None = None,
        status: app_commands.Choice[str] | None = None,
        group: GroupOption = None,
    ) -> None:
        wanted = OPEN if status is None else (None if status.value == "all" else status.value)
        listing = await self.bot.services.commitments.list_commitments(
            actor_from(interaction), member_id=member.id if member else None, status=wanted, group_id=group
        )
        await respond_pages(interaction, list_pages(listing))

    @commit.command(name="done", description="Report a commitment done")
    @app_commands.describe(commitment="Your commitment (#number)", note="How it went (optional)", group="Your group")
    @app_commands.autocomplete(commitment=own_commitments)
    async def commit_done(
        self,
        interaction: discord.Interaction,
        commitment: CommitmentOption,
        note: app_commands.Transform[str, TextTransformer(NOTE_MAX, what="note")] | None = None,
        group: GroupOption = None,
    ) -> None:
        await self._report(interaction, commitment, DONE, note, group)

    @commit.command(name="report", description="Report how a commitment went: done, partly, not done or dropped")
    @app_commands.describe(
        commitment="Your commitment (#number)", status="How it went", note="A note (optional)", group="Your group"
    )
    @app_commands.autocomplete(commitment=own_commitments)
    @app_commands.choices(status=STATUS_CHOICES)
    async def commit_report(
        self,
        interaction: discord.Interaction,
        commitment: CommitmentOption,
        status: app_commands.Choice[str],
        note: app_commands.Transform[str, TextTransformer(NOTE_MAX, what="note")] | None = None,
        group: GroupOption = None,
    ) -> None:
        await self._report(interaction, commitment, status.value, note, group)

    async def _report(
        self, interaction: discord.Interaction, commitment: CommitmentRef, status: str, note: str | None,
        group: int | None,
    ) -> None:
        result = await self.bot.services.commitments.report(
            actor_from(interaction), commitment=commitment, status=status, note=note, group_id=group
        )
        item = result.commitment
        prefix = "Recorded" if result.changed else "Already recorded"
        view = share_view(item) if item.status == DONE else None
        await respond(interaction, f"{prefix}: {commitment_line(item)}", view=view)
        await refresh_board(self.bot, result.board)

    @commit.command(name="edit", description="Change your open commitment's text or due date")
    @app_commands.describe(
        commitment="Your commitment (#number)", text="New text", due="New due date, in your timezone", group="Your group"
    )
    @app_commands.autocomplete(commitment=own_commitments)
    async def commit_edit(
        self,
        interaction: discord.Interaction,
        commitment: CommitmentOption,
        text: app_commands.Transform[str, TextTransformer(TEXT_MAX, what="commitment")] | None = None,
        due: WhenOption | None = None,
        group: GroupOption = None,
    ) -> None:
        result = await self.bot.services.commitments.edit(
            actor_from(interaction), commitment=commitment, text=text, due=due, group_id=group
        )
        item = result.commitment
        await respond(interaction, f"{'Updated' if result.changed else 'Unchanged'}: `#{item.number}` {inert(item.text)} — due {ts(item.due_at, Style.FULL)}")

    @commit.command(name="drop", description="Drop a commitment (yours, or as a facilitator any in your group)")
    @app_commands.describe(commitment="The commitment (#number)", group="Its group")
    @app_commands.autocomplete(commitment=droppable_commitments)
    async def commit_drop(
        self, interaction: discord.Interaction, commitment: CommitmentOption, group: GroupOption = None
    ) -> None:
        result = await self.bot.services.commitments.drop(
            actor_from(interaction), commitment=commitment, group_id=group
        )
        item = result.commitment
        reply = f"Dropped `#{item.number}` {inert(item.text)}." if result.changed else f"`#{item.number}` was already dropped."
        if result.tell_owner_id is not None:
            told = await self._tell_owner(result.tell_owner_id, interaction.user.id, item, result.group_name)
            reply += " I let them know by DM." if told else " Their DMs are closed: please tell them yourself."
        await respond(interaction, reply)

    async def _tell_owner(self, owner_id: int, by_id: int, item: CommitmentInfo, group_name: str) -> bool:
        text = f"<@{by_id}>, a facilitator of **{group_name}**, dropped your commitment `#{item.number}`: {inert(item.text)}"
        delivery = await send_to_member(self.bot, owner_id, OutgoingMessage(content=text))
        return delivery.by_dm

    @commit.command(name="stats", description="Completion per meeting cycle, streak, commitments kept this year")
    @app_commands.describe(member="Whose stats (default: yours)", group="Your group")
    async def commit_stats(
        self, interaction: discord.Interaction, member: discord.Member | None = None, group: GroupOption = None
    ) -> None:
        stats = await self.bot.services.commitments.stats(
            actor_from(interaction), member_id=member.id if member else None, group_id=group
        )
        embed, file = stats_embed(stats), None
        cycles = [c for c in reversed(stats.cycles[:12]) if c.rate.rate is not None]
        if cycles:  # the per-cycle figures above, as a bar chart (rendered off the event loop)
            await defer(interaction)
            chart = await render_completion_chart(
                "Commitments completed per meeting cycle", [f"{c.starts_at.day} {c.starts_at:%b}" for c in cycles],
                [c.rate.rate for c in cycles],
            )
            embed.set_image(url=f"attachment://{chart.filename}")
            file = discord.File(io.BytesIO(chart.png), filename=chart.filename, description=chart.alt[:1024])
        await respond(interaction, embed=embed, file=file)

    @app_commands.command(name="win", description="Share a win with your group 🎉")
    @app_commands.describe(text="Your win (up to 300 characters)", group="Your group")
    @app_commands.guild_only()
    async def win(
        self, interaction: discord.Interaction, text: app_commands.Transform[str, TextTransformer(TEXT_MAX, what="win")],
        group: GroupOption = None,
    ) -> None:
        actor = actor_from(interaction)
        won = await self.bot.services.commitments.win(actor, text=text, group_id=group)
        channel = self.bot.get_partial_messageable(won.channel_id, guild_id=actor.guild_id)
        try:
            message = await channel.send(f"🎉 <@{actor.user_id}> shared a win: {inert(won.text)}")
        except discord.HTTPException as error:
            log.warning("Couldn't post win %s in %s: %s", won.id, won.channel_id, error)
            await respond(interaction, f"Your win is counted, but I couldn't post it in <#{won.channel_id}>.")
            return
        await self.bot.services.commitments.record_win_message(win_id=won.id, message_id=message.id)
        await respond(interaction, f"Shared in <#{won.channel_id}>. 🎉")

    # outbox renderers -----------------------------------------------------------------------------

    async def _report_to_send(self, note: Notification, *, apologies_skip: bool = False) -> ReportBack | str:
        """The member's report-back for a reminder about it, or why nothing is sent (decided at send time)."""
        if note.meeting_id is None:
            return "no meeting"
        report = await self.bot.services.commitments.reportback(
            group_id=note.group_id, meeting_id=note.meeting_id, user_id=note.recipient_id
        )
        return _to_send(report, apologies_skip=apologies_skip)

    async def _reports_to_send(
        self, notes: Sequence[Notification], *, apologies_skip: bool = False
    ) -> dict[int, tuple[ReportBack, list[GoalInfo]] | str]:
        """``_report_to_send`` (with her open goals) for a claimed batch, read together."""
        wanted = {note.id: (note.group_id, note.meeting_id, note.recipient_id) for note in notes
                  if note.meeting_id is not None}
        found = await self.bot.services.commitments.reportbacks(list(set(wanted.values())))
        reports: dict[int, tuple[ReportBack, list[GoalInfo]] | str] = {}
        for note in notes:
            if note.id not in wanted:
                reports[note.id] = "no meeting"
                continue
            entry = found.get(wanted[note.id])
            report = _to_send(entry[0] if entry is not None else None, apologies_skip=apologies_skip)
            if isinstance(report, str) or entry is None:
                reports[note.id] = report if isinstance(report, str) else "the meeting or group is gone"
            else:
                reports[note.id] = (report, entry[1])
        return reports

    async def render_reportback_dm(self, note: Notification) -> Rendered:
        report = await self._report_to_send(note)
        if isinstance(report, str):
            return Rendered.skip(report)
        goals = await self.bot.services.goals.open_goals(group_id=report.group_id, user_id=report.user_id)
        return reportback_dm(report, goals)

    async def render_reportback_dms(self, notes: Sequence[Notification]) -> dict[int, Rendered]:
        """The report-back DMs of a claimed batch: a few queries for all of them (the fan-out before a meeting)."""
        rendered: dict[int, Rendered] = {}
        for note_id, found in (await self._reports_to_send(notes)).items():
            rendered[note_id] = Rendered.skip(found) if isinstance(found, str) else reportback_dm(*found)
            await asyncio.sleep(0)  # a batch's messages and views take a while to build: let the loop run between
        return rendered

    async def render_reportback_nudge(self, note: Notification) -> Rendered:
        """Meeting day: one short nudge, with the report-back buttons, to a member with something still open."""
        report = await self._report_to_send(note, apologies_skip=True)
        if isinstance(report, str):
            return Rendered.skip(report)
        return reportback_nudge(report)

    async def render_reportback_nudges(self, notes: Sequence[Notification]) -> dict[int, Rendered]:
        rendered: dict[int, Rendered] = {}
        for note_id, found in (await self._reports_to_send(notes, apologies_skip=True)).items():
            rendered[note_id] = Rendered.skip(found) if isinstance(found, str) else reportback_nudge(found[0])
            await asyncio.sleep(0)
        return rendered

    async def render_carryover_dm(self, note: Notification) -> Rendered:
        if note.meeting_id is None:
            return Rendered.skip("no meeting")
        offer = await self.bot.services.commitments.carryover(
            group_id=note.group_id, meeting_id=note.meeting_id, user_id=note.recipient_id
        )
        if offer is None:
            return Rendered.skip("the meeting or group is gone")
        if not offer.commitments:
            return Rendered.skip("nothing left to carry over")
        fallback = OutgoingMessage(
            content=(
                f"<@{offer.user_id}>, {plural(len(offer.commitments), 'commitment')} from the meeting weren't "
                "finished: carry them over with"
                " `/commit add`, or report them with `/commit report`."
            ),
            allowed_mentions=mention_only(offer.user_id),
        )
        message = carryover_message(offer)
        assert not isinstance(message.view, discord.ui.LayoutView)  # the carry-over DM is a plain message
        message.view = await with_log_kpis(
            self.bot, message.view, guild_id=note.guild_id, group_id=note.group_id, user_id=offer.user_id
        )
        return Rendered(message=message, fallback=fallback)

    async def render_reportback_board(self, note: Notification) -> Rendered:
        if note.meeting_id is None:
            return Rendered.skip("no meeting")
        board = await self.bot.services.commitments.board(group_id=note.group_id, meeting_id=note.meeting_id)
        if board is None:
            return Rendered.skip("the meeting or group is gone")
        if not board.members:
            return Rendered.skip("no commitments were due at this meeting")
        avatars = await avatar_urls(self.bot, board_people(board))
        first, *more = board_messages(board, avatars.__getitem__)
        return Rendered(message=first, more=more)

    async def render_buddy_summary(self, note: Notification) -> Rendered:
        if note.meeting_id is None:
            return Rendered.skip("no meeting")
        summary = await self.bot.services.commitments.buddy_summary(
            group_id=note.group_id, meeting_id=note.meeting_id, user_id=note.recipient_id
        )
        if summary is None:
            return Rendered.skip("no active buddy with commitments due")
        embeds = reportback_embeds(summary.report, buddy_id=summary.buddy_id)
        return Rendered(message=OutgoingMessage(embeds=embeds))


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(CommitmentsCog(bot))
