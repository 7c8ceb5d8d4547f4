"""Commitments made at one meeting and reported back on at the next, and shared wins.

A commitment is *due at* a meeting M when it was made for M (``meeting_id``), or — when it has
no meeting, or its meeting was cancelled — when its due date falls in M's cycle: after the
group's previous meeting P and no later than M. That one rule decides what a member's report-back
DM lists, what the board shows, what ``close_meeting_commitments`` closes, and what the stats
count per cycle.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dates import parse_when
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.models import (
    Commitment,
    CommitmentStatus,
    Group,
    GroupMember,
    GuildSettings,
    Meeting,
    MeetingStatus,
    MemberProfile,
    NoteSharing,
    OutboxRow,
    Rsvp,
    Win,
)
from bot.models.commitments import OPEN
from bot.models.outbox import OutboxStatus
from bot.services.base import (
    Actor,
    Service,
    may_facilitate,
    membership,
    require_active,
    require_id,
    require_member,
    require_reader,
    resolve_group,
)
from bot.services.buddies import active_buddy_pair, buddy_of
from bot.services.goals import GoalInfo, Ref, board_goals, goal_infos, goal_to_link, open_goals_of
from bot.services.guilds import member_timezone, own_timezone
from bot.services.meetings import meeting_before, next_meeting_of
from bot.services.outbox import REPORTBACK_BOARD
from bot.services.snooze import away_members
from bot.text import clean

DONE = CommitmentStatus.DONE
PARTLY = CommitmentStatus.PARTLY
NOT_DONE = CommitmentStatus.NOT_DONE
DROPPED = CommitmentStatus.DROPPED
NOT_REPORTED = CommitmentStatus.NOT_REPORTED
STATUSES = (OPEN, DONE, PARTLY, NOT_DONE, DROPPED, NOT_REPORTED)
# What a member may report (a facilitator may only drop).
REPORTABLE = (DONE, PARTLY, NOT_DONE, DROPPED)
STATUS_LABELS: dict[str, str] = {status: status.label for status in CommitmentStatus}

TEXT_MAX = 300
NOTE_MAX = 1000
# What a member is told about after the meeting (carry over, done late or drop).
UNFINISHED = (PARTLY, NOT_DONE, NOT_REPORTED)
CARRY_ACTIONS = ("carry", "late", "drop")
APOLOGIES = "no"  # the RSVP answer "Can't make it"
# Cycles looked at for a member's stats (two years of monthly meetings).
STATS_CYCLES = 24

_REF = re.compile(r"^\s*#?\s*(?P<number>[0-9]{1,9})\s*$")


# --- plain data returned to the adapters ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommitmentRef:
    """How a member names a commitment: its id (from autocomplete) or its number in the group ("#12")."""

    id: int | None = None
    number: int | None = None

    @classmethod
    def parse(cls, text: str) -> CommitmentRef:
        """``id:42`` (an autocomplete value) or ``#12`` / ``12`` (typed by hand)."""
        text = text.strip()
        if text.startswith("id:") and text[3:].isascii() and text[3:].isdigit():
            return cls(id=require_id(int(text[3:]), "commitment"))
        match = _REF.match(text)
        if match is None:
            raise InvalidInput(f"`{text[:40]}` isn't a commitment. Pick one from the list, or type its number like `#12`.")
        return cls(number=int(match["number"]))


@dataclass(frozen=True, slots=True)
class CommitmentInfo:
    id: int
    guild_id: int
    group_id: int
    number: int
    user_id: int
    text: str
    due_at: datetime
    meeting_id: int | None
    status: str
    note: str | None
    reported_at: datetime | None
    note_shared: bool = False  # the member shows the note on the board
    carried_from_number: int | None = None  # "#19, carried over from #12"

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    @property
    def late(self) -> bool:
        """Reported done after it was due (a "Done late" click after the meeting)."""
        return self.status == DONE and self.reported_at is not None and self.reported_at > self.due_at

    @property
    def status_label(self) -> str:
        return "done late" if self.late else STATUS_LABELS[self.status]


@dataclass(frozen=True, slots=True)
class Added:
    commitment: CommitmentInfo
    group_name: str
    # The group channel to announce in, or None when the group turned announcements off.
    announce_channel_id: int | None
    timezone: str  # the member's, for showing the due date
    goal: GoalInfo | None = None  # the goal it works towards (``goal:``)


@dataclass(frozen=True, slots=True)
class PostedBoard:
    """The report-back board message already posted for a meeting (found through its outbox row)."""

    guild_id: int
    group_id: int
    meeting_id: int
    channel_id: int
    message_id: int


@dataclass(frozen=True, slots=True)
class Changed:
    """The outcome of a report, edit or drop."""

    commitment: CommitmentInfo
    group_name: str
    changed: bool  # False when it already had this status / text (a double click)
    # Set when a facilitator dropped another member's commitment: the owner to tell.
    tell_owner_id: int | None = None
    # A report changed after the board was posted (the meeting not ended yet): the board to update.
    board: PostedBoard | None = None


class ReportClosed(InvalidInput):
    """A report-back click after the meeting ended: nothing is stored; ``offer`` is the member's
    carry-over DM for that meeting (what she can still do with its unfinished commitments)."""

    def __init__(self, message: str, offer: CarryOver) -> None:
        super().__init__(message)
        self.offer = offer


@dataclass(frozen=True, slots=True)
class MemberCommitments:
    user_id: int
    commitments: list[CommitmentInfo]


@dataclass(frozen=True, slots=True)
class CommitmentList:
    group_name: str
    status: str | None
    members: list[MemberCommitments]  # members with at least one listed commitment, by first number


@dataclass(frozen=True, slots=True)
class CycleRate:
    done: int
    partly: int
    counted: int  # every commitment due in the cycle except dropped ones

    @property
    def rate(self) -> float | None:
        """Share of counted commitments done (partly counts half); None when nothing was counted."""
        if self.counted == 0:
            return None
        return (self.done + self.partly / 2) / self.counted


@dataclass(frozen=True, slots=True)
class ReportBack:
    """One member's commitments due at one meeting (the DM, and the buddy summary)."""

    guild_id: int
    group_id: int
    group_name: str
    channel_id: int
    meeting_id: int
    meeting_starts_at: datetime
    user_id: int
    timezone: str  # the member's
    commitments: list[CommitmentInfo]
    # The group lets members show a note on the board (its ``board_notes`` is "member chooses").
    notes_shareable: bool = True
    own_zone: str | None = None  # the zone the reader set (for the unsociable-hours note), None: none set
    apologies: bool = False  # the member answered "Can't make it" for this meeting

    @property
    def open(self) -> list[CommitmentInfo]:
        return [c for c in self.commitments if c.is_open]


@dataclass(frozen=True, slots=True)
class Board:
    group_id: int
    group_name: str
    meeting_id: int
    meeting_starts_at: datetime
    members: list[MemberCommitments]  # every member with something due, in the group's order
    not_reported: list[int]  # members with at least one commitment still open (apologies aside)
    rate: CycleRate
    apologies: list[int] = field(default_factory=list)  # answered "Can't make it", in the group's order
    # Members away now (``/away``), in the group's order, with when their away ends (UTC).
    away: dict[int, datetime] = field(default_factory=dict)
    # Each member's open goals (and those done this cycle) with their status, by user id.
    goals: dict[int, list[GoalInfo]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BuddySummary:
    buddy_id: int
    report: ReportBack


@dataclass(frozen=True, slots=True)
class CycleStats:
    meeting_id: int
    starts_at: datetime
    rate: CycleRate


@dataclass(frozen=True, slots=True)
class Stats:
    """``/commit stats``: every figure counted over the same cycles (``CommitmentService.stats``)."""

    group_name: str
    user_id: int
    cycles: list[CycleStats]  # newest first, cycles in which the member had something due
    streak: int
    kept_this_year: int
    wins_this_year: int
    open_now: int
    carried_over: int = 0  # commitments of this year's cycles carried over to a later meeting


@dataclass(frozen=True, slots=True)
class WinInfo:
    id: int
    group_name: str
    channel_id: int
    text: str


@dataclass(frozen=True, slots=True)
class CarryOver:
    """A member's unfinished commitments of an ended meeting, offered for carry over / done late / drop."""

    group_id: int
    group_name: str
    meeting_id: int
    meeting_starts_at: datetime
    user_id: int
    timezone: str  # the member's
    commitments: list[CommitmentInfo]  # unfinished and not yet carried over, by number
    next_meeting_at: datetime | None  # where "Carry over" puts them; None: no meeting scheduled
    own_zone: str | None = None  # the zone the member set (for the unsociable-hours note), None: none set


@dataclass(frozen=True, slots=True)
class CarryResult:
    """The outcome of a carry-over button."""

    action: str  # carry | late | drop
    commitment: CommitmentInfo  # the clicked one, as it is now
    changed: bool  # False for a repeated click (already done late / dropped)
    carried: CommitmentInfo | None  # the new commitment, for "carry"
    offer: CarryOver | None  # the DM to redraw (None: the meeting is gone)


@dataclass(frozen=True, slots=True)
class NextMeeting:
    group_name: str
    starts_at: datetime | None
    timezone: str  # the group's


# --- helpers used inside a transaction -----------------------------------------------------------


def _info(row: Commitment, origins: dict[int, int] | None = None) -> CommitmentInfo:
    carried = (origins or {}).get(row.carried_from_id) if row.carried_from_id is not None else None
    return CommitmentInfo(
        id=row.id, guild_id=row.guild_id, group_id=row.group_id, number=row.number, user_id=row.user_id,
        text=row.text, due_at=row.due_at, meeting_id=row.meeting_id, status=row.status, note=row.note,
        reported_at=row.reported_at, note_shared=row.note_shared, carried_from_number=carried,
    )


def _note_on_board(row: Commitment, group: Group) -> bool:
    """Whether the group may read the note: its member showed it, and the group allows that."""
    return row.note_shared and group.board_notes == NoteSharing.MEMBER_CHOOSES


def _seen_by(
    row: Commitment, group: Group, viewer_id: int | None, origins: dict[int, int] | None = None
) -> CommitmentInfo:
    """The commitment as ``viewer_id`` may read it (None: the group, on the board).

    A note is its member's: anyone else reads it only when it's shown on the board.
    """
    info = _info(row, origins)
    if row.user_id == viewer_id or info.note is None or _note_on_board(row, group):
        return info
    return replace(info, note=None)


async def _origins(session: AsyncSession, rows: Sequence[Commitment]) -> dict[int, int]:
    """The numbers of the commitments ``rows`` were carried over from, by id."""
    ids = {r.carried_from_id for r in rows if r.carried_from_id is not None}
    if not ids:
        return {}
    return dict((i, n) for i, n in await session.execute(select(Commitment.id, Commitment.number).where(Commitment.id.in_(ids))))


async def _infos(session: AsyncSession, rows: Sequence[Commitment]) -> list[CommitmentInfo]:
    origins = await _origins(session, rows)
    return [_info(r, origins) for r in rows]


def _clean_text(text: str) -> str:
    cleaned = clean(text)
    if not cleaned:
        raise InvalidInput("Say what you'll do: the commitment text can't be empty.")
    if len(cleaned) > TEXT_MAX:
        raise InvalidInput(f"Keep it to {TEXT_MAX} characters (yours has {len(cleaned)}).")
    return cleaned


def _clean_note(note: str | None) -> str | None:
    if note is None:
        return None
    cleaned = clean(note, multiline=True)
    if len(cleaned) > NOTE_MAX:
        raise InvalidInput(f"Keep the note to {NOTE_MAX} characters (yours has {len(cleaned)}).")
    return cleaned or None


def _check_status(status: str, allowed: Sequence[str] = REPORTABLE) -> str:
    if status not in allowed:
        names = ", ".join(STATUS_LABELS[s] for s in allowed)
        raise InvalidInput(f"`{status[:20]}` isn't a status. Use one of: {names}.")
    return status


async def next_commitment_number(session: AsyncSession, group_id: int) -> int:
    """The number the group's next commitment gets (the caller holds the group row locked)."""
    return (await session.scalar(select(func.max(Commitment.number)).where(Commitment.group_id == group_id)) or 0) + 1


async def add_commitment_row(
    session: AsyncSession, *, group: Group, user_id: int, text: str, due_at: datetime, meeting_id: int | None,
    now: datetime,
) -> Commitment:
    """A member's open commitment, numbered next in the group (no commit).

    The caller holds the group row locked (``SELECT … FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE``
    serialises writers anyway), so numbers are allocated one writer at a time per group.
    """
    row = Commitment(
        guild_id=group.guild_id, group_id=group.id, number=await next_commitment_number(session, group.id),
        user_id=user_id, text=text, due_at=due_at, meeting_id=meeting_id, status=OPEN, created_at=now, updated_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def _due_at_clause(session: AsyncSession, meeting: Meeting) -> ColumnElement[bool]:
    """The commitments due at ``meeting`` (see the module docstring)."""
    previous = await meeting_before(session, meeting)
    cancelled = select(Meeting.id).where(Meeting.group_id == meeting.group_id, Meeting.status == MeetingStatus.CANCELLED)
    window = [Commitment.due_at <= meeting.starts_at]
    if previous is not None:
        window.append(Commitment.due_at > previous.starts_at)
    return and_(
        Commitment.group_id == meeting.group_id,
        or_(
            Commitment.meeting_id == meeting.id,
            and_(or_(Commitment.meeting_id.is_(None), Commitment.meeting_id.in_(cancelled)), *window),
        ),
    )


async def due_at_meeting(session: AsyncSession, meeting: Meeting, user_id: int | None = None) -> list[Commitment]:
    """The commitments due at ``meeting`` (the board's set), in number order."""
    return await _due_at(session, meeting, user_id)


async def _due_at(session: AsyncSession, meeting: Meeting, user_id: int | None = None) -> list[Commitment]:
    query = select(Commitment).where(await _due_at_clause(session, meeting)).order_by(Commitment.number)
    if user_id is not None:
        query = query.where(Commitment.user_id == user_id)
    return list(await session.scalars(query))


def _is_due_at(row: Commitment, meeting: Meeting, previous: Meeting | None, cancelled: set[int]) -> bool:
    """``_due_at_clause`` for one loaded row: the meeting's own, or a loose one (no meeting, or a
    cancelled one's) due in the meeting's window (after the previous meeting, up to this one)."""
    if row.meeting_id == meeting.id:
        return True
    if row.meeting_id is not None and row.meeting_id not in cancelled:
        return False
    return row.due_at <= meeting.starts_at and (previous is None or row.due_at > previous.starts_at)


async def _due_at_each(
    session: AsyncSession, group_id: int, meetings: Sequence[Meeting], user_id: int
) -> dict[int, list[Commitment]]:
    """The member's commitments due at each of ``meetings`` (``_due_at`` of each, same rule, same
    order), in three statements however many meetings: the cycles' bounds, then the commitments."""
    if not meetings:
        return {}
    oldest = min(m.starts_at for m in meetings)
    newest = max(m.starts_at for m in meetings)
    held = (Meeting.group_id == group_id, Meeting.status != MeetingStatus.CANCELLED)
    floor = await session.scalar(
        select(Meeting.starts_at).where(*held, Meeting.starts_at < oldest).order_by(Meeting.starts_at.desc()).limit(1)
    )
    # Every meeting's previous one (``meeting_before``) starts at ``floor`` or at one of these.
    starts = sorted(set(await session.scalars(
        select(Meeting.starts_at).where(*held, Meeting.starts_at >= oldest, Meeting.starts_at < newest)
    )))

    def previous_start(meeting: Meeting) -> datetime | None:
        index = bisect_left(starts, meeting.starts_at)
        return starts[index - 1] if index > 0 else floor

    cancelled = select(Meeting.id).where(Meeting.group_id == group_id, Meeting.status == MeetingStatus.CANCELLED)
    window = [Commitment.due_at <= newest] + ([Commitment.due_at > floor] if floor is not None else [])
    ids = [m.id for m in meetings]
    rows = await session.scalars(
        select(Commitment)
        .where(
            Commitment.group_id == group_id,
            Commitment.user_id == user_id,
            or_(
                Commitment.meeting_id.in_(ids),
                and_(or_(Commitment.meeting_id.is_(None), Commitment.meeting_id.in_(cancelled)), *window),
            ),
        )
        .order_by(Commitment.number)
    )
    bounds = [(m.id, previous_start(m), m.starts_at) for m in meetings]
    due: dict[int, list[Commitment]] = {m.id: [] for m in meetings}
    for row in rows:
        if row.meeting_id in due:  # made for one of them (never cancelled: they ended)
            due[row.meeting_id].append(row)
            continue
        for meeting_id, after, until in bounds:  # no meeting, or a cancelled one: the cycle its date falls in
            if row.due_at <= until and (after is None or row.due_at > after):
                due[meeting_id].append(row)
    return due


def _rate(rows: Sequence[Commitment | CommitmentInfo]) -> CycleRate:
    counted = [r for r in rows if r.status != DROPPED]
    return CycleRate(
        done=sum(r.status == DONE for r in counted),
        partly=sum(r.status == PARTLY for r in counted),
        counted=len(counted),
    )


def cycle_rate(rows: Sequence[Commitment | CommitmentInfo]) -> CycleRate:
    """The completion rate of ``rows`` (the board's definition: partly counts half, dropped ones don't count)."""
    return _rate(rows)


def _by_member(
    rows: Sequence[Commitment], order: Sequence[int] = (), *, view: Callable[[Commitment], CommitmentInfo] = _info
) -> list[MemberCommitments]:
    grouped: dict[int, list[CommitmentInfo]] = {}
    for row in rows:
        grouped.setdefault(row.user_id, []).append(view(row))
    rank = {user_id: index for index, user_id in enumerate(order)}
    users = sorted(grouped, key=lambda u: (rank.get(u, len(rank)), grouped[u][0].number))
    return [MemberCommitments(user_id=u, commitments=grouped[u]) for u in users]


async def _member_order(session: AsyncSession, group_id: int) -> list[int]:
    return list(
        await session.scalars(
            select(GroupMember.user_id)
            .where(GroupMember.group_id == group_id)
            .order_by(GroupMember.joined_at, GroupMember.user_id)
        )
    )


async def count_open(session: AsyncSession, group_id: int) -> int:
    """The group's open commitments (for ``/group info``)."""
    return await session.scalar(
        select(func.count()).select_from(Commitment).where(Commitment.group_id == group_id, Commitment.status == OPEN)
    ) or 0


async def apologies_for(session: AsyncSession, meeting_ids: Sequence[int]) -> set[tuple[int, int]]:
    """(meeting id, user id) of the members who answered "Can't make it": their apologies."""
    if not meeting_ids:
        return set()
    rows = await session.execute(
        select(Rsvp.meeting_id, Rsvp.user_id).where(Rsvp.meeting_id.in_(meeting_ids), Rsvp.answer == APOLOGIES)
    )
    return {(m, u) for m, u in rows}


async def unfinished_at(session: AsyncSession, meeting: Meeting, user_id: int | None = None) -> list[Commitment]:
    """The commitments due at ``meeting`` that ended partly, not done or not reported, and aren't
    carried over yet: what the carry-over DM offers."""
    alias = select(Commitment.carried_from_id).where(Commitment.carried_from_id.is_not(None))
    query = (
        select(Commitment)
        .where(await _due_at_clause(session, meeting), Commitment.status.in_(UNFINISHED), Commitment.id.not_in(alias))
        .order_by(Commitment.number)
    )
    if user_id is not None:
        query = query.where(Commitment.user_id == user_id)
    return list(await session.scalars(query))


async def close_meeting_commitments(session: AsyncSession, meeting: Meeting, now: datetime) -> None:
    """At a meeting's end: the commitments due at it that are still open become "not reported".

    Called by ``GroupService.end_meeting`` inside its transaction; idempotent.
    """
    ids = select(Commitment.id).where(await _due_at_clause(session, meeting), Commitment.status == OPEN)
    await session.execute(
        update(Commitment)
        .where(Commitment.id.in_(ids))
        .values(status=NOT_REPORTED, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def posted_board(session: AsyncSession, meeting: Meeting) -> PostedBoard | None:
    """The report-back board posted for ``meeting``: its outbox row, sent to the group channel."""
    row = await session.scalar(
        select(OutboxRow)
        .where(
            OutboxRow.meeting_id == meeting.id, OutboxRow.kind == REPORTBACK_BOARD, OutboxRow.recipient_id == 0,
            OutboxRow.status == OutboxStatus.SENT, OutboxRow.message_id.is_not(None), OutboxRow.channel_id.is_not(None),
        )
        .order_by(OutboxRow.id.desc())
        .limit(1)
    )
    if row is None or row.message_id is None or row.channel_id is None:
        return None
    return PostedBoard(guild_id=row.guild_id, group_id=row.group_id, meeting_id=meeting.id, channel_id=row.channel_id,
                       message_id=row.message_id)


# --- the service ---------------------------------------------------------------------------------


class CommitmentService(Service):
    # commands ------------------------------------------------------------------------------------

    async def add(
        self, actor: Actor, *, text: str, due: str | None = None, group_id: int | None = None, goal: Ref | None = None
    ) -> Added:
        """``/commit add``: due at the group's next meeting, or at ``due`` (in the member's timezone);
        ``goal``: linked to one of the member's open goals in the same group."""
        cleaned = _clean_text(text)
        now = self.now()
        async with self.begin() as session:
            tz = await member_timezone(session, actor.guild_id, actor.user_id)
            due_at = self._parse_due(due, tz, now) if due is not None else None
            # Lock the group row: numbers are allocated one writer at a time per group (PostgreSQL;
            # SQLite's BEGIN IMMEDIATE already serialises writers).
            resolved = await resolve_group(session, actor, group_id)
            group = await session.scalar(select(Group).where(Group.id == resolved.id).with_for_update())
            assert group is not None
            require_active(group)
            await require_member(session, group, actor)
            goal_row = await goal_to_link(session, actor, group, goal) if goal is not None else None
            meeting_id: int | None = None
            if due_at is None:
                meeting = await next_meeting_of(session, group.id, now)
                if meeting is None:
                    raise InvalidInput(
                        f"**{group.name}** has no meeting scheduled yet, so give a `due` date "
                        "(e.g. `next friday`, `2026-12-18`)."
                    )
                meeting_id, due_at = meeting.id, meeting.starts_at
            row = await add_commitment_row(
                session, group=group, user_id=actor.user_id, text=cleaned, due_at=due_at, meeting_id=meeting_id,
                now=now,
            )
            linked = None
            if goal_row is not None:
                row.goal_id = goal_row.id
                await session.flush()
                linked = (await goal_infos(session, [goal_row]))[0]
            return Added(
                commitment=_info(row),
                group_name=group.name,
                announce_channel_id=group.channel_id if group.announce_commitments else None,
                timezone=tz,
                goal=linked,
            )

    async def list_commitments(
        self, actor: Actor, *, member_id: int | None = None, status: str | None = OPEN, group_id: int | None = None
    ) -> CommitmentList:
        """``/commit list``: the group's commitments (open by default; ``status`` None: all), by member."""
        if status is not None:
            _check_status(status, STATUSES)
        async with self.read() as session:
            group = await resolve_group(session, actor, group_id)
            await require_reader(session, group, actor)
            query = select(Commitment).where(Commitment.group_id == group.id).order_by(Commitment.number)
            if member_id is not None:
                if await membership(session, group.id, member_id) is None:
                    raise NotFound(f"That member isn't in **{group.name}**.")
                query = query.where(Commitment.user_id == member_id)
            if status is not None:
                query = query.where(Commitment.status == status)
            rows = list(await session.scalars(query))
            order = await _member_order(session, group.id)
            origins = await _origins(session, rows)
            members = _by_member(rows, order, view=lambda row: _seen_by(row, group, actor.user_id, origins))
            return CommitmentList(group_name=group.name, status=status, members=members)

    async def report(
        self,
        actor: Actor,
        *,
        commitment: CommitmentRef,
        status: str,
        note: str | None = None,
        group_id: int | None = None,
    ) -> Changed:
        """``/commit report`` and ``/commit done``: the owner records a status (the later report wins)."""
        _check_status(status)
        cleaned_note = _clean_note(note)
        async with self.begin() as session:
            row, group = await self._load(session, actor, commitment, group_id)
            self._require_owner(row, actor.user_id, "report on")
            changed = self._record(row, status, cleaned_note)
            board = await self._board_to_update(session, await self._meeting_of(session, group, row), changed)
            return Changed(commitment=_info(row), group_name=group.name, changed=changed, board=board)

    async def edit(
        self,
        actor: Actor,
        *,
        commitment: CommitmentRef,
        text: str | None = None,
        due: str | None = None,
        group_id: int | None = None,
    ) -> Changed:
        """``/commit edit``: the owner changes an open commitment's text or due date."""
        if text is None and due is None:
            raise InvalidInput("Give a new `text`, a new `due` date, or both.")
        cleaned = _clean_text(text) if text is not None else None
        async with self.begin() as session:
            tz = await member_timezone(session, actor.guild_id, actor.user_id)
            due_at = self._parse_due(due, tz, self.now()) if due is not None else None
            row, group = await self._load(session, actor, commitment, group_id)
            self._require_owner(row, actor.user_id, "edit")
            if row.status != OPEN:
                raise InvalidInput(f"#{row.number} is already reported ({STATUS_LABELS[row.status]}); it can't change now.")
            changed = False
            if cleaned is not None and cleaned != row.text:
                row.text, changed = cleaned, True
            if due_at is not None and due_at != row.due_at:
                # A date of its own: its report-back is the meeting whose cycle the date falls in.
                row.due_at, row.meeting_id, changed = due_at, None, True
            if changed:
                row.updated_at = self.now()
            return Changed(commitment=_info(row), group_name=group.name, changed=changed)

    async def drop(self, actor: Actor, *, commitment: CommitmentRef, group_id: int | None = None) -> Changed:
        """``/commit drop``: the owner, or a facilitator of the group (the owner is then told)."""
        async with self.begin() as session:
            row, group = await self._load(session, actor, commitment, group_id)
            if row.user_id != actor.user_id:
                member = await membership(session, group.id, actor.user_id)
                if not (actor.can_manage_server or await may_facilitate(session, group, member)):
                    raise NotAllowed(f"#{row.number} is another member's: only they or a facilitator can drop it.")
            if row.status not in (OPEN, DROPPED):
                raise InvalidInput(f"#{row.number} is already reported ({STATUS_LABELS[row.status]}).")
            changed = self._record(row, DROPPED, None)
            tell = row.user_id if changed and row.user_id != actor.user_id else None
            return Changed(commitment=_info(row), group_name=group.name, changed=changed, tell_owner_id=tell)

    async def stats(self, actor: Actor, *, member_id: int | None = None, group_id: int | None = None) -> Stats:
        """``/commit stats``: every figure from one set of cycles (see :class:`Stats`).

        A cycle is the member's commitments due at one meeting that has ended (the newest
        ``STATS_CYCLES``); dropped ones don't count. Completion: done plus half of partly, over the
        rest. Streak: cycles in a row, newest first, with every counted commitment done (a cycle with
        nothing counted is skipped). Kept this year: commitments done (late too) in the cycles of
        meetings this year (the group's calendar); carried over: those of the same cycles carried to
        a later meeting.
        """
        now = self.now()
        async with self.read() as session:
            group = await resolve_group(session, actor, group_id)
            await require_reader(session, group, actor)
            user_id = member_id if member_id is not None else actor.user_id
            if await membership(session, group.id, user_id) is None:
                raise NotFound(f"That member isn't in **{group.name}**.")
            meetings = list(
                await session.scalars(
                    select(Meeting)
                    .where(Meeting.group_id == group.id, Meeting.status == MeetingStatus.ENDED)
                    .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
                    .limit(STATS_CYCLES)
                )
            )
            year_start = now.astimezone(ZoneInfo(group.timezone)).replace(
                month=1, day=1, hour=0, minute=0, second=0, microsecond=0
            )
            cycles: list[CycleStats] = []
            this_year: list[int] = []  # ids of the commitments of this year's cycles
            due = await _due_at_each(session, group.id, meetings, user_id)
            for meeting in meetings:
                rows = due[meeting.id]
                if rows:
                    cycles.append(CycleStats(meeting_id=meeting.id, starts_at=meeting.starts_at, rate=_rate(rows)))
                    if meeting.starts_at >= year_start:
                        this_year.extend(r.id for r in rows)
            streak = 0
            for cycle in cycles:
                if cycle.rate.counted == 0:
                    continue  # everything dropped: neither breaks nor extends the streak
                if cycle.rate.done != cycle.rate.counted:
                    break
                streak += 1
            kept = sum(c.rate.done for c in cycles if c.starts_at >= year_start)
            wins = await session.scalar(
                select(func.count()).select_from(Win).where(
                    Win.group_id == group.id, Win.user_id == user_id, Win.created_at >= year_start
                )
            )
            open_now = await session.scalar(
                select(func.count()).select_from(Commitment).where(
                    Commitment.group_id == group.id, Commitment.user_id == user_id, Commitment.status == OPEN
                )
            )
            carried = 0
            if this_year:
                carried = await session.scalar(
                    select(func.count(func.distinct(Commitment.carried_from_id))).where(
                        Commitment.carried_from_id.in_(this_year)
                    )
                ) or 0
            return Stats(
                group_name=group.name, user_id=user_id, cycles=cycles, streak=streak,
                kept_this_year=kept, wins_this_year=wins or 0, open_now=open_now or 0,
                carried_over=carried,
            )

    async def win(self, actor: Actor, *, text: str, group_id: int | None = None, once: bool = False) -> WinInfo:
        """``/win``: a success shared with the group (posted by the adapter, counted in stats).

        ``once``: a "Share as a win" click; the same win shared before is refused (a double click posts once).
        """
        cleaned = clean(text)
        if not cleaned:
            raise InvalidInput("Tell us the win: the text can't be empty.")
        if len(cleaned) > TEXT_MAX:
            raise InvalidInput(f"Keep it to {TEXT_MAX} characters (yours has {len(cleaned)}).")
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            require_active(group)
            await require_member(session, group, actor)
            return await self._add_win(session, group, actor.user_id, cleaned, once=once)

    async def share_done(self, *, user_id: int, commitment_id: int) -> WinInfo:
        """"Share as a win" on a commitment reported done: owner only, once."""
        async with self.begin() as session:
            row, group = await self._load_own(session, user_id, commitment_id)
            require_active(group)
            if row.status != DONE:
                raise InvalidInput("Only a commitment reported done can be shared as a win.")
            text = f"Done: {row.text}"
            return await self._add_win(session, group, user_id, text[:TEXT_MAX], once=True)

    async def _add_win(self, session: AsyncSession, group: Group, user_id: int, text: str, *, once: bool) -> WinInfo:
        if once:
            # Two clicks at once: the second waits for the first, then sees its win.
            await session.execute(select(Group.id).where(Group.id == group.id).with_for_update())
            shared = await session.scalar(
                select(Win.id).where(Win.group_id == group.id, Win.user_id == user_id, Win.text == text).limit(1)
            )
            if shared is not None:
                raise InvalidInput("You've already shared that win. 🎉")
        row = Win(guild_id=group.guild_id, group_id=group.id, user_id=user_id, text=text, created_at=self.now())
        session.add(row)
        await session.flush()
        return WinInfo(id=row.id, group_name=group.name, channel_id=group.channel_id, text=text)

    async def record_win_message(self, *, win_id: int, message_id: int) -> None:
        async with self.begin() as session:
            row = await session.get(Win, win_id)
            if row is not None:
                row.message_id = message_id

    async def choices(
        self, actor: Actor, query: str, *, group_id: int | None = None, include_managed: bool = False
    ) -> list[CommitmentInfo]:
        """Autocomplete: the member's own open commitments in this server (and, with
        ``include_managed``, the open commitments of groups they facilitate). At most 25."""
        needle = query.strip().lstrip("#").casefold()
        async with self.read() as session:
            mine = GroupMember.user_id == actor.user_id
            groups = select(GroupMember.group_id).where(mine, GroupMember.guild_id == actor.guild_id)
            facilitated = groups.where(GroupMember.is_facilitator.is_(True))
            owner = and_(Commitment.user_id == actor.user_id, Commitment.group_id.in_(groups))
            who = or_(owner, Commitment.group_id.in_(facilitated)) if include_managed else owner
            stmt = (
                select(Commitment)
                .where(Commitment.guild_id == actor.guild_id, Commitment.status == OPEN, who)
                .order_by(Commitment.due_at, Commitment.number)
            )
            if group_id is not None:
                stmt = stmt.where(Commitment.group_id == group_id)
            rows = list(await session.scalars(stmt))
        matches = [r for r in rows if not needle or needle in r.text.casefold() or str(r.number).startswith(needle)]
        return [_info(r) for r in matches[:25]]

    # report-back buttons (in a DM: no server context; the clicker must own the commitment) ---------

    async def report_by_button(self, *, user_id: int, commitment_id: int, status: str) -> tuple[Changed, ReportBack]:
        """A Done / Partly / Not done click: record it (idempotent) and return the DM to redraw.

        Answers change freely until the meeting ends; one changed after the board was posted names
        the board to update in place (``Changed.board``). Once the meeting has ended the report is
        closed: :class:`ReportClosed` (nothing stored) carries the member's carry-over offer.
        """
        _check_status(status, (DONE, PARTLY, NOT_DONE))
        async with self.begin() as session:
            row, group = await self._load_own(session, user_id, commitment_id)
            meeting = await self._meeting_of(session, group, row)
            await self._require_report_open(session, group, meeting, user_id)
            changed = self._record(row, status, None)
            changed_info = Changed(commitment=_info(row), group_name=group.name, changed=changed,
                                   board=await self._board_to_update(session, meeting, changed))
            return changed_info, await self._reportback_of(session, group, row, user_id)

    async def note_by_button(self, *, user_id: int, commitment_id: int, note: str) -> tuple[Changed, ReportBack]:
        """"Add a note" from the DM: the note is kept with the commitment (its status is unchanged)."""
        cleaned = _clean_note(note)
        if cleaned is None:
            raise InvalidInput("The note is empty.")
        async with self.begin() as session:
            row, group = await self._load_own(session, user_id, commitment_id)
            shown = _note_on_board(row, group)
            changed = cleaned != row.note
            if changed:  # a new note is private until its member shows it on the board
                row.note, row.note_shared, row.updated_at = cleaned, False, self.now()
            board = await self._board_to_update(session, await self._meeting_of(session, group, row), changed and shown)
            changed_info = Changed(commitment=_info(row), group_name=group.name, changed=changed, board=board)
            return changed_info, await self._reportback_of(session, group, row, user_id)

    async def share_note(self, *, user_id: int, commitment_id: int, shared: bool) -> tuple[Changed, ReportBack]:
        """"Show on the board" / "Keep private" for the member's own note (the report-back DM's buttons).

        Like the answers: the posted board is updated until the meeting ends; then :class:`ReportClosed`.
        """
        async with self.begin() as session:
            row, group = await self._load_own(session, user_id, commitment_id)
            meeting = await self._meeting_of(session, group, row)
            await self._require_report_open(session, group, meeting, user_id)
            if row.note is None:
                raise InvalidInput(f"#{row.number} has no note yet: add one first.")
            if shared and group.board_notes != NoteSharing.MEMBER_CHOOSES:
                raise InvalidInput(f"**{group.name}** keeps notes private: they're never shown on the board.")
            changed = row.note_shared != shared
            if changed:
                row.note_shared, row.updated_at = shared, self.now()
            board = await self._board_to_update(session, meeting, changed)
            changed_info = Changed(commitment=_info(row), group_name=group.name, changed=changed, board=board)
            return changed_info, await self._reportback_of(session, group, row, user_id)

    async def commitment_for_note(self, *, user_id: int, commitment_id: int) -> CommitmentInfo:
        """The commitment an "Add a note" click is about (to prefill the modal); owner only."""
        async with self.read() as session:
            row, _group = await self._load_own(session, user_id, commitment_id, lock=False)
            return _info(row)

    # carry-over buttons (in a DM after the meeting; the clicker must own the commitment) ------------

    async def carry_by_button(self, *, user_id: int, commitment_id: int, action: str) -> CarryResult:
        """Carry over / Done late / Drop for an unfinished commitment of an ended meeting.

        Carry over: a new open commitment, same text, due at the group's next meeting and linked to
        this one. Refused (nothing stored) for a commitment already carried over, done, dropped or
        still open, another member's, or after the member left the group.
        """
        if action not in CARRY_ACTIONS:
            raise InvalidInput("Carry over, done late or drop.")
        now = self.now()
        async with self.begin() as session:
            row, group = await self._load_own(session, user_id, commitment_id)
            carried_as = await session.scalar(select(Commitment.number).where(Commitment.carried_from_id == row.id))
            if carried_as is not None:
                raise InvalidInput(f"#{row.number} is already carried over, as #{carried_as}.")
            changed = True
            carried: CommitmentInfo | None = None
            if row.status == OPEN:
                raise InvalidInput(f"#{row.number} is still open: report on it with the report-back buttons.")
            if action == "carry":
                if row.status not in UNFINISHED:
                    raise InvalidInput(f"#{row.number} is {STATUS_LABELS[row.status]}: there's nothing to carry over.")
                require_active(group)
                locked = await session.scalar(select(Group).where(Group.id == group.id).with_for_update())
                assert locked is not None
                meeting = await next_meeting_of(session, group.id, now)
                if meeting is None:
                    raise InvalidInput(
                        f"**{group.name}** has no meeting scheduled yet, so there's nowhere to carry #{row.number}"
                        " over to: add it again with `/commit add` and a `due` date."
                    )
                new = await add_commitment_row(
                    session, group=locked, user_id=user_id, text=row.text, due_at=meeting.starts_at,
                    meeting_id=meeting.id, now=now,
                )
                new.carried_from_id = row.id
                await session.flush()
                carried = _info(new, {row.id: row.number})
            else:
                status = DONE if action == "late" else DROPPED
                if row.status in (DONE, DROPPED) and row.status != status:
                    raise InvalidInput(f"#{row.number} is already {_info(row).status_label}.")
                changed = self._record(row, status, None)
            await session.flush()
            offer = await self._carryover_of(session, group, row, user_id)
            return CarryResult(action=action, commitment=_info(row), changed=changed, carried=carried, offer=offer)

    async def carryover(self, *, group_id: int, meeting_id: int, user_id: int) -> CarryOver | None:
        """The carry-over DM of a member for an ended meeting, or None if the meeting or group is gone."""
        async with self.begin() as session:
            group, meeting = await self._group_meeting(session, group_id, meeting_id)
            if group is None or meeting is None:
                return None
            return await self._carryover(session, group, meeting, user_id)

    async def _carryover(self, session: AsyncSession, group: Group, meeting: Meeting, user_id: int) -> CarryOver:
        rows = await unfinished_at(session, meeting, user_id)
        tz = await member_timezone(session, group.guild_id, user_id)
        following = await next_meeting_of(session, group.id, max(meeting.starts_at, self.now()))
        return CarryOver(
            group_id=group.id, group_name=group.name, meeting_id=meeting.id, meeting_starts_at=meeting.starts_at,
            user_id=user_id, timezone=tz, commitments=await _infos(session, rows),
            next_meeting_at=following.starts_at if following is not None else None,
            own_zone=await own_timezone(session, group.guild_id, user_id),
        )

    async def _carryover_of(self, session: AsyncSession, group: Group, row: Commitment, user_id: int) -> CarryOver | None:
        """The carry-over DM a button belongs to: the ended meeting the clicked commitment was due at."""
        meeting = await session.get(Meeting, row.meeting_id) if row.meeting_id is not None else None
        if meeting is None or meeting.status == MeetingStatus.CANCELLED:
            meeting = await session.scalar(
                select(Meeting)
                .where(Meeting.group_id == group.id, Meeting.status != MeetingStatus.CANCELLED, Meeting.starts_at >= row.due_at)
                .order_by(Meeting.starts_at, Meeting.id)
                .limit(1)
            )
        if meeting is None:
            return None
        return await self._carryover(session, group, meeting, user_id)

    # what the renderers read ---------------------------------------------------------------------

    async def reportback(self, *, group_id: int, meeting_id: int, user_id: int) -> ReportBack | None:
        """The member's commitments due at the meeting, or None if the meeting or group is gone."""
        async with self.begin() as session:
            group, meeting = await self._group_meeting(session, group_id, meeting_id)
            if group is None or meeting is None:
                return None
            return await self._reportback(session, group, meeting, user_id)

    async def reportbacks(
        self, wanted: Sequence[tuple[int, int, int]]
    ) -> dict[tuple[int, int, int], tuple[ReportBack, list[GoalInfo]] | None]:
        """``reportback`` and ``GoalService.open_goals`` for many (group id, meeting id, user id) at
        once: one transaction, a fixed number of set-based queries whatever the number (the
        dispatcher's claimed batch of report-back DMs). None where the meeting or group is gone."""
        if not wanted:
            return {}
        async with self.read() as session:  # reads only: a fan-out's renders never take the write lock
            group_ids = {g for g, _m, _u in wanted}
            user_ids = {u for _g, _m, u in wanted}
            groups = {g.id: g for g in await session.scalars(select(Group).where(Group.id.in_(group_ids)))}
            meetings_of: dict[int, list[Meeting]] = {}
            for meeting in await session.scalars(
                select(Meeting).where(Meeting.group_id.in_(group_ids)).order_by(Meeting.starts_at, Meeting.id)
            ):
                meetings_of.setdefault(meeting.group_id, []).append(meeting)
            targets: dict[int, tuple[Meeting, Meeting | None, set[int]]] = {}  # meeting id → (it, previous, cancelled)
            for group_id, meeting_id, _user in wanted:
                if meeting_id in targets or group_id not in groups:
                    continue
                meetings = meetings_of.get(group_id, [])
                target = next((m for m in meetings if m.id == meeting_id), None)
                if target is None:
                    continue
                earlier = [m for m in meetings
                           if m.status != MeetingStatus.CANCELLED and m.starts_at < target.starts_at]
                previous = max(earlier, key=lambda m: (m.starts_at, m.id)) if earlier else None  # meeting_before
                cancelled = {m.id for m in meetings if m.status == MeetingStatus.CANCELLED}
                targets[meeting_id] = (target, previous, cancelled)
            due: dict[tuple[int, int], list[Commitment]] = {}  # (meeting id, user id) → _due_at's rows
            if targets:
                loose = {c for _m, _p, cancelled in targets.values() for c in cancelled}
                latest = max(m.starts_at for m, _p, _c in targets.values())
                rows = await session.scalars(
                    select(Commitment)
                    .where(
                        Commitment.group_id.in_(group_ids), Commitment.user_id.in_(user_ids),
                        or_(Commitment.meeting_id.in_(targets),
                            and_(or_(Commitment.meeting_id.is_(None), Commitment.meeting_id.in_(loose)),
                                 Commitment.due_at <= latest)),
                    )
                    .order_by(Commitment.number)
                )
                for row in rows:
                    for meeting_id, (meeting, previous, cancelled) in targets.items():
                        if row.group_id == meeting.group_id and _is_due_at(row, meeting, previous, cancelled):
                            due.setdefault((meeting_id, row.user_id), []).append(row)
            guild_ids = {g.guild_id for g in groups.values()}
            profiles = {
                (p.guild_id, p.user_id): p.timezone
                for p in await session.scalars(
                    select(MemberProfile).where(MemberProfile.guild_id.in_(guild_ids), MemberProfile.user_id.in_(user_ids))
                )
                if p.timezone
            }
            server_zones = dict(
                (g, tz) for g, tz in await session.execute(
                    select(GuildSettings.guild_id, GuildSettings.timezone).where(GuildSettings.guild_id.in_(guild_ids))
                )
            )
            away = await apologies_for(session, list(targets))
            goals = await open_goals_of(session, {(g, u) for g, m, u in wanted if m in targets})
            found: dict[tuple[int, int, int], tuple[ReportBack, list[GoalInfo]] | None] = {}
            for key in wanted:
                group_id, meeting_id, user_id = key
                group = groups.get(group_id)
                if group is None or meeting_id not in targets:
                    found[key] = None
                    continue
                meeting = targets[meeting_id][0]
                own = profiles.get((group.guild_id, user_id))
                report = ReportBack(  # as _reportback builds it
                    guild_id=group.guild_id, group_id=group.id, group_name=group.name, channel_id=group.channel_id,
                    meeting_id=meeting.id, meeting_starts_at=meeting.starts_at, user_id=user_id,
                    timezone=own or server_zones.get(group.guild_id) or "UTC",
                    commitments=[_seen_by(r, group, user_id) for r in due.get((meeting_id, user_id), [])],
                    notes_shareable=group.board_notes == NoteSharing.MEMBER_CHOOSES,
                    own_zone=own,
                    apologies=(meeting.id, user_id) in away,
                )
                found[key] = (report, goals.get((group_id, user_id), []))
            return found

    async def board(self, *, group_id: int, meeting_id: int) -> Board | None:
        async with self.begin() as session:
            group, meeting = await self._group_meeting(session, group_id, meeting_id)
            if group is None or meeting is None:
                return None
            rows = await _due_at(session, meeting)
            order = await _member_order(session, group.id)
            origins = await _origins(session, rows)
            members = _by_member(rows, order, view=lambda row: _seen_by(row, group, None, origins))
            away = {u for _m, u in await apologies_for(session, [meeting.id])}
            paused = await away_members(session, group.guild_id, order, self.now())
            previous = await meeting_before(session, meeting)
            goals = await board_goals(session, group.id, previous.starts_at if previous is not None else None)
            return Board(
                group_id=group.id, group_name=group.name, meeting_id=meeting.id, meeting_starts_at=meeting.starts_at,
                members=members,
                not_reported=[
                    m.user_id for m in members
                    if m.user_id not in away and m.user_id not in paused
                    and any(c.status in (OPEN, NOT_REPORTED) for c in m.commitments)
                ],
                rate=_rate(rows),
                apologies=[u for u in order if u in away],
                away={u: paused[u] for u in order if u in paused},
                goals={u: goals[u] for u in order if u in goals},
            )

    async def buddy_summary(self, *, group_id: int, meeting_id: int, user_id: int) -> BuddySummary | None:
        """The report-back of ``user_id``'s active buddy in the group, or None (no buddy, nothing due)."""
        async with self.read() as session:
            group, meeting = await self._group_meeting(session, group_id, meeting_id)
            if group is None or meeting is None:
                return None
            pair = await active_buddy_pair(session, group_id, user_id)
            if pair is None:
                return None
            buddy_id = buddy_of(pair, user_id)
            if await membership(session, group_id, buddy_id) is None:
                return None
            report = await self._reportback(session, group, meeting, buddy_id, viewer_id=user_id)
            if not report.commitments:
                return None
            return BuddySummary(buddy_id=buddy_id, report=report)

    async def next_meeting_after(self, *, group_id: int, meeting_id: int) -> NextMeeting | None:
        """The meeting after this one (for the post-meeting prompt); ``starts_at`` None if none yet."""
        async with self.read() as session:
            group, meeting = await self._group_meeting(session, group_id, meeting_id)
            if group is None or meeting is None:
                return None
            following = await next_meeting_of(session, group_id, max(meeting.starts_at, self.now()))
            return NextMeeting(
                group_name=group.name, starts_at=following.starts_at if following else None, timezone=group.timezone
            )

    # internals -----------------------------------------------------------------------------------

    @staticmethod
    def _parse_due(text: str, tz: str, now: datetime) -> datetime:
        due_at = parse_when(text, tz, now)
        if due_at <= now:
            raise InvalidInput(f"`{text[:60]}` is in the past: a commitment is due in the future.")
        return due_at

    @staticmethod
    def _require_owner(row: Commitment, user_id: int, verb: str) -> None:
        if row.user_id != user_id:
            raise NotAllowed(f"#{row.number} is another member's commitment: only they can {verb} it.")

    def _record(self, row: Commitment, status: str, note: str | None) -> bool:
        """Set the status (and note); False when nothing changes (a repeated click or command)."""
        if row.status == status and (note is None or note == row.note):
            return False
        now = self.now()
        if row.status != status:
            row.status, row.reported_at = status, now
        if note is not None:
            if note != row.note:
                row.note_shared = False  # a new note is private until its member shows it on the board
            row.note = note
        row.updated_at = now
        return True

    async def _load(
        self, session: AsyncSession, actor: Actor, ref: CommitmentRef, group_id: int | None
    ) -> tuple[Commitment, Group]:
        """A commitment the member may see: in a group of theirs in this server, else NotFound."""
        missing = NotFound("I can't find that commitment in your groups here.")
        if ref.id is not None:
            row = await session.get(Commitment, require_id(ref.id, "commitment"), with_for_update=True)
            if row is None or row.guild_id != actor.guild_id or (group_id is not None and row.group_id != group_id):
                raise missing
            group = await session.get(Group, row.group_id)
            assert group is not None
        else:
            group = await resolve_group(session, actor, group_id)
            row = await session.scalar(
                select(Commitment)
                .where(Commitment.group_id == group.id, Commitment.number == ref.number)
                .with_for_update()
            )
            if row is None:
                raise NotFound(f"**{group.name}** has no commitment #{ref.number}.")
        if await membership(session, group.id, actor.user_id) is None:
            raise missing
        return row, group

    async def _load_own(
        self, session: AsyncSession, user_id: int, commitment_id: int, *, lock: bool = True
    ) -> tuple[Commitment, Group]:
        """The clicker's own commitment, held for the change (``lock``; a read passes False: PostgreSQL
        refuses FOR UPDATE in a read-only transaction)."""
        row = await session.get(Commitment, require_id(commitment_id, "commitment"), with_for_update=lock)
        if row is None:
            raise NotFound("That commitment no longer exists.")
        if row.user_id != user_id:
            raise NotAllowed("These buttons are for the member who made the commitment.")
        group = await session.get(Group, row.group_id)
        assert group is not None
        if await membership(session, group.id, user_id) is None:
            raise NotAllowed(f"You're no longer a member of **{group.name}**.")
        return row, group

    @staticmethod
    async def _group_meeting(
        session: AsyncSession, group_id: int, meeting_id: int
    ) -> tuple[Group | None, Meeting | None]:
        group = await session.get(Group, group_id)
        meeting = await session.get(Meeting, meeting_id)
        if meeting is not None and meeting.group_id != group_id:
            meeting = None
        return group, meeting

    async def _reportback(
        self, session: AsyncSession, group: Group, meeting: Meeting, user_id: int, *, viewer_id: int | None = None
    ) -> ReportBack:
        """``user_id``'s report-back, as ``viewer_id`` (default: that member) may read it."""
        rows = await _due_at(session, meeting, user_id)
        tz = await member_timezone(session, group.guild_id, user_id)
        viewer = user_id if viewer_id is None else viewer_id
        return ReportBack(
            guild_id=group.guild_id, group_id=group.id, group_name=group.name, channel_id=group.channel_id,
            meeting_id=meeting.id, meeting_starts_at=meeting.starts_at, user_id=user_id, timezone=tz,
            commitments=[_seen_by(r, group, viewer) for r in rows],
            notes_shareable=group.board_notes == NoteSharing.MEMBER_CHOOSES,
            own_zone=await own_timezone(session, group.guild_id, viewer),
            apologies=(meeting.id, user_id) in await apologies_for(session, [meeting.id]),
        )

    @staticmethod
    async def _meeting_of(session: AsyncSession, group: Group, row: Commitment) -> Meeting | None:
        """The meeting a commitment is reported at: its own, or (no meeting, or cancelled) the first
        meeting at or after its due date."""
        await session.flush()
        meeting = await session.get(Meeting, row.meeting_id) if row.meeting_id is not None else None
        if meeting is None or meeting.status == MeetingStatus.CANCELLED:
            meeting = await session.scalar(
                select(Meeting)
                .where(Meeting.group_id == group.id, Meeting.status != MeetingStatus.CANCELLED, Meeting.starts_at >= row.due_at)
                .order_by(Meeting.starts_at, Meeting.id)
                .limit(1)
            )
        return meeting

    async def _require_report_open(
        self, session: AsyncSession, group: Group, meeting: Meeting | None, user_id: int
    ) -> None:
        """Refuse a report-back button once its meeting has ended, offering the carry-over instead."""
        if meeting is not None and meeting.status == MeetingStatus.ENDED:
            raise ReportClosed(
                f"The report-back for the **{group.name}** meeting is closed: the meeting has ended.",
                await self._carryover(session, group, meeting, user_id),
            )

    @staticmethod
    async def _board_to_update(session: AsyncSession, meeting: Meeting | None, changed: bool) -> PostedBoard | None:
        """The meeting's posted board, when a change shows on it: posted already, the meeting not ended."""
        if not changed or meeting is None or meeting.status != MeetingStatus.SCHEDULED:
            return None
        return await posted_board(session, meeting)

    async def _reportback_of(self, session: AsyncSession, group: Group, row: Commitment, user_id: int) -> ReportBack:
        """The report-back a DM button belongs to: the meeting the clicked commitment is due at."""
        meeting = await self._meeting_of(session, group, row)
        if meeting is None:  # no meeting to report at: the DM shows just this commitment
            tz = await member_timezone(session, group.guild_id, user_id)
            return ReportBack(
                guild_id=group.guild_id, group_id=group.id, group_name=group.name, channel_id=group.channel_id,
                meeting_id=0, meeting_starts_at=row.due_at, user_id=user_id, timezone=tz, commitments=[_info(row)],
                notes_shareable=group.board_notes == NoteSharing.MEMBER_CHOOSES,
            )
        return await self._reportback(session, group, meeting, user_id)
