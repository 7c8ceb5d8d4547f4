"""Attendance and feedback: **Take attendance** in the channel when the meeting starts (only
facilitators can use it; the sheet opens privately), and the one-question feedback DM after it.

The commands (``/meeting attendance``, ``/meeting feedback``) live with the other meeting commands
in ``cogs.meetings`` and draw with the helpers here; the minutes DM to members who missed the
meeting is rendered there too, with the minutes.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord.ext import commands

from bot.client import RoundtableBot
from bot.models import MeetingStatus
from bot.models.attendance import AttendanceStatus
from bot.services.attendance import (
    MAX_FEEDBACK_LINE,
    AttendanceService,
    FeedbackPrompt,
    FeedbackSaved,
    RatesShown,
    Sheet,
    Trend,
)
from bot.services.attendance_feature import ATTENDANCE_PROMPT, FEEDBACK_DM
from bot.ui.actor import actor_from
from bot.ui.base import Modal, RendersErrors
from bot.ui.dm import mention_only
from bot.ui.notify import Notification, OutgoingMessage, Rendered
from bot.ui.pages import PAGE_LINES_CHARS, embed_pages, join_lines
from bot.ui.reply import respond
from bot.ui.text import inert
from bot.ui.time import Style, ts
from bot.ui.words import plural

log = logging.getLogger(__name__)

PER_PAGE = 4  # one select per member, four rows; the fifth holds Previous / Save as shown / Next
STATUS_EMOJI = {AttendanceStatus.PRESENT: "✅", AttendanceStatus.APOLOGIES: "🙏", AttendanceStatus.ABSENT: "❌"}
FEEDBACK_QUESTION = "What would make next month better?"


async def member_names(interaction: discord.Interaction, user_ids: list[int]) -> dict[int, str]:
    """Display names for a select's labels (a select can't show a mention): the cache, else one
    lookup each (a group has at most 12 members); someone no longer in the server is "a former member"."""
    guild = interaction.guild
    names: dict[int, str] = {}
    for uid in user_ids:
        member = guild.get_member(uid) if guild is not None else None
        if member is None and guild is not None:
            try:
                member = await guild.fetch_member(uid)
            except discord.HTTPException:
                member = None
        names[uid] = member.display_name if member is not None else "a former member"
    return names


def pages_of(sheet: Sheet) -> int:
    return max(1, -(-len(sheet.entries) // PER_PAGE))


def sheet_embed(sheet: Sheet, page: int) -> discord.Embed:
    lines = [f"{STATUS_EMOJI[e.status]} <@{e.user_id}> — {e.status.label}" for e in sheet.entries]
    state = ("Taken" if sheet.taken else "Pre-filled from the RSVPs (going or maybe → present, can't make it → "
             "apologies, no answer → absent): change anyone below, or **Save as shown**")
    counts = " · ".join(f"{s.label} {sheet.count(s)}" for s in AttendanceStatus)
    embed = discord.Embed(
        title=f"Attendance — {sheet.label}"[:256],
        description=f"Meeting of {ts(sheet.starts_at, Style.FULL)}\n{state}.\n\n" + "\n".join(lines)[:3500],
        colour=discord.Colour.green() if sheet.taken else discord.Colour.blurple(),
    )
    embed.add_field(name="Count", value=counts, inline=False)
    embed.add_field(name="Editable until", value=ts(sheet.editable_until, Style.FULL), inline=False)
    if pages_of(sheet) > 1:
        embed.set_footer(text=f"Members {page * PER_PAGE + 1}–{min(len(sheet.entries), (page + 1) * PER_PAGE)} "
                              f"of {len(sheet.entries)} (page {page + 1} of {pages_of(sheet)})")
    return embed


def sheet_view(sheet: Sheet, page: int, names: dict[int, str]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    page = min(max(page, 0), pages_of(sheet) - 1)
    for row, entry in enumerate(sheet.entries[page * PER_PAGE:(page + 1) * PER_PAGE]):
        view.add_item(AttendanceSelect(sheet.meeting_id, entry.user_id, page, current=entry.status,
                                       name=names.get(entry.user_id, "a member"), row=row))
    if pages_of(sheet) > 1:
        view.add_item(SheetPageButton(sheet.meeting_id, page - 1, label="Previous", disabled=page == 0))
    view.add_item(SaveSheetButton(sheet.meeting_id, page, disabled=sheet.taken))
    if pages_of(sheet) > 1:
        view.add_item(SheetPageButton(sheet.meeting_id, page + 1, label="Next", disabled=page >= pages_of(sheet) - 1))
    return view


async def sheet_message(interaction: discord.Interaction, sheet: Sheet, page: int) -> dict[str, Any]:
    """The sheet's embed and its view for ``page`` (the keyword arguments of a reply or an edit)."""
    page = min(max(page, 0), pages_of(sheet) - 1)
    shown = [e.user_id for e in sheet.entries[page * PER_PAGE:(page + 1) * PER_PAGE]]
    names = await member_names(interaction, shown)
    return {"embed": sheet_embed(sheet, page), "view": sheet_view(sheet, page, names)}


class TakeAttendanceButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"attend:take:(?P<meeting_id>[0-9]+)",
):
    """On the channel's message at the meeting's start: opens the sheet privately, for facilitators."""

    def __init__(self, meeting_id: int) -> None:
        super().__init__(discord.ui.Button(label="Take attendance", style=discord.ButtonStyle.primary, emoji="🗒️",
                                           custom_id=f"attend:take:{meeting_id}"))
        self.meeting_id = meeting_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> TakeAttendanceButton:
        return cls(int(match["meeting_id"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        sheet = await interaction.client.services.get(AttendanceService).sheet(actor_from(interaction), meeting_id=self.meeting_id)
        await respond(interaction, **await sheet_message(interaction, sheet, 0))


class AttendanceSelect(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Select[Any]],
    template=r"attend:set:(?P<meeting_id>[0-9]+):(?P<user_id>[0-9]+):(?P<page>[0-9]+)",
):
    """One member's Present / Apologies / Absent; the first change stores the whole sheet."""

    def __init__(self, meeting_id: int, user_id: int, page: int, *, current: AttendanceStatus | None = None,
                 name: str = "", row: int | None = None) -> None:
        options = [
            discord.SelectOption(label=f"{name}: {status.label}"[:100] if name else status.label, value=status.value,
                                 emoji=STATUS_EMOJI[status], default=status == current)
            for status in AttendanceStatus
        ]
        super().__init__(discord.ui.Select(custom_id=f"attend:set:{meeting_id}:{user_id}:{page}", options=options,
                                           min_values=1, max_values=1, row=row,
                                           placeholder=(name or "Member")[:150]))
        self.meeting_id, self.user_id, self.page = meeting_id, user_id, page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AttendanceSelect:
        return cls(int(match["meeting_id"]), int(match["user_id"]), int(match["page"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        chosen = self.item.values[0] if self.item.values else ""
        sheet = await interaction.client.services.get(AttendanceService).mark(
            actor_from(interaction), meeting_id=self.meeting_id, user_id=self.user_id, status=chosen)
        await interaction.response.edit_message(**await sheet_message(interaction, sheet, self.page))


class SheetPageButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"attend:page:(?P<meeting_id>[0-9]+):(?P<page>[0-9]+)",
):
    def __init__(self, meeting_id: int, page: int, *, label: str = "Page", disabled: bool = False) -> None:
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.secondary, disabled=disabled,
                                           custom_id=f"attend:page:{meeting_id}:{max(page, 0)}", row=4))
        self.meeting_id, self.page = meeting_id, max(page, 0)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SheetPageButton:
        return cls(int(match["meeting_id"]), int(match["page"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        sheet = await interaction.client.services.get(AttendanceService).sheet(actor_from(interaction), meeting_id=self.meeting_id)
        await interaction.response.edit_message(**await sheet_message(interaction, sheet, self.page))


class SaveSheetButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"attend:save:(?P<meeting_id>[0-9]+):(?P<page>[0-9]+)",
):
    """Store the pre-filled sheet as it is shown."""

    def __init__(self, meeting_id: int, page: int, *, disabled: bool = False) -> None:
        super().__init__(discord.ui.Button(label="Save as shown", style=discord.ButtonStyle.success, disabled=disabled,
                                           custom_id=f"attend:save:{meeting_id}:{page}", row=4))
        self.meeting_id, self.page = meeting_id, page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SaveSheetButton:
        return cls(int(match["meeting_id"]), int(match["page"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        sheet = await interaction.client.services.get(AttendanceService).mark(actor_from(interaction), meeting_id=self.meeting_id)
        await interaction.response.edit_message(**await sheet_message(interaction, sheet, self.page))


# --- feedback ----------------------------------------------------------------------------------------


def feedback_message(prompt: FeedbackPrompt) -> OutgoingMessage:
    given = f"\nYour answer so far: **{prompt.score}**. Answering again replaces it." if prompt.score else ""
    embed = discord.Embed(
        title=f"How was the meeting? — {prompt.group_name}"[:256],
        description=(f"The meeting of {ts(prompt.starts_at, Style.FULL)}: from 1 (not useful) to 5 (very useful)?\n"
                     f"**Add a line** to say what would make next month better. Only the facilitators see the "
                     f"scores, and the lines without your name. Open until {ts(prompt.closes_at, Style.FULL)}.{given}"),
        colour=discord.Colour.blurple(),
    )
    view = discord.ui.View(timeout=None)
    for score in range(1, 6):
        view.add_item(FeedbackButton(prompt.meeting_id, score))
    view.add_item(FeedbackLineButton(prompt.meeting_id))
    return OutgoingMessage(embeds=[embed], view=view)


def feedback_reply(saved: FeedbackSaved) -> str:
    line = f" and your line: “{inert(saved.line, 300)}”" if saved.line else ""
    if saved.previous is None:
        return f"Thank you: noted **{saved.score}**{line}. Only the facilitators see it."
    return (f"Replaced your earlier answer (**{saved.previous}**) with **{saved.score}**{line}: "
            "one answer per member counts.")


class FeedbackButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"feedback:score:(?P<meeting_id>[0-9]+):(?P<score>[0-9]+)",
):
    def __init__(self, meeting_id: int, score: int) -> None:
        super().__init__(discord.ui.Button(label=str(score), style=discord.ButtonStyle.secondary,
                                           custom_id=f"feedback:score:{meeting_id}:{score}"))
        self.meeting_id, self.score = meeting_id, score

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> FeedbackButton:
        return cls(int(match["meeting_id"]), int(match["score"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        saved = await interaction.client.services.get(AttendanceService).give_feedback(
            user_id=interaction.user.id, meeting_id=self.meeting_id, score=self.score, keep_line=True)
        await respond(interaction, feedback_reply(saved))


class FeedbackLineButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"feedback:line:(?P<meeting_id>[0-9]+)",
):
    def __init__(self, meeting_id: int) -> None:
        super().__init__(discord.ui.Button(label="Add a line", style=discord.ButtonStyle.primary, emoji="📝",
                                           custom_id=f"feedback:line:{meeting_id}"))
        self.meeting_id = meeting_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> FeedbackLineButton:
        return cls(int(match["meeting_id"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        await interaction.response.send_modal(FeedbackModal(self.meeting_id))


class FeedbackModal(Modal):
    def __init__(self, meeting_id: int) -> None:
        super().__init__(title="How was the meeting?", custom_id=f"feedback:modal:{meeting_id}")
        self.meeting_id = meeting_id
        self.score: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(
            label="Score, 1 to 5", max_length=2, placeholder="5")
        self.line: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(
            label=FEEDBACK_QUESTION, style=discord.TextStyle.paragraph, required=False,
            max_length=MAX_FEEDBACK_LINE)
        self.add_item(self.score)
        self.add_item(self.line)

    async def on_submit(self, interaction: discord.Interaction[RoundtableBot]) -> None:  # type: ignore[override]
        saved = await interaction.client.services.get(AttendanceService).give_feedback(
            user_id=interaction.user.id, meeting_id=self.meeting_id, score=self.score.value, line=self.line.value)
        await respond(interaction, feedback_reply(saved))


def trend_pages(trend: Trend) -> list[discord.Embed]:
    """The facilitator's view: the average per meeting, then the lines without names."""
    if not trend.meetings:
        lines = ["No feedback yet: members are asked by DM after each meeting."]
    else:
        lines = [f"**{m.label}** ({ts(m.starts_at, Style.SHORT_DATE)}): average **{m.average:.1f}** of 5 "
                 f"from {plural(m.answers, 'answer')}" for m in trend.meetings]
        for m in trend.meetings:
            if m.lines:
                lines.append(f"\n__What would make next month better ({m.label})__")
                lines.extend(f"• {inert(text, 300)}" for text in m.lines)
        lines.append("\n-# Lines are shown without names, in alphabetical order; members never see each other's answers.")
    return embed_pages(f"Meeting feedback — {trend.group_name}", join_lines(lines, PAGE_LINES_CHARS))


def rates_pages(rates: RatesShown) -> list[discord.Embed]:
    """Attendance rates: the group's, then each member's (a facilitator) or the reader's own."""
    if not rates.meetings:
        lines = ["No attendance taken yet: it's taken at each meeting (**Take attendance** in the channel)."]
    else:
        group = "—" if rates.rate is None else f"{rates.rate:.0%}"
        lines = [f"**Group: {group}** over {plural(rates.meetings, 'meeting')} with attendance taken", ""]
        for m in rates.members:
            rate = "—" if m.rate is None else f"{m.rate:.0%}"
            lines.append(f"<@{m.user_id}> — **{rate}**: present {m.present} of {m.counted}"
                         + (f", {plural(m.apologies, 'apology', 'apologies')}" if m.apologies else ""))
        if not rates.members:
            lines.append("You have no attendance marked yet.")
        if not rates.everyone:
            lines.append("\n-# Each member's rate is for the facilitators; you see the group's and your own.")
        lines.append("-# A member counts the meetings held while she was in the group.")
    return embed_pages(f"Attendance rates — {rates.group_name}", join_lines(lines, PAGE_LINES_CHARS))


class AttendanceCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    _ITEMS = (TakeAttendanceButton, AttendanceSelect, SheetPageButton, SaveSheetButton, FeedbackButton,
              FeedbackLineButton)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*self._ITEMS)
        self.bot.notifications.register(ATTENDANCE_PROMPT, self.render_attendance_prompt)
        self.bot.notifications.register(FEEDBACK_DM, self.render_feedback_dm)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*self._ITEMS)
        self.bot.notifications.unregister(ATTENDANCE_PROMPT)
        self.bot.notifications.unregister(FEEDBACK_DM)

    async def render_attendance_prompt(self, note: Notification) -> Rendered:
        meeting = await self.bot.services.meetings.get(note.meeting_id) if note.meeting_id else None
        if meeting is None:
            return Rendered.skip("meeting deleted")
        if meeting.status == MeetingStatus.CANCELLED:
            return Rendered.skip("meeting cancelled")
        view = discord.ui.View(timeout=None)
        view.add_item(TakeAttendanceButton(meeting.id))
        who = ("Facilitators" if meeting.substitute_id is None
               else f"<@{meeting.substitute_id}> (facilitating this one) or a facilitator")
        return Rendered(OutgoingMessage(
            content=(f"🗒️ The **{inert(meeting.group_name, 80)}** meeting of {ts(meeting.starts_at, Style.FULL)} has"
                     f" started. {who}: **Take attendance** (pre-filled from the RSVPs; it opens privately"
                     " for you)."),
            view=view,
        ))

    async def render_feedback_dm(self, note: Notification) -> Rendered:
        if note.meeting_id is None:
            return Rendered.skip("no meeting")
        prompt = await self.bot.services.get(AttendanceService).feedback_prompt(meeting_id=note.meeting_id,
                                                                    user_id=note.recipient_id)
        if prompt is None:
            return Rendered.skip("not theirs to answer any more (missed the meeting, left, or the window closed)")
        fallback = OutgoingMessage(
            content=f"<@{note.recipient_id}>, how was the meeting? I couldn't DM you the one-question feedback: "
                    "open your DMs with me to answer next time.",
            allowed_mentions=mention_only(note.recipient_id),
        )
        return Rendered(message=feedback_message(prompt), fallback=fallback)


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(AttendanceCog(bot))
