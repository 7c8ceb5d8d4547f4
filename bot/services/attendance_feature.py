"""The attendance feature's contributions: **Take attendance** in the channel at the meeting's
start; after the meeting, the minutes by DM to each member who missed it and the one-question
feedback to each member who came (``bot.services.attendance`` defines who missed it); export and
delete of a member's attendance and feedback."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import Feature, GroupPlan, MeetingSlot, NotificationKind, PlannedRow, each_meeting
from bot.models.attendance import Attendance, MeetingFeedback
from bot.services.attendance import AttendanceService, meeting_end, missed_meeting
from bot.services.mydata import FORMER_MEMBER_ID, affected, export_rows
from bot.services.outbox import MEETING_LENGTH, meeting_occurrence, meeting_payload, member_dm_after

ATTENDANCE_PROMPT = "attendance_prompt"
MINUTES_DM = "minutes_dm"
FEEDBACK_DM = "feedback_dm"
# After the meeting's end, so that attendance taken at the close still decides who gets what.
AFTER_MEETING_DELAY = timedelta(minutes=30)
# Both DMs are worth sending for two days after the meeting's start (a member's window opens within
# one); one that couldn't go before then (an outage over a meeting) isn't planned at all.
AFTER_MEETING_USEFUL = timedelta(days=2)


def plan_attendance_prompt(plan: GroupPlan, slot: MeetingSlot) -> Iterable[PlannedRow]:
    meeting = slot.meeting
    yield PlannedRow(ATTENDANCE_PROMPT, meeting, meeting_occurrence(meeting), 0, meeting.starts_at,
                     meeting_payload(meeting))


async def _after_meeting(session: AsyncSession, plan: GroupPlan, kind: str, *, missed: bool) -> list[PlannedRow]:
    """One DM per member of each meeting ended in the last day: to those who missed it (``missed``)
    or to those who came; due a little after the end, inside the member's waking window."""
    rows: list[PlannedRow] = []
    for slot in plan.ended:
        meeting = slot.meeting
        away = await missed_meeting(session, meeting, list(plan.members))
        due = meeting_end(meeting) + AFTER_MEETING_DELAY
        for user_id in plan.members:
            when = member_dm_after(plan, user_id, due)
            if (user_id in away) == missed and when < meeting.starts_at + AFTER_MEETING_USEFUL:
                rows.append(PlannedRow(kind, meeting, meeting_occurrence(meeting), user_id, when,
                                       meeting_payload(meeting)))
    return rows


async def plan_minutes_dms(session: AsyncSession, plan: GroupPlan) -> list[PlannedRow]:
    return await _after_meeting(session, plan, MINUTES_DM, missed=True)


async def plan_feedback_dms(session: AsyncSession, plan: GroupPlan) -> list[PlannedRow]:
    return await _after_meeting(session, plan, FEEDBACK_DM, missed=False)


async def export_attendance(session: AsyncSession, guild_id: int, user_id: int) -> dict[str, Any]:
    return {
        "attendance": await export_rows(session, select(Attendance).where(
            Attendance.guild_id == guild_id, Attendance.user_id == user_id)),
        "meeting_feedback": await export_rows(session, select(MeetingFeedback).where(
            MeetingFeedback.guild_id == guild_id, MeetingFeedback.user_id == user_id)),
    }


async def delete_attendance(session: AsyncSession, guild_id: int, user_id: int, now: datetime) -> int:
    """Their attendance and feedback go; marks they took for others stay, by "a former member"."""
    gone = await affected(session, delete(Attendance).where(Attendance.guild_id == guild_id, Attendance.user_id == user_id))
    gone += await affected(session, delete(MeetingFeedback).where(
        MeetingFeedback.guild_id == guild_id, MeetingFeedback.user_id == user_id))
    gone += await affected(session, update(Attendance).where(
        Attendance.guild_id == guild_id, Attendance.recorded_by == user_id).values(recorded_by=FORMER_MEMBER_ID))
    return gone


FEATURE = Feature(
    name="attendance",
    kinds=(
        NotificationKind(ATTENDANCE_PROMPT, "Take attendance", each_meeting(plan_attendance_prompt),
                         useful_after=MEETING_LENGTH, order=55),
        NotificationKind(MINUTES_DM, "Minutes DM (missed the meeting)", plan_minutes_dms,
                         useful_after=AFTER_MEETING_USEFUL, order=85),
        NotificationKind(FEEDBACK_DM, "Feedback DM", plan_feedback_dms, useful_after=AFTER_MEETING_USEFUL, order=86),
    ),
    export_member=export_attendance,
    delete_member=delete_attendance,
    services=(AttendanceService,),
    extension="cogs.attendance",
)
