"""``/help``: who is reading (member, facilitator, server admin) and the one thing to do next.

The "what next" line follows the member's cycle: set a time zone, answer the next meeting's RSVP,
report back on what's due at it, check in on the module. It reads the group the command was used
in (the channel's group, or the member's only group, or the group whose meeting comes first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotFound
from bot.models import CommitmentStatus, Group, GroupMember, Meeting, MemberProfile, Rsvp
from bot.models.modules import CheckIn
from bot.services.base import PAIR_SIZE, Actor, Service, groups_of_member, require_facilitator, require_member
from bot.services.commitments import due_at_meeting
from bot.services.meetings import MeetingInfo, active_series, meeting_info, next_meeting_of
from bot.services.modules import OPEN_CYCLE, cycle_key, group_modules
from bot.services.modules import _current as current_module


class NextStep(StrEnum):
    JOIN = "join"
    TIMEZONE = "timezone"
    RSVP = "rsvp"
    REPORT = "report"
    CHECKIN = "checkin"
    ALL_SET = "all_set"
    NO_MEETING = "no_meeting"


@dataclass(frozen=True, slots=True)
class SetupStep:
    done: bool
    text: str  # what to do, with the command


@dataclass(frozen=True, slots=True)
class Checklist:
    """A facilitator's first-run checklist for a group; each step ticks itself off from the data."""

    group_name: str
    steps: tuple[SetupStep, ...]

    @property
    def complete(self) -> bool:
        return all(step.done for step in self.steps)


async def checklist(session: AsyncSession, group: Group, now: datetime) -> Checklist:
    members = await session.scalar(select(func.count()).where(GroupMember.group_id == group.id))
    planned = await active_series(session, group.id) is not None or await next_meeting_of(session, group.id, now) is not None
    return Checklist(group.name, (
        SetupStep(True, f"Group created, in its own time zone ({group.timezone}): `/group settings` changes it"),
        SetupStep(bool(planned), "Set the monthly meeting: `/meeting recurring rule:\"first tuesday\" time:18:00`"),
        SetupStep((members or 0) >= 2, "Invite members: they run `/group join` (or `/group add member:`)"),
        SetupStep(True, "The year of modules is ready (`/module list`); `/module import` brings your own"),
    ))


@dataclass(frozen=True, slots=True)
class HelpState:
    """What ``/help`` needs to fit its reader."""

    is_member: bool
    is_facilitator: bool
    is_admin: bool
    group_name: str | None
    next_step: NextStep
    next_meeting_at: datetime | None = None
    to_report: int = 0  # open commitments due at the next meeting (inside its report-back window)
    setup: Checklist | None = None  # for a facilitator whose group isn't set up yet


@dataclass(frozen=True, slots=True)
class Welcome:
    """What a member who just joined needs: the next meeting, the module, what to do now."""

    guild_id: int
    group_id: int
    group_name: str
    channel_id: int
    meeting: MeetingInfo | None
    module_number: int
    module_title: str
    timezone_set: bool
    own_zone: str | None = None  # the zone the member set (for the unsociable-hours note), None: none set


class HelpService(Service):
    async def checklist(self, actor: Actor, *, group_id: int) -> Checklist:
        """The first-run checklist of a group the actor facilitates (the ``/group create`` reply)."""
        async with self.begin() as session:
            group = await session.get(Group, group_id)
            if group is None or group.guild_id != actor.guild_id:
                raise NotFound("That group doesn't exist in this server.")
            await require_facilitator(session, group, actor)
            return await checklist(session, group, self.now())

    async def welcome(self, actor: Actor, *, group_id: int) -> Welcome:
        """The welcome for a member of ``group_id`` (the ``/group join`` reply and DM)."""
        async with self.begin() as session:
            group = await session.get(Group, group_id)
            if group is None or group.guild_id != actor.guild_id:
                raise NotFound("That group doesn't exist in this server.")
            await require_member(session, group, actor)
            meeting = await next_meeting_of(session, group.id, self.now())
            module = current_module(group, await group_modules(session, group))
            profile = await session.get(MemberProfile, (actor.guild_id, actor.user_id))
            return Welcome(
                guild_id=group.guild_id, group_id=group.id, group_name=group.name, channel_id=group.channel_id,
                meeting=await meeting_info(session, group, meeting) if meeting is not None else None,
                module_number=module.number, module_title=module.title,
                timezone_set=profile is not None and bool(profile.timezone),
                own_zone=profile.timezone if profile is not None and profile.timezone else None,
            )

    async def state(self, actor: Actor) -> HelpState:
        async with self.begin() as session:
            groups = await groups_of_member(session, actor.guild_id, actor.user_id)
            if not groups:
                return HelpState(
                    is_member=False, is_facilitator=False, is_admin=actor.can_manage_server,
                    group_name=None, next_step=NextStep.JOIN,
                )
            facilitator_of = set(
                await session.scalars(
                    select(GroupMember.group_id).where(
                        GroupMember.user_id == actor.user_id,
                        GroupMember.group_id.in_([g.id for g in groups]),
                        GroupMember.is_facilitator.is_(True),
                    )
                )
            )
            # In a pair either member does what a facilitator does (``base.may_facilitate``).
            facilitator_of |= set(
                await session.scalars(
                    select(GroupMember.group_id)
                    .where(GroupMember.group_id.in_([g.id for g in groups]))
                    .group_by(GroupMember.group_id)
                    .having(func.count() == PAIR_SIZE)
                )
            )
            group, meeting = await self._focus(session, actor, groups)
            step, to_report = await self._next_step(session, actor, group, meeting)
            setup = None
            if group.id in facilitator_of or actor.can_manage_server:
                setup = await checklist(session, group, self.now())
                setup = None if setup.complete else setup
            return HelpState(
                is_member=True,
                is_facilitator=bool(facilitator_of),
                is_admin=actor.can_manage_server,
                group_name=group.name,
                next_step=step,
                next_meeting_at=meeting.starts_at if meeting is not None else None,
                to_report=to_report,
                setup=setup,
            )

    async def _focus(self, session: AsyncSession, actor: Actor, groups: list[Group]) -> tuple[Group, Meeting | None]:
        """The channel's group if the member is in it; else the group whose next meeting comes first."""
        now = self.now()
        here = [g for g in groups if g.channel_id in (actor.channel_id, actor.parent_channel_id)]
        if here:
            return here[0], await next_meeting_of(session, here[0].id, now)
        best: tuple[Group, Meeting | None] | None = None
        for group in groups:
            meeting = await next_meeting_of(session, group.id, now)
            if best is None or (meeting is not None and (best[1] is None or meeting.starts_at < best[1].starts_at)):
                best = (group, meeting)
        assert best is not None
        return best

    async def _next_step(
        self, session: AsyncSession, actor: Actor, group: Group, meeting: Meeting | None
    ) -> tuple[NextStep, int]:
        profile = await session.get(MemberProfile, (actor.guild_id, actor.user_id))
        if profile is None or not profile.timezone:
            return NextStep.TIMEZONE, 0
        if meeting is None:
            return NextStep.NO_MEETING, 0
        if await session.get(Rsvp, (meeting.id, actor.user_id)) is None:
            return NextStep.RSVP, 0
        now = self.now()
        if meeting.starts_at - timedelta(hours=group.reportback_lead_hours) <= now:
            open_rows = [c for c in await due_at_meeting(session, meeting, actor.user_id) if c.status == CommitmentStatus.OPEN]
            if open_rows:
                return NextStep.REPORT, len(open_rows)
        if meeting.starts_at - timedelta(hours=group.checkin_nudge_lead_hours) <= now:
            checked_in = await session.scalar(
                select(CheckIn.id).where(
                    CheckIn.group_id == group.id,
                    CheckIn.user_id == actor.user_id,
                    (CheckIn.cycle_key == cycle_key(meeting))
                    | ((CheckIn.cycle_key == OPEN_CYCLE) & (CheckIn.module_number == group.current_module_number)),
                )
            )
            if checked_in is None:
                return NextStep.CHECKIN, 0
        return NextStep.ALL_SET, 0
