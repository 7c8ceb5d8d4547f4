"""The modules feature's contributions: the cycle's module prompt, the check-in nudge DMs and the
meeting's check-in digest; advancing the module when a meeting ends; the current module in
``/group info``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import Feature, GroupPlan, InfoLine, MeetingSlot, NotificationKind, PlannedRow, each_meeting
from bot.models import Group
from bot.services.commitments import apologies_for
from bot.services.modules import advance_module, current_module_title
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

R_APOLOGIES = "sent apologies for the meeting"  # cancelled nudges come back if the answer changes


def plan_module_prompt(plan: GroupPlan, slot: MeetingSlot) -> Iterable[PlannedRow]:
    """The start of the meeting's cycle: the previous meeting's end, or when first planned."""
    meeting, previous = slot.meeting, slot.previous
    occurrence, base = meeting_occurrence(meeting), meeting_payload(meeting)
    if previous is not None:
        yield PlannedRow(MODULE_PROMPT, meeting, occurrence, 0, previous.starts_at + MODULE_PROMPT_DELAY, base)
    else:
        # No previous meeting: due when first planned (an overdue row keeps its time).
        yield PlannedRow(MODULE_PROMPT, meeting, occurrence, 0, plan.now, base)


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


FEATURE = Feature(
    name="modules",
    kinds=(
        NotificationKind(MODULE_PROMPT, "Module prompt", each_meeting(plan_module_prompt),
                         useful_after=timedelta(0), order=20),
        NotificationKind(CHECKIN_NUDGE, "Check-in nudge", plan_checkin_nudges,
                         useful_after=timedelta(0), order=30, unplanned_reason=R_APOLOGIES),
        NotificationKind(CHECKIN_DIGEST, "Check-in digest", each_meeting(plan_checkin_digest),
                         useful_after=MEETING_LENGTH, order=70),
    ),
    meeting_ended=advance_module,
    info_lines=current_module_line,
)
