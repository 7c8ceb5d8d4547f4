"""The commitments feature's contributions: the report-back DMs and the meeting's report-back
board; closing a meeting's open commitments when it ends; open commitments in ``/group info``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import Feature, GroupPlan, InfoLine, MeetingSlot, NotificationKind, PlannedRow, each_meeting
from bot.models import Group, Meeting
from bot.services.commitments import close_meeting_commitments, count_open
from bot.services.outbox import (
    MEETING_LENGTH,
    REPORTBACK_BOARD,
    REPORTBACK_DM,
    meeting_occurrence,
    meeting_payload,
    member_dm_due,
)


def plan_reportback_dms(plan: GroupPlan, slot: MeetingSlot) -> Iterable[PlannedRow]:
    meeting = slot.meeting
    occurrence, base = meeting_occurrence(meeting), meeting_payload(meeting)
    for user_id in plan.members:
        due = member_dm_due(plan, meeting, user_id, plan.group.reportback_lead_hours)
        yield PlannedRow(REPORTBACK_DM, meeting, occurrence, user_id, due, base)


def plan_reportback_board(plan: GroupPlan, slot: MeetingSlot) -> Iterable[PlannedRow]:
    meeting = slot.meeting
    yield PlannedRow(REPORTBACK_BOARD, meeting, meeting_occurrence(meeting), 0, meeting.starts_at,
                     meeting_payload(meeting))


async def close_commitments(session: AsyncSession, group: Group, meeting: Meeting, now: datetime) -> None:
    await close_meeting_commitments(session, meeting, now)


async def open_commitments_line(session: AsyncSession, group: Group) -> list[InfoLine]:
    return [InfoLine("Open commitments", str(await count_open(session, group.id)))]


FEATURE = Feature(
    name="commitments",
    kinds=(
        NotificationKind(REPORTBACK_DM, "Report-back DM", each_meeting(plan_reportback_dms),
                         useful_after=timedelta(0), order=40),
        NotificationKind(REPORTBACK_BOARD, "Report-back board", each_meeting(plan_reportback_board),
                         useful_after=MEETING_LENGTH, order=60),
    ),
    meeting_ended=close_commitments,
    info_lines=open_commitments_line,
)
