"""The meetings feature's contributions: the channel's meeting reminders, the meeting pack and the
post-meeting row (the minutes).

The meeting pack (``group.pack_lead_hours`` before the meeting; 0: none) replaces the 1-day
reminder: while the pack is on, no reminder is planned at 24 h nor at the pack's own lead time.

The post-meeting row is what ends a meeting when nobody ran ``/meeting end``: the dispatcher calls
``before_render`` (``GroupService.end_meeting``, idempotent) before its renderer runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import Feature, GroupPlan, MeetingSlot, NotificationKind, PlannedRow, each_meeting
from bot.models import Group, Meeting, MeetingSeries, MeetingStatus, Rsvp
from bot.services.meetings import MeetingService
from bot.services.minutes import MinutesService
from bot.services.mydata import affected, export_rows
from bot.services.outbox import (
    MEETING_LENGTH,
    MEETING_PACK,
    MEETING_REMINDER,
    POST_MEETING,
    R_REMINDER_SETTING,
    Claimed,
    hours_before,
    meeting_occurrence,
    meeting_payload,
)


def plan_meeting_reminders(plan: GroupPlan, slot: MeetingSlot) -> Iterable[PlannedRow]:
    """One channel reminder per ``group.meeting_reminder_hours`` before the meeting (wall-clock)."""
    group, meeting = plan.group, slot.meeting
    t = meeting.starts_at
    occurrence = meeting_occurrence(meeting)
    base = meeting_payload(meeting)
    pack = int(group.pack_lead_hours or 0)
    replaced = {24, pack} if pack > 0 else set()
    hours_wanted = {int(h) for h in (group.meeting_reminder_hours or []) if int(h) > 0} - replaced
    for hours in sorted(hours_wanted, reverse=True):
        yield PlannedRow(
            MEETING_REMINDER, meeting, f"{occurrence}:{hours}h", 0, hours_before(t, hours, plan.zone),
            {**base, "hours": hours}, skip_if_late=True,
        )


def plan_meeting_pack(plan: GroupPlan, slot: MeetingSlot) -> Iterable[PlannedRow]:
    """The meeting pack in the channel, ``group.pack_lead_hours`` before the meeting (wall-clock)."""
    hours = int(plan.group.pack_lead_hours or 0)
    if hours <= 0:
        return
    meeting = slot.meeting
    yield PlannedRow(
        MEETING_PACK, meeting, meeting_occurrence(meeting), 0, hours_before(meeting.starts_at, hours, plan.zone),
        {**meeting_payload(meeting), "hours": hours}, skip_if_late=True,
    )


async def plan_post_meeting(session: AsyncSession, plan: GroupPlan) -> list[PlannedRow]:
    """T + 3 h; a meeting ended in the last day keeps only this row, due now."""
    rows = [
        PlannedRow(POST_MEETING, slot.meeting, meeting_occurrence(slot.meeting), 0, plan.now,
                   meeting_payload(slot.meeting))
        for slot in plan.ended
    ]
    for slot in plan.meetings:
        meeting = slot.meeting
        rows.append(PlannedRow(POST_MEETING, meeting, meeting_occurrence(meeting), 0,
                               meeting.starts_at + MEETING_LENGTH, meeting_payload(meeting)))
    return rows


async def end_meeting_first(services: Any, row: Claimed) -> None:
    """Close the meeting (commitments → not reported, module advanced) before its prompt renders."""
    if row.meeting_id is not None:
        await services.groups.end_meeting(meeting_id=row.meeting_id, actor=None)


async def export_rsvps(session: AsyncSession, guild_id: int, user_id: int) -> dict[str, Any]:
    return {
        "rsvp": await export_rows(session, select(Rsvp).where(Rsvp.guild_id == guild_id, Rsvp.user_id == user_id)),
        "meeting_series": await export_rows(session, select(MeetingSeries).where(
            MeetingSeries.guild_id == guild_id, MeetingSeries.created_by == user_id)),
        # The meetings she was asked to facilitate (``/meeting substitute``).
        "meeting": await export_rows(session, select(Meeting).where(
            Meeting.guild_id == guild_id, Meeting.substitute_id == user_id).order_by(Meeting.starts_at, Meeting.id)),
    }


async def delete_rsvps(session: AsyncSession, guild_id: int, user_id: int, now: datetime) -> int:
    """RSVPs go; a series they set up stays, set up by "a former member" (``bot.services.mydata``)."""
    gone = await affected(session, delete(Rsvp).where(Rsvp.guild_id == guild_id, Rsvp.user_id == user_id))
    kept = await affected(session, update(MeetingSeries).where(
        MeetingSeries.guild_id == guild_id, MeetingSeries.created_by == user_id).values(created_by=0))
    subbed = await affected(session, update(Meeting).where(
        Meeting.guild_id == guild_id, Meeting.substitute_id == user_id).values(substitute_id=None))
    return gone + kept + subbed


async def substitute_left(session: AsyncSession, group: Group, user_id: int, now: datetime) -> None:
    """A member who leaves no longer facilitates the group's meetings still to come."""
    await session.execute(update(Meeting).where(
        Meeting.group_id == group.id, Meeting.substitute_id == user_id,
        Meeting.status == MeetingStatus.SCHEDULED).values(substitute_id=None))


FEATURE = Feature(
    name="meetings",
    services=(MeetingService, MinutesService,),
    extension="cogs.meetings",
    kinds=(
        NotificationKind(
            MEETING_REMINDER, "Meeting reminder", each_meeting(plan_meeting_reminders),
            useful_after=timedelta(0), order=10, unplanned_reason=R_REMINDER_SETTING, superseded_within="meeting",
            superseded_by=(MEETING_PACK,),  # the pack replaced the 1-day reminder: it is the later one
        ),
        # After an outage only the latest of a meeting's reminders goes: the pack gives way to a later
        # reminder (a 2-hour one) due beside it, as the 7-day reminder gives way to the pack.
        NotificationKind(
            MEETING_PACK, "Meeting pack", each_meeting(plan_meeting_pack),
            useful_after=timedelta(0), order=9, unplanned_reason=R_REMINDER_SETTING, superseded_within="meeting",
            superseded_by=(MEETING_REMINDER,),
        ),
        # Always worth sending, however late, unless a later meeting's is due too (after an outage):
        # then only the latest is sent; the older ones still close their meeting (before_render).
        NotificationKind(
            POST_MEETING, "Minutes (post-meeting)", plan_post_meeting, useful_after=None, order=80,
            before_render=end_meeting_first, superseded_within="group",
        ),
    ),
    member_left=substitute_left,
    export_member=export_rsvps,
    delete_member=delete_rsvps,
)
