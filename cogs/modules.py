"""``/module …`` and ``/checkin``: the group's year of modules and members' check-ins.

Also renders the scheduled notifications of the modules feature: ``module_prompt`` (the cycle's
module in the group channel, with a "Check in" button), ``checkin_nudge`` (a DM to each member
without a check-in) and ``checkin_digest`` (the shared check-ins at meeting time).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import RoundtableBot
from bot.curriculum import MAX_FILE_BYTES, ModuleSpec, file_format
from bot.errors import InvalidInput
from bot.services.modules import (
    CHECKIN_FIELD_MAX,
    CheckInEntry,
    CheckInForm,
    Digest,
    Progress,
    SavedCheckIn,
)
from bot.services.modules_feature import CHECKIN_DIGEST, CHECKIN_NUDGE, MODULE_PROMPT
from bot.ui.actor import actor_from
from bot.ui.base import Modal, RendersErrors
from bot.ui.dm import mention_only
from bot.ui.notify import Notification, OutgoingMessage, Rendered, Renderer
from bot.ui.options import BoundedInt, GroupOption
from bot.ui.pages import (
    FIELD_VALUE,
    PageButton,
    PageLinks,
    ShownPage,
    field_pages,
    join_lines,
    page_links,
    respond_pages,
)
from bot.ui.reply import defer, respond
from bot.ui.snooze import add_remind_later
from bot.ui.text import inert
from bot.ui.time import Style, ts, ts_with_relative
from bot.ui.words import plural
from bot.waking import unsociable_note
from cogs.goals import with_log_kpis

log = logging.getLogger(__name__)

COLOUR = discord.Colour.teal()
KIND_ICONS = {"read": "📖", "watch": "🎬", "listen": "🎧"}
CHECKIN_LABELS = {
    "consumed": "What I read, watched or listened to",
    "activities": "What I did of the activities",
    "learning": "My key learning",
    "application": "How I'll apply it",
}


def add_chunked_field(embed: discord.Embed, name: str, lines: Sequence[str]) -> None:
    for index, value in enumerate(join_lines(lines, FIELD_VALUE)):
        embed.add_field(name=name if index == 0 else f"{name} (continued)", value=value, inline=False)


def module_embed(
    module: ModuleSpec, *, total: int, group_name: str, meeting_at: datetime | None, heading: str = "Module"
) -> discord.Embed:
    """The module as an embed: summary, activities, resources as links, and the next meeting.

    The curriculum's limits (``bot.curriculum``) keep this under Discord's 6,000 characters.
    """
    embed = discord.Embed(
        title=f"{heading} {module.number} of {total}: {module.title}", description=module.summary, colour=COLOUR
    )
    if module.activities:
        add_chunked_field(embed, "Activities", [f"• {activity}" for activity in module.activities])
    if module.resources:
        add_chunked_field(
            embed,
            "Resources",
            [f"{KIND_ICONS[r.kind]} [{r.title.replace(']', ')')}]({r.url}) ({r.kind})" for r in module.resources],
        )
    embed.add_field(
        name="Next meeting",
        value=ts_with_relative(meeting_at) if meeting_at is not None else "not set yet — facilitators, `/meeting schedule`",
        inline=False,
    )
    embed.set_footer(text=group_name)
    return embed


def checkin_fields(entry: CheckInEntry, *, with_member: bool = True) -> list[tuple[str, str]]:
    """(name, value) pairs for one check-in, each answer under its question; with the member first
    (a mention that pings nobody), so the answers read under their name.

    Member text is made inert (markdown shown as typed); escapes can only push an answer past a field's
    1,024 characters when it is mostly markdown characters, and then it ends in "…"."""
    fields: list[tuple[str, str]] = []
    for name, label in CHECKIN_LABELS.items():
        text = getattr(entry, name)
        if text:
            fields.append((label, inert(text, FIELD_VALUE)))
    if with_member and fields:
        fields.insert(0, ("Check-in by", f"<@{entry.user_id}>"))
    return fields


def checkin_embed(entry: CheckInEntry, group_name: str) -> discord.Embed:
    embed = discord.Embed(
        title=f"Check-in: module {entry.module_number}, {entry.module_title}",
        description=f"<@{entry.user_id}> checked in.",
        colour=COLOUR,
    )
    for name, value in checkin_fields(entry, with_member=False):
        embed.add_field(name=name, value=value, inline=False)
    embed.set_footer(text=group_name)
    return embed


def checkin_pages(title: str, entries: Sequence[CheckInEntry], *, footer: str, empty: str) -> list[discord.Embed]:
    """Check-ins as pages of fields, each page within one message's limits; nothing is cut."""
    return field_pages(title, [checkin_fields(entry) for entry in entries], footer=footer, empty=empty, colour=COLOUR)


# --- the check-in button and modal -----------------------------------------------------------------


class CheckInButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"checkin:open:(?P<group>[0-9]+)",
):
    """"Check in" on the module prompt and the nudge DM: opens the check-in modal (works after a restart)."""

    def __init__(self, group_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Check in", style=discord.ButtonStyle.primary, emoji="📝", custom_id=f"checkin:open:{group_id}"
            )
        )
        self.group_id = group_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> CheckInButton:
        return cls(int(match["group"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        form = await interaction.client.services.modules.checkin_form_for(
            group_id=self.group_id, user_id=interaction.user.id
        )
        await interaction.response.send_modal(CheckInModal(form))


def checkin_view(group_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(CheckInButton(group_id))
    return view


class CheckInModal(Modal):
    """The four check-in questions (each optional, at least one) and who may see the answers."""

    def __init__(self, form: CheckInForm) -> None:
        title = f"Check in: module {form.module.number}"
        super().__init__(title=title[:45], custom_id=f"checkin:modal:{form.group.id}", timeout=900)
        self.group_id = form.group.id
        existing = form.existing
        self.inputs: dict[str, discord.ui.TextInput[CheckInModal]] = {}
        hints = {
            "consumed": "The summary, a resource, a book…",
            "activities": "Which activities, and how far you got",
            "learning": "The one thing you'll remember",
            "application": "What you'll do differently in the business",
        }
        for name, label in CHECKIN_LABELS.items():
            text_input: discord.ui.TextInput[CheckInModal] = discord.ui.TextInput(
                style=discord.TextStyle.paragraph,
                required=False,
                max_length=CHECKIN_FIELD_MAX,
                default=getattr(existing, name) if existing else None,
                placeholder=hints[name],
                custom_id=f"checkin:{name}",
            )
            self.inputs[name] = text_input
            self.add_item(discord.ui.Label(text=label, component=text_input))
        current = existing.visibility if existing else "group"
        self.visibility: discord.ui.Select[CheckInModal] = discord.ui.Select(
            custom_id="checkin:visibility",
            required=False,
            options=[
                discord.SelectOption(
                    label="The group", value="group", description="Posted in the group channel",
                    default=current == "group",
                ),
                discord.SelectOption(
                    label="The facilitators only", value="facilitator",
                    description="Only facilitators see it, in /module progress", default=current == "facilitator",
                ),
            ],
        )
        self.current_visibility = current
        self.add_item(discord.ui.Label(text="Share with", component=self.visibility))

    async def on_submit(self, interaction: discord.Interaction[RoundtableBot]) -> None:  # type: ignore[override]
        await defer(interaction)
        visibility = self.visibility.values[0] if self.visibility.values else self.current_visibility
        saved = await interaction.client.services.modules.save_checkin(
            group_id=self.group_id,
            user_id=interaction.user.id,
            visibility=visibility,
            **{name: text_input.value for name, text_input in self.inputs.items()},
        )
        posted = await post_checkin(interaction.client, saved)
        await respond(interaction, checkin_saved_text(saved, posted))


def checkin_saved_text(saved: SavedCheckIn, posted: bool | None) -> str:
    verb = "saved" if saved.created else "updated"
    text = f"Your check-in for **module {saved.entry.module_number}, {saved.entry.module_title}** is {verb}."
    if saved.entry.visibility == "group":
        text += " It's posted in the group channel." if posted else (
            " I couldn't post it in the group channel, but it's saved and will be in the meeting's digest."
        )
    else:
        text += " Only the facilitators can see it."
    if saved.next_meeting_at is not None:
        text += f" You can edit it until the meeting, {ts(saved.next_meeting_at, Style.RELATIVE)}, with `/checkin`."
    return text


async def post_checkin(bot: RoundtableBot, saved: SavedCheckIn) -> bool | None:
    """Post (or edit, or remove) the shared check-in in the group channel. None: nothing to post."""
    channel = bot.get_channel(saved.group.channel_id)
    if not isinstance(channel, discord.abc.Messageable):
        try:
            fetched = await bot.fetch_channel(saved.group.channel_id)
        except discord.HTTPException:
            return False
        if not isinstance(fetched, discord.abc.Messageable):
            return False
        channel = fetched
    previous = saved.previous_message_id
    try:
        if saved.entry.visibility != "group":
            if previous is not None:
                await channel.get_partial_message(previous).delete()
            return None
        embed = checkin_embed(saved.entry, saved.group.name)
        message_id: int | None = None
        if previous is not None:
            try:
                await channel.get_partial_message(previous).edit(embed=embed)
                message_id = previous
            except discord.NotFound:
                message_id = None
        if message_id is None:
            message = await channel.send(embed=embed)
            message_id = message.id
    except discord.NotFound:
        return None
    except discord.HTTPException as error:
        log.info("Couldn't post check-in %s in channel %s: %s", saved.entry.id, saved.group.channel_id, error)
        return False
    if message_id != previous:
        await bot.services.modules.record_checkin_message(checkin_id=saved.entry.id, message_id=message_id)
    return True


# --- pages -------------------------------------------------------------------------------------


class DigestPageButton(
    PageButton,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"checkin:digest:(?P<group>[0-9]+):(?P<meeting>[0-9]+):(?P<page>[0-9]+)",
):
    """A page of the meeting's digest beyond the first, shown privately to the member who asks."""

    def __init__(self, group_id: int, meeting_id: int, page: int, *, label: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or f"Page {page + 1}",
                style=discord.ButtonStyle.secondary,
                custom_id=f"checkin:digest:{group_id}:{meeting_id}:{page}",
            )
        )
        self.group_id, self.meeting_id, self.page = group_id, meeting_id, page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> DigestPageButton:
        return cls(int(match["group"]), int(match["meeting"]), int(match["page"]))

    async def load_page(self, interaction: discord.Interaction[RoundtableBot]) -> ShownPage:
        digest = await interaction.client.services.modules.digest_for(
            group_id=self.group_id, meeting_id=self.meeting_id, user_id=interaction.user.id
        )
        pages = digest_pages(digest)
        page = min(self.page, len(pages) - 1)
        return ShownPage(pages[page], digest_view(digest.group.id, self.meeting_id, page, len(pages), first=False))


def digest_pages(digest: Digest) -> list[discord.Embed]:
    title = f"What we learned: module {digest.module_number}, {digest.module_title}"[:256]
    footer = digest.group.name
    if digest.private_count:
        footer += f" · {plural(digest.private_count, 'more check-in')} shared with the facilitators only"
    return checkin_pages(title, digest.shared, footer=footer, empty="")


def digest_view(group_id: int, meeting_id: int, page: int, total: int, *, first: bool) -> discord.ui.View | None:
    """The channel message links to page 2; a private page links to its neighbours."""
    if total <= 1:
        return None
    if first:
        view = discord.ui.View(timeout=None)
        view.add_item(DigestPageButton(group_id, meeting_id, 1, label=f"More ({plural(total - 1, 'more page')})"))
        return view

    def button(n: int, label: str, _disabled: bool) -> DigestPageButton:
        return DigestPageButton(group_id, meeting_id, n, label=label)

    return page_links(button, page, total, PageLinks.NEIGHBOURS)


def progress_pages(progress: Progress) -> list[discord.Embed]:
    module = progress.module
    overview = discord.Embed(title=f"Progress: module {module.number}, {module.title}"[:256], colour=COLOUR)
    done = sum(member.checked_in for member in progress.members)
    lines = [f"**{done} of {len(progress.members)}** members have checked in for this module."]
    if progress.next_meeting_at is not None:
        lines.append(f"Next meeting {ts_with_relative(progress.next_meeting_at)}.")
    lines.append("")
    for member in progress.members:
        mark = "✅" if member.checked_in else "⬜"
        year = member.modules_checked_in
        history = f"{plural(len(year), 'check-in')} this year (modules {', '.join(map(str, year))})" if year else "no check-ins yet"
        lines.append(f"{mark} <@{member.user_id}> · {history}")
    pages: list[discord.Embed] = []
    for chunk in join_lines(lines, 4000):  # a page per 4,000 characters of members
        page = overview.copy() if pages else overview
        page.description = chunk
        page.set_footer(text=progress.group.name)
        pages.append(page)
    if progress.visible:
        pages += checkin_pages(
            f"Check-ins so far: module {module.number}"[:256], progress.visible,
            footer=progress.group.name, empty="",
        )
    return pages


# --- the cog ---------------------------------------------------------------------------------------


class ModulesCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    module = app_commands.Group(name="module", description="Your group's year of monthly modules", guild_only=True)

    def _renderers(self) -> dict[str, Renderer]:
        return {
            MODULE_PROMPT: self.render_module_prompt,
            CHECKIN_NUDGE: self.render_checkin_nudge,
            CHECKIN_DIGEST: self.render_checkin_digest,
        }

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(CheckInButton, DigestPageButton)
        self.bot.notifications.register_all(self._renderers())

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(CheckInButton, DigestPageButton)
        self.bot.notifications.unregister_all(self._renderers())

    # --- commands --------------------------------------------------------------------------------

    @module.command(name="current", description="This cycle's module: summary, activities and resources")
    @app_commands.describe(group="The group (default: this channel's, or your only group)")
    async def module_current(self, interaction: discord.Interaction, group: GroupOption = None) -> None:
        current = await self.bot.services.modules.current(actor_from(interaction), group_id=group)
        embed = module_embed(
            current.module, total=current.total, group_name=current.group.name, meeting_at=current.next_meeting_at
        )
        await respond(interaction, embed=embed)

    @module.command(name="list", description="The group's modules for the year")
    @app_commands.describe(group="The group (default: this channel's, or your only group)")
    async def module_list(self, interaction: discord.Interaction, group: GroupOption = None) -> None:
        view = await self.bot.services.modules.list_modules(actor_from(interaction), group_id=group)
        lines = [
            f"{'▶️ ' if m.number == view.current_number else ''}**{m.number}.** {m.title}"
            + (" · *current*" if m.number == view.current_number else "")
            for m in view.modules
        ]
        embed = discord.Embed(title=f"{view.group.name}: the year's modules"[:256], colour=COLOUR)
        embed.description = "\n".join(lines)  # 24 modules × ~130 characters: well within 4,096
        embed.set_footer(text="/module current shows this cycle's module · /module export downloads them all")
        await respond(interaction, embed=embed)

    @module.command(name="set", description="Choose the group's current module (facilitators)")
    @app_commands.describe(number="The module's number (see /module list)", group="The group")
    async def module_set(
        self, interaction: discord.Interaction, number: app_commands.Transform[int, BoundedInt(1, 24, what="module number")], group: GroupOption = None
    ) -> None:
        current = await self.bot.services.modules.set_current(actor_from(interaction), number=number, group_id=group)
        await respond(
            interaction,
            f"**{current.group.name}**'s current module is now **{current.module.number}. {current.module.title}**.",
        )

    @module.command(name="import", description="Replace or extend the group's curriculum from a YAML or Markdown file")
    @app_commands.describe(
        file="A .yaml, .yml or .md file (format: docs/CURRICULUM.md), at most 256 KB",
        mode="replace the year (default), or append the file's modules after the last one",
        group="The group",
    )
    async def module_import(
        self,
        interaction: discord.Interaction,
        file: discord.Attachment,
        mode: Literal["replace", "append"] = "replace",
        group: GroupOption = None,
    ) -> None:
        actor = actor_from(interaction)
        file_format(file.filename)  # refuses other file types before downloading anything
        if file.size > MAX_FILE_BYTES:
            raise InvalidInput(f"`{file.filename[:80]}` is larger than {MAX_FILE_BYTES // 1024} KB.")
        await defer(interaction)
        data = await file.read()
        result = await self.bot.services.modules.import_curriculum(
            actor, data=data, filename=file.filename, mode=mode, group_id=group
        )
        imported = len(result.imported)
        modules = "module" if imported == 1 else "modules"
        if mode == "append":
            first, last = result.imported[0].number, result.imported[-1].number
            done = f"Added {imported} {modules} (numbered {first}–{last})" if imported > 1 else f"Added module {first}"
        else:
            done = f"Replaced the curriculum with {imported} {modules}"
        await respond(
            interaction,
            f"{done} for **{result.group.name}**: {result.total} in all. "
            f"The current module is {result.current_number}.",
        )

    @module.command(name="export", description="Download the group's curriculum as YAML")
    @app_commands.describe(group="The group")
    async def module_export(self, interaction: discord.Interaction, group: GroupOption = None) -> None:
        await defer(interaction)  # a whole curriculum as YAML
        export = await self.bot.services.modules.export(actor_from(interaction), group_id=group)
        file = discord.File(io.BytesIO(export.text.encode("utf-8")), filename=export.filename)
        await respond(
            interaction, f"**{export.group.name}**'s curriculum. Edit it and bring it back with `/module import`.",
            file=file,
        )

    @module.command(name="progress", description="Who has checked in for this module, and each member's year")
    @app_commands.describe(group="The group")
    async def module_progress(self, interaction: discord.Interaction, group: GroupOption = None) -> None:
        progress = await self.bot.services.modules.progress(actor_from(interaction), group_id=group)
        await respond_pages(interaction, progress_pages(progress))

    @app_commands.command(name="checkin", description="Check in on this cycle's module (or edit your check-in)")
    @app_commands.guild_only()
    @app_commands.describe(group="The group (default: this channel's, or your only group)")
    async def checkin(self, interaction: discord.Interaction, group: GroupOption = None) -> None:
        form = await self.bot.services.modules.checkin_form(actor_from(interaction), group_id=group)
        await interaction.response.send_modal(CheckInModal(form))

    # --- notifications -------------------------------------------------------------------------

    async def render_module_prompt(self, note: Notification) -> Rendered:
        prompt = await self.bot.services.modules.prompt(group_id=note.group_id, meeting_id=note.meeting_id)
        if prompt is None:
            return Rendered.skip("the group is gone or archived")
        embed = module_embed(
            prompt.module, total=prompt.total, group_name=prompt.group.name, meeting_at=prompt.meeting_at
        )
        content = (
            f"📚 This cycle's module for **{prompt.group.name}**. Read it, try the activities, "
            "and check in before the meeting."
        )
        view = await with_log_kpis(self.bot, checkin_view(prompt.group.id), guild_id=note.guild_id, group_id=note.group_id)
        return Rendered(message=OutgoingMessage(content=content, embeds=[embed], view=view))

    async def render_checkin_nudge(self, note: Notification) -> Rendered:
        if note.meeting_id is None:
            return Rendered.skip("no meeting")
        nudge = await self.bot.services.modules.nudge(
            group_id=note.group_id, meeting_id=note.meeting_id, user_id=note.recipient_id
        )
        if nudge is None:
            return Rendered.skip("the meeting, group or membership is gone")
        if nudge.checked_in:
            return Rendered.skip("already checked in")
        module = nudge.module
        night = unsociable_note(nudge.meeting_at, nudge.own_zone)
        text = (
            f"**{nudge.group.name}** meets {ts_with_relative(nudge.meeting_at)}. {night + ' ' if night else ''}"
            f"How did module **{module.number}, {module.title}** go? Check in so the group can hear what you learned."
        )
        fallback = OutgoingMessage(
            content=f"<@{note.recipient_id}>, {text} (Use the button or `/checkin`.)",
            view=checkin_view(nudge.group.id),
            allowed_mentions=mention_only(note.recipient_id),
        )
        view = add_remind_later(checkin_view(nudge.group.id), kind=CHECKIN_NUDGE, group_id=nudge.group.id,
                                meeting_id=note.meeting_id)
        return Rendered(message=OutgoingMessage(content=text, view=view), fallback=fallback)

    async def render_checkin_digest(self, note: Notification) -> Rendered:
        if note.meeting_id is None:
            return Rendered.skip("no meeting")
        digest = await self.bot.services.modules.digest(group_id=note.group_id, meeting_id=note.meeting_id)
        if digest is None:
            return Rendered.skip("the meeting or group is gone")
        if not digest.shared:
            return Rendered.skip("no shared check-ins this cycle")
        pages = digest_pages(digest)
        view = digest_view(digest.group.id, note.meeting_id, 0, len(pages), first=True)
        count = len(digest.shared)
        content = f"🧠 **What we learned** this cycle: {count} check-in{'s' if count != 1 else ''} shared with the group."
        return Rendered(message=OutgoingMessage(content=content, embeds=[pages[0]], view=view))


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(ModulesCog(bot))

