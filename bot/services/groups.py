"""Peer groups: creating them, members and facilitators, settings, archiving, buddies, ending meetings.

Meetings themselves (scheduling, series, RSVPs) are :mod:`bot.services.meetings`. Read methods
other features use: :meth:`GroupService.next_meeting` and :meth:`GroupService.group_members`
(and their in-session forms :func:`bot.services.meetings.next_meeting_of` and :func:`members_of`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import Conflict, InvalidInput, LimitReached, NotAllowed, NotFound
from bot.features import InfoLine, features_of
from bot.models import (
    BuddyPair,
    BuddyStatus,
    Group,
    GroupMember,
    GuildSettings,
    Meeting,
    MeetingStatus,
    NoteSharing,
)
from bot.services import outbox
from bot.services.base import (
    PAIR_SIZE,
    Actor,
    Service,
    groups_of_member,
    membership,
    require_active,
    require_facilitator,
    require_facilitator_for,
    require_id,
    require_member,
    resolve_group,
    viewer_of,
)
from bot.services.buddies import active_buddy_pair, buddy_of
from bot.services.meetings import MeetingInfo, extend_series, meeting_info, members_of, next_meeting_of
from bot.services.snooze import away_members
from bot.text import clean, name_key
from bot.timezones import validate_timezone

MIN_MEMBERS, MAX_MEMBERS, DEFAULT_MAX_MEMBERS = 2, 12, 8
MAX_NAME_LENGTH = 80
_MENTION_RE = re.compile(r"@(everyone|here)\b|<@[!&]?\d+>|<#\d+>", re.IGNORECASE)
_MAX_LEAD_HOURS = 24 * 28
_MARKDOWN_CHARS = frozenset("*_~|`\\[]<>")


@dataclass(frozen=True, slots=True)
class GroupChoice:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class MemberInfo:
    user_id: int
    is_facilitator: bool
    joined_at: datetime
    away_until: datetime | None = None  # ``/away``: away now, until then (UTC)


@dataclass(frozen=True, slots=True)
class GroupSummary:
    id: int
    name: str
    channel_id: int
    timezone: str
    member_count: int
    max_members: int
    archived: bool


class InfoScope(StrEnum):
    """How much of a group ``/group info`` shows (docs/PRIVACY.md)."""

    FULL = "full"  # a member: members, meeting, module, open commitments
    GROUP_LEVEL = "group_level"  # a server admin outside the group: channel, size and facilitators only


@dataclass(frozen=True, slots=True)
class GroupInfo:
    id: int
    guild_id: int
    name: str
    channel_id: int
    timezone: str
    max_members: int
    members: list[MemberInfo]
    next_meeting: MeetingInfo | None
    archived: bool
    announce_commitments: bool
    meeting_reminder_hours: list[int]
    reportback_lead_hours: int
    checkin_nudge_lead_hours: int
    pack_lead_hours: int = 24  # 0: no meeting pack
    # The lines other features add (the current module, open commitments…), in feature order.
    lines: tuple[InfoLine, ...] = ()
    # Privacy: GROUP_LEVEL lists only the facilitators in ``members`` (and no feature lines);
    # ``member_count`` is the size.
    scope: InfoScope = InfoScope.FULL
    member_count: int = 0
    board_notes: str = NoteSharing.MEMBER_CHOOSES
    discord_events: bool = True  # mirror meetings to the server's Events (where the bot may)
    event_channel_id: int | None = None  # the voice or stage channel of online meetings' events
    event_channel_stage: bool = False

    @property
    def facilitators(self) -> list[int]:
        return [m.user_id for m in self.members if m.is_facilitator]


@dataclass(frozen=True, slots=True)
class ChannelGroup:
    """The open group bound to a channel, for the channel-privacy check."""

    group_id: int
    guild_id: int
    name: str
    channel_id: int
    member_ids: frozenset[int]
    facilitator_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class MembershipChange:
    group_id: int
    group_name: str
    channel_id: int
    user_id: int
    member_count: int
    max_members: int


@dataclass(frozen=True, slots=True)
class BuddyRequest:
    pair_id: int
    group_id: int
    group_name: str
    channel_id: int
    requester_id: int
    partner_id: int
    status: str


def clean_name(name: str) -> tuple[str, str]:
    """A group name and its key (:func:`bot.text.name_key`); refuses empty, long, mentioning and markdown names.

    Names sit inside the bot's own formatting everywhere (``**Alpha**``, embeds, autocomplete), so
    the characters Discord reads as markdown are refused rather than escaped in every message.
    """
    cleaned = clean(name)
    if not cleaned:
        raise InvalidInput("A group needs a name (one with visible characters).")
    key = name_key(cleaned)
    if len(cleaned) > MAX_NAME_LENGTH or len(key) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"That name is {max(len(cleaned), len(key))} characters long; at most {MAX_NAME_LENGTH}, please."
        )
    if _MENTION_RE.search(cleaned):
        raise InvalidInput("A group name can't contain mentions (`@everyone`, `@here`, members, roles or channels).")
    markdown = sorted(set(cleaned) & _MARKDOWN_CHARS)
    if markdown:
        shown = " ".join(markdown)
        raise InvalidInput(f"A group name can't contain the formatting characters {shown} (they'd garble messages).")
    return cleaned, key


def _note_sharing(value: str) -> NoteSharing:
    try:
        return NoteSharing(value)
    except ValueError:
        raise InvalidInput("Notes on the board: `member chooses` or `private`.") from None


async def _group_in_guild(session: AsyncSession, actor: Actor, group_id: int) -> Group:
    group = await session.get(Group, require_id(group_id, "group"))
    if group is None or group.guild_id != actor.guild_id:
        raise NotFound("That group doesn't exist in this server.")
    return group


async def _member_count(session: AsyncSession, group_id: int) -> int:
    return await session.scalar(select(func.count()).where(GroupMember.group_id == group_id)) or 0


async def _end_buddy_pairs(session: AsyncSession, group_id: int, user_id: int, now: datetime) -> None:
    pairs = await session.scalars(
        select(BuddyPair).where(
            BuddyPair.group_id == group_id,
            BuddyPair.status.in_((BuddyStatus.PENDING, BuddyStatus.ACTIVE)),
            or_(BuddyPair.requester_id == user_id, BuddyPair.partner_id == user_id),
        )
    )
    for pair in pairs:
        pair.status = BuddyStatus.ENDED if pair.status == BuddyStatus.ACTIVE else BuddyStatus.DECLINED
        pair.ended_at = now


class GroupService(Service):
    # --- autocomplete and the shared group option ---------------------------------------------

    async def choices(self, actor: Actor, query: str, *, every_group: bool = False) -> list[GroupChoice]:
        """Groups for an autocomplete: the member's own (or, for /group join, every open group)."""
        needle = name_key(query)
        async with self.read() as session:
            if every_group:
                groups = list(
                    await session.scalars(
                        select(Group)
                        .where(Group.guild_id == actor.guild_id, Group.archived_at.is_(None))
                        .order_by(Group.name_key)
                    )
                )
            else:
                groups = await groups_of_member(session, actor.guild_id, actor.user_id)
        return [GroupChoice(g.id, g.name) for g in groups if needle in g.name_key][:25]

    async def find_id(self, guild_id: int, text: str) -> int | None:
        """A group id from what a member typed in a group option: an id, or a name."""
        text = text.strip()
        async with self.read() as session:
            if text.isdigit():
                found = await session.scalar(select(Group.id).where(Group.guild_id == guild_id, Group.id == int(text)))
                if found is not None:
                    return found
            return await session.scalar(
                select(Group.id).where(Group.guild_id == guild_id, Group.name_key == name_key(text))
            )

    # --- groups ---------------------------------------------------------------------------------

    async def create(
        self,
        actor: Actor,
        *,
        name: str,
        channel_id: int,
        timezone: str | None = None,
        max_members: int = DEFAULT_MAX_MEMBERS,
        announce_commitments: bool = False,
        board_notes: NoteSharing = NoteSharing.MEMBER_CHOOSES,
    ) -> GroupInfo:
        """A new group bound to ``channel_id``; the creator is its first member and facilitator.

        Private by default: new commitments aren't announced, and a report-back note reaches the
        board only when its member shows it there (``board_notes``).
        """
        board_notes = _note_sharing(board_notes)
        cleaned, key = clean_name(name)
        if not MIN_MEMBERS <= max_members <= MAX_MEMBERS:
            raise InvalidInput(f"A group has between {MIN_MEMBERS} and {MAX_MEMBERS} members (max_members).")
        tz = validate_timezone(timezone) if timezone is not None else None
        async with self.begin() as session:
            settings = await session.get(GuildSettings, actor.guild_id)
            role_id = settings.facilitator_role_id if settings else None
            if not actor.can_manage_server and (role_id is None or role_id not in actor.role_ids):
                raise NotAllowed(
                    "Only members with **Manage Server**"
                    + (f" or the <@&{role_id}> role" if role_id else "")
                    + " can create groups."
                )
            bound = await session.scalar(select(Group).where(Group.channel_id == channel_id))
            if bound is not None:
                state = " (archived)" if bound.archived_at else ""
                raise Conflict(f"<#{channel_id}> already belongs to **{bound.name}**{state}: one group per channel.")
            if await session.scalar(select(Group.id).where(Group.guild_id == actor.guild_id, Group.name_key == key)):
                raise Conflict(f"There's already a group called **{cleaned}** in this server.")
            now = self.now()
            group = Group(
                guild_id=actor.guild_id,
                channel_id=channel_id,
                name=cleaned,
                name_key=key,
                timezone=tz or (settings.timezone if settings else "UTC"),
                max_members=max_members,
                announce_commitments=announce_commitments,
                board_notes=board_notes,
                created_by=actor.user_id,
                created_at=now,
            )
            session.add(group)
            await session.flush()
            session.add(
                GroupMember(group_id=group.id, user_id=actor.user_id, guild_id=actor.guild_id,
                            is_facilitator=True, joined_at=now)
            )
            await outbox.plan_group(session, group.id, now)
            return await self._info(session, group)

    async def info(self, actor: Actor, *, group_id: int | None = None) -> GroupInfo:
        async with self.read() as session:
            group = await resolve_group(session, actor, group_id)
            if not (await viewer_of(session, group, actor)).reads_members_data:
                return await self._group_level_info(session, group)
            return await self._info(session, group)

    async def list_groups(self, actor: Actor, *, archived: bool = False) -> list[GroupSummary]:
        """The server's groups (open ones, or the archived ones), by name."""
        async with self.read() as session:
            counts = (
                select(GroupMember.group_id, func.count().label("n"))
                .group_by(GroupMember.group_id)
                .subquery()
            )
            rows = await session.execute(
                select(Group, func.coalesce(counts.c.n, 0))
                .outerjoin(counts, counts.c.group_id == Group.id)
                .where(
                    Group.guild_id == actor.guild_id,
                    Group.archived_at.is_not(None) if archived else Group.archived_at.is_(None),
                )
                .order_by(Group.name_key)
            )
            return [
                GroupSummary(g.id, g.name, g.channel_id, g.timezone, n, g.max_members, g.archived_at is not None)
                for g, n in rows
            ]

    async def join(self, actor: Actor, *, group_id: int) -> MembershipChange:
        async with self.begin() as session:
            group = await _group_in_guild(session, actor, group_id)
            require_active(group)
            if await membership(session, group.id, actor.user_id) is not None:
                raise Conflict(f"You're already in **{group.name}**.")
            return await self._add(session, group, actor.user_id)

    async def add_member(self, actor: Actor, *, member_id: int, group_id: int | None = None,
                         member_is_bot: bool = False) -> MembershipChange:
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            require_active(group)
            await require_facilitator(session, group, actor)
            if member_is_bot:
                raise InvalidInput("Bots can't be group members.")
            if await membership(session, group.id, member_id) is not None:
                raise Conflict(f"<@{member_id}> is already in **{group.name}**.")
            return await self._add(session, group, member_id)

    async def leave(self, actor: Actor, *, group_id: int | None = None) -> MembershipChange:
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            member = await require_member(session, group, actor)
            if member.is_facilitator:
                others = list(await session.scalars(
                    select(GroupMember).where(GroupMember.group_id == group.id, GroupMember.user_id != actor.user_id)
                ))
                if others and not any(m.is_facilitator for m in others):
                    raise InvalidInput(
                        f"You're the only facilitator of **{group.name}**. Make someone else a facilitator "
                        "first with `/group facilitator`."
                    )
            return await self._remove(session, group, member)

    async def remove_member(self, actor: Actor, *, member_id: int, group_id: int | None = None) -> MembershipChange:
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            await require_facilitator(session, group, actor)
            member = await membership(session, group.id, member_id)
            if member is None:
                raise NotFound(f"<@{member_id}> isn't in **{group.name}**.")
            return await self._remove(session, group, member)

    async def make_facilitator(self, actor: Actor, *, member_id: int, group_id: int | None = None) -> MembershipChange:
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            require_active(group)
            await require_facilitator(session, group, actor)
            member = await membership(session, group.id, member_id)
            if member is None:
                raise NotFound(f"<@{member_id}> isn't in **{group.name}**: add them first with `/group add`.")
            if member.is_facilitator:
                raise Conflict(f"<@{member_id}> is already a facilitator of **{group.name}**.")
            member.is_facilitator = True
            return MembershipChange(group.id, group.name, group.channel_id, member_id,
                                    await _member_count(session, group.id), group.max_members)

    async def remove_facilitator(self, actor: Actor, *, member_id: int, group_id: int | None = None) -> MembershipChange:
        """A co-facilitator steps back to member. A group of three or more keeps at least one
        facilitator (a pair runs itself: ``base.may_facilitate``)."""
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            require_active(group)
            await require_facilitator(session, group, actor)
            member = await membership(session, group.id, member_id)
            if member is None:
                raise NotFound(f"<@{member_id}> isn't in **{group.name}**.")
            if not member.is_facilitator:
                raise InvalidInput(f"<@{member_id}> isn't a facilitator of **{group.name}**: there's nothing to remove.")
            members = await members_of(session, group.id)
            if len(members) > PAIR_SIZE and not any(m.is_facilitator for m in members if m.user_id != member_id):
                who = "You're" if member_id == actor.user_id else f"<@{member_id}> is"
                raise InvalidInput(
                    f"{who} the only facilitator of **{group.name}**, and a group of {len(members)} needs one. "
                    "Make someone else a facilitator first with `/group facilitator`."
                )
            member.is_facilitator = False
            return MembershipChange(group.id, group.name, group.channel_id, member_id, len(members), group.max_members)

    async def update_settings(
        self,
        actor: Actor,
        *,
        group_id: int | None = None,
        timezone: str | None = None,
        meeting_reminder_hours: list[int] | None = None,
        reportback_lead_hours: int | None = None,
        checkin_nudge_lead_hours: int | None = None,
        announce_commitments: bool | None = None,
        board_notes: NoteSharing | None = None,
        pack_lead_hours: int | None = None,
        discord_events: bool | None = None,
        event_channel: tuple[int, bool] | None = None,
        event_channel_clear: bool = False,
    ) -> GroupInfo:
        """``event_channel``: (the voice or stage channel's id, whether it is a stage), a channel of
        the group's server (the command's option offers only those)."""
        board_notes = _note_sharing(board_notes) if board_notes is not None else None
        tz = validate_timezone(timezone) if timezone is not None else None
        for hours in [*(meeting_reminder_hours or []), reportback_lead_hours, checkin_nudge_lead_hours]:
            if hours is not None and not 1 <= hours <= _MAX_LEAD_HOURS:
                raise InvalidInput(f"Lead times are between 1 hour and {_MAX_LEAD_HOURS} hours (4 weeks).")
        if pack_lead_hours is not None and not 0 <= pack_lead_hours <= _MAX_LEAD_HOURS:
            raise InvalidInput(f"The meeting pack goes out 1 to {_MAX_LEAD_HOURS} hours before the meeting (0: no pack).")
        if meeting_reminder_hours is not None and len(meeting_reminder_hours) > 4:
            raise InvalidInput("At most four meeting reminders.")
        if event_channel is not None and event_channel_clear:
            raise InvalidInput("Choose an event channel or clear it, not both.")
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            require_active(group)
            await require_facilitator(session, group, actor)
            if tz is not None:
                group.timezone = tz
            if meeting_reminder_hours is not None:
                group.meeting_reminder_hours = sorted(set(meeting_reminder_hours), reverse=True)
            if reportback_lead_hours is not None:
                group.reportback_lead_hours = reportback_lead_hours
            if checkin_nudge_lead_hours is not None:
                group.checkin_nudge_lead_hours = checkin_nudge_lead_hours
            if announce_commitments is not None:
                group.announce_commitments = announce_commitments
            if board_notes is not None:
                group.board_notes = board_notes
            if pack_lead_hours is not None:
                group.pack_lead_hours = pack_lead_hours
            if discord_events is not None:
                group.discord_events = discord_events
            if event_channel is not None:
                group.event_channel_id, group.event_channel_stage = event_channel
            elif event_channel_clear:
                group.event_channel_id, group.event_channel_stage = None, False
            await outbox.plan_group(session, group.id, self.now())
            return await self._info(session, group)

    async def archive(self, actor: Actor, *, group_id: int | None = None) -> GroupInfo:
        """Stop everything scheduled for the group; its data stays (``/group list archived:true``)."""
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            require_active(group)
            await require_facilitator(session, group, actor)
            now = self.now()
            group.archived_at = now
            await features_of(session).group_archived(session, group, now)
            await outbox.plan_group(session, group.id, now)
            return await self._info(session, group)

    # --- reads other features use ----------------------------------------------------------------

    async def next_meeting(self, group_id: int) -> MeetingInfo | None:
        """The group's next scheduled meeting that hasn't started, or None."""
        async with self.read() as session:
            group = await session.get(Group, group_id)
            if group is None:
                return None
            meeting = await next_meeting_of(session, group_id, self.now())
            return await meeting_info(session, group, meeting) if meeting else None

    async def group_of_channel(self, channel_id: int) -> ChannelGroup | None:
        """The open group bound to ``channel_id`` (its members and facilitators), or None."""
        async with self.read() as session:
            group = await session.scalar(
                select(Group).where(Group.channel_id == channel_id, Group.archived_at.is_(None))
            )
            if group is None:
                return None
            members = await members_of(session, group.id)
            return ChannelGroup(
                group_id=group.id, guild_id=group.guild_id, name=group.name, channel_id=group.channel_id,
                member_ids=frozenset(m.user_id for m in members),
                facilitator_ids=tuple(m.user_id for m in members if m.is_facilitator),
            )

    async def sample_member(self) -> tuple[int, int, int] | None:
        """One member of one open group, as (server, member, the group's channel): who the start-up
        warm-up (``bot.warm``) reads as. None when there is no group yet."""
        async with self.read() as session:
            row = (
                await session.execute(
                    select(Group.guild_id, GroupMember.user_id, Group.channel_id)
                    .join(GroupMember, GroupMember.group_id == Group.id)
                    .where(Group.archived_at.is_(None))
                    .order_by(Group.id, GroupMember.user_id)
                    .limit(1)
                )
            ).first()
        return None if row is None else (row[0], row[1], row[2])

    async def group_members(self, group_id: int) -> list[MemberInfo]:
        """The group's members, oldest first."""
        async with self.read() as session:
            return [MemberInfo(m.user_id, m.is_facilitator, m.joined_at) for m in await members_of(session, group_id)]

    # --- ending a meeting (the scheduler at T+3h, or /meeting end) ------------------------------

    async def end_meeting(
        self, *, meeting_id: int | None, actor: Actor | None, group_id: int | None = None
    ) -> MeetingInfo:
        """Mark the meeting ended, run every feature's meeting-ended hook (commitments close, the
        module advances), extend the series, replan. Idempotent.

        ``actor`` None is the scheduler; with an actor it's ``/meeting end`` by a facilitator, and
        ``meeting_id`` None means the group's meeting under way (the latest that has started).
        """
        async with self.begin() as session:
            if meeting_id is None:
                if actor is None:
                    raise ValueError("the scheduler names the meeting")
                named = await resolve_group(session, actor, group_id)
                meeting_id = await session.scalar(
                    select(Meeting.id)
                    .where(Meeting.group_id == named.id, Meeting.status == MeetingStatus.SCHEDULED, Meeting.starts_at <= self.now())
                    .order_by(Meeting.starts_at.desc())
                    .limit(1)
                )
                if meeting_id is None:
                    raise NotFound(f"No meeting of **{named.name}** is under way.")
            meeting = await session.get(Meeting, require_id(meeting_id, "meeting"))
            if meeting is None or (actor is not None and meeting.guild_id != actor.guild_id):
                raise NotFound("That meeting doesn't exist.")
            group = await session.get(Group, meeting.group_id)
            assert group is not None
            now = self.now()
            if actor is not None:
                await require_facilitator_for(session, group, actor, meeting)
                if meeting.status == MeetingStatus.CANCELLED:
                    raise InvalidInput("That meeting was cancelled.")
                if meeting.status == MeetingStatus.SCHEDULED and meeting.starts_at > now:
                    raise InvalidInput("That meeting hasn't started yet.")
            if meeting.status == MeetingStatus.SCHEDULED:
                meeting.status = MeetingStatus.ENDED
                meeting.ended_at = now
                await features_of(session).meeting_ended(session, group, meeting, now)
                await extend_series(session, group, now)
                await outbox.plan_group(session, group.id, now)
            return await meeting_info(session, group, meeting)

    # --- buddies -----------------------------------------------------------------------------------

    async def buddy_request(self, actor: Actor, *, partner_id: int, group_id: int | None = None) -> BuddyRequest:
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            require_active(group)
            await require_member(session, group, actor)
            if partner_id == actor.user_id:
                raise InvalidInput("Pick someone else as your buddy.")
            if await membership(session, group.id, partner_id) is None:
                raise NotFound(f"<@{partner_id}> isn't in **{group.name}**: buddies are two members of one group.")
            for user_id, who in ((actor.user_id, "You already have"), (partner_id, f"<@{partner_id}> already has")):
                if await active_buddy_pair(session, group.id, user_id) is not None:
                    raise Conflict(f"{who} a buddy in **{group.name}** (`/buddy unpair` ends it).")
            pending = await session.scalar(
                select(BuddyPair).where(
                    BuddyPair.group_id == group.id,
                    BuddyPair.status == BuddyStatus.PENDING,
                    or_(
                        (BuddyPair.requester_id == actor.user_id) & (BuddyPair.partner_id == partner_id),
                        (BuddyPair.requester_id == partner_id) & (BuddyPair.partner_id == actor.user_id),
                    ),
                )
            )
            if pending is not None:
                raise Conflict(f"There's already a buddy request between you and <@{partner_id}> waiting for an answer.")
            pair = BuddyPair(guild_id=group.guild_id, group_id=group.id, requester_id=actor.user_id,
                             partner_id=partner_id, status=BuddyStatus.PENDING, created_at=self.now())
            session.add(pair)
            await session.flush()
            return self._request(group, pair)

    async def buddy_respond(self, *, user_id: int, pair_id: int, accept: bool) -> BuddyRequest:
        """The asked member accepts or declines (buttons in their DM or the channel)."""
        async with self.begin() as session:
            pair = await session.get(BuddyPair, require_id(pair_id, "buddy request"))
            if pair is None or user_id not in (pair.partner_id, pair.requester_id):
                raise NotFound("That buddy request isn't for you.")
            if user_id != pair.partner_id:
                raise NotAllowed("You asked: it's up to them to answer.")
            group = await session.get(Group, pair.group_id)
            assert group is not None
            if pair.status != BuddyStatus.PENDING:
                raise Conflict(f"That request was already answered ({pair.status}).")
            now = self.now()
            pair.responded_at = now
            if accept:
                require_active(group)
                for uid in (pair.requester_id, pair.partner_id):
                    if await membership(session, group.id, uid) is None:
                        raise NotFound(f"<@{uid}> is no longer in **{group.name}**.")
                    if await active_buddy_pair(session, group.id, uid) is not None:
                        raise Conflict(f"<@{uid}> already has a buddy in **{group.name}**.")
                pair.status = BuddyStatus.ACTIVE
                await outbox.plan_group(session, group.id, now)
            else:
                pair.status = BuddyStatus.DECLINED
            return self._request(group, pair)

    async def buddy_unpair(self, actor: Actor, *, group_id: int | None = None) -> BuddyRequest:
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            await require_member(session, group, actor)
            pair = await active_buddy_pair(session, group.id, actor.user_id)
            if pair is None:
                raise NotFound(f"You don't have a buddy in **{group.name}**.")
            now = self.now()
            pair.status = BuddyStatus.ENDED
            pair.ended_at = now
            await outbox.plan_group(session, group.id, now)
            return self._request(group, pair)

    async def buddy_of(self, group_id: int, user_id: int) -> int | None:
        """The member's active buddy in the group, if any."""
        async with self.read() as session:
            pair = await active_buddy_pair(session, group_id, user_id)
            if pair is None:
                return None
            return buddy_of(pair, user_id)

    # --- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _request(group: Group, pair: BuddyPair) -> BuddyRequest:
        return BuddyRequest(pair.id, group.id, group.name, group.channel_id, pair.requester_id, pair.partner_id,
                            pair.status)

    async def _add(self, session: AsyncSession, group: Group, user_id: int) -> MembershipChange:
        count = await _member_count(session, group.id)
        if count >= group.max_members:
            raise LimitReached(f"**{group.name}** is full ({count} of {group.max_members} members).")
        now = self.now()
        if count == PAIR_SIZE:
            # A pair ran itself (base.may_facilitate); three need a facilitator: if neither of the
            # pair was one, the longest-standing member becomes one.
            pair = await members_of(session, group.id)
            if not any(m.is_facilitator for m in pair):
                pair[0].is_facilitator = True
        session.add(GroupMember(group_id=group.id, user_id=user_id, guild_id=group.guild_id,
                                is_facilitator=False, joined_at=now))
        await outbox.plan_group(session, group.id, now)
        return MembershipChange(group.id, group.name, group.channel_id, user_id, count + 1, group.max_members)

    async def _remove(self, session: AsyncSession, group: Group, member: GroupMember) -> MembershipChange:
        now = self.now()
        await features_of(session).member_left(session, group, member.user_id, now)
        await session.delete(member)
        await outbox.plan_group(session, group.id, now)
        return MembershipChange(group.id, group.name, group.channel_id, member.user_id,
                                await _member_count(session, group.id), group.max_members)

    async def _info(self, session: AsyncSession, group: Group) -> GroupInfo:
        members = await members_of(session, group.id)
        meeting = await next_meeting_of(session, group.id, self.now())
        away = await away_members(session, group.guild_id, [m.user_id for m in members], self.now())
        return GroupInfo(
            id=group.id,
            guild_id=group.guild_id,
            name=group.name,
            channel_id=group.channel_id,
            timezone=group.timezone,
            max_members=group.max_members,
            members=[MemberInfo(m.user_id, m.is_facilitator, m.joined_at, away.get(m.user_id)) for m in members],
            next_meeting=await meeting_info(session, group, meeting) if meeting else None,
            archived=group.archived_at is not None,
            announce_commitments=group.announce_commitments,
            meeting_reminder_hours=list(group.meeting_reminder_hours),
            reportback_lead_hours=group.reportback_lead_hours,
            checkin_nudge_lead_hours=group.checkin_nudge_lead_hours,
            pack_lead_hours=group.pack_lead_hours,
            lines=tuple(await features_of(session).info_lines(session, group)),
            member_count=len(members),
            board_notes=group.board_notes,
            discord_events=group.discord_events,
            event_channel_id=group.event_channel_id,
            event_channel_stage=group.event_channel_stage,
        )

    async def _group_level_info(self, session: AsyncSession, group: Group) -> GroupInfo:
        """``/group info`` for a server admin outside the group: that it exists, its channel, size, facilitators."""
        members = await members_of(session, group.id)
        return GroupInfo(
            id=group.id,
            guild_id=group.guild_id,
            name=group.name,
            channel_id=group.channel_id,
            timezone=group.timezone,
            max_members=group.max_members,
            members=[MemberInfo(m.user_id, True, m.joined_at) for m in members if m.is_facilitator],
            next_meeting=None,
            archived=group.archived_at is not None,
            announce_commitments=group.announce_commitments,
            meeting_reminder_hours=list(group.meeting_reminder_hours),
            reportback_lead_hours=group.reportback_lead_hours,
            checkin_nudge_lead_hours=group.checkin_nudge_lead_hours,
            scope=InfoScope.GROUP_LEVEL,
            member_count=len(members),
            board_notes=group.board_notes,
        )
