"""``/group …``: create a group, join and leave, members and facilitators, settings, archive, export, delete."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from datetime import UTC, datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import RoundtableBot
from bot.errors import InvalidInput
from bot.models import NoteSharing
from bot.services.groups import MAX_NAME_LENGTH, GroupInfo, InfoScope
from bot.services.help import Welcome
from bot.ui.actor import actor_from
from bot.ui.base import RendersErrors
from bot.ui.dm import send_to_member
from bot.ui.notify import OutgoingMessage
from bot.ui.options import (
    AnyGroupOption,
    BoundedInt,
    GroupOption,
    NumberListTransformer,
    TextTransformer,
    TimezoneOption,
)
from bot.ui.pages import PAGE_LINES_CHARS, embed_pages, join_lines, respond_pages
from bot.ui.privacy import channel_exposure, exposure_warning
from bot.ui.reply import defer, respond
from bot.ui.snooze import away_label
from bot.ui.time import ts_with_relative
from bot.ui.words import plural
from bot.waking import unsociable_note
from cogs.help import checklist_text
from cogs.meetings import rsvp_view
from cogs.modules import CheckInButton
from cogs.review import send_group_stats, send_review
from cogs.server import TimezoneButton

log = logging.getLogger(__name__)

NAMELESS = "A group needs a name (one with visible characters)."  # as the service says it


def _member_of_this_server(interaction: discord.Interaction, member: discord.Member | discord.User) -> discord.Member:
    if not isinstance(member, discord.Member) or member.guild.id != interaction.guild_id:
        raise InvalidInput(f"{member.mention} isn't a member of this server.")
    return member


BOARD_NOTES_CHOICES = [
    app_commands.Choice(name="the member chooses, per note", value=NoteSharing.MEMBER_CHOOSES.value),
    app_commands.Choice(name="always private", value=NoteSharing.PRIVATE.value),
]
BOARD_NOTES_LABELS = {
    NoteSharing.MEMBER_CHOOSES: "shown on the board only when their member chooses",
    NoteSharing.PRIVATE: "always private",
}


def group_level_embed(info: GroupInfo) -> discord.Embed:
    """``/group info`` for a server admin who isn't in the group: no member's data."""
    embed = discord.Embed(title=info.name + (" (archived)" if info.archived else ""), colour=discord.Colour.teal())
    embed.add_field(name="Channel", value=f"<#{info.channel_id}>")
    embed.add_field(name="Size", value=f"{info.member_count} of {info.max_members}")
    facilitators = ", ".join(f"<@{m.user_id}>" for m in info.members)
    embed.add_field(name="Facilitators", value=facilitators[:1024] or "—", inline=False)
    embed.set_footer(text="You're not in this group: what its members share stays with them.")
    return embed


def info_embed(info: GroupInfo) -> discord.Embed:
    if info.scope is InfoScope.GROUP_LEVEL:
        return group_level_embed(info)
    embed = discord.Embed(title=info.name + (" (archived)" if info.archived else ""), colour=discord.Colour.teal())
    embed.add_field(name="Channel", value=f"<#{info.channel_id}>")
    embed.add_field(name="Timezone", value=info.timezone)
    embed.add_field(name="Size", value=f"{len(info.members)} of {info.max_members}")
    members = ", ".join(f"<@{m.user_id}>" + (" ★" if m.is_facilitator else "")
                        + (f" ({away_label(m.away_until)})" if m.away_until is not None else "") for m in info.members)
    embed.add_field(name="Members (★ facilitator)", value=members[:1024] or "—", inline=False)
    if info.next_meeting is not None:
        when = info.next_meeting.starts_at
        sub = info.next_meeting.substitute_id
        embed.add_field(name="Next meeting", value=ts_with_relative(when)
                        + (f"\n<@{sub}> is facilitating this one." if sub is not None else ""), inline=False)
    else:
        embed.add_field(name="Next meeting", value="None planned (`/meeting recurring`)", inline=False)
    for line in info.lines:  # what the other features add (bot.features.Feature.info_lines)
        embed.add_field(name=line.name[:256], value=line.value[:1024])
    return embed


def welcome_embed(welcome: Welcome, *, member_count: int, max_members: int) -> discord.Embed:
    """The next meeting (in the reader's own time), the module, and the things to do now."""
    name = discord.utils.escape_markdown(welcome.group_name)
    embed = discord.Embed(
        title=f"Welcome to {welcome.group_name}"[:256],
        description=f"You're in (**{member_count}** of {max_members}). **{name}** meets in <#{welcome.channel_id}>.",
        colour=discord.Colour.blurple(),
    )
    if welcome.meeting is not None:
        when = f"{ts_with_relative(welcome.meeting.starts_at)}, in your own time"
        night = unsociable_note(welcome.meeting.starts_at, welcome.own_zone)
        if night:
            when += f". {night}"
    else:
        when = "Not set yet: a facilitator will schedule it (`/meeting next` shows it)."
    embed.add_field(name="Next meeting", value=when, inline=False)
    embed.add_field(name="This month's module",
                    value=f"{welcome.module_number}. {welcome.module_title}"[:1024] + " — `/module current`", inline=False)
    todo = []
    if not welcome.timezone_set:
        todo.append("Set your time zone, so reminders reach you at a sensible hour.")
    if welcome.meeting is not None:
        todo.append("Tell the group whether you're coming.")
    todo.append("Read the module and check in on it before the meeting.")
    embed.add_field(name="Now", value="\n".join(f"{n}. {line}" for n, line in enumerate(todo, start=1)), inline=False)
    return embed


def welcome_view(welcome: Welcome) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    if not welcome.timezone_set:
        view.add_item(TimezoneButton(welcome.guild_id))
    view.add_item(CheckInButton(welcome.group_id))
    if welcome.meeting is not None:
        for item in rsvp_view(welcome.meeting, reply=True).children:
            view.add_item(item)
    return view


class GroupDeleteConfirm(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"group:delete:(?P<group>[0-9]+):(?P<user>[0-9]+):(?P<at>[0-9]+)",
):
    """Confirm on ``/group delete``: only the facilitator who asked (``user``), within 10 minutes
    (``GroupDataService.delete`` checks both, so a restart changes nothing)."""

    def __init__(self, group_id: int, user_id: int, asked_at: datetime) -> None:
        super().__init__(
            discord.ui.Button(
                label="Delete the group", style=discord.ButtonStyle.danger,
                custom_id=f"group:delete:{group_id}:{user_id}:{int(asked_at.timestamp())}",
            )
        )
        self.group_id, self.user_id, self.asked_at = group_id, user_id, asked_at

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> GroupDeleteConfirm:
        return cls(int(match["group"]), int(match["user"]), datetime.fromtimestamp(int(match["at"]), UTC))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        done = await interaction.client.services.groupdata.delete(
            actor_from(interaction), group_id=self.group_id, asked_by=self.user_id, asked_at=self.asked_at,
        )
        await interaction.response.edit_message(
            content=f"**{done.name}** is deleted with all its data; "
                    f"{plural(done.notifications_cancelled, 'scheduled notification')} cancelled. "
                    "Its channel is left as it is.",
            view=None,
        )


async def member_names(guild: discord.Guild | None, user_ids: list[int]) -> dict[int, str]:
    """The display names of the members still in the server (the export names the others "a former member")."""
    names: dict[int, str] = {}
    if guild is None:
        return names
    for user_id in user_ids:
        member = guild.get_member(user_id)
        if member is None:
            try:
                member = await guild.fetch_member(user_id)
            except discord.HTTPException:
                continue
        names[user_id] = member.display_name
    return names


class GroupsCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(GroupDeleteConfirm)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(GroupDeleteConfirm)

    group = app_commands.Group(name="group", description="Peer groups in this server", guild_only=True)

    @group.command(name="create", description="Create a group bound to a channel (Manage Server or the facilitator role)")
    @app_commands.describe(name="The group's name", channel="Its channel (default: this one)",
                           timezone="The group's timezone (default: the server's)",
                           max_members="Most members it takes, 2–12 (default 8)",
                           announce_commitments="Announce new commitments in the channel (default: no)",
                           board_notes="Report-back notes on the board (default: the member chooses, per note)")
    @app_commands.choices(board_notes=BOARD_NOTES_CHOICES)
    async def group_create(self, interaction: discord.Interaction, name: app_commands.Transform[str, TextTransformer(MAX_NAME_LENGTH, what="group name", empty=NAMELESS)],
                           channel: discord.TextChannel | None = None,
                           timezone: TimezoneOption | None = None,
                           max_members: app_commands.Transform[int, BoundedInt(2, 12, what="group size")] = 8,
                           announce_commitments: bool = False,
                           board_notes: app_commands.Choice[str] | None = None) -> None:
        actor = actor_from(interaction)
        target = channel if channel is not None else interaction.channel
        if not isinstance(target, discord.TextChannel) or target.guild.id != interaction.guild_id:
            raise InvalidInput("A group lives in a text channel of this server: use this in one, or pick `channel`.")
        notes = NoteSharing(board_notes.value) if board_notes is not None else NoteSharing.MEMBER_CHOOSES
        info = await self.bot.services.groups.create(actor, name=name, channel_id=target.id, timezone=timezone,
                                                     max_members=max_members,
                                                     announce_commitments=announce_commitments, board_notes=notes)
        await respond(
            interaction,
            f"Created **{info.name}** in <#{info.channel_id}> ({info.timezone}). <@{actor.user_id}> is its "
            "facilitator; members join with `/group join`.",
            ephemeral=False,
        )
        # The facilitator's own first-run checklist; `/help` shows it, ticked off, until it's done.
        steps = await self.bot.services.help.checklist(actor, group_id=info.id)
        text = (f"**Setting up {info.name}**\n{checklist_text(steps)}\n"
                "-# `/help` shows this list, ticked off as you go, until it's done.")
        # Private by default: the facilitator is told, in this private reply, if the channel is readable
        # beyond the group.
        cached = target.guild.get_channel(target.id)
        exposure = channel_exposure(cached if cached is not None else target, {m.user_id for m in info.members})
        if exposure.exposed:
            text = exposure_warning(exposure, group_name=info.name, channel_id=info.channel_id) + "\n\n" + text
        await respond(interaction, text)

    @group.command(name="join", description="Join a group in this server")
    @app_commands.describe(group="The group to join")
    async def group_join(self, interaction: discord.Interaction, group: AnyGroupOption) -> None:
        actor = actor_from(interaction)
        change = await self.bot.services.groups.join(actor, group_id=group)
        welcome = await self.bot.services.help.welcome(actor, group_id=change.group_id)
        embed = welcome_embed(welcome, member_count=change.member_count, max_members=change.max_members)
        await respond(interaction, embed=embed, view=welcome_view(welcome))
        # The same welcome by DM, to keep once the private reply is gone (best effort: DMs may be closed).
        await send_to_member(self.bot, interaction.user.id, OutgoingMessage(embeds=[embed], view=welcome_view(welcome)))

    @group.command(name="leave", description="Leave a group")
    @app_commands.describe(group="Which group (default: this channel's)")
    async def group_leave(self, interaction: discord.Interaction, group: GroupOption = None) -> None:
        change = await self.bot.services.groups.leave(actor_from(interaction), group_id=group)
        await respond(interaction, f"You've left **{change.group_name}**.")

    @group.command(name="add", description="Add a member to the group (facilitator)")
    @app_commands.describe(member="Who to add", group="Which group (default: this channel's)")
    async def group_add(self, interaction: discord.Interaction, member: discord.Member,
                        group: GroupOption = None) -> None:
        member = _member_of_this_server(interaction, member)
        change = await self.bot.services.groups.add_member(actor_from(interaction), member_id=member.id,
                                                           group_id=group, member_is_bot=member.bot)
        await respond(interaction, f"Added <@{member.id}> to **{change.group_name}** "
                                   f"({change.member_count} of {change.max_members}).")

    @group.command(name="remove", description="Remove a member from the group (facilitator)")
    @app_commands.describe(member="Who to remove", group="Which group (default: this channel's)")
    async def group_remove(self, interaction: discord.Interaction, member: discord.User,
                           group: GroupOption = None) -> None:
        change = await self.bot.services.groups.remove_member(actor_from(interaction), member_id=member.id,
                                                              group_id=group)
        await respond(interaction, f"Removed <@{member.id}> from **{change.group_name}**.")

    @group.command(name="facilitator", description="Make a member a co-facilitator, or remove one (facilitator)")
    @app_commands.describe(member="Who", remove="Make them a member again (the group keeps a facilitator)",
                           group="Which group (default: this channel's)")
    async def group_facilitator(self, interaction: discord.Interaction, member: discord.Member,
                                remove: bool = False, group: GroupOption = None) -> None:
        member = _member_of_this_server(interaction, member)
        if remove:
            change = await self.bot.services.groups.remove_facilitator(actor_from(interaction), member_id=member.id,
                                                                       group_id=group)
            text = f"<@{member.id}> is no longer a facilitator of **{change.group_name}**."
        else:
            change = await self.bot.services.groups.make_facilitator(actor_from(interaction), member_id=member.id,
                                                                     group_id=group)
            text = f"<@{member.id}> is now a facilitator of **{change.group_name}**."
        # A change of who runs the group is announced once, in its channel; the reply says so.
        channel = self.bot.get_channel(change.channel_id)
        announced = False
        if isinstance(channel, discord.abc.Messageable):
            try:
                await channel.send(text)
                announced = True
            except discord.HTTPException as exc:
                log.info("Couldn't announce the facilitator change in %s: %s", change.channel_id, exc)
        await respond(interaction, f"{text} Announced in <#{change.channel_id}>." if announced else text)

    @group.command(name="info", description="Members, facilitators, timezone and the next meeting")
    @app_commands.describe(group="Which group (default: this channel's)")
    async def group_info(self, interaction: discord.Interaction, group: GroupOption = None) -> None:
        info = await self.bot.services.groups.info(actor_from(interaction), group_id=group)
        await respond(interaction, embed=info_embed(info))

    @group.command(name="stats", description="Completion, attendance and goals per meeting cycle, as a chart")
    @app_commands.describe(group="Which group (default: this channel's)")
    async def group_stats(self, interaction: discord.Interaction[RoundtableBot], group: GroupOption = None) -> None:
        await send_group_stats(interaction, group)

    @group.command(name="review", description="Your year in the group as an image: goals, KPIs, commitments, wins")
    @app_commands.describe(group="Which group (default: this channel's)")
    async def group_review(self, interaction: discord.Interaction[RoundtableBot], group: GroupOption = None) -> None:
        await send_review(interaction, group)

    @group.command(name="list", description="The groups in this server")
    @app_commands.describe(archived="List archived groups instead")
    async def group_list(self, interaction: discord.Interaction, archived: bool = False) -> None:
        groups = await self.bot.services.groups.list_groups(actor_from(interaction), archived=archived)
        if not groups:
            await respond(interaction, "No archived groups." if archived else
                          "No groups yet: someone with Manage Server or the facilitator role can `/group create` one.")
            return
        lines = [f"**{g.name}** — <#{g.channel_id}> · {g.member_count}/{g.max_members} members · {g.timezone}"
                 for g in groups]
        title = "Archived groups" if archived else "Groups in this server"
        await respond_pages(interaction, embed_pages(title, join_lines(lines, PAGE_LINES_CHARS)))

    @group.command(name="settings", description="Timezone, reminder lead times, announcements (facilitator)")
    @app_commands.describe(
        timezone="The group's timezone (IANA name)",
        meeting_reminders="Hours before a meeting to remind the channel, comma-separated (default 168,24)",
        reportback_lead_hours="Hours before a meeting to DM each member their commitments (default 48)",
        checkin_nudge_lead_hours="Hours before a meeting to nudge for module check-ins (default 72)",
        announce_commitments="Announce new commitments in the channel",
        board_notes="Report-back notes on the board: the member chooses per note, or always private",
        pack_lead_hours="Hours before a meeting to post the meeting pack, replacing the 1-day reminder (24; 0: off)",
        discord_events="List the next meetings in the server's Events (needs Manage Events; default on)",
        event_channel="Voice or stage channel for the events of online meetings and meetings without a place",
        event_channel_clear="No event channel: every event is at the meeting's place",
        group="Which group (default: this channel's)",
    )
    @app_commands.choices(board_notes=BOARD_NOTES_CHOICES)
    async def group_settings(
        self,
        interaction: discord.Interaction,
        timezone: TimezoneOption | None = None,
        meeting_reminders: app_commands.Transform[list[int], NumberListTransformer(1, 672, most=4)] | None = None,
        reportback_lead_hours: app_commands.Transform[int, BoundedInt(1, 672, what="lead time")] | None = None,
        checkin_nudge_lead_hours: app_commands.Transform[int, BoundedInt(1, 672, what="lead time")] | None = None,
        announce_commitments: bool | None = None,
        board_notes: app_commands.Choice[str] | None = None,
        pack_lead_hours: app_commands.Transform[int, BoundedInt(0, 672, what="lead time")] | None = None,
        discord_events: bool | None = None,
        event_channel: discord.VoiceChannel | discord.StageChannel | None = None,
        event_channel_clear: bool = False,
        group: GroupOption = None,
    ) -> None:
        if event_channel is not None:
            may_host_events_in(event_channel)
        info = await self.bot.services.groups.update_settings(
            actor_from(interaction), group_id=group, timezone=timezone, meeting_reminder_hours=meeting_reminders,
            reportback_lead_hours=reportback_lead_hours, checkin_nudge_lead_hours=checkin_nudge_lead_hours,
            announce_commitments=announce_commitments, pack_lead_hours=pack_lead_hours, discord_events=discord_events,
            board_notes=NoteSharing(board_notes.value) if board_notes is not None else None,
            event_channel=(event_channel.id, isinstance(event_channel, discord.StageChannel))
            if event_channel is not None else None,
            event_channel_clear=event_channel_clear,
        )
        reminders = ", ".join(f"{h} h" for h in info.meeting_reminder_hours) or "none"
        await respond(
            interaction,
            f"**{info.name}** settings: timezone {info.timezone}; meeting reminders {reminders} before; "
            f"report-back DM {info.reportback_lead_hours} h before; check-in nudge {info.checkin_nudge_lead_hours} h "
            f"before; meeting pack {f'{info.pack_lead_hours} h before' if info.pack_lead_hours else 'off'}; "
            f"new commitments {'announced' if info.announce_commitments else 'not announced'}; "
            f"report-back notes {BOARD_NOTES_LABELS[NoteSharing(info.board_notes)]}.\n"
            + discord_events_line(info.discord_events, interaction.app_permissions.manage_events)
            + event_channel_line(info.event_channel_id, info.event_channel_stage),
        )

    @group.command(name="archive", description="Archive the group: every scheduled post stops, data is kept (facilitator)")
    @app_commands.describe(group="Which group (default: this channel's)")
    async def group_archive(self, interaction: discord.Interaction, group: GroupOption = None) -> None:
        info = await self.bot.services.groups.archive(actor_from(interaction), group_id=group)
        await respond(interaction, f"**{info.name}** is archived. Its history stays; `/group list archived:true` "
                                   "lists it.")

    @group.command(name="export", description="What the group shares, as Markdown and JSON files, sent to you privately (facilitator)")
    @app_commands.describe(group="Which group (default: this channel's)")
    async def group_export(self, interaction: discord.Interaction, group: GroupOption = None) -> None:
        await defer(interaction)
        export = await self.bot.services.groupdata.export(actor_from(interaction), group_id=group)
        names = await member_names(interaction.guild, export.member_ids())
        batches = await asyncio.to_thread(export.files, names, interaction.filesize_limit)
        for index, batch in enumerate(batches, 1):
            part = f" (part {index} of {len(batches)})" if len(batches) > 1 else ""
            await respond(
                interaction,
                f"What **{export.name}** shares{part}: members, meetings, commitments (notes only where shown on "
                "the board), wins, goals, KPIs as the group sees them, shared check-ins, brainstorms and minutes.",
                files=[discord.File(io.BytesIO(data), filename=name) for name, data in batch],
            )

    @group.command(name="delete", description="Delete the group and all its data; asks first (facilitator)")
    @app_commands.describe(group="Which group (default: this channel's)")
    async def group_delete(self, interaction: discord.Interaction, group: GroupOption = None) -> None:
        target = await self.bot.services.groupdata.ask_delete(actor_from(interaction), group_id=group)
        view = discord.ui.View(timeout=None)
        view.add_item(GroupDeleteConfirm(target.id, interaction.user.id, self.bot.clock.now()))
        await respond(
            interaction,
            f"This deletes **{target.name}** and everything in it: members, meetings, commitments, notes, check-ins, "
            "goals, KPIs, brainstorms and scheduled notifications. It can't be undone. Get a copy first with "
            "`/group export`. Confirm within 10 minutes:",
            view=view,
        )


def discord_events_line(enabled: bool, permitted: bool) -> str:
    """The Discord Events setting as ``/group settings`` shows it, with how to turn it on."""
    if not enabled:
        return "Discord Events: off (`discord_events:true` lists the next meetings in the server's Events)."
    if not permitted:
        return ("Discord Events: off — give Roundtable the Manage Events permission to list meetings in the "
                "server's Events.")
    return "Discord Events: on — the next meetings are listed in the server's Events."


def may_host_events_in(channel: discord.VoiceChannel | discord.StageChannel) -> None:
    """Refuse a channel Roundtable can't put events in (Discord would answer 403 at every sync)."""
    me = channel.guild.me
    mine = channel.permissions_for(me) if me is not None else discord.Permissions.none()
    need = {"View Channel": mine.view_channel, "Connect": mine.connect}
    if isinstance(channel, discord.StageChannel):  # (without Connect, Discord denies Manage Channels there too)
        need |= {"Manage Channels": mine.manage_channels, "Mute Members": mine.mute_members,
                 "Move Members": mine.move_members}
    missing = [name for name, ok in need.items() if not ok]
    if missing:
        raise InvalidInput(f"Roundtable can't list events in {channel.mention}: it needs {', '.join(missing)} "
                           "there. Give it that, or choose another channel.")


def event_channel_line(channel_id: int | None, stage: bool) -> str:
    """Where the events of online meetings (and meetings without a place) are, as ``/group settings`` shows it."""
    if channel_id is None:
        return (" Event channel: none — every event is at the meeting's place (`event_channel:` puts online "
                "meetings' events in a voice or stage channel).")
    return (f" Event channel: <#{channel_id}> ({'stage' if stage else 'voice'}) for online meetings and meetings "
            "without a place.")


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(GroupsCog(bot))
