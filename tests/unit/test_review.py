"""``/group stats`` and the year in review on SQLite and PostgreSQL: the figures (completion and
attendance per cycle, goals by status; goals, KPIs, commitments kept and wins) and who sees what,
as a matrix of viewers (facilitator, member, server admin outside the group, another group's
member, another server) and, for the review, KPI visibility (private / change only / full)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.errors import NotAllowed, NotFound, UserError
from bot.models import Meeting
from bot.services import Services
from bot.services.attendance import AttendanceService
from bot.services.base import Actor
from bot.services.commitments import CommitmentRef
from bot.services.goals import Ref, Sight
from bot.services.review import ReviewService
from tests.conftest import START
from tests.unit.seeding import CHANNEL, GUILD, add_meeting, make_group

OTHER_GUILD = 1_000_000_000_000_000_002
OTHER_CHANNEL = 2_000_000_000_000_000_002
FAR_CHANNEL = 2_000_000_000_000_000_003
ANA, BOB, FAC, OUTSIDER, STRANGER, ADMIN = (
    4_000_000_000_000_000_001,
    4_000_000_000_000_000_002,
    4_000_000_000_000_000_004,
    4_000_000_000_000_000_005,
    4_000_000_000_000_000_006,
    4_000_000_000_000_000_007,
)
FIRST_AT = START + timedelta(days=10)
SECOND_AT = START + timedelta(days=40)


def actor(user_id: int, *, channel_id: int = CHANNEL, guild_id: int = GUILD, manage: bool = False) -> Actor:
    return Actor(guild_id=guild_id, user_id=user_id, channel_id=channel_id, can_manage_server=manage)


VIEWERS: dict[str, Actor] = {
    "facilitator": actor(FAC),
    "member": actor(BOB),
    "server admin outside the group": actor(ADMIN, manage=True),
    "another group's member": actor(OUTSIDER, channel_id=OTHER_CHANNEL),
    "another server": actor(STRANGER, channel_id=FAR_CHANNEL, guild_id=OTHER_GUILD),
}
REFUSED: dict[str, type[UserError]] = {
    "server admin outside the group": NotAllowed,
    "another group's member": NotFound,
    "another server": NotFound,
}


@pytest.fixture
async def world(services: Services, sessions, clock: ManualClock) -> int:
    """Makers: two cycles. At the first, Ana did hers and Bob half of his; Ana and Fac said they'd
    come, Bob sent apologies. At the second, Ana's is still open and only Ana said she'd come."""
    group_id = await make_group(
        sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BOB, FAC], facilitators=(FAC,)
    )
    await make_group(sessions, clock, name="Others", channel_id=OTHER_CHANNEL, members=[OUTSIDER])
    await make_group(sessions, clock, name="Far", channel_id=FAR_CHANNEL, members=[STRANGER], guild_id=OTHER_GUILD)
    first = await add_meeting(sessions, group_id, FIRST_AT)
    second = await add_meeting(sessions, group_id, SECOND_AT)
    await services.goals.add_goal(actor(ANA), text="Ten new clients")
    await services.goals.add_goal(actor(ANA), text="Launch")
    await services.goals.update_goal(actor(ANA), goal=Ref.parse("#2"), status="done")
    await services.goals.add_goal(actor(BOB), text="Hire")
    await services.goals.update_goal(actor(BOB), goal=Ref.parse("#3"), status="behind")
    await services.commitments.add(actor(ANA), text="Send invoices")  # #1, at the first meeting
    await services.commitments.add(actor(BOB), text="Call the bank")  # #2
    await services.commitments.report(actor(ANA), commitment=CommitmentRef(number=1), status="done")
    await services.commitments.report(actor(BOB), commitment=CommitmentRef(number=2), status="partly")
    for user_id, answer in ((ANA, "going"), (FAC, "going"), (BOB, "no")):
        await services.meetings.rsvp(guild_id=GUILD, user_id=user_id, meeting_id=first, answer=answer)
    await services.commitments.win(actor(ANA), text="First big client")
    clock.set(FIRST_AT + timedelta(days=1))
    await services.commitments.add(actor(ANA), text="Write the case study")  # #3, at the second meeting
    await services.meetings.rsvp(guild_id=GUILD, user_id=ANA, meeting_id=second, answer="going")
    # Three KPIs of Ana's, one per visibility, logged for two months.
    for name, visibility in (("Revenue", "private"), ("Clients", "change"), ("Hours", "full")):
        await services.goals.add_kpi(actor(ANA), name=name, unit="n", visibility=visibility)
    clock.set(SECOND_AT + timedelta(hours=3))
    kpis = {c.name: c.id for c in await services.goals.kpi_choices(actor(ANA), "")}
    for month, values in (("2026-11", ("1000", "10", "40")), ("2026-12", ("1500", "12", "30"))):
        form = await services.goals.log_form(actor(ANA), month=month)
        await services.goals.log_values(
            actor(ANA), group_id=group_id, month=form.month,
            values={kpis["Revenue"]: values[0], kpis["Clients"]: values[1], kpis["Hours"]: values[2]},
        )
    return group_id


async def test_group_stats_figures(services: Services, world: int) -> None:
    stats = await services.get(ReviewService).group_stats(actor(FAC))
    first, second = stats.cycles
    assert (first.starts_at, first.rate.done, first.rate.partly, first.rate.counted) == (FIRST_AT, 1, 1, 2)
    assert first.rate.rate == 0.75 and (first.attended, first.expected) == (2, 3)
    assert (second.starts_at, second.rate.counted, second.rate.rate, second.attended) == (SECOND_AT, 1, 0, 1)
    assert stats.goals_by_status == {"on_track": 1, "at_risk": 0, "behind": 1, "done": 1, "dropped": 0}
    ana = stats.members[0]
    assert (ana.user_id, ana.rate.done, ana.rate.counted, ana.attended, ana.meetings) == (ANA, 1, 2, 2, 2)


async def test_taken_attendance_counts_instead_of_the_rsvps(services: Services, world: int, sessions) -> None:
    """At the second meeting only Ana said she'd come; the facilitator's sheet says Ana and Bob came."""
    async with sessions.begin() as session:
        second = await session.scalar(select(Meeting.id).where(Meeting.group_id == world, Meeting.starts_at == SECOND_AT))
    attendance = services.get(AttendanceService)
    await attendance.mark(actor(FAC), meeting_id=second, user_id=BOB, status="present")
    await attendance.mark(actor(FAC), meeting_id=second, user_id=FAC, status="absent")
    stats = await services.get(ReviewService).group_stats(actor(FAC))
    first, second_cycle = stats.cycles
    assert first.attended == 2  # no sheet for the first meeting: its RSVPs still count
    assert second_cycle.attended == 2  # Ana (pre-filled from her "going") and Bob, marked present
    bob = next(m for m in stats.members if m.user_id == BOB)
    assert bob.attended == 1


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_group_stats_visibility_matrix(services: Services, world: int, viewer: str) -> None:
    who = VIEWERS[viewer]
    if viewer in REFUSED:
        with pytest.raises(REFUSED[viewer]):
            await services.get(ReviewService).group_stats(who, group_id=world)
        return
    stats = await services.get(ReviewService).group_stats(who, group_id=world)
    assert len(stats.cycles) == 2 and stats.goals_by_status["done"] == 1  # the group's figures, for every member
    if viewer == "facilitator":
        assert stats.facilitator and [m.user_id for m in stats.members] == [ANA, BOB, FAC]
    else:  # a member sees only their own row
        assert not stats.facilitator and [m.user_id for m in stats.members] == [BOB]


async def test_the_year_in_review_for_its_member(services: Services, world: int) -> None:
    review = await services.get(ReviewService).year_review(actor(ANA))
    assert [(g.number, g.status) for g in review.goals] == [(1, "on_track"), (2, "done")]
    # #3 is still open (due, not reported yet): not counted.
    assert (review.kept, review.counted, review.wins, review.latest_wins) == (1, 1, 1, ["First big client"])
    figures = {k.name: [str(p.value) for p in k.points] for k in review.kpis}
    assert figures == {"Clients": ["10", "12"], "Hours": ["40", "30"], "Revenue": ["1000", "1500"]}
    assert review.hidden_kpis == 0 and not review.shared


@pytest.mark.parametrize(
    ("visibility", "sight", "values", "changes"),
    [
        ("private", None, None, None),
        ("change", Sight.CHANGE, [None, None], [None, 20]),
        ("full", Sight.FIGURES, ["40", "30"], [None, -25]),
    ],
)
async def test_the_shared_review_keeps_only_what_the_group_may_see(
    services: Services, world: int, visibility: str, sight: Sight | None, values: list | None, changes: list | None
) -> None:
    review = await services.get(ReviewService).year_review(actor(ANA), shared=True)
    name = {"private": "Revenue", "change": "Clients", "full": "Hours"}[visibility]
    shown = {k.name: k for k in review.kpis}
    assert review.shared and review.hidden_kpis == 1
    if sight is None:
        assert name not in shown
        return
    kpi = shown[name]
    assert kpi.sight is sight
    assert [None if p.value is None else str(p.value) for p in kpi.points] == values
    assert [p.change_pct for p in kpi.points] == changes


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_the_review_is_only_for_members(services: Services, world: int, viewer: str) -> None:
    who = VIEWERS[viewer]
    if viewer in REFUSED:
        with pytest.raises(REFUSED[viewer]):
            await services.get(ReviewService).year_review(who, group_id=world)
        return
    review = await services.get(ReviewService).year_review(who, group_id=world)
    assert review.user_id == who.user_id  # always the viewer's own year, never someone else's
