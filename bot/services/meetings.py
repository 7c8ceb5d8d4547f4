"""Meetings: one-off meetings, the monthly series, moving and cancelling, RSVPs.

A series keeps :data:`SERIES_AHEAD` future meetings as rows (so reminders can be planned and
members can RSVP); ending a meeting tops the series up. Ending a meeting is
:meth:`bot.services.groups.GroupService.end_meeting`.

In-session helpers other features may use: :func:`next_meeting_of`, :func:`members_of`,
:func:`meeting_info`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot import recurrence
from bot.calendar import MeetingEvent as CalendarMeeting
from bot.calendar import SeriesEvent as CalendarSeries
from bot.dates import parse_when
from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.models import Group, GroupMember, Meeting, MeetingSeries, MeetingStatus, Rsvp
from bot.places import Place, make_place, place_of, store
from bot.services import outbox
from bot.services.base import (
    Actor,
    Service,
    groups_of_member,
    may_facilitate,
    membership,
    require_active,
    require_facilitator,
    require_facilitator_for,
    require_id,
    require_member,
    resolve_group,
)
from bot.services.waking import MemberLocalTime, member_local_times

SERIES_AHEAD = 3
ANSWERS = ("going", "maybe", "no")
MAX_LISTED = 25
# A started meeting still counts as "current" (for /meeting end, RSVPs) this long after it starts.
MEETING_LENGTH = timedelta(hours=3)


@dataclass(frozen=True, slots=True)
class MeetingInfo:
    id: int
    group_id: int
    group_name: str
    channel_id: int
    timezone: str
    starts_at: datetime
    location: str | None
    status: str
    series_id: int | None
    counts: dict[str, int] = field(default_factory=dict)
    answers: dict[str, list[int]] = field(default_factory=dict)
    number: int = 0  # its place among the group's meetings (cancelled ones not counted): "3rd meeting"
    # Filled for the facilitator's reply to schedule / move: members who set a zone, in it.
    local_times: list[MemberLocalTime] = field(default_factory=list)
    place: Place | None = None  # its own, else its series' (``location`` is this place's venue)
    substitute_id: int | None = None  # a member facilitating this meeting only (``/meeting substitute``)

    @property
    def label(self) -> str:
        """How members name it: "3rd meeting of Founders Circle" — never the internal id."""
        return f"{ordinal(self.number)} meeting of {self.group_name}" if self.number else f"Meeting of {self.group_name}"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


async def meeting_number(session: AsyncSession, meeting: Meeting) -> int:
    """The meeting's place among its group's meetings in time (cancelled ones don't count)."""
    return (await meeting_numbers(session, meeting.group_id, [meeting]))[meeting.id]


async def meeting_numbers(session: AsyncSession, group_id: int, meetings: Sequence[Meeting]) -> dict[int, int]:
    """Each meeting's place among its group's meetings in time, in one statement (a cancelled
    meeting has the number of the one before it: cancelled ones don't count)."""
    earlier = aliased(Meeting)
    counts = await session.execute(
        select(Meeting.id, func.count(earlier.id))
        .outerjoin(
            earlier,
            (earlier.group_id == group_id)
            & (earlier.status != MeetingStatus.CANCELLED)
            & ((earlier.starts_at < Meeting.starts_at) | ((earlier.starts_at == Meeting.starts_at) & (earlier.id < Meeting.id))),
        )
        .where(Meeting.id.in_([m.id for m in meetings]))
        .group_by(Meeting.id)
    )
    before = {meeting_id: int(count) for meeting_id, count in counts}
    return {
        m.id: before.get(m.id, 0) + (0 if m.status == MeetingStatus.CANCELLED else 1) for m in meetings
    }


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    id: int
    group_name: str
    description: str
    local_time: str
    timezone: str
    location: str | None
    next_dates: list[datetime]
    replaced: int  # future meetings of the previous series that were cancelled
    local_times: list[MemberLocalTime] = field(default_factory=list)  # the next dates, per member with a zone
    channel_id: int = 0  # the group's channel, where the new schedule is announced
    place: Place | None = None


@dataclass(frozen=True, slots=True)
class PlaceSet:
    """What ``/meeting place`` changed: one meeting (``starts_at``) or the series (``starts_at`` None)."""

    group_name: str
    starts_at: datetime | None
    place: Place | None


@dataclass(frozen=True, slots=True)
class SubstituteSet:
    """What ``/meeting substitute`` changed: who facilitates ``starts_at``'s meeting (None: cleared)."""

    group_name: str
    channel_id: int
    meeting_id: int
    starts_at: datetime
    label: str
    substitute_id: int | None
    previous_id: int | None


@dataclass(frozen=True, slots=True)
class MeetingChoice:
    id: int
    label: str


@dataclass(frozen=True, slots=True)
class Moved:
    meeting: MeetingInfo
    previous_starts_at: datetime


# --- in-session helpers ------------------------------------------------------------------------------


async def meeting_for(session: AsyncSession, actor: Actor, meeting_id: int) -> tuple[Group, Meeting]:
    """A meeting chosen by id (an autocomplete's value, a button's): its group's in the actor's server,
    and a group she is in (a server admin may look at any). Else NotFound, the same for all."""
    meeting = await session.get(Meeting, require_id(meeting_id, "meeting"))
    group = await session.get(Group, meeting.group_id) if meeting is not None else None
    if meeting is None or group is None or group.guild_id != actor.guild_id or (
        not actor.can_manage_server and await membership(session, group.id, actor.user_id) is None
    ):
        raise NotFound("That meeting doesn't exist in your groups.")
    return group, meeting


async def next_meeting_of(session: AsyncSession, group_id: int, now: datetime) -> Meeting | None:
    """The group's next scheduled meeting that hasn't started yet."""
    return await session.scalar(
        select(Meeting)
        .where(Meeting.group_id == group_id, Meeting.status == MeetingStatus.SCHEDULED, Meeting.starts_at > now)
        .order_by(Meeting.starts_at, Meeting.id)
        .limit(1)
    )


async def meeting_before(session: AsyncSession, meeting: Meeting) -> Meeting | None:
    """The group's meeting before ``meeting`` (cancelled ones don't count): the previous cycle's."""
    return await session.scalar(
        select(Meeting)
        .where(Meeting.group_id == meeting.group_id, Meeting.status != MeetingStatus.CANCELLED,
               Meeting.starts_at < meeting.starts_at)
        .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
        .limit(1)
    )


async def meeting_after(session: AsyncSession, meeting: Meeting) -> Meeting | None:
    """The group's meeting after ``meeting`` (cancelled ones don't count; held or still to come)."""
    return await session.scalar(
        select(Meeting)
        .where(Meeting.group_id == meeting.group_id, Meeting.status != MeetingStatus.CANCELLED,
               Meeting.starts_at > meeting.starts_at)
        .order_by(Meeting.starts_at, Meeting.id)
        .limit(1)
    )


async def members_of(session: AsyncSession, group_id: int) -> list[GroupMember]:
    return list(
        await session.scalars(
            select(GroupMember)
            .where(GroupMember.group_id == group_id)
            .order_by(GroupMember.joined_at, GroupMember.user_id)
        )
    )


async def meeting_info(session: AsyncSession, group: Group, meeting: Meeting) -> MeetingInfo:
    return (await meeting_infos(session, group, [meeting]))[0]


async def meeting_infos(session: AsyncSession, group: Group, meetings: Sequence[Meeting]) -> list[MeetingInfo]:
    """The group's ``meetings`` with their RSVPs and numbers: two statements, however many meetings."""
    if not meetings:
        return []
    answers: dict[int, dict[str, list[int]]] = {m.id: {answer: [] for answer in ANSWERS} for m in meetings}
    rows = await session.execute(
        select(Rsvp.meeting_id, Rsvp.user_id, Rsvp.answer)
        .join(GroupMember, (GroupMember.group_id == group.id) & (GroupMember.user_id == Rsvp.user_id))
        .where(Rsvp.meeting_id.in_(answers))
        .order_by(Rsvp.updated_at, Rsvp.user_id)
    )
    for meeting_id, user_id, answer in rows:
        answers[meeting_id].setdefault(answer, []).append(user_id)
    numbers = await meeting_numbers(session, group.id, meetings)
    series_ids = {m.series_id for m in meetings if m.series_id is not None}
    series = {s.id: s for s in await session.scalars(select(MeetingSeries).where(MeetingSeries.id.in_(series_ids)))} \
        if series_ids else {}
    return [
        _meeting_info(group, meeting, answers[meeting.id], numbers[meeting.id],
                      place_of(meeting, series.get(meeting.series_id) if meeting.series_id is not None else None))
        for meeting in meetings
    ]


async def meeting_place(session: AsyncSession, meeting: Meeting) -> Place | None:
    """The meeting's own place, else its series'."""
    series = await session.get(MeetingSeries, meeting.series_id) if meeting.series_id is not None else None
    return place_of(meeting, series)


def _meeting_info(group: Group, meeting: Meeting, answers: dict[str, list[int]], number: int,
                  place: Place | None) -> MeetingInfo:
    return MeetingInfo(
        id=meeting.id,
        group_id=group.id,
        group_name=group.name,
        channel_id=group.channel_id,
        timezone=group.timezone,
        starts_at=meeting.starts_at,
        location=place.venue if place else None,
        status=meeting.status,
        series_id=meeting.series_id,
        counts={answer: len(ids) for answer, ids in answers.items()},
        answers=answers,
        number=number,
        place=place,
        substitute_id=meeting.substitute_id,
    )


async def active_series(session: AsyncSession, group_id: int) -> MeetingSeries | None:
    return await session.scalar(
        select(MeetingSeries)
        .where(MeetingSeries.group_id == group_id, MeetingSeries.ended_at.is_(None))
        .order_by(MeetingSeries.id.desc())
        .limit(1)
    )


async def extend_series(session: AsyncSession, group: Group, now: datetime) -> int:
    """Top the group's series up to :data:`SERIES_AHEAD` future meetings; returns how many were added."""
    series = await active_series(session, group.id)
    if series is None or group.archived_at is not None:
        return 0
    future = await session.scalar(
        select(func.count()).where(
            Meeting.series_id == series.id, Meeting.status == MeetingStatus.SCHEDULED, Meeting.starts_at > now
        )
    ) or 0
    if future >= SERIES_AHEAD:
        return 0
    last = await session.scalar(
        select(func.max(Meeting.series_occurrence_at)).where(Meeting.series_id == series.id)
    )
    rule, anchor = recurrence.load(series.rrule)
    dates = recurrence.occurrences(rule, anchor, group.timezone, after=max(now, last) if last else now,
                                   count=SERIES_AHEAD - future)
    for when in dates:
        session.add(
            Meeting(guild_id=group.guild_id, group_id=group.id, series_id=series.id, starts_at=when,
                    series_occurrence_at=when, status=MeetingStatus.SCHEDULED, created_at=now)
        )
    return len(dates)


async def _local_times(session: AsyncSession, group: Group, dates: list[datetime]) -> list[MemberLocalTime]:
    members = [m.user_id for m in await members_of(session, group.id)]
    return await member_local_times(session, group.guild_id, members, dates)


class MeetingService(Service):
    async def schedule(self, actor: Actor, *, when: str, location: str | None = None, address: str | None = None,
                       link: str | None = None, online: bool | None = None,
                       group_id: int | None = None) -> MeetingInfo:
        """One meeting, ``when`` read in the group's timezone; ``location`` is the venue."""
        place = make_place(venue=location, address=address, link=link, online=online)
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            require_active(group)
            await require_facilitator(session, group, actor)
            now = self.now()
            starts_at = self._future(parse_when(when, group.timezone, now), now, group.timezone)
            meeting = Meeting(guild_id=group.guild_id, group_id=group.id, starts_at=starts_at,
                              status=MeetingStatus.SCHEDULED, created_at=now)
            store(meeting, place)
            session.add(meeting)
            await outbox.plan_group(session, group.id, now)
            info = await meeting_info(session, group, meeting)
            return replace(info, local_times=await _local_times(session, group, [starts_at]))

    async def recurring(self, actor: Actor, *, rule: str, time: str | None = None, location: str | None = None,
                        address: str | None = None, link: str | None = None, online: bool | None = None,
                        group_id: int | None = None) -> SeriesInfo:
        """A series at a wall-clock time; replaces the future part of the group's existing series.
        Its meetings have its place (``location`` is the venue) unless given their own."""
        series_rule = recurrence.parse_rule(rule)
        at = recurrence.parse_time(time or "18:00")
        place = make_place(venue=location, address=address, link=link, online=online)
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            require_active(group)
            await require_facilitator(session, group, actor)
            now = self.now()
            anchor = recurrence.anchor_for(now, group.timezone, at)
            next_dates = recurrence.validate(series_rule.rrule, anchor, group.timezone, now=now)
            replaced = 0
            old_series = list(await session.scalars(
                select(MeetingSeries).where(MeetingSeries.group_id == group.id, MeetingSeries.ended_at.is_(None))
            ))
            for old in old_series:
                old.ended_at = now
                for meeting in await session.scalars(
                    select(Meeting).where(
                        Meeting.series_id == old.id, Meeting.status == MeetingStatus.SCHEDULED, Meeting.starts_at > now
                    )
                ):
                    meeting.status = MeetingStatus.CANCELLED
                    replaced += 1
            series = MeetingSeries(
                guild_id=group.guild_id, group_id=group.id, rule_text=" ".join(rule.split())[:200],
                rrule=recurrence.store(series_rule.rrule, anchor), local_time=f"{at:%H:%M}",
                created_by=actor.user_id, created_at=now,
            )
            store(series, place)
            session.add(series)
            await session.flush()
            await extend_series(session, group, now)
            await outbox.plan_group(session, group.id, now)
            return SeriesInfo(series.id, group.name, series_rule.description, series.local_time, group.timezone,
                              place.venue if place else None, next_dates, replaced,
                              await _local_times(session, group, next_dates), channel_id=group.channel_id, place=place)

    async def set_place(self, actor: Actor, *, meeting_id: int | None = None, series: bool = False,
                        venue: str | None = None, address: str | None = None, link: str | None = None,
                        online: bool | None = None, clear: bool = False, group_id: int | None = None) -> PlaceSet:
        """Change where one meeting (default: the next) or the series (``series``) happens.

        A meeting's own place wins over its series'; clearing a meeting's place gives it its series' again.
        """
        place = make_place(venue=venue, address=address, link=link, online=online)
        if place is None and not clear:
            raise InvalidInput("Give the place (`venue:`, `address:`, `link:`), or `clear:True` to remove it.")
        if place is not None and clear:
            raise InvalidInput("Either give a place or clear it, not both.")
        if series and meeting_id is not None:
            raise InvalidInput("Choose a meeting or the series, not both.")
        async with self.begin() as session:
            if series:
                group = await resolve_group(session, actor, group_id)
                require_active(group)
                await require_facilitator(session, group, actor)
                found = await active_series(session, group.id)
                if found is None:
                    raise NotFound(f"**{group.name}** has no meeting series: `/meeting recurring` sets one.")
                store(found, place)
                await outbox.plan_group(session, group.id, self.now())  # e.g. the Discord events' places
                return PlaceSet(group.name, None, place)
            group, meeting = await self._target(session, actor, meeting_id, group_id, substitute=True)
            if meeting.starts_at <= self.now():
                raise InvalidInput("That meeting has already started.")
            store(meeting, place)
            await outbox.plan_group(session, group.id, self.now())
            return PlaceSet(group.name, meeting.starts_at, await meeting_place(session, meeting))

    async def next(self, actor: Actor, *, group_id: int | None = None) -> MeetingInfo:
        async with self.read() as session:
            group = await resolve_group(session, actor, group_id)
            meeting = await next_meeting_of(session, group.id, self.now())
            if meeting is None:
                raise NotFound(
                    f"**{group.name}** has no meeting planned. A facilitator can set one with "
                    "`/meeting schedule` or `/meeting recurring`."
                )
            return await meeting_info(session, group, meeting)

    async def share(self, actor: Actor, *, meeting_id: int) -> MeetingInfo:
        """The "Share" button under a private ``/meeting next``: a member posts the card to the group."""
        async with self.read() as session:
            meeting = await session.get(Meeting, meeting_id)
            group = await session.get(Group, meeting.group_id) if meeting is not None else None
            if meeting is None or group is None or group.guild_id != actor.guild_id:
                raise NotFound("That meeting no longer exists.")
            await require_member(session, group, actor)
            require_active(group)
            if meeting.status != MeetingStatus.SCHEDULED or meeting.starts_at <= self.now():
                raise InvalidInput("That meeting is no longer ahead: `/meeting next` shows the next one.")
            return await meeting_info(session, group, meeting)

    async def calendar(self, actor: Actor, *, meeting_id: int) -> tuple[CalendarMeeting, CalendarSeries | None]:
        """The "Add to calendar" button: the meeting, and its series while that series is the group's."""
        async with self.read() as session:
            meeting = await session.get(Meeting, meeting_id)
            group = await session.get(Group, meeting.group_id) if meeting is not None else None
            if meeting is None or group is None or group.guild_id != actor.guild_id:
                raise NotFound("That meeting no longer exists.")
            await require_member(session, group, actor)
            if meeting.status == MeetingStatus.CANCELLED:
                raise InvalidInput("That meeting was cancelled: `/meeting next` shows the next one.")
            here = await meeting_place(session, meeting)
            one = CalendarMeeting(meeting_id=meeting.id, group_name=group.name, timezone=group.timezone,
                                  starts_at=meeting.starts_at, location=here.text if here else None,
                                  url=here.link if here else None)
            series = await session.get(MeetingSeries, meeting.series_id) if meeting.series_id is not None else None
            if series is None or series.ended_at is not None:
                return one, None
            cancelled: list[datetime] = []
            moved: list[tuple[datetime, datetime]] = []
            for row in await session.scalars(select(Meeting).where(Meeting.series_id == series.id)):
                if row.series_occurrence_at is None:
                    continue
                if row.status == MeetingStatus.CANCELLED:
                    cancelled.append(row.series_occurrence_at)
                elif row.starts_at != row.series_occurrence_at:
                    moved.append((row.series_occurrence_at, row.starts_at))
            there = place_of(series, None)
            return one, CalendarSeries(series_id=series.id, group_name=group.name, timezone=group.timezone,
                                       rrule=series.rrule, location=there.text if there else None,
                                       url=there.link if there else None, created_at=series.created_at,
                                       cancelled=tuple(cancelled),
                                       moved=tuple(moved))

    async def upcoming(self, actor: Actor, *, group_id: int | None = None) -> tuple[str, list[MeetingInfo]]:
        """The group's name and its scheduled meetings from now on (at most 25)."""
        async with self.read() as session:
            group = await resolve_group(session, actor, group_id)
            meetings = await session.scalars(
                select(Meeting)
                .where(Meeting.group_id == group.id, Meeting.status == MeetingStatus.SCHEDULED,
                       Meeting.starts_at > self.now() - MEETING_LENGTH)
                .order_by(Meeting.starts_at, Meeting.id)
                .limit(MAX_LISTED)
            )
            return group.name, await meeting_infos(session, group, list(meetings))

    async def cancel(self, actor: Actor, *, meeting_id: int | None = None, group_id: int | None = None) -> MeetingInfo:
        async with self.begin() as session:
            group, meeting = await self._target(session, actor, meeting_id, group_id)
            now = self.now()
            if meeting.starts_at <= now:
                raise InvalidInput("That meeting has already started; it can't be cancelled.")
            meeting.status = MeetingStatus.CANCELLED
            await outbox.plan_group(session, group.id, now)
            return await meeting_info(session, group, meeting)

    async def move(self, actor: Actor, *, meeting_id: int | None, when: str, group_id: int | None = None) -> Moved:
        async with self.begin() as session:
            group, meeting = await self._target(session, actor, meeting_id, group_id, substitute=True)
            now = self.now()
            if meeting.starts_at <= now:
                raise InvalidInput("That meeting has already started; it can't be moved.")
            previous = meeting.starts_at
            meeting.starts_at = self._future(parse_when(when, group.timezone, now), now, group.timezone)
            await outbox.plan_group(session, group.id, now)
            info = await meeting_info(session, group, meeting)
            return Moved(replace(info, local_times=await _local_times(session, group, [meeting.starts_at])), previous)

    async def substitute(self, actor: Actor, *, member_id: int | None, meeting_id: int | None = None,
                         clear: bool = False, group_id: int | None = None) -> SubstituteSet:
        """A facilitator asks a member to facilitate one meeting (the one given, else the one under way,
        else the next); ``clear`` takes it back. The substitute may then do what is done at that meeting
        (``require_facilitator_for``) and nothing else. Only a facilitator may, not a substitute."""
        if member_id is None and not clear:
            raise InvalidInput("Name the member who facilitates that meeting, or `clear:True` to take it back.")
        async with self.begin() as session:
            now = self.now()
            if meeting_id is not None:
                group, meeting = await meeting_for(session, actor, meeting_id)
            else:
                group = await resolve_group(session, actor, group_id)
                found = await session.scalar(
                    select(Meeting)
                    .where(Meeting.group_id == group.id, Meeting.status == MeetingStatus.SCHEDULED,
                           Meeting.starts_at > now - MEETING_LENGTH)
                    .order_by(Meeting.starts_at, Meeting.id)
                    .limit(1)
                )
                if found is None:
                    raise NotFound(f"**{group.name}** has no upcoming meeting.")
                meeting = found
            require_active(group)
            await require_facilitator(session, group, actor)
            if meeting.status == MeetingStatus.CANCELLED:
                raise InvalidInput("That meeting was cancelled: there's nothing to facilitate.")
            if meeting.status == MeetingStatus.ENDED or meeting.starts_at + MEETING_LENGTH <= now:
                raise InvalidInput("That meeting is over: a substitute is for a meeting still to come or under way.")
            previous = meeting.substitute_id
            number = await meeting_number(session, meeting)
            label = f"{ordinal(number)} meeting of {group.name}" if number else f"Meeting of {group.name}"
            if clear:
                if previous is None:
                    raise InvalidInput(f"Nobody is standing in for the {label}: there's nothing to clear.")
                if member_id is not None and member_id != previous:
                    raise InvalidInput(f"<@{member_id}> isn't facilitating the {label}: <@{previous}> is. "
                                       "`clear:True` alone takes it back.")
                meeting.substitute_id = None
                return SubstituteSet(group.name, group.channel_id, meeting.id, meeting.starts_at, label, None, previous)
            assert member_id is not None
            member = await membership(session, group.id, member_id)
            if member is None:
                raise NotFound(f"<@{member_id}> isn't in **{group.name}**: a substitute is one of the group's members.")
            if await may_facilitate(session, group, member):
                raise InvalidInput(f"<@{member_id}> already facilitates **{group.name}**: every meeting is theirs to run.")
            if previous == member_id:
                raise Conflict(f"<@{member_id}> is already facilitating the {label}.")
            meeting.substitute_id = member_id
            return SubstituteSet(group.name, group.channel_id, meeting.id, meeting.starts_at, label, member_id, previous)

    async def rsvp(self, *, guild_id: int | None, user_id: int, meeting_id: int, answer: str) -> MeetingInfo:
        """Record (or change) a member's answer; non-members are refused.

        ``guild_id`` is the server the button was clicked in, or None in a DM (a welcome DM's buttons).
        """
        if answer not in ANSWERS:
            raise InvalidInput("Answer going, maybe or no.")
        async with self.begin() as session:
            meeting = await session.get(Meeting, require_id(meeting_id, "meeting"))
            if meeting is None or (guild_id is not None and meeting.guild_id != guild_id):
                raise NotFound("That meeting doesn't exist any more.")
            group = await session.get(Group, meeting.group_id)
            assert group is not None
            if await membership(session, group.id, user_id) is None:
                raise NotAllowed(f"Only members of **{group.name}** can answer for its meetings.")
            now = self.now()
            if meeting.status == MeetingStatus.CANCELLED:
                raise InvalidInput("That meeting was cancelled.")
            if meeting.status == MeetingStatus.ENDED or meeting.starts_at + MEETING_LENGTH <= now:
                raise InvalidInput("That meeting is over.")
            row = await session.get(Rsvp, (meeting.id, user_id))
            if row is None:
                session.add(Rsvp(meeting_id=meeting.id, user_id=user_id, guild_id=meeting.guild_id, answer=answer,
                                 updated_at=now))
            else:
                row.answer = answer
                row.updated_at = now
            await session.flush()
            await outbox.plan_group(session, group.id, now)  # apologies ("no") skip the check-in nudge
            return await meeting_info(session, group, meeting)

    async def get(self, meeting_id: int) -> MeetingInfo | None:
        """A meeting as the reminder renderer and RSVP buttons show it (no access check: by id only)."""
        async with self.read() as session:
            meeting = await session.get(Meeting, meeting_id)
            if meeting is None:
                return None
            group = await session.get(Group, meeting.group_id)
            assert group is not None
            return await meeting_info(session, group, meeting)

    async def choices(self, actor: Actor, query: str) -> list[MeetingChoice]:
        """Upcoming meetings of the member's groups, for autocomplete (the channel's group first)."""
        needle = query.strip().casefold()
        async with self.read() as session:
            groups = {g.id: g for g in await groups_of_member(session, actor.guild_id, actor.user_id)}
            if not groups:
                return []
            now = self.now()
            meetings = await session.scalars(
                select(Meeting)
                .where(Meeting.group_id.in_(groups), Meeting.status == MeetingStatus.SCHEDULED,
                       Meeting.starts_at > now - MEETING_LENGTH)
                .order_by(Meeting.starts_at, Meeting.id)
                .limit(100)
            )
            result = []
            for m in meetings:
                group = groups[m.group_id]
                local = recurrence.to_local(m.starts_at, group.timezone)
                label = f"{group.name} · {local:%a %d %b %Y %H:%M} ({group.timezone})"[:100]
                if needle in label.casefold():
                    result.append((group.channel_id != actor.channel_id, MeetingChoice(m.id, label)))
            return [choice for _, choice in sorted(result, key=lambda pair: pair[0])][:25]

    # --- helpers ---------------------------------------------------------------------------------

    async def _target(self, session: AsyncSession, actor: Actor, meeting_id: int | None,
                      group_id: int | None, *, substitute: bool = False) -> tuple[Group, Meeting]:
        """The meeting a facilitator command acts on: the one given, else the group's next.

        ``substitute``: the meeting's substitute may too (``require_facilitator_for``).
        """
        if meeting_id is not None:
            meeting = await session.get(Meeting, require_id(meeting_id, "meeting"))
            if meeting is None or meeting.guild_id != actor.guild_id:
                raise NotFound("That meeting doesn't exist in this server.")
            group = await session.get(Group, meeting.group_id)
            assert group is not None
            if not actor.can_manage_server and await membership(session, group.id, actor.user_id) is None:
                raise NotFound("That meeting doesn't exist in this server.")
        else:
            group = await resolve_group(session, actor, group_id)
            found = await next_meeting_of(session, group.id, self.now())
            if found is None:
                raise NotFound(f"**{group.name}** has no upcoming meeting.")
            meeting = found
        require_active(group)
        if substitute:
            await require_facilitator_for(session, group, actor, meeting)
        else:
            await require_facilitator(session, group, actor)
        if meeting.status != MeetingStatus.SCHEDULED:
            raise InvalidInput(f"That meeting is already {meeting.status}.")
        return group, meeting

    @staticmethod
    def _future(starts_at: datetime, now: datetime, tz: str) -> datetime:
        if starts_at <= now:
            local = recurrence.to_local(starts_at, tz)
            raise InvalidInput(f"{local:%a %d %b %Y %H:%M} ({tz}) is in the past. Pick a time still to come.")
        return starts_at
