"""The commitments feature's contributions: the report-back DMs, the meeting-day nudge to members
who haven't reported, and the meeting's report-back board; the carry-over DM after a meeting (to members whose commitments due at it ended unfinished); closing a meeting's open commitments when it ends; open commitments in ``/group info``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import (
    SNOOZE_BEFORE_MEETING,
    SNOOZE_BEFORE_NEXT_MEETING,
    Feature,
    GroupPlan,
    InfoLine,
    MeetingSlot,
    NotificationKind,
    PlannedRow,
    each_meeting,
)
from bot.models import Commitment, Group, Meeting, Win
from bot.services.commitments import CommitmentService, close_meeting_commitments, count_open, unfinished_at
from bot.services.mydata import FORMER_MEMBER_ID, REMOVED_TEXT, affected, export_rows
from bot.services.outbox import (
    MEETING_LENGTH,
    REPORTBACK_BOARD,
    REPORTBACK_DM,
    hours_before,
    meeting_occurrence,
    meeting_payload,
    member_dm_after,
    member_dm_due,
)

CARRYOVER_DM = "carryover_dm"
REPORTBACK_NUDGE = "reportback_nudge"
# The meeting-day nudge goes this long before the meeting (wall-clock), moved inside the member's
# waking window; whether it is sent (something still open, no apologies) is decided at send time.
NUDGE_LEAD_HOURS = 3


def plan_reportback_dms(plan: GroupPlan, slot: MeetingSlot) -> Iterable[PlannedRow]:
    meeting = slot.meeting
    occurrence, base = meeting_occurrence(meeting), meeting_payload(meeting)
    for user_id in plan.members:
        due = member_dm_due(plan, meeting, user_id, plan.group.reportback_lead_hours)
        yield PlannedRow(REPORTBACK_DM, meeting, occurrence, user_id, due, base)


def plan_reportback_nudges(plan: GroupPlan, slot: MeetingSlot) -> Iterable[PlannedRow]:
    """One nudge per member a few hours before each meeting; none when the group's report-back DM
    itself comes that late. Planned too late (a meeting set at short notice): not planned."""
    if plan.group.reportback_lead_hours <= NUDGE_LEAD_HOURS:
        return
    meeting = slot.meeting
    occurrence, base = meeting_occurrence(meeting), meeting_payload(meeting)
    lead = hours_before(meeting.starts_at, NUDGE_LEAD_HOURS, plan.zone)
    for user_id in plan.members:
        yield PlannedRow(REPORTBACK_NUDGE, meeting, occurrence, user_id, _nudge_due(plan, meeting, user_id, lead), base,
                         skip_if_late=True)


def _nudge_due(plan: GroupPlan, meeting: Meeting, user_id: int, lead: datetime) -> datetime:
    """Past its time already (a meeting set at short notice): that time, so that no new row is created
    (a pending one stays and goes). Outside the member's window: when it opens, if that is still
    before the meeting (a 10:00 meeting: 08:00 that morning), else the window's close before."""
    if lead < plan.now or plan.reach is None:
        return lead
    opening = plan.reach.deliver_later(user_id, lead)
    if opening < meeting.starts_at:
        return opening
    return member_dm_due(plan, meeting, user_id, NUDGE_LEAD_HOURS)


def plan_reportback_board(plan: GroupPlan, slot: MeetingSlot) -> Iterable[PlannedRow]:
    meeting = slot.meeting
    yield PlannedRow(REPORTBACK_BOARD, meeting, meeting_occurrence(meeting), 0, meeting.starts_at,
                     meeting_payload(meeting))


async def plan_carryover_dms(session: AsyncSession, plan: GroupPlan) -> list[PlannedRow]:
    """One DM per member with unfinished commitments of a meeting that ended (in the last day, like
    its post-meeting row), due at the meeting's end, moved into the member's waking window."""
    rows: list[PlannedRow] = []
    members = set(plan.members)
    for slot in plan.ended:
        meeting = slot.meeting
        ended_at = meeting.ended_at or meeting.starts_at + MEETING_LENGTH
        owners = {row.user_id for row in await unfinished_at(session, meeting)}
        for user_id in plan.members:
            if user_id in owners and user_id in members:
                rows.append(PlannedRow(CARRYOVER_DM, meeting, meeting_occurrence(meeting), user_id,
                                       member_dm_after(plan, user_id, ended_at), meeting_payload(meeting)))
    return rows


async def close_commitments(session: AsyncSession, group: Group, meeting: Meeting, now: datetime) -> None:
    await close_meeting_commitments(session, meeting, now)


async def open_commitments_line(session: AsyncSession, group: Group) -> list[InfoLine]:
    return [InfoLine("Open commitments", str(await count_open(session, group.id)))]


async def export_commitments(session: AsyncSession, guild_id: int, user_id: int) -> dict[str, Any]:
    return {
        "commitment": await export_rows(session, select(Commitment).where(
            Commitment.guild_id == guild_id, Commitment.user_id == user_id).order_by(Commitment.id)),
        "win": await export_rows(session, select(Win).where(Win.guild_id == guild_id, Win.user_id == user_id)),
    }


async def delete_commitments(session: AsyncSession, guild_id: int, user_id: int, now: datetime) -> int:
    """Wins go; commitments stay (their numbers are the group's), emptied and by "a former member"."""
    wins = await affected(session, delete(Win).where(Win.guild_id == guild_id, Win.user_id == user_id))
    kept = await affected(
        session, update(Commitment).where(Commitment.guild_id == guild_id, Commitment.user_id == user_id)
        .values(user_id=FORMER_MEMBER_ID, text=REMOVED_TEXT, note=None, updated_at=now)
    )
    return wins + kept


FEATURE = Feature(
    name="commitments",
    services=(CommitmentService,),
    extension="cogs.commitments",
    kinds=(
        NotificationKind(REPORTBACK_DM, "Report-back DM", each_meeting(plan_reportback_dms),
                         useful_after=timedelta(0), order=40, snoozable=SNOOZE_BEFORE_MEETING),
        NotificationKind(REPORTBACK_NUDGE, "Report-back nudge (meeting day)", each_meeting(plan_reportback_nudges),
                         useful_after=timedelta(0), order=42, snoozable=SNOOZE_BEFORE_MEETING),
        NotificationKind(REPORTBACK_BOARD, "Report-back board", each_meeting(plan_reportback_board),
                         useful_after=MEETING_LENGTH, order=60),
        # Worth sending for two days after the meeting's start (the member's window opens within one).
        NotificationKind(CARRYOVER_DM, "Carry-over DM", plan_carryover_dms,
                         useful_after=timedelta(days=2), order=45, snoozable=SNOOZE_BEFORE_NEXT_MEETING),
    ),
    meeting_ended=close_commitments,
    info_lines=open_commitments_line,
    export_member=export_commitments,
    delete_member=delete_commitments,
)
