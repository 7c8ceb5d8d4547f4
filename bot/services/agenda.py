"""The agenda: the issues members table for a meeting, in hot-seat order, and who is coming.

Each member tables at most one issue per meeting, for a meeting still to come. Opening a
brainstorm before the meeting tables its issue too (:func:`table_brainstorm`, called by
``BrainstormService.open`` in its own transaction) — unless the brainstorm is anonymous (the
agenda names who tabled what).

Hot-seat order rotates fairly (:func:`fair_order`): members who have never had a hot seat go
first, then whoever had theirs longest ago; among those whose last hot seat was at the same
meeting, the order of that meeting moves up by one and whoever went first there goes last now.
So over as many meetings as there are members, each goes first once. A facilitator may reorder
(:meth:`AgendaService.move`); from then on the meeting keeps that order and new issues join at
the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import recurrence
from bot.errors import Conflict, InvalidInput, NotFound
from bot.models import AgendaItem, Brainstorm, Group, Meeting, MeetingStatus, Rsvp
from bot.services.base import (
    Actor,
    Service,
    require_active,
    require_facilitator_for,
    require_member,
    require_reader,
    resolve_group,
)
from bot.services.meetings import (
    MEETING_LENGTH,
    meeting_for,
    meeting_number,
    members_of,
    next_meeting_of,
    ordinal,
)
from bot.text import clean, quoted

ISSUE_MAX = 200


# --- plain data returned to adapters --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgendaEntry:
    position: int  # 1 goes first
    user_id: int
    issue: str
    from_brainstorm: bool
    thread_id: int | None  # the brainstorm's thread, when the issue came from one


@dataclass(frozen=True, slots=True)
class Agenda:
    meeting_id: int
    group_name: str
    channel_id: int
    timezone: str
    starts_at: datetime
    status: str
    number: int  # its place among the group's meetings: "3rd meeting"
    entries: tuple[AgendaEntry, ...]
    going: tuple[int, ...]
    maybe: tuple[int, ...]
    apologies: tuple[int, ...]  # answered "can't make it"
    no_answer: tuple[int, ...]
    reordered: bool  # a facilitator set the order

    @property
    def label(self) -> str:
        return f"{ordinal(self.number)} meeting of {self.group_name}" if self.number else f"Meeting of {self.group_name}"

    def position_of(self, user_id: int) -> int | None:
        return next((e.position for e in self.entries if e.user_id == user_id), None)


# --- in-session helpers -----------------------------------------------------------------------------


def _when(meeting: Meeting, group: Group) -> str:
    local = recurrence.to_local(meeting.starts_at, group.timezone)
    return f"{local:%a %d %b %Y %H:%M} ({group.timezone})"


def _clean_issue(issue: str) -> str:
    text = clean(issue)
    if not text:
        raise InvalidInput("The issue can't be empty: say in a line what you'd like the group's help with.")
    if len(text) > ISSUE_MAX:
        raise InvalidInput(f"The issue is {len(text)} characters long; at most {ISSUE_MAX}. "
                           "Say it in a line: the details can wait for the meeting (or a brainstorm).")
    return text


async def _items(session: AsyncSession, meeting_id: int) -> list[AgendaItem]:
    return list(await session.scalars(
        select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
        .order_by(AgendaItem.position, AgendaItem.created_at, AgendaItem.id)
    ))


async def fair_order(session: AsyncSession, meeting: Meeting, items: Sequence[AgendaItem]) -> list[AgendaItem]:
    """``items`` (one meeting's) in fair hot-seat order; see the module's docstring."""
    users = [item.user_id for item in items]
    last: dict[int, tuple[datetime, int]] = {}  # user → (their last earlier hot seat's meeting, position)
    if users:
        rows = await session.execute(
            select(AgendaItem.user_id, Meeting.starts_at, AgendaItem.position)
            .join(Meeting, Meeting.id == AgendaItem.meeting_id)
            .where(AgendaItem.group_id == meeting.group_id, AgendaItem.user_id.in_(users),
                   Meeting.status != MeetingStatus.CANCELLED, Meeting.starts_at < meeting.starts_at)
        )
        for user_id, starts_at, position in rows.tuples():
            if user_id not in last or starts_at > last[user_id][0]:
                last[user_id] = (starts_at, position)

    def key(item: AgendaItem) -> tuple[int, datetime, bool, int, datetime, int]:
        if item.user_id not in last:
            return (0, item.created_at, False, 0, item.created_at, item.id)
        at, position = last[item.user_id]
        return (1, at, position == 1, position, item.created_at, item.id)

    return sorted(items, key=key)


async def _renumber(session: AsyncSession, meeting: Meeting, *, new: AgendaItem | None = None) -> None:
    """Positions 1..n: the fair order, or (after a facilitator's reorder) the set order with ``new`` last."""
    await session.flush()
    items = await _items(session, meeting.id)
    if any(item.reordered_at is not None for item in items):
        ordered = [item for item in items if item is not new] + ([new] if new is not None else [])
    else:
        ordered = await fair_order(session, meeting, items)
    for position, item in enumerate(ordered, start=1):
        item.position = position
    await session.flush()


async def _add(session: AsyncSession, *, group: Group, meeting: Meeting, user_id: int, issue: str,
               brainstorm_id: int | None, now: datetime) -> AgendaItem:
    item = AgendaItem(guild_id=group.guild_id, group_id=group.id, meeting_id=meeting.id, user_id=user_id,
                      issue=issue, brainstorm_id=brainstorm_id, position=0, created_at=now)
    session.add(item)
    await _renumber(session, meeting, new=item)
    return item


async def _under_way(session: AsyncSession, group_id: int, now: datetime) -> Meeting | None:
    return await session.scalar(
        select(Meeting)
        .where(Meeting.group_id == group_id, Meeting.status == MeetingStatus.SCHEDULED,
               Meeting.starts_at <= now, Meeting.starts_at > now - MEETING_LENGTH)
        .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
        .limit(1)
    )


async def table_brainstorm(session: AsyncSession, *, group: Group, user_id: int, issue: str, brainstorm_id: int,
                           anonymous: bool, now: datetime) -> bool:
    """Put a just-opened brainstorm's issue on the agenda of the group's next meeting (no commit).

    Nothing happens (False) for an anonymous brainstorm, while a meeting is under way (the
    brainstorm is for that one), without a meeting ahead, or when the member already tabled one.
    """
    if anonymous or await _under_way(session, group.id, now) is not None:
        return False
    meeting = await next_meeting_of(session, group.id, now)
    if meeting is None:
        return False
    existing = await session.scalar(
        select(AgendaItem.id).where(AgendaItem.meeting_id == meeting.id, AgendaItem.user_id == user_id)
    )
    if existing is not None:
        return False
    await _add(session, group=group, meeting=meeting, user_id=user_id, issue=issue[:ISSUE_MAX],
               brainstorm_id=brainstorm_id, now=now)
    return True


async def untable_brainstorm(session: AsyncSession, brainstorm_id: int) -> None:
    """A brainstorm abandoned before it was posted leaves the agenda too (no commit)."""
    await session.execute(delete(AgendaItem).where(AgendaItem.brainstorm_id == brainstorm_id))


async def agenda_of(session: AsyncSession, group: Group, meeting: Meeting) -> Agenda:
    members = await members_of(session, group.id)
    current = {m.user_id for m in members}
    rows = await session.execute(
        select(AgendaItem, Brainstorm.thread_id)
        .outerjoin(Brainstorm, Brainstorm.id == AgendaItem.brainstorm_id)
        .where(AgendaItem.meeting_id == meeting.id)
        .order_by(AgendaItem.position, AgendaItem.created_at, AgendaItem.id)
    )
    entries: list[AgendaEntry] = []
    reordered = False
    for item, thread_id in rows.tuples():
        reordered = reordered or item.reordered_at is not None
        if item.user_id not in current:
            continue  # a member who left: off the agenda
        entries.append(AgendaEntry(position=len(entries) + 1, user_id=item.user_id, issue=item.issue,
                                   from_brainstorm=item.brainstorm_id is not None, thread_id=thread_id))
    answers = dict((await session.execute(
        select(Rsvp.user_id, Rsvp.answer).where(Rsvp.meeting_id == meeting.id)
    )).tuples().all())

    def who(answer: str | None) -> tuple[int, ...]:
        return tuple(m.user_id for m in members if answers.get(m.user_id) == answer)

    return Agenda(
        meeting_id=meeting.id, group_name=group.name, channel_id=group.channel_id, timezone=group.timezone,
        starts_at=meeting.starts_at, status=meeting.status, number=await meeting_number(session, meeting),
        entries=tuple(entries), going=who("going"), maybe=who("maybe"), apologies=who("no"), no_answer=who(None),
        reordered=reordered,
    )


# --- the service ------------------------------------------------------------------------------------


class AgendaService(Service):
    async def table(self, actor: Actor, *, issue: str, meeting_id: int | None = None,
                    group_id: int | None = None) -> Agenda:
        """Put the member's issue on the agenda of a meeting still to come (the group's next by default)."""
        text = _clean_issue(issue)
        try:
            async with self.begin() as session:
                group, meeting = await self._meeting(session, actor, meeting_id, group_id, lock=True)
                require_active(group)
                await require_member(session, group, actor)
                now = self.now()
                if meeting.status != MeetingStatus.SCHEDULED or meeting.starts_at <= now:
                    raise InvalidInput(
                        f"The meeting of {_when(meeting, group)} has already "
                        f"{'been cancelled' if meeting.status == MeetingStatus.CANCELLED else 'started'}: "
                        "issues are tabled for meetings still to come (`/meeting next` shows the next one)."
                    )
                existing = await session.scalar(
                    select(AgendaItem).where(AgendaItem.meeting_id == meeting.id, AgendaItem.user_id == actor.user_id)
                )
                if existing is not None:
                    raise Conflict(
                        f"You've already tabled {quoted(existing.issue, 60)} for the meeting of {_when(meeting, group)}: "
                        "one issue each per meeting. `/meeting withdraw` takes it off so you can table another."
                    )
                await _add(session, group=group, meeting=meeting, user_id=actor.user_id, issue=text,
                           brainstorm_id=None, now=now)
                return await agenda_of(session, group, meeting)
        except IntegrityError as exc:  # the same member tabling twice at once
            raise Conflict("You've already tabled an issue for that meeting: one issue each per meeting.") from exc

    async def withdraw(self, actor: Actor, *, meeting_id: int | None = None, group_id: int | None = None) -> Agenda:
        """Take the member's own issue off a meeting's agenda (before the meeting)."""
        async with self.begin() as session:
            group, meeting = await self._meeting(session, actor, meeting_id, group_id, lock=True)
            await require_member(session, group, actor)
            if meeting.status != MeetingStatus.SCHEDULED or meeting.starts_at <= self.now():
                raise InvalidInput(f"The meeting of {_when(meeting, group)} is no longer ahead: its agenda stays as it was.")
            item = await session.scalar(
                select(AgendaItem).where(AgendaItem.meeting_id == meeting.id, AgendaItem.user_id == actor.user_id)
            )
            if item is None:
                raise NotFound(f"You haven't tabled anything for the meeting of {_when(meeting, group)}.")
            await session.delete(item)
            await _renumber(session, meeting)
            return await agenda_of(session, group, meeting)

    async def show(self, actor: Actor, *, meeting_id: int | None = None, group_id: int | None = None) -> Agenda:
        """A meeting's agenda: the one given, else the one under way, else the next."""
        async with self.read() as session:
            group, meeting = await self._meeting(session, actor, meeting_id, group_id, current=True)
            await require_reader(session, group, actor)
            return await agenda_of(session, group, meeting)

    async def move(self, actor: Actor, *, user_id: int, position: int, meeting_id: int | None = None,
                   group_id: int | None = None) -> Agenda:
        """A facilitator puts a member's issue at ``position`` (1 goes first); the meeting keeps that order."""
        async with self.begin() as session:
            group, meeting = await self._meeting(session, actor, meeting_id, group_id, current=True, lock=True)
            require_active(group)
            await require_facilitator_for(session, group, actor, meeting)
            now = self.now()
            if meeting.status != MeetingStatus.SCHEDULED or meeting.starts_at + MEETING_LENGTH <= now:
                raise InvalidInput(f"The meeting of {_when(meeting, group)} is over: its agenda stays as it was.")
            current = {m.user_id for m in await members_of(session, group.id)}
            items = [item for item in await _items(session, meeting.id) if item.user_id in current]
            target = next((item for item in items if item.user_id == user_id), None)
            if target is None:
                raise NotFound(f"That member hasn't tabled an issue for the meeting of {_when(meeting, group)}.")
            if not 1 <= position <= len(items):
                raise InvalidInput(f"Pick a position from 1 to {len(items)}: the agenda has {len(items)} "
                                   f"{'issue' if len(items) == 1 else 'issues'}.")
            items.remove(target)
            items.insert(position - 1, target)
            for index, item in enumerate(items, start=1):
                item.position = index
                item.reordered_at = now
            await session.flush()
            return await agenda_of(session, group, meeting)

    async def _meeting(self, session: AsyncSession, actor: Actor, meeting_id: int | None, group_id: int | None,
                       *, current: bool = False, lock: bool = False) -> tuple[Group, Meeting]:
        """The meeting given (of a group of the member's, in this server), else the group's next.

        ``current``: a meeting under way counts as the next. ``lock`` holds the meeting row, so two
        members tabling at once are numbered one after the other.
        """
        now = self.now()
        if meeting_id is not None:
            group, meeting = await meeting_for(session, actor, meeting_id)
        else:
            group = await resolve_group(session, actor, group_id)
            found = (await _under_way(session, group.id, now) if current else None) or await next_meeting_of(
                session, group.id, now)
            if found is None:
                raise NotFound(
                    f"**{group.name}** has no meeting planned. A facilitator can set one with "
                    "`/meeting schedule` or `/meeting recurring`."
                )
            meeting = found
        if lock:
            await session.execute(select(Meeting.id).where(Meeting.id == meeting.id).with_for_update())
        return group, meeting

