"""The modules feature's contributions: the cycle's module prompt, the check-in nudge DMs and the
meeting's check-in digest; advancing the module when a meeting ends; the current module in
``/group info``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import Feature, GroupPlan, InfoLine, MeetingSlot, NotificationKind, PlannedRow, each_meeting
from bot.models import CheckIn, Group
from bot.services.modules import advance_module, current_module_title
from bot.services.mydata import affected, export_rows
from bot.services.outbox import (
    CHECKIN_DIGEST,
    CHECKIN_NUDGE,
    MEETING_LENGTH,
    MODULE_PROMPT,
    MODULE_PROMPT_DELAY,
    meeting_occurrence,
    meeting_payload,
    member_dm_due,
)


def plan_module_prompt(plan: GroupPlan, slot: MeetingSlot) -> Iterable[PlannedRow]:
    """The start of the meeting's cycle: the previous meeting's end, or when first planned."""
    meeting, previous = slot.meeting, slot.previous
    occurrence, base = meeting_occurrence(meeting), meeting_payload(meeting)
    if previous is not None:
        yield PlannedRow(MODULE_PROMPT, meeting, occurrence, 0, previous.starts_at + MODULE_PROMPT_DELAY, base)
    else:
        # No previous meeting: due when first planned (an overdue row keeps its time).
        yield PlannedRow(MODULE_PROMPT, meeting, occurrence, 0, plan.now, base)


def plan_checkin_nudges(plan: GroupPlan, slot: MeetingSlot) -> Iterable[PlannedRow]:
    meeting = slot.meeting
    occurrence, base = meeting_occurrence(meeting), meeting_payload(meeting)
    for user_id in plan.members:
        due = member_dm_due(plan, meeting, user_id, plan.group.checkin_nudge_lead_hours)
        yield PlannedRow(CHECKIN_NUDGE, meeting, occurrence, user_id, due, base)


def plan_checkin_digest(plan: GroupPlan, slot: MeetingSlot) -> Iterable[PlannedRow]:
    meeting = slot.meeting
    yield PlannedRow(CHECKIN_DIGEST, meeting, meeting_occurrence(meeting), 0, meeting.starts_at,
                     meeting_payload(meeting))


async def current_module_line(session: AsyncSession, group: Group) -> list[InfoLine]:
    title = await current_module_title(session, group)
    return [] if title is None else [InfoLine("Current module", title)]


async def export_checkins(session: AsyncSession, guild_id: int, user_id: int) -> dict[str, Any]:
    return {"checkin": await export_rows(session, select(CheckIn).where(
        CheckIn.guild_id == guild_id, CheckIn.user_id == user_id).order_by(CheckIn.id))}


async def delete_checkins(session: AsyncSession, guild_id: int, user_id: int, now: datetime) -> int:
    return await affected(session, delete(CheckIn).where(CheckIn.guild_id == guild_id, CheckIn.user_id == user_id))


FEATURE = Feature(
    name="modules",
    kinds=(
        NotificationKind(MODULE_PROMPT, "Module prompt", each_meeting(plan_module_prompt),
                         useful_after=timedelta(0), order=20),
        NotificationKind(CHECKIN_NUDGE, "Check-in nudge", each_meeting(plan_checkin_nudges),
                         useful_after=timedelta(0), order=30),
        NotificationKind(CHECKIN_DIGEST, "Check-in digest", each_meeting(plan_checkin_digest),
                         useful_after=MEETING_LENGTH, order=70),
    ),
    meeting_ended=advance_module,
    info_lines=current_module_line,
    export_member=export_checkins,
    delete_member=delete_checkins,
)
