"""The meeting as a whole, before and after: the meeting pack and the minutes.

The pack (sent ``group.pack_lead_hours`` before a meeting, see ``meetings_feature``) gathers when
and where, who's coming, the agenda in hot-seat order, the module and its check-ins, and the
report-back so far. The minutes (the post-meeting row, or ``/meeting minutes``) are rebuilt from
the data each time: nothing is stored, so a past meeting's minutes read the same as on the day
(except for what members changed or deleted since).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotFound
from bot.models import (
    Brainstorm,
    BrainstormIdea,
    CheckIn,
    Commitment,
    Group,
    Meeting,
    MeetingStatus,
    Module,
    Win,
)
from bot.models.commitments import CommitmentStatus
from bot.places import Place
from bot.services.agenda import Agenda, agenda_of
from bot.services.attendance import AttendanceLine, attendance_line
from bot.services.base import Actor, Service, membership, resolve_group
from bot.services.commitments import CycleRate, due_at_meeting
from bot.services.meetings import MEETING_LENGTH, meeting_before, meeting_for, meeting_place, members_of

TOP_IDEAS = 3


@dataclass(frozen=True, slots=True)
class Tally:
    """The report-back on the commitments due at a meeting, by status."""

    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def reported(self) -> int:
        return self.total - self.counts.get(CommitmentStatus.OPEN, 0) - self.counts.get(CommitmentStatus.NOT_REPORTED, 0)

    @property
    def completion(self) -> int | None:
        """The board's completion rate, in percent (one definition: ``CycleRate``, partly counts half,
        dropped ones don't count); None when nothing was counted."""
        rate = CycleRate(
            done=self.counts.get(CommitmentStatus.DONE, 0),
            partly=self.counts.get(CommitmentStatus.PARTLY, 0),
            counted=self.total - self.counts.get(CommitmentStatus.DROPPED, 0),
        ).rate
        return None if rate is None else round(100 * rate)


@dataclass(frozen=True, slots=True)
class Pack:
    agenda: Agenda  # when, attendance (going / maybe / apologies / no answer), the issues in order
    location: str | None
    module_number: int
    module_title: str | None
    checked_in: int
    members: int
    tally: Tally
    place: Place | None = None  # the meeting's own, else its series' (``location`` is its venue)


@dataclass(frozen=True, slots=True)
class IdeaLine:
    text: str
    votes: int
    adopted: bool


@dataclass(frozen=True, slots=True)
class BrainstormOutcome:
    owner_id: int | None  # None: anonymous
    issue: str
    status: str
    top: tuple[IdeaLine, ...]
    adopted: int


@dataclass(frozen=True, slots=True)
class Minutes:
    meeting_id: int
    group_name: str
    channel_id: int
    starts_at: datetime
    ended_at: datetime | None
    label: str
    tally: Tally
    brainstorms: tuple[BrainstormOutcome, ...]
    new_commitments: tuple[tuple[int, tuple[str, ...]], ...]  # member, texts (members in join order)
    wins: tuple[tuple[int, str], ...]
    next_starts_at: datetime | None
    module_number: int
    module_title: str | None
    attendance: AttendanceLine | None = None  # None: no attendance was taken


async def _tally(session: AsyncSession, meeting: Meeting) -> Tally:
    """The commitments due at ``meeting`` by status: the same set as the board's."""
    counts: dict[str, int] = {}
    for row in await due_at_meeting(session, meeting):
        counts[str(row.status)] = counts.get(str(row.status), 0) + 1
    return Tally(counts=counts)


async def _module_title(session: AsyncSession, group: Group, number: int) -> str | None:
    return await session.scalar(select(Module.title).where(Module.group_id == group.id, Module.number == number))


async def _following(session: AsyncSession, meeting: Meeting) -> Meeting | None:
    return await session.scalar(
        select(Meeting)
        .where(Meeting.group_id == meeting.group_id, Meeting.status == MeetingStatus.SCHEDULED,
               Meeting.starts_at > meeting.starts_at)
        .order_by(Meeting.starts_at, Meeting.id)
        .limit(1)
    )


async def _module_after(session: AsyncSession, group: Group, meeting: Meeting) -> int:
    """The module the meeting's end moved the group on to, for its minutes read later.

    Each meeting's end advances the module once (``modules.advance_module``: the next one, after the
    last back to the first), so it is the current module stepped back once per meeting ended since.
    """
    number = group.current_module_number
    later = int(await session.scalar(
        select(func.count(Meeting.id)).where(
            Meeting.group_id == group.id, Meeting.status == MeetingStatus.ENDED,
            (Meeting.starts_at > meeting.starts_at) | ((Meeting.starts_at == meeting.starts_at) & (Meeting.id > meeting.id)),
        )
    ) or 0)
    if not later:
        return number
    numbers = list(await session.scalars(select(Module.number).where(Module.group_id == group.id).order_by(Module.number)))
    if number not in numbers:
        return number
    return numbers[(numbers.index(number) - later) % len(numbers)]


async def pack_of(session: AsyncSession, group: Group, meeting: Meeting) -> Pack:
    number = group.current_module_number
    checked_in = await session.scalar(
        select(func.count(CheckIn.id)).where(CheckIn.group_id == group.id, CheckIn.meeting_id == meeting.id)
    )
    place = await meeting_place(session, meeting)
    return Pack(
        agenda=await agenda_of(session, group, meeting), location=place.venue if place else None, place=place,
        module_number=number,
        module_title=await _module_title(session, group, number), checked_in=int(checked_in or 0),
        members=len(await members_of(session, group.id)), tally=await _tally(session, meeting),
    )


async def minutes_of(session: AsyncSession, group: Group, meeting: Meeting, now: datetime) -> Minutes:
    """The minutes of an ended meeting (or one under way), rebuilt from the data."""
    previous = await meeting_before(session, meeting)
    following = await _following(session, meeting)
    since = previous.starts_at if previous is not None else group.created_at
    # What the meeting brought runs until the next meeting (or now): commitments made at or after it.
    made_before = (Commitment.created_at < following.starts_at) if following is not None else (Commitment.created_at <= now)
    end = meeting.ended_at or meeting.starts_at + MEETING_LENGTH

    brainstorms: list[BrainstormOutcome] = []
    for storm in await session.scalars(
        select(Brainstorm)
        .where(Brainstorm.group_id == group.id, Brainstorm.created_at > since, Brainstorm.created_at <= end)
        .order_by(Brainstorm.created_at, Brainstorm.id)
    ):
        ideas = list(await session.scalars(
            select(BrainstormIdea).where(BrainstormIdea.brainstorm_id == storm.id)
            .order_by(BrainstormIdea.votes.desc(), BrainstormIdea.number)
        ))
        brainstorms.append(BrainstormOutcome(
            owner_id=None if storm.anonymous else storm.owner_id, issue=storm.issue, status=storm.status,
            top=tuple(IdeaLine(i.text, i.votes, i.commitment_id is not None) for i in ideas[:TOP_IDEAS]),
            adopted=sum(1 for i in ideas if i.commitment_id is not None),
        ))

    members = [m.user_id for m in await members_of(session, group.id)]
    made: dict[int, list[str]] = {}
    for row in await session.scalars(
        select(Commitment)
        .where(Commitment.group_id == group.id, Commitment.created_at >= meeting.starts_at,
               made_before, Commitment.status != CommitmentStatus.DROPPED)
        .order_by(Commitment.created_at, Commitment.id)
    ):
        made.setdefault(row.user_id, []).append(row.text)
    order = {uid: n for n, uid in enumerate(members)}
    new = tuple((uid, tuple(texts)) for uid, texts in sorted(made.items(), key=lambda kv: order.get(kv[0], len(order))))

    wins = tuple((w.user_id, w.text) for w in await session.scalars(
        select(Win).where(Win.group_id == group.id, Win.created_at > since, Win.created_at <= end)
        .order_by(Win.created_at, Win.id)
    ))
    agenda = await agenda_of(session, group, meeting)
    number = await _module_after(session, group, meeting)
    return Minutes(
        meeting_id=meeting.id, group_name=group.name, channel_id=group.channel_id, starts_at=meeting.starts_at,
        ended_at=meeting.ended_at, label=agenda.label, tally=await _tally(session, meeting),
        brainstorms=tuple(brainstorms), new_commitments=new, wins=wins,
        next_starts_at=following.starts_at if following is not None else None,
        module_number=number, module_title=await _module_title(session, group, number),
        attendance=await attendance_line(session, meeting),
    )


class MinutesService(Service):
    async def pack(self, *, meeting_id: int) -> Pack | None:
        """The scheduler's pack for a meeting still to come; None when the meeting or group is gone."""
        async with self.begin() as session:
            meeting = await session.get(Meeting, meeting_id)
            group = await session.get(Group, meeting.group_id) if meeting is not None else None
            if meeting is None or group is None:
                return None
            return await pack_of(session, group, meeting)

    async def minutes(self, *, meeting_id: int) -> Minutes | None:
        """The scheduler's minutes of a meeting just ended; None when the meeting or group is gone."""
        async with self.begin() as session:
            meeting = await session.get(Meeting, meeting_id)
            group = await session.get(Group, meeting.group_id) if meeting is not None else None
            if meeting is None or group is None:
                return None
            return await minutes_of(session, group, meeting, self.now())

    async def show(self, actor: Actor, *, meeting_id: int | None = None, group_id: int | None = None) -> Minutes:
        """A past meeting's minutes, for a member of its group: the one given, else the latest ended."""
        async with self.read() as session:
            if meeting_id is not None:
                group, meeting = await meeting_for(session, actor, meeting_id)
            else:
                group = await resolve_group(session, actor, group_id)
                if not actor.can_manage_server and await membership(session, group.id, actor.user_id) is None:
                    raise NotFound("You're not a member of that group.")
                found = await session.scalar(
                    select(Meeting).where(Meeting.group_id == group.id, Meeting.status == MeetingStatus.ENDED)
                    .order_by(Meeting.starts_at.desc(), Meeting.id.desc()).limit(1)
                )
                if found is None:
                    raise NotFound(f"**{group.name}** has no ended meeting yet: minutes come when a meeting ends.")
                meeting = found
            if meeting.status != MeetingStatus.ENDED:
                raise NotFound("That meeting hasn't ended: its minutes come when it ends (`/meeting end`).")
            return await minutes_of(session, group, meeting, self.now())
