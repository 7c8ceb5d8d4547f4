"""The year-in-review feature's contribution: at the twelfth module, each member's year in review.

``/group stats`` and ``/group review`` are commands of ``cogs.groups`` rendered by ``cogs.review``
(``bot.services.review.ReviewService``); this module declares the one notification kind.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import Feature, GroupPlan, NotificationKind, PlannedRow
from bot.services.modules_feature import prompt_due
from bot.services.outbox import meeting_occurrence, meeting_payload, member_dm_after
from bot.services.review import ReviewService

YEAR_REVIEW = "year_review"
YEAR_MODULE = 12  # the year in review goes out as the twelfth module's cycle begins


async def plan_year_reviews(session: AsyncSession, plan: GroupPlan) -> list[PlannedRow]:
    """At the twelfth module: each member's year in review, a DM when the cycle's module prompt goes
    (right after the meeting before ends), inside the member's waking window; tied to the cycle's
    meeting, so once a year. Ending the meeting, or the module moving on, cancels an unsent one."""
    if plan.group.current_module_number != YEAR_MODULE or not plan.meetings:
        return []
    slot = plan.meetings[0]
    due = prompt_due(slot.previous) if slot.previous is not None else plan.now
    base = meeting_payload(slot.meeting)
    return [
        PlannedRow(YEAR_REVIEW, slot.meeting, meeting_occurrence(slot.meeting), user_id,
                   member_dm_after(plan, user_id, due), base)
        for user_id in plan.members
    ]


FEATURE = Feature(
    name="review",
    kinds=(
        # Worth sending for a month of the twelfth module's cycle (ending its meeting cancels it).
        NotificationKind(YEAR_REVIEW, "Year in review", plan_year_reviews, useful_after=timedelta(days=31), order=25),
    ),
    services=(ReviewService,),
    extension="cogs.review",
)
