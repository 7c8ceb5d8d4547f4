"""``/meeting …``: one-off meetings, the series, RSVPs, the agenda, and the meeting reminder."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import calendar
from bot.client import RoundtableBot
from bot.errors import InvalidInput
from bot.models import CommitmentStatus, MeetingStatus
from bot.places import MAX_ADDRESS, MAX_LINK, MAX_VENUE, Place, PlaceKind
from bot.services.agenda import ISSUE_MAX
from bot.services.attendance import AttendanceService
from bot.services.attendance_feature import MINUTES_DM
from bot.services.meetings import MeetingInfo, ordinal
from bot.services.meetings_feature import MEETING_PACK, MEETING_REMINDER, POST_MEETING
from bot.services.minutes import Minutes, Pack, Tally
from bot.services.waking import MemberLocalTime
from bot.ui.actor import actor_from
from bot.ui.base import RendersErrors
from bot.ui.dm import mention_only, send_to_member
from bot.ui.notify import Notification, OutgoingMessage, Rendered
from bot.ui.options import (
    BoundedInt,
    GroupOption,
    MeetingOption,
    RuleOption,
    TextTransformer,
    TimeOption,
    WhenOption,
)
from bot.ui.pages import PAGE_LINES_CHARS, embed_pages, fit_message, join_lines, respond_pages
from bot.ui.reply import respond
from bot.ui.text import inert
from bot.ui.time import Style, ts, ts_with_relative
from bot.ui.words import plural
from bot.waking import SOCIABLE_END, SOCIABLE_START, outside
from cogs.agenda import TYPED_MAX, agenda_embed
from cogs.attendance import member_names, rates_pages, sheet_message, trend_pages
from cogs.goals import with_log_kpis

log = logging.getLogger(__name__)

ANSWER_LABELS = {"going": "Going", "maybe": "Maybe", "no": "Can't make it"}
ANSWER_STYLES = {"going": discord.ButtonStyle.success, "maybe": discord.ButtonStyle.secondary,
                 "no": discord.ButtonStyle.danger}


def reminder_lead(hours: object) -> str:
    """Which reminder this is, so the week-ahead and the day-ahead ones read differently."""
    if not isinstance(hours, int) or hours <= 0:
        return "the meeting is coming up"
    if hours % 168 == 0:
        weeks = hours // 168
        return "one week to go" if weeks == 1 else f"{weeks} weeks to go"
    if hours % 24 == 0:
        days = hours // 24
        return "one day to go" if days == 1 else f"{days} days to go"
    return "one hour to go" if hours == 1 else f"{hours} hours to go"


def _mentions(user_ids: list[int]) -> str:
    text = ", ".join(f"<@{uid}>" for uid in user_ids)
    return text if len(text) <= 1024 else f"{len(user_ids)} members"


def local_times_text(local_times: list[MemberLocalTime], *, series: bool = False) -> str:
    """The meeting in each member's own zone (those who set one), flagging unsociable hours."""
    if not local_times:
        return ""
    head = "The next meeting for members who set a timezone:" if series else "For members who set a timezone:"
    lines = [head]
    for item in local_times:
        flag = f" ⚠️ outside {SOCIABLE_START:%H:%M}–{SOCIABLE_END:%H:%M}" if item.unsociable else ""
        if flag and series and not outside(item.local, item.timezone):
            flag += " on a later date of the three"
        lines.append(f"• <@{item.user_id}>: {item.local:%a %d %b %H:%M} ({item.timezone}){flag}")
    text = "\n".join(lines)
    return text if len(text) <= 1500 else text[:1499] + "…"


VenueOption = app_commands.Transform[str, TextTransformer(MAX_VENUE, what="venue")]
AddressOption = app_commands.Transform[str, TextTransformer(MAX_ADDRESS, what="address")]
LinkOption = app_commands.Transform[str, TextTransformer(MAX_LINK, what="link")]
PLACE_HELP = {"venue": "Where in person: the venue's name", "address": "The venue's address",
              "link": "The meeting link (online), or a map link (in person); https:// only",
              "online": "Online (needs link:) — default: online when only a link is given"}


def _href(url: str) -> str:
    """A checked http(s) link made safe inside a masked link's parentheses."""
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")


def place_text(place: Place) -> str:
    """The place for an embed: member text inert, links masked (and not unfurled)."""
    lines = [inert(place.venue, 100)] if place.venue else []
    if place.address:
        lines.append(inert(place.address, 200))
    if place.kind == PlaceKind.ONLINE:
        lines.insert(0, "Online")
        if place.link:
            lines.append(f"[Join the meeting](<{_href(place.link)}>)")
    elif place.link:
        lines.append(f"[Map](<{_href(place.link)}>)")
    return "\n".join(lines)


def substitute_line(user_id: int) -> str:
    """A member standing in for the facilitators at one meeting (``/meeting substitute``)."""
    return f"<@{user_id}> is facilitating this one."


def meeting_embed(meeting: MeetingInfo, *, title: str | None = None) -> discord.Embed:
    embed = discord.Embed(
        title=title or f"Next meeting — {meeting.group_name}",
        description=f"{ts_with_relative(meeting.starts_at)}\n"
        f"-# Shown in your own timezone; the group's is {meeting.timezone}.",
        colour=discord.Colour.blurple() if meeting.status == MeetingStatus.SCHEDULED else discord.Colour.dark_grey(),
    )
    if meeting.status != MeetingStatus.SCHEDULED:
        embed.add_field(name="Status", value=meeting.status.capitalize(), inline=False)
    if meeting.place:
        embed.add_field(name="Where", value=place_text(meeting.place), inline=False)
    if meeting.substitute_id is not None:
        embed.add_field(name="Facilitating", value=substitute_line(meeting.substitute_id), inline=False)
    for answer, label in ANSWER_LABELS.items():
        ids = meeting.answers.get(answer, [])
        embed.add_field(name=f"{label} ({len(ids)})", value=_mentions(ids) or "—", inline=True)
    embed.set_footer(text=meeting.label)
    return embed


def _status_words(status: str) -> str:
    try:
        found = CommitmentStatus(status)
    except ValueError:
        return status
    return "not reported yet" if found == CommitmentStatus.OPEN else found.label


def tally_text(tally: Tally) -> str:
    if not tally.total:
        return "No commitments were due at this meeting."
    parts = [f"{n} {_status_words(status)}" for status, n in sorted(tally.counts.items()) if n]
    rate = f" — completion {tally.completion}%" if tally.completion is not None else ""
    return f"{plural(tally.total, 'commitment')}: {', '.join(parts)}{rate}"


def _people(ids: tuple[int, ...]) -> str:
    return _mentions(list(ids)) or "—"


def pack_message(pack: Pack) -> OutgoingMessage:
    """The meeting pack: one message, within Discord's limits; pings only who hasn't answered."""
    agenda = pack.agenda
    where = f"\n**Where:** {place_text(pack.place).replace(chr(10), ' · ')}" if pack.place else ""
    embed = discord.Embed(
        title=f"Meeting pack — {agenda.label}"[:256],
        description=f"**When:** {ts_with_relative(agenda.starts_at)} (in your own time){where}",
        colour=discord.Colour.blurple(),
    )
    embed.add_field(name=f"Going ({len(agenda.going)})", value=_people(agenda.going), inline=True)
    embed.add_field(name=f"Maybe ({len(agenda.maybe)})", value=_people(agenda.maybe), inline=True)
    embed.add_field(name=f"Apologies ({len(agenda.apologies)})", value=_people(agenda.apologies), inline=True)
    embed.add_field(name=f"No answer ({len(agenda.no_answer)})", value=_people(agenda.no_answer), inline=False)
    lines = [f"{e.position}. <@{e.user_id}> — {inert(e.issue, 200)}" for e in agenda.entries]
    issues = join_lines(lines, 1000)
    embed.add_field(name="Hot seats", value=(issues[0] if issues else "No issue tabled yet — `/meeting table`."),
                    inline=False)
    if len(issues) > 1:
        embed.add_field(name="Hot seats (continued)", value=issues[1] if len(issues) == 2 else
                        f"{issues[1][:900]}\n… and more: `/meeting agenda`", inline=False)
    module = f"Module {pack.module_number}" + (f": {inert(pack.module_title, 100)}" if pack.module_title else "")
    embed.add_field(name="Module", value=f"{module} — {pack.checked_in} of {pack.members} checked in", inline=False)
    embed.add_field(name="Report-back so far", value=tally_text(pack.tally)[:1024], inline=False)
    embed.set_footer(text=f"The group's timezone is {agenda.timezone}.")
    waiting = list(agenda.no_answer)
    content = f"📋 The pack for **{inert(agenda.group_name, 80)}**'s meeting {ts(agenda.starts_at, Style.FULL)}."
    if waiting:
        pings = " ".join(f"<@{uid}>" for uid in waiting)
        content += f"\nStill to answer: {pings} — are you coming?"
    return OutgoingMessage(
        content=content[:2000], embeds=[embed],
        allowed_mentions=discord.AllowedMentions(everyone=False, roles=False,
                                                 users=[discord.Object(uid) for uid in waiting]),
    )


def commit_line(minutes: Minutes) -> str:
    if minutes.next_starts_at is None:
        return ("What will you commit to before the next meeting? — `/commit add`"
                " (no meeting is scheduled yet, so give a `due` date)")
    return f"What will you commit to before {ts(minutes.next_starts_at, Style.FULL)}? — `/commit add`"


def minutes_members(minutes: Minutes) -> list[int]:
    """Every member the minutes name (for the Markdown copy's names)."""
    ids = [s.owner_id for s in minutes.brainstorms if s.owner_id is not None]
    ids += [uid for uid, _ in minutes.new_commitments] + [uid for uid, _ in minutes.wins]
    if minutes.attendance is not None:
        ids += [*minutes.attendance.present, *minutes.attendance.apologies, *minutes.attendance.absent]
    return list(dict.fromkeys(ids))


def minutes_blocks(minutes: Minutes, *, markdown: bool = False,
                   names: dict[int, str] | None = None) -> list[tuple[str, list[str]]]:
    """The minutes as (heading, lines); Discord mentions and timestamps unless ``markdown`` (then
    members by their ``names``: a file shows no mention, and no member's id)."""

    def who(uid: int | None) -> str:
        if uid is None:
            return "anonymous"
        return (names or {}).get(uid, "a member") if markdown else f"<@{uid}>"

    def when(at: datetime) -> str:
        return f"{at:%Y-%m-%d %H:%M} UTC" if markdown else ts(at, Style.FULL)

    def text(value: str, limit: int) -> str:
        return value[:limit] if markdown else inert(value, limit)

    blocks: list[tuple[str, list[str]]] = []
    if minutes.attendance is not None:
        seen = minutes.attendance
        blocks.append(("Attendance", [
            f"Present ({len(seen.present)}): " + (", ".join(who(u) for u in seen.present) or "—"),
            f"Apologies ({len(seen.apologies)}): " + (", ".join(who(u) for u in seen.apologies) or "—"),
            f"Absent ({len(seen.absent)}): " + (", ".join(who(u) for u in seen.absent) or "—"),
        ]))
    else:
        blocks.append(("Attendance", ["Not taken."]))
    blocks.append(("Report-back", [tally_text(minutes.tally)]))
    storms: list[str] = []
    for storm in minutes.brainstorms:
        storms.append(f"**{text(storm.issue, 200)}** ({who(storm.owner_id)}, {storm.status}; "
                      f"{plural(storm.adopted, 'idea')} adopted)")
        storms.extend(f"  • {text(i.text, 200)} — {plural(i.votes, 'vote')}" + (" ✅ adopted" if i.adopted else "")
                      for i in storm.top)
    blocks.append(("Brainstorms", storms or ["No brainstorm this cycle."]))
    made: list[str] = []
    for uid, texts in minutes.new_commitments:
        made.append(f"{who(uid)}:")
        made.extend(f"  • {text(t, 300)}" for t in texts)
    blocks.append(("New commitments", made or ["None yet."]))
    blocks.append(("Wins", [f"• {who(uid)}: {text(w, 300)}" for uid, w in minutes.wins] or ["No win shared."]))
    module = f"Module {minutes.module_number}" + (f": {text(minutes.module_title, 100)}" if minutes.module_title else "")
    nxt = when(minutes.next_starts_at) if minutes.next_starts_at else "not scheduled yet"
    blocks.append(("Next", [f"Next meeting: {nxt}", module]))
    return blocks


def minutes_embeds(minutes: Minutes, *, with_commit_line: bool) -> list[discord.Embed]:
    lines: list[str] = [f"Meeting of {ts(minutes.starts_at, Style.FULL)}"]
    for heading, body in minutes_blocks(minutes):
        lines.append(f"\n__**{heading}**__")
        lines.extend(body)
    if with_commit_line:
        lines.append("\n" + commit_line(minutes))
    return fit_message(f"Minutes — {minutes.label}"[:200], "", join_lines(lines, PAGE_LINES_CHARS),
                       "More in `/meeting minutes`.", colour=discord.Colour.green())


def minutes_markdown(minutes: Minutes, names: dict[int, str] | None = None) -> str:
    out = [f"# Minutes — {minutes.label}", "", f"Meeting of {minutes.starts_at:%Y-%m-%d %H:%M} UTC", ""]
    for heading, body in minutes_blocks(minutes, markdown=True, names=names):
        out += [f"## {heading}", "", *body, ""]
    return "\n".join(out)


def rsvp_view_for(meeting_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for answer in ANSWER_LABELS:
        view.add_item(RsvpButton(meeting_id, answer))
    return view


def rsvp_view(meeting: MeetingInfo, *, reply: bool = False) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for answer in ANSWER_LABELS:
        view.add_item(RsvpButton(meeting.id, answer, reply=reply))
    return view


class RsvpButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"rsvp:(?P<meeting_id>[0-9]+):(?P<answer>going|maybe|no)(?P<reply>:reply)?",
):
    """Going / Maybe / Can't make it; works after a restart (the ids are in the custom_id).

    On a meeting card the click redraws the card; on another message (a welcome) it answers with
    the card instead, leaving that message and its other buttons as they were (``reply``).
    """

    def __init__(self, meeting_id: int, answer: str, *, reply: bool = False) -> None:
        super().__init__(
            discord.ui.Button(label=ANSWER_LABELS[answer], style=ANSWER_STYLES[answer],
                              custom_id=f"rsvp:{meeting_id}:{answer}" + (":reply" if reply else ""))
        )
        self.meeting_id = meeting_id
        self.answer = answer
        self.reply = reply

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RsvpButton:
        return cls(int(match["meeting_id"]), match["answer"], reply=bool(match["reply"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        meeting = await interaction.client.services.meetings.rsvp(
            guild_id=interaction.guild_id, user_id=interaction.user.id, meeting_id=self.meeting_id, answer=self.answer
        )
        if self.reply:
            await respond(interaction, f"Noted: **{ANSWER_LABELS[self.answer]}**.", embed=meeting_embed(meeting))
            return
        view = rsvp_view(meeting)
        if interaction.message is not None and interaction.message.flags.ephemeral:
            view.add_item(ShareMeetingButton(meeting.id))  # a private card keeps its Share button
            view.add_item(AddToCalendarButton(meeting.id))
        await interaction.response.edit_message(embed=meeting_embed(meeting), view=view)


class ShareMeetingButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"meeting:share:(?P<meeting_id>[0-9]+)",
):
    """Under a private ``/meeting next``: post the card, with its RSVP buttons, in the group's channel."""

    def __init__(self, meeting_id: int) -> None:
        super().__init__(
            discord.ui.Button(label="Share with the group", style=discord.ButtonStyle.secondary, emoji="📣",
                              custom_id=f"meeting:share:{meeting_id}")
        )
        self.meeting_id = meeting_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ShareMeetingButton:
        return cls(int(match["meeting_id"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        meeting = await interaction.client.services.meetings.share(actor_from(interaction), meeting_id=self.meeting_id)
        channel = interaction.client.get_channel(meeting.channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            raise InvalidInput("I can't see the group's channel any more: ask a facilitator to check my permissions.")
        await channel.send(embed=meeting_embed(meeting), view=rsvp_view(meeting))
        await respond(interaction, f"Shared in <#{meeting.channel_id}>.")


class AddToCalendarButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"meeting:ics:(?P<meeting_id>[0-9]+)",
):
    """Under a private ``/meeting next``: the meeting as an ``.ics`` file, and the series as a second one."""

    def __init__(self, meeting_id: int) -> None:
        super().__init__(
            discord.ui.Button(label="Add to calendar", style=discord.ButtonStyle.secondary, emoji="📅",
                              custom_id=f"meeting:ics:{meeting_id}")
        )
        self.meeting_id = meeting_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AddToCalendarButton:
        return cls(int(match["meeting_id"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        one, series = await interaction.client.services.meetings.calendar(actor_from(interaction),
                                                                          meeting_id=self.meeting_id)
        now = interaction.client.clock.now()
        # Building a zone's VTIMEZONE takes milliseconds of CPU: off the event loop.
        data = await asyncio.to_thread(calendar.meeting_ics, one, now=now)
        files = [discord.File(io.BytesIO(data), filename=calendar.meeting_filename(one))]
        text = f"The meeting of {ts(one.starts_at, Style.FULL)}: open the file to add it to your calendar."
        if series is not None:
            data = await asyncio.to_thread(calendar.series_ics, series, now=now)
            files.append(discord.File(io.BytesIO(data), filename=calendar.filename(series.group_name)))
            text = (f"Two files: the meeting of {ts(one.starts_at, Style.FULL)} alone, or every meeting of the series "
                    "(it follows the group's rule). Add one of them, not both.")
        await respond(interaction, text, files=files)


def _where(place: Place | None) -> str:
    """The place on one line, for a channel notice (member text inert, links masked): " Where: …"."""
    return f"\n**Where:** {place_text(place).replace(chr(10), ' · ')}" if place else ""


def _then(text: str) -> str:
    return f"\n{text}" if text else ""


def _in_group_channel(interaction: discord.Interaction, channel_id: int) -> bool:
    """Post publicly only in the group's own channel: elsewhere, others mustn't see the group's data."""
    channel = interaction.channel
    parent = getattr(channel, "parent_id", None) if isinstance(channel, discord.Thread) else None
    return channel_id in (interaction.channel_id, parent)


class MeetingsCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    meeting = app_commands.Group(name="meeting", description="Your group's meetings", guild_only=True)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(RsvpButton, ShareMeetingButton, AddToCalendarButton)
        self.bot.notifications.register(MEETING_REMINDER, self.render_meeting_reminder)
        self.bot.notifications.register(MEETING_PACK, self.render_meeting_pack)
        self.bot.notifications.register(POST_MEETING, self.render_post_meeting)
        self.bot.notifications.register(MINUTES_DM, self.render_minutes_dm)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(RsvpButton, ShareMeetingButton, AddToCalendarButton)
        self.bot.notifications.unregister(MEETING_REMINDER)
        self.bot.notifications.unregister(MEETING_PACK)
        self.bot.notifications.unregister(POST_MEETING)
        self.bot.notifications.unregister(MINUTES_DM)

    # --- the reminder (rendered by the dispatcher; never sent from here) ------------------------

    async def render_meeting_reminder(self, note: Notification) -> Rendered:
        meeting = await self.bot.services.meetings.get(note.meeting_id) if note.meeting_id else None
        if meeting is None:
            return Rendered.skip("meeting deleted")
        if meeting.status != MeetingStatus.SCHEDULED:
            return Rendered.skip(f"meeting {meeting.status}")
        if meeting.starts_at <= note.due_at and meeting.starts_at <= self.bot.clock.now():
            return Rendered.skip("meeting already started")
        lead = reminder_lead(note.payload.get("hours"))
        message = OutgoingMessage(
            content=f"Reminder, {lead}: **{meeting.group_name}** meets {ts_with_relative(meeting.starts_at)}, "
            "in your own time.",
            embeds=[meeting_embed(meeting, title=f"Meeting reminder ({lead}) — {meeting.group_name}")],
            view=rsvp_view(meeting),
        )
        return Rendered(message)

    async def render_meeting_pack(self, note: Notification) -> Rendered:
        pack = await self.bot.services.minutes.pack(meeting_id=note.meeting_id) if note.meeting_id else None
        if pack is None:
            return Rendered.skip("meeting deleted")
        if pack.agenda.status != MeetingStatus.SCHEDULED:
            return Rendered.skip(f"meeting {pack.agenda.status}")
        if pack.agenda.starts_at <= self.bot.clock.now():
            return Rendered.skip("meeting already started")
        message = pack_message(pack)
        message.view = rsvp_view_for(pack.agenda.meeting_id)
        return Rendered(message)

    async def render_post_meeting(self, note: Notification) -> Rendered:
        """The minutes (the meeting was ended by ``before_render``), ending with the commitments line."""
        minutes = await self.bot.services.minutes.minutes(meeting_id=note.meeting_id) if note.meeting_id else None
        if minutes is None:
            return Rendered.skip("the meeting or group is gone")
        view = await with_log_kpis(self.bot, None, guild_id=note.guild_id, group_id=note.group_id)
        return Rendered(message=OutgoingMessage(embeds=minutes_embeds(minutes, with_commit_line=False),
                                                content=commit_line(minutes), view=view))

    async def render_minutes_dm(self, note: Notification) -> Rendered:
        """The minutes, by DM, for a member who missed the meeting (the attendance feature's kind)."""
        if note.meeting_id is None:
            return Rendered.skip("no meeting")
        if not await self.bot.services.get(AttendanceService).missed(meeting_id=note.meeting_id, user_id=note.recipient_id):
            return Rendered.skip("attended the meeting, or left the group")
        minutes = await self.bot.services.minutes.minutes(meeting_id=note.meeting_id)
        if minutes is None:
            return Rendered.skip("the meeting or group is gone")
        fallback = OutgoingMessage(
            content=f"<@{note.recipient_id}>, you missed the meeting: its minutes are in `/meeting minutes`.",
            allowed_mentions=mention_only(note.recipient_id),
        )
        return Rendered(
            message=OutgoingMessage(
                content=f"You missed **{inert(minutes.group_name, 80)}**'s meeting of "
                        f"{ts(minutes.starts_at, Style.FULL)}: here are its minutes. {commit_line(minutes)}",
                embeds=minutes_embeds(minutes, with_commit_line=False),
            ),
            fallback=fallback,
        )

    # --- commands ------------------------------------------------------------------------------

    @meeting.command(name="schedule", description="Schedule one meeting (facilitator)")
    @app_commands.describe(when='When, in the group\'s timezone: "2026-12-03 18:00", "3 Dec 6pm", "next tuesday 18:00"',
                           **PLACE_HELP, group="Which group (default: this channel's)")
    async def meeting_schedule(self, interaction: discord.Interaction, when: WhenOption,
                               venue: VenueOption | None = None, address: AddressOption | None = None,
                               link: LinkOption | None = None, online: bool | None = None,
                               group: GroupOption = None) -> None:
        meeting = await self.bot.services.meetings.schedule(actor_from(interaction), when=when, location=venue,
                                                             address=address, link=link, online=online,
                                                             group_id=group)
        public = _in_group_channel(interaction, meeting.channel_id)
        local = local_times_text(meeting.local_times)
        content = "Meeting scheduled." if public or not local else f"Meeting scheduled.\n{local}"
        await respond(interaction, content, embed=meeting_embed(meeting), view=rsvp_view(meeting), ephemeral=not public)
        if public and local:  # members' zones are for the facilitator, not the channel
            await respond(interaction, local)

    @meeting.command(name="recurring", description="Set the group's meeting series (facilitator)")
    @app_commands.describe(rule='"first tuesday", "last friday", "every 4 weeks on monday", or an RRULE',
                           time="Wall-clock time in the group's timezone (default 18:00)",
                           **PLACE_HELP, group="Which group (default: this channel's)")
    async def meeting_recurring(self, interaction: discord.Interaction, rule: RuleOption,
                                time: TimeOption | None = None,
                                venue: VenueOption | None = None, address: AddressOption | None = None,
                                link: LinkOption | None = None, online: bool | None = None,
                                group: GroupOption = None) -> None:
        series = await self.bot.services.meetings.recurring(actor_from(interaction), rule=rule, time=time,
                                                             location=venue, address=address, link=link,
                                                             online=online, group_id=group)
        dates = "\n".join(f"• {ts(d, Style.FULL)}" for d in series.next_dates)
        replaced = (f"\n{plural(series.replaced, 'upcoming meeting')} of the previous series "
                    f"{'was' if series.replaced == 1 else 'were'} replaced."
                    if series.replaced else "")
        await respond(
            interaction,
            f"**{series.group_name}** now meets {series.description} at {series.local_time} ({series.timezone})."
            f"{replaced}\nThe next three:\n{dates}" + _then(local_times_text(series.local_times, series=True)),
        )
        # A change of the group's plans is announced once, in its channel (the reply above is private).
        first = f" The next one: {ts_with_relative(series.next_dates[0])}." if series.next_dates else ""
        await self._notice(
            series.channel_id,
            f"📅 **{series.group_name}** now meets {series.description} at {series.local_time} "
            f"({series.timezone}; each of you sees the dates in your own time).{first}" + _where(series.place),
        )

    @meeting.command(name="place", description="Change where a meeting, or the series, happens (facilitator)")
    @app_commands.describe(meeting="Which meeting (default: the next one)",
                           series="Change the series' place (its meetings without their own follow)",
                           **PLACE_HELP, clear="Remove the place (a meeting then has its series' place)",
                           group="Which group (default: this channel's)")
    async def meeting_place(self, interaction: discord.Interaction, meeting: MeetingOption | None = None,
                            series: bool = False, venue: VenueOption | None = None,
                            address: AddressOption | None = None, link: LinkOption | None = None,
                            online: bool | None = None, clear: bool = False, group: GroupOption = None) -> None:
        done = await self.bot.services.meetings.set_place(
            actor_from(interaction), meeting_id=meeting, series=series, venue=venue, address=address, link=link,
            online=online, clear=clear, group_id=group)
        what = (f"The series of **{inert(done.group_name, 80)}**" if done.starts_at is None
                else f"The meeting of {ts(done.starts_at, Style.FULL)}")
        where = f" now meets at:\n{place_text(done.place)}" if done.place else " has no place set now."
        await respond(interaction, what + where)

    @meeting.command(name="next", description="The next meeting, with Going / Maybe / Can't make it")
    @app_commands.describe(group="Which group (default: this channel's)")
    async def meeting_next(self, interaction: discord.Interaction, group: GroupOption = None) -> None:
        meeting = await self.bot.services.meetings.next(actor_from(interaction), group_id=group)
        # Looking it up is private; the Share button posts it for the group when that helps.
        view = rsvp_view(meeting)
        view.add_item(ShareMeetingButton(meeting.id))
        view.add_item(AddToCalendarButton(meeting.id))
        await respond(interaction, embed=meeting_embed(meeting), view=view)

    @meeting.command(name="list", description="The group's upcoming meetings")
    @app_commands.describe(group="Which group (default: this channel's)")
    async def meeting_list(self, interaction: discord.Interaction, group: GroupOption = None) -> None:
        name, meetings = await self.bot.services.meetings.upcoming(actor_from(interaction), group_id=group)
        if not meetings:
            await respond(interaction, f"**{name}** has no meeting planned.")
            return
        lines = [
            f"• {ts_with_relative(m.starts_at)}" + (f" — {inert(m.place.text, 100)}" if m.place else "")
            + f" · going {m.counts.get('going', 0)}"
            for m in meetings
        ]
        await respond_pages(interaction, embed_pages(f"Upcoming meetings — {name}", join_lines(lines, PAGE_LINES_CHARS)))

    @meeting.command(name="cancel", description="Cancel a meeting and tell the group (facilitator)")
    @app_commands.describe(meeting="Which meeting (default: the next one)", group="Which group (default: this channel's)")
    async def meeting_cancel(self, interaction: discord.Interaction, meeting: MeetingOption | None = None,
                             group: GroupOption = None) -> None:
        cancelled = await self.bot.services.meetings.cancel(actor_from(interaction), meeting_id=meeting,
                                                            group_id=group)
        await respond(interaction, f"Cancelled the meeting of {ts(cancelled.starts_at, Style.FULL)}.")
        await self._notice(cancelled.channel_id,
                           f"The **{cancelled.group_name}** meeting of {ts(cancelled.starts_at, Style.FULL)} is cancelled.")

    @meeting.command(name="move", description="Move a meeting to another time (facilitator)")
    @app_commands.describe(meeting="Which meeting", when="The new time, in the group's timezone")
    async def meeting_move(self, interaction: discord.Interaction, meeting: MeetingOption,
                           when: WhenOption) -> None:
        moved = await self.bot.services.meetings.move(actor_from(interaction), meeting_id=meeting, when=when)
        local = _then(local_times_text(moved.meeting.local_times))
        await respond(interaction, f"Moved to {ts(moved.meeting.starts_at, Style.FULL)}.{local}")
        await self._notice(
            moved.meeting.channel_id,
            f"The **{moved.meeting.group_name}** meeting of {ts(moved.previous_starts_at, Style.FULL)} moved to "
            f"{ts_with_relative(moved.meeting.starts_at)}.",
        )

    @meeting.command(name="substitute", description="Let a member facilitate one meeting only (facilitator)")
    @app_commands.describe(member="Who facilitates that meeting", meeting="Which meeting (default: the next one)",
                           clear="Take it back: the facilitators run that meeting again",
                           group="Which group (default: this channel's)")
    async def meeting_substitute(self, interaction: discord.Interaction, member: discord.User | None = None,
                                 meeting: MeetingOption | None = None, clear: bool = False,
                                 group: GroupOption = None) -> None:
        done = await self.bot.services.meetings.substitute(
            actor_from(interaction), member_id=member.id if member is not None else None, meeting_id=meeting,
            clear=clear, group_id=group)
        when = ts(done.starts_at, Style.FULL)
        if done.substitute_id is None:
            await respond(interaction, f"<@{done.previous_id}> no longer facilitates the meeting of {when}: "
                                       "the facilitators run it again.")
            return
        replaced = f" (instead of <@{done.previous_id}>)" if done.previous_id is not None else ""
        told = await send_to_member(self.bot, done.substitute_id, OutgoingMessage(
            content=f"You're facilitating the **{inert(done.label, 120)}**, {ts_with_relative(done.starts_at)}: for "
                    "that meeting you may take attendance, reorder the agenda (`/meeting reorder`), change its place "
                    "or time, and end it (`/meeting end`)."))
        note = "" if told.where == "dm" else " I couldn't DM them: let them know yourself."
        await respond(interaction, f"<@{done.substitute_id}> facilitates the meeting of {when}{replaced}, and only "
                                   f"that one. `/meeting next` shows it.{note}")

    @meeting.command(name="end", description="End the meeting now: commitments close, the next cycle starts (facilitator)")
    @app_commands.describe(meeting="Which meeting (default: the one under way)", group="Which group (default: this channel's)")
    async def meeting_end(self, interaction: discord.Interaction, meeting: MeetingOption | None = None,
                          group: GroupOption = None) -> None:
        ended = await self.bot.services.groups.end_meeting(meeting_id=meeting, actor=actor_from(interaction),
                                                           group_id=group)
        await respond(interaction, f"Meeting of {ts(ended.starts_at, Style.FULL)} ended. The wrap-up post follows shortly.")

    @meeting.command(name="minutes", description="A past meeting's minutes, privately, with a Markdown copy")
    @app_commands.describe(meeting="Which meeting (default: the last one that ended)",
                           group="Which group (default: this channel's)")
    async def meeting_minutes(self, interaction: discord.Interaction, meeting: MeetingOption | None = None,
                              group: GroupOption = None) -> None:
        minutes = await self.bot.services.minutes.show(actor_from(interaction), meeting_id=meeting, group_id=group)
        names = await member_names(interaction, minutes_members(minutes))
        data = minutes_markdown(minutes, names).encode()
        name = f"minutes-{minutes.starts_at:%Y-%m-%d}.md"
        await respond(interaction, embeds=minutes_embeds(minutes, with_commit_line=False),
                      files=[discord.File(io.BytesIO(data), filename=name)])

    @meeting.command(name="attendance", description="Take or correct a meeting's attendance, or see the rates (facilitator)")
    @app_commands.describe(meeting="Which meeting (default: the latest that has started)",
                           rates="Attendance rates instead: each member's and the group's, over every meeting",
                           group="Which group (default: this channel's)")
    async def meeting_attendance(self, interaction: discord.Interaction, meeting: MeetingOption | None = None,
                                 rates: bool = False, group: GroupOption = None) -> None:
        service = self.bot.services.get(AttendanceService)
        if rates:
            if meeting is not None:
                raise InvalidInput("The rates cover every meeting: leave out `meeting` with `rates:True`.")
            await respond_pages(interaction, rates_pages(await service.rates(actor_from(interaction), group_id=group)))
            return
        sheet = await service.sheet(actor_from(interaction), meeting_id=meeting, group_id=group)
        await respond(interaction, **await sheet_message(interaction, sheet, 0))

    @meeting.command(name="feedback", description="Members' feedback on the last meetings, without names (facilitator)")
    @app_commands.describe(group="Which group (default: this channel's)")
    async def meeting_feedback(self, interaction: discord.Interaction, group: GroupOption = None) -> None:
        trend = await self.bot.services.get(AttendanceService).trend(actor_from(interaction), group_id=group)
        await respond_pages(interaction, trend_pages(trend))

    # --- the agenda (the agenda feature's service; drawn by cogs.agenda) ---------------------------

    @meeting.command(name="table", description="Put your issue on the agenda of the next meeting")
    @app_commands.describe(issue=f"What you'd like the group's help with (up to {ISSUE_MAX} characters)",
                           meeting="Which meeting (default: the next one)", group="Which group (default: this channel's)")
    async def meeting_table(self, interaction: discord.Interaction,
                            issue: app_commands.Transform[str, TextTransformer(TYPED_MAX, what="issue")],
                            meeting: MeetingOption | None = None, group: GroupOption = None) -> None:
        agenda = await self.bot.services.agenda.table(actor_from(interaction), issue=issue, meeting_id=meeting,
                                                      group_id=group)
        position = agenda.position_of(interaction.user.id) or len(agenda.entries)
        await respond(
            interaction,
            f"Tabled for the meeting of {ts(agenda.starts_at, Style.FULL)}: you're **{ordinal(position)}** in the hot-seat order.",
            embed=agenda_embed(agenda),
        )

    @meeting.command(name="agenda", description="Who's tabling what, in hot-seat order, and who's coming")
    @app_commands.describe(meeting="Which meeting (default: the next one)", group="Which group (default: this channel's)")
    async def meeting_agenda(self, interaction: discord.Interaction, meeting: MeetingOption | None = None,
                             group: GroupOption = None) -> None:
        agenda = await self.bot.services.agenda.show(actor_from(interaction), meeting_id=meeting, group_id=group)
        await respond(interaction, embed=agenda_embed(agenda))

    @meeting.command(name="withdraw", description="Take your issue off a meeting's agenda")
    @app_commands.describe(meeting="Which meeting (default: the next one)", group="Which group (default: this channel's)")
    async def meeting_withdraw(self, interaction: discord.Interaction, meeting: MeetingOption | None = None,
                               group: GroupOption = None) -> None:
        agenda = await self.bot.services.agenda.withdraw(actor_from(interaction), meeting_id=meeting, group_id=group)
        await respond(interaction, f"Your issue is off the agenda of the meeting of {ts(agenda.starts_at, Style.FULL)}.",
                      embed=agenda_embed(agenda))

    @meeting.command(name="reorder", description="Put a member's issue at another place in the hot-seat order (facilitator)")
    @app_commands.describe(member="Whose issue", position="Its new place (1 goes first)",
                           meeting="Which meeting (default: the next one)", group="Which group (default: this channel's)")
    async def meeting_reorder(self, interaction: discord.Interaction, member: discord.User,
                              position: app_commands.Transform[int, BoundedInt(1, 12, what="place")],
                              meeting: MeetingOption | None = None, group: GroupOption = None) -> None:
        agenda = await self.bot.services.agenda.move(actor_from(interaction), user_id=member.id, position=position,
                                                     meeting_id=meeting, group_id=group)
        await respond(interaction, f"<@{member.id}>'s issue is now **{ordinal(position)}** in the hot-seat order.",
                      embed=agenda_embed(agenda))

    async def _notice(self, channel_id: int, text: str) -> None:
        channel = self.bot.get_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            return
        try:
            await channel.send(text)
        except discord.HTTPException as exc:
            log.warning("Couldn't post a meeting notice in channel %s: %s", channel_id, exc)


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(MeetingsCog(bot))
