"""The modules feature's contributions: the cycle's module prompt, the check-in nudge DMs and the
meeting's check-in digest; advancing the module when a meeting ends; the current module in
``/group info``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import (
    SNOOZE_BEFORE_MEETING,
    Feature,
    GroupPlan,
    InfoLine,
    MeetingSlot,
    NotificationKind,
    PlannedRow,
    each_meeting,
)
from bot.models import CheckIn, Group, Meeting, MeetingStatus, OutboxRow
from bot.models.outbox import OutboxStatus
from bot.services.commitments import apologies_for
from bot.services.modules import ModuleService, advance_module, current_module_title
from bot.services.mydata import affected, export_rows
from bot.services.outbox import (
    CHECKIN_DIGEST,
    CHECKIN_NUDGE,
    ENDED_MEETING_WINDOW,
    MEETING_LENGTH,
    MODULE_PROMPT,
    MODULE_PROMPT_DELAY,
    USEFUL_UNTIL,
    meeting_occurrence,
    meeting_payload,
    member_dm_due,
)

AFTER_END = timedelta(minutes=1)  # the next module's prompt follows a meeting's end (after its post-meeting prompt)
R_APOLOGIES = "sent apologies for the meeting"  # cancelled nudges come back if the answer changes



def after_occurrence(meeting: Meeting) -> str:
    """The occurrence of the module prompt that follows ``meeting`` when no next meeting was planned."""
    return f"after:meeting:{meeting.id}"


def prompt_due(previous: Meeting) -> datetime:
    """When the prompt of the cycle after ``previous`` falls due: its actual end, or T + 3 h."""
    if previous.status == MeetingStatus.ENDED and previous.ended_at is not None:
        return previous.ended_at + AFTER_END
    return previous.starts_at + MODULE_PROMPT_DELAY


async def plan_module_prompts(session: AsyncSession, plan: GroupPlan) -> list[PlannedRow]:
    """The start of each cycle: the first meeting's when first planned; every later one's right after
    the meeting before it ends (``/meeting end`` or T + 3 h), whether or not the next meeting is planned.

    A prompt after meeting X is tied to the next meeting (occurrence ``meeting:<next>``); with none
    planned it is tied to no meeting (``after:meeting:<X>``, worth sending for a day) and keeps that
    occurrence when the next meeting is planned later, so the cycle gets one prompt.
    """
    known: dict[str, str] = {}
    after: set[int] = set()
    for occurrence, status, payload in await session.execute(
        select(OutboxRow.occurrence, OutboxRow.status, OutboxRow.payload).where(
            OutboxRow.group_id == plan.group.id, OutboxRow.kind == MODULE_PROMPT
        )
    ):
        known[occurrence] = status
        if status == OutboxStatus.SENT and isinstance(payload, dict) and isinstance(payload.get("after"), int):
            after.add(payload["after"])
    rows: list[PlannedRow] = []
    followed: set[int] = set()
    for slot in [*plan.ended, *plan.meetings]:
        if slot.previous is not None:
            followed.add(slot.previous.id)
    for slot in plan.meetings:
        meeting, previous = slot.meeting, slot.previous
        base = meeting_payload(meeting)
        if previous is None:
            # No previous meeting: due when first planned (an overdue row keeps its time).
            rows.append(PlannedRow(MODULE_PROMPT, meeting, meeting_occurrence(meeting), 0, plan.now, base))
            continue
        loose = after_occurrence(previous)
        occurrence = loose if loose in known else meeting_occurrence(meeting)
        if occurrence not in known and previous.id in after:
            continue  # this cycle's prompt went out under another occurrence
        rows.append(PlannedRow(MODULE_PROMPT, meeting, occurrence, 0, prompt_due(previous),
                               {**base, "after": previous.id}))
    for slot in plan.ended:
        ended = slot.meeting
        if ended.id in followed:
            continue
        occurrence = after_occurrence(ended)
        if occurrence not in known and ended.id in after:
            continue
        due = prompt_due(ended)
        rows.append(PlannedRow(MODULE_PROMPT, None, occurrence, 0, due,
                               {"after": ended.id, USEFUL_UNTIL: (due + ENDED_MEETING_WINDOW).isoformat()}))
    return rows


async def plan_checkin_nudges(session: AsyncSession, plan: GroupPlan) -> list[PlannedRow]:
    """A nudge to every member before each meeting, except those who sent apologies (RSVP "no")."""
    apologies = await apologies_for(session, [slot.meeting.id for slot in plan.meetings])
    rows: list[PlannedRow] = []
    for slot in plan.meetings:
        meeting = slot.meeting
        occurrence, base = meeting_occurrence(meeting), meeting_payload(meeting)
        for user_id in plan.members:
            if (meeting.id, user_id) in apologies:
                continue
            due = member_dm_due(plan, meeting, user_id, plan.group.checkin_nudge_lead_hours)
            rows.append(PlannedRow(CHECKIN_NUDGE, meeting, occurrence, user_id, due, base))
    return rows


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
    services=(ModuleService,),
    extension="cogs.modules",
    kinds=(
        NotificationKind(MODULE_PROMPT, "Module prompt", plan_module_prompts,
                         useful_after=timedelta(0), order=20),
        NotificationKind(CHECKIN_NUDGE, "Check-in nudge", plan_checkin_nudges,
                         useful_after=timedelta(0), order=30, unplanned_reason=R_APOLOGIES,
                         snoozable=SNOOZE_BEFORE_MEETING),
        NotificationKind(CHECKIN_DIGEST, "Check-in digest", each_meeting(plan_checkin_digest),
                         useful_after=MEETING_LENGTH, order=70),
    ),
    meeting_ended=advance_module,
    info_lines=current_module_line,
    export_member=export_checkins,
    delete_member=delete_checkins,
)
