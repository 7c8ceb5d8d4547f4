"""The snooze feature's contributions: the ``snooze`` notification kind ("Remind me later" on a
reminder DM: bot.services.snooze) and who is away in ``/group info`` (``/away``: the members' list
shows it, bot.services.groups)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import Feature, GroupPlan, NotificationKind, PlannedRow
from bot.models import OutboxRow
from bot.models.outbox import PENDING
from bot.services.snooze import SNOOZE, UNBOUNDED_USEFUL, AwayService, SnoozeService


async def plan_snoozes(session: AsyncSession, plan: GroupPlan) -> list[PlannedRow]:
    """A snooze is stored by the member's click (``SnoozeService.snooze``), not derived: the planner
    keeps each pending one while its member is in the group and the meeting it may not pass is still
    scheduled (otherwise it is cancelled, with the general reason: member left, no longer planned)."""
    scheduled = {slot.meeting.id for slot in plan.meetings}
    members = set(plan.members)
    rows: list[PlannedRow] = []
    for row in await session.scalars(
        select(OutboxRow)
        .where(OutboxRow.group_id == plan.group.id, OutboxRow.kind == SNOOZE, OutboxRow.status == PENDING)
        .order_by(OutboxRow.id)
    ):
        limit = (row.payload or {}).get("limit_meeting_id")
        if row.recipient_id in members and (limit is None or limit in scheduled):
            rows.append(PlannedRow(SNOOZE, None, row.occurrence, row.recipient_id, row.due_at, dict(row.payload)))
    return rows


FEATURE = Feature(
    name="snooze",
    kinds=(
        # A row tied to no meeting: worth sending until its payload's useful_until (the meeting's start),
        # else for a day after it fell due.
        NotificationKind(SNOOZE, "Snoozed reminder", plan_snoozes, useful_after=UNBOUNDED_USEFUL, order=50,
                         unplanned_reason="the reminder's meeting is no longer scheduled"),
    ),
    services=(SnoozeService, AwayService),
    extension="cogs.snooze",
)
