"""A group's progress in figures: ``/group stats`` (completion and attendance per cycle, goals by
status) and the year in review (each member's goals, KPIs, commitments kept and wins).

Who sees what:

- ``/group stats``: the group's figures are the group's (the board already shows each cycle's
  completion; goals are listed by ``/goal list``). Per-member figures are a facilitator's: a
  member sees only their own row. Anyone who isn't a member (a server admin included) is refused.
- The year in review: the member's own, in full, privately. Shared with the group, it keeps only
  what the group may see: KPIs through :func:`bot.services.goals.visible_kpi` as a group member
  sees them (a private KPI isn't there; a "change only" one has its change, never a figure).

Attendance comes from one function, :func:`attendance`, which reads the RSVPs ("going") until the
meeting records who actually came; swap it there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dates import to_local
from bot.models import (
    Commitment,
    CommitmentStatus,
    Goal,
    GoalStatus,
    Group,
    GroupMember,
    Kpi,
    Meeting,
    MeetingStatus,
    Win,
)
from bot.services.attendance import attended
from bot.services.base import Actor, Service, membership, require_reader, resolve_group
from bot.services.commitments import CycleRate, cycle_rate, due_at_meeting
from bot.services.goals import (
    KpiView,
    Relation,
    _entries,
    _member_tz,
    _replace_points,
    add_months,
    month_of,
    visible_kpi,
)

STATS_CYCLES = 12  # the cycles /group stats shows: a year of monthly meetings
YEAR = timedelta(days=365)
WINS_SHOWN = 5


# --- plain data ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CycleFigures:
    meeting_id: int
    starts_at: datetime
    rate: CycleRate  # the commitments due at the meeting
    attended: int
    expected: int  # members of the group by the meeting's start

    @property
    def attendance(self) -> float | None:
        return self.attended / self.expected if self.expected else None


@dataclass(frozen=True, slots=True)
class MemberFigures:
    user_id: int
    rate: CycleRate  # over the cycles shown
    attended: int
    meetings: int  # the cycles shown that the member was in the group for


@dataclass(frozen=True, slots=True)
class GroupStats:
    group_name: str
    timezone: str  # the group's
    facilitator: bool  # the viewer sees every member's row
    cycles: list[CycleFigures]  # oldest first
    goals_by_status: dict[str, int]  # every GoalStatus, in its order
    members: list[MemberFigures]  # a facilitator: everyone (in joining order); a member: only theirs


@dataclass(frozen=True, slots=True)
class ReviewGoal:
    number: int
    text: str
    status: str


@dataclass(frozen=True, slots=True)
class YearReview:
    """A member's year in one group, as one audience may see it (``shared``: the group)."""

    group_id: int
    group_name: str
    channel_id: int
    user_id: int
    shared: bool
    since: date  # the first month of the year reviewed, in the member's zone
    until: date  # its last month
    goals: list[ReviewGoal]  # every goal not dropped, by number
    kpis: list[KpiView]  # the year's months only; as the audience may see them
    kept: int  # commitments done
    counted: int  # commitments due in the year and reported on (dropped ones aside)
    rate: CycleRate
    wins: int
    latest_wins: list[str] = field(default_factory=list)  # newest first, at most WINS_SHOWN
    hidden_kpis: int = 0  # the member's KPIs the audience may not see


# --- the one source of attendance ----------------------------------------------------------------


# --- the service ---------------------------------------------------------------------------------


class ReviewService(Service):
    async def group_stats(self, actor: Actor, *, group_id: int | None = None) -> GroupStats:
        """``/group stats``: the last twelve cycles' completion and attendance, goals by status."""
        now = self.now()
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            viewer = await require_reader(session, group, actor)
            meetings = list(reversed(list(await session.scalars(
                select(Meeting)
                .where(Meeting.group_id == group.id, Meeting.status != MeetingStatus.CANCELLED, Meeting.starts_at <= now)
                .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
                .limit(STATS_CYCLES)
            ))))
            members = list(await session.execute(
                select(GroupMember.user_id, GroupMember.joined_at)
                .where(GroupMember.group_id == group.id)
                .order_by(GroupMember.joined_at, GroupMember.user_id)
            ))
            came = await attended(session, meetings)
            cycles: list[CycleFigures] = []
            due_by_member: dict[int, list[Commitment]] = {user_id: [] for user_id, _joined in members}
            attended_by_member = dict.fromkeys(due_by_member, 0)
            in_group_for = dict.fromkeys(due_by_member, 0)
            for meeting in meetings:
                rows = await due_at_meeting(session, meeting)
                present = [u for u, joined in members if joined <= meeting.starts_at]
                for row in rows:
                    if row.user_id in due_by_member:
                        due_by_member[row.user_id].append(row)
                for user_id in present:
                    in_group_for[user_id] += 1
                    attended_by_member[user_id] += user_id in came[meeting.id]
                cycles.append(CycleFigures(
                    meeting_id=meeting.id, starts_at=meeting.starts_at, rate=cycle_rate(rows),
                    attended=len(came[meeting.id] & set(present)), expected=len(present),
                ))
            counts: dict[str, int] = {
                status: total for status, total in await session.execute(
                    select(Goal.status, func.count()).where(Goal.group_id == group.id).group_by(Goal.status)
                )
            }
            shown = [u for u, _joined in members if viewer.is_facilitator or u == actor.user_id]
            return GroupStats(
                group_name=group.name, timezone=group.timezone, facilitator=viewer.is_facilitator, cycles=cycles,
                goals_by_status={status.value: int(counts.get(status.value, 0)) for status in GoalStatus},
                members=[
                    MemberFigures(user_id=u, rate=cycle_rate(due_by_member[u]), attended=attended_by_member[u],
                                  meetings=in_group_for[u])
                    for u in shown
                ],
            )

    async def year_review(
        self, actor: Actor, *, group_id: int | None = None, shared: bool = False
    ) -> YearReview:
        """``/group review``: the acting member's year in the group; ``shared``: as the group sees it."""
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            await require_reader(session, group, actor)
            return await self._review(session, group, actor.user_id, shared=shared)

    async def review_of(self, *, group_id: int, user_id: int, shared: bool = False) -> YearReview | None:
        """The year in review the twelfth module sends a member (None: the group or the membership is gone)."""
        async with self.begin() as session:
            group = await session.get(Group, group_id)
            if group is None or group.archived_at is not None or await membership(session, group_id, user_id) is None:
                return None
            return await self._review(session, group, user_id, shared=shared)

    async def _review(self, session: AsyncSession, group: Group, user_id: int, *, shared: bool) -> YearReview:
        now = self.now()
        since_at = now - YEAR
        tz = await _member_tz(session, group.guild_id, user_id)
        until = month_of(to_local(now, tz).date())
        since = add_months(until, -11)
        goals = [
            ReviewGoal(number=g.number, text=g.text, status=g.status)
            for g in await session.scalars(
                select(Goal).where(Goal.group_id == group.id, Goal.user_id == user_id, Goal.status != GoalStatus.DROPPED)
                .order_by(Goal.number)
            )
        ]
        kpis = list(await session.scalars(
            select(Kpi).where(Kpi.group_id == group.id, Kpi.user_id == user_id).order_by(Kpi.name_key)
        ))
        entries = await _entries(session, [k.id for k in kpis])
        views: list[KpiView] = []
        for row in kpis:
            view = visible_kpi(row, entries[row.id], Relation.MEMBER if shared else Relation.OWNER)
            if view is not None:
                views.append(_year_only(view, since))
        due = list(await session.scalars(
            select(Commitment).where(
                Commitment.group_id == group.id, Commitment.user_id == user_id, Commitment.due_at > since_at,
                Commitment.due_at <= now, Commitment.status != CommitmentStatus.OPEN,
            )
        ))
        rate = cycle_rate(due)
        wins = list(await session.scalars(
            select(Win.text).where(Win.group_id == group.id, Win.user_id == user_id, Win.created_at > since_at)
            .order_by(Win.created_at.desc(), Win.id.desc())
        ))
        return YearReview(
            group_id=group.id, group_name=group.name, channel_id=group.channel_id, user_id=user_id, shared=shared,
            since=since, until=until, goals=goals, kpis=views, kept=rate.done, counted=rate.counted, rate=rate,
            wins=len(wins), latest_wins=wins[:WINS_SHOWN], hidden_kpis=len(kpis) - len(views),
        )


def _year_only(view: KpiView, since: date) -> KpiView:
    return _replace_points(view, [p for p in view.points if p.month >= since])
