"""GoalService on SQLite and PostgreSQL: goals (limits, statuses, dates, owners), KPIs (limits,
values, months, the log form) and who sees what of a KPI (a matrix of viewers × visibility)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.errors import InvalidInput, LimitReached, NotAllowed, NotFound
from bot.models import Goal, GoalStatus, Kpi, KpiEntry, KpiVisibility
from bot.services import Services
from bot.services.base import Actor
from bot.services.goals import Ref, Relation, Sight, parse_month, parse_number, sight_of
from tests.unit.seeding import CHANNEL, GUILD, make_group

OTHER_GUILD = 1_000_000_000_000_000_002
OTHER_CHANNEL = 2_000_000_000_000_000_002
FAR_CHANNEL = 2_000_000_000_000_000_003
ANA, BOB, FAC, OUTSIDER, STRANGER = (
    4_000_000_000_000_000_001,
    4_000_000_000_000_000_002,
    4_000_000_000_000_000_004,
    4_000_000_000_000_000_005,
    4_000_000_000_000_000_006,
)
NOV = date(2026, 11, 1)
OCT = date(2026, 10, 1)


def actor(user_id: int, *, channel_id: int | None = CHANNEL, guild_id: int = GUILD, manage: bool = False) -> Actor:
    return Actor(guild_id=guild_id, user_id=user_id, channel_id=channel_id, can_manage_server=manage)


async def count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions.begin() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
async def group_id(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> int:
    group = await make_group(
        sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BOB, FAC], facilitators=(FAC,)
    )
    # Another group of the server (the outsider's), and a group in another server.
    await make_group(sessions, clock, name="Others", channel_id=OTHER_CHANNEL, members=[OUTSIDER])
    await make_group(sessions, clock, name="Far", channel_id=FAR_CHANNEL, members=[STRANGER], guild_id=OTHER_GUILD)
    return group


# --- pure parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("1,250.50", "1250.5"), ("12.5 %", "12.5"), ("12,5", "12.5"), ("1.250,50", "1250.5"), ("3000", "3000"),
     ("+7", "7"), ("1 000 000", "1000000"), ("0.00005", "0.0001")],
)
def test_numbers_are_read_as_members_type_them(text: str, value: str) -> None:
    assert parse_number(text, what="Revenue") == Decimal(value)


@pytest.mark.parametrize(
    ("text", "hint"),
    [("£3k", "just the number"), ("NaN", "isn't a number"), ("inf", "isn't a number"), ("-Infinity", "isn't a number"),
     ("1e13", "just the number"), ("2000000000000", "too large"), ("-5", "can't be negative"), ("", "empty"),
     ("1.2.3", "can't read"), ("abc", "can't read")],
)
def test_bad_numbers_are_refused_with_a_hint(text: str, hint: str) -> None:
    with pytest.raises(InvalidInput, match=hint):
        parse_number(text, what="Revenue")


def test_negative_values_where_allowed() -> None:
    assert parse_number("-1,200", what="Profit", allows_negative=True) == Decimal(-1200)


@pytest.mark.parametrize(
    ("text", "month"),
    [("2026-11", NOV), ("November", NOV), ("nov 2026", NOV), ("last month", NOV), ("this month", date(2026, 12, 1)),
     ("Dec", date(2026, 12, 1)), ("Jan", date(2026, 1, 1))],
)
def test_months(text: str, month: date) -> None:
    assert parse_month(text, date(2026, 12, 1)) == month


def test_an_unreadable_month_is_refused() -> None:
    with pytest.raises(InvalidInput, match="as a month"):
        parse_month("soon", date(2026, 12, 1))


# --- goals ----------------------------------------------------------------------------------------


async def test_goals_are_numbered_per_group_limited_to_five_open_and_updated(
    services: Services, sessions, clock: ManualClock, group_id: int
) -> None:
    first = await services.goals.add_goal(actor(ANA), text="  Ten   new clients ", target="10", unit="clients", by="2027-06-30")
    assert first.goal.number == 1 and first.goal.text == "Ten new clients"
    assert (first.goal.target, first.goal.unit, first.goal.due_on) == (Decimal(10), "clients", date(2027, 6, 30))
    assert first.goal.status == GoalStatus.ON_TRACK
    second = await services.goals.add_goal(actor(BOB), text="Hire an assistant")
    assert second.goal.number == 2
    for n in range(4):
        await services.goals.add_goal(actor(ANA), text=f"Goal {n}")
    with pytest.raises(LimitReached, match="5 open goals"):
        await services.goals.add_goal(actor(ANA), text="One too many")
    assert await count(sessions, Goal) == 6

    updated = await services.goals.update_goal(actor(ANA), goal=Ref.parse("#1"), status="at_risk", note="slow month")
    assert updated.changed and updated.goal.status_label == "at risk" and updated.goal.note == "slow month"
    again = await services.goals.update_goal(actor(ANA), goal=Ref.parse(f"id:{first.goal.id}"), status="at_risk")
    assert not again.changed
    done = await services.goals.update_goal(actor(ANA), goal=Ref.parse("#1"), status="done")
    assert not done.goal.is_open
    # A done goal frees a place; a sixth open one is then allowed.
    await services.goals.add_goal(actor(ANA), text="Now there's room")
    with pytest.raises(LimitReached):  # reopening the done one would make six
        await services.goals.update_goal(actor(ANA), goal=Ref.parse("#1"), status="behind")

    edited = await services.goals.edit_goal(actor(ANA), goal=Ref.parse("#3"), text="Goal zero, renamed", target="5")
    assert edited.goal.text == "Goal zero, renamed" and edited.goal.target == 5
    dropped = await services.goals.drop_goal(actor(ANA), goal=Ref.parse("#3"))
    assert dropped.goal.status == GoalStatus.DROPPED

    listing = await services.goals.list_goals(actor(BOB))
    assert [m.user_id for m in listing.members] == [ANA, BOB]
    assert 3 not in [g.number for g in listing.members[0].goals]  # dropped ones aren't listed
    only_bob = await services.goals.list_goals(actor(ANA), member_id=BOB)
    assert [g.text for m in only_bob.members for g in m.goals] == ["Hire an assistant"]
    choices = await services.goals.goal_choices(actor(ANA), "renamed")
    assert choices == []  # dropped
    assert [c.number for c in await services.goals.goal_choices(actor(ANA), "")] == [1, 4, 5, 6, 7]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"text": "x" * 201}, InvalidInput, "200 characters"),
        ({"text": "   "}, InvalidInput, "can't be empty"),
        ({"text": "Ten clients", "target": "ten"}, InvalidInput, "as a number"),
        ({"text": "Ten clients", "target": "NaN"}, InvalidInput, "isn't a number"),
        ({"text": "Ten clients", "target": "10", "unit": "a" * 13}, InvalidInput, "12 characters"),
        ({"text": "Ten clients", "by": "2026-11-01"}, InvalidInput, "in the past"),
        ({"text": "Ten clients", "by": "someday"}, InvalidInput, "couldn't read"),
    ],
)
async def test_bad_goals_are_refused_and_nothing_is_stored(
    services: Services, sessions, group_id: int, kwargs: dict[str, str], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await services.goals.add_goal(actor(ANA), **kwargs)
    assert await count(sessions, Goal) == 0


async def test_someone_elses_goal_is_refused(services: Services, sessions, group_id: int) -> None:
    added = await services.goals.add_goal(actor(ANA), text="Ten clients")
    with pytest.raises(NotAllowed, match="another member's goal"):
        await services.goals.update_goal(actor(BOB), goal=Ref.parse("#1"), status="done")
    with pytest.raises(NotAllowed):
        await services.goals.edit_goal(actor(FAC), goal=Ref.parse(f"id:{added.goal.id}"), text="Mine now")
    with pytest.raises(NotFound):  # another group's member doesn't learn it exists
        await services.goals.drop_goal(actor(OUTSIDER, channel_id=OTHER_CHANNEL), goal=Ref.parse(f"id:{added.goal.id}"))
    with pytest.raises(NotFound):
        await services.goals.drop_goal(actor(STRANGER, guild_id=OTHER_GUILD, channel_id=FAR_CHANNEL),
                                       goal=Ref.parse(f"id:{added.goal.id}"))
    with pytest.raises(InvalidInput, match="a goal status"):
        await services.goals.update_goal(actor(ANA), goal=Ref.parse("#1"), status="finished")
    async with sessions.begin() as session:
        row = await session.get(Goal, added.goal.id)
        assert row is not None and (row.status, row.text) == ("on_track", "Ten clients")


# --- KPIs -----------------------------------------------------------------------------------------


async def test_kpis_are_added_logged_and_read_back(services: Services, sessions, clock: ManualClock, group_id: int) -> None:
    added = await services.goals.add_kpi(actor(ANA), name="Revenue", unit="£", target="10,000")
    assert added.kpi.visibility == KpiVisibility.PRIVATE and added.kpi.target == 10000
    assert added.kpi.first_month == OCT  # added in November: October is the month just ended then
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    form = await services.goals.log_form(actor(ANA))
    assert form.month == NOV and [f.name for f in form.fields] == ["Revenue"] and form.fields[0].current is None
    logged = await services.goals.log_values(actor(ANA), group_id=group_id, month=OCT, values={added.kpi.id: "8,000"})
    assert logged.values[0].value == 8000 and logged.reached == []
    logged = await services.goals.log_values(actor(ANA), group_id=group_id, month=NOV, values={added.kpi.id: "10,400.5"})
    assert logged.values[0].change_pct == 30 and logged.reached == ["Revenue"]
    # Logging again replaces the month's value.
    await services.goals.log_values(actor(ANA), group_id=group_id, month=NOV, values={added.kpi.id: "10400"})
    assert await count(sessions, KpiEntry) == 2
    form = await services.goals.log_form(actor(ANA), month="November")
    assert form.fields[0].current == 10400
    history = await services.goals.history(actor(ANA), kpi=Ref.parse("revenue"))
    assert [(p.month, p.value, p.change_pct) for p in history.kpi.points] == [(OCT, 8000, None), (NOV, 10400, 30)]
    chart = await services.goals.chart(actor(ANA))
    assert chart.months[0] == date(2026, 1, 1) and chart.months[-1] == date(2026, 12, 1)
    assert [chart.value_in(m) for m in chart.months][-3:] == [8000, 10400, None] and chart.kpi.target == 10000


async def test_the_log_form_pages_five_at_a_time(services: Services, group_id: int, clock: ManualClock) -> None:
    for n in range(7):
        await services.goals.add_kpi(actor(ANA), name=f"KPI {n}", unit="x")
    first = await services.goals.log_form(actor(ANA), month="2026-10")
    assert (first.page, first.pages, len(first.fields)) == (0, 2, 5)
    second = await services.goals.log_form(actor(ANA), month="2026-10", page=1)
    assert [f.name for f in second.fields] == ["KPI 5", "KPI 6"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Revenue", "unit": "pounds sterling"}, "12 characters"),
        ({"name": "x" * 41, "unit": "£"}, "40 characters"),
        ({"name": "Revenue", "unit": "  "}, "unit"),
        ({"name": "Revenue", "unit": "£", "target": "£3k"}, "just the number"),
        ({"name": "Revenue", "unit": "£", "visibility": "public"}, "isn't a visibility"),
        ({"name": "Revenue", "unit": "£", "direction": "sideways"}, "isn't a direction"),
    ],
)
async def test_bad_kpis_are_refused(services: Services, sessions, group_id: int, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        await services.goals.add_kpi(actor(ANA), **kwargs)
    assert await count(sessions, Kpi) == 0


async def test_the_ninth_kpi_and_a_duplicate_name_are_refused(services: Services, sessions, group_id: int) -> None:
    for n in range(8):
        await services.goals.add_kpi(actor(ANA), name=f"KPI {n}", unit="x")
    with pytest.raises(LimitReached, match="8 KPIs"):
        await services.goals.add_kpi(actor(ANA), name="Ninth", unit="x")
    await services.goals.add_kpi(actor(BOB), name="KPI 1", unit="x")  # names are per member
    with pytest.raises(InvalidInput, match="already have a KPI"):
        await services.goals.add_kpi(actor(BOB), name="kpi 1", unit="y")
    assert await count(sessions, Kpi) == 9


@pytest.mark.parametrize(
    ("value", "month", "message"),
    [
        ("abc", NOV, "as a number"), ("NaN", NOV, "isn't a number"), ("inf", NOV, "isn't a number"),
        ("1e13", NOV, "just the number"), ("1,000,000,000,001", NOV, "too large"), ("-3", NOV, "can't be negative"),
        ("£3k", NOV, "just the number"),
        ("5", date(2027, 1, 1), "hasn't happened yet"), ("5", date(2026, 9, 1), "didn't exist yet"),
    ],
)
async def test_bad_values_store_nothing(
    services: Services, sessions, clock: ManualClock, group_id: int, value: str, month: date, message: str
) -> None:
    revenue = await services.goals.add_kpi(actor(ANA), name="Revenue", unit="£")
    clients = await services.goals.add_kpi(actor(ANA), name="Clients", unit="clients")
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    with pytest.raises(InvalidInput, match=message):
        # One good value beside the bad one: neither is stored.
        await services.goals.log_values(
            actor(ANA), group_id=group_id, month=month, values={clients.kpi.id: "4", revenue.kpi.id: value}
        )
    assert await count(sessions, KpiEntry) == 0


async def test_a_month_before_every_kpi_or_in_the_future_opens_no_form(services: Services, group_id: int) -> None:
    await services.goals.add_kpi(actor(ANA), name="Revenue", unit="£")
    with pytest.raises(InvalidInput, match="didn't exist yet"):
        await services.goals.log_form(actor(ANA), month="2026-09")
    with pytest.raises(InvalidInput, match="hasn't happened yet"):
        await services.goals.log_form(actor(ANA), month="2027-02")
    with pytest.raises(NotFound, match="no KPIs"):
        await services.goals.log_form(actor(BOB))


async def test_someone_elses_kpi_cannot_be_changed_logged_or_removed(
    services: Services, sessions, group_id: int
) -> None:
    private = await services.goals.add_kpi(actor(ANA), name="Revenue", unit="£")
    shared = await services.goals.add_kpi(actor(ANA), name="Clients", unit="clients", visibility="change")
    for viewer in (actor(BOB), actor(FAC)):
        with pytest.raises(NotAllowed, match="only they can change"):
            await services.goals.edit_kpi(viewer, kpi=Ref.parse(f"id:{shared.kpi.id}"), visibility="full")
        with pytest.raises(NotAllowed):
            await services.goals.remove_kpi(viewer, kpi=Ref.parse(f"id:{shared.kpi.id}"))
    with pytest.raises(NotFound):  # a private KPI: a member doesn't learn it exists
        await services.goals.edit_kpi(actor(BOB), kpi=Ref.parse(f"id:{private.kpi.id}"), visibility="full")
    with pytest.raises(NotFound):
        await services.goals.edit_kpi(actor(STRANGER, guild_id=OTHER_GUILD, channel_id=FAR_CHANNEL),
                                      kpi=Ref.parse(f"id:{shared.kpi.id}"), visibility="full")
    with pytest.raises(NotFound):
        await services.goals.log_values(actor(BOB), group_id=group_id, month=OCT, values={shared.kpi.id: "5"})
    async with sessions.begin() as session:
        visibilities = list(await session.scalars(select(Kpi.visibility).order_by(Kpi.id)))
    assert visibilities == ["private", "change"]
    assert await count(sessions, KpiEntry) == 0
    # The owner may.
    changed = await services.goals.edit_kpi(actor(ANA), kpi=Ref.parse("Revenue"), visibility="full", unit="GBP")
    assert changed.changed and changed.kpi.visibility == "full" and changed.kpi.unit == "GBP"
    removed = await services.goals.remove_kpi(actor(ANA), kpi=Ref.parse("clients"))
    assert removed.kpi.name == "Clients" and await count(sessions, Kpi) == 1


# --- who sees what: viewers × visibility ------------------------------------------------------------


VIEWERS = {
    "owner": actor(ANA),
    "member": actor(BOB),
    "facilitator": actor(FAC),
    "other group": actor(OUTSIDER, channel_id=OTHER_CHANNEL),
    "other server": actor(STRANGER, guild_id=OTHER_GUILD, channel_id=FAR_CHANNEL),
}
# What each viewer sees: the figures, the change only, that a value was logged, or nothing.
EXPECTED = {
    ("owner", "private"): Sight.FIGURES, ("owner", "change"): Sight.FIGURES, ("owner", "full"): Sight.FIGURES,
    ("member", "private"): Sight.NOTHING, ("member", "change"): Sight.CHANGE, ("member", "full"): Sight.FIGURES,
    ("facilitator", "private"): Sight.LOGGED, ("facilitator", "change"): Sight.CHANGE,
    ("facilitator", "full"): Sight.FIGURES,
    ("other group", "private"): Sight.NOTHING, ("other group", "change"): Sight.NOTHING,
    ("other group", "full"): Sight.NOTHING,
    ("other server", "private"): Sight.NOTHING, ("other server", "change"): Sight.NOTHING,
    ("other server", "full"): Sight.NOTHING,
}


@pytest.mark.parametrize("visibility", ["private", "change", "full"])
@pytest.mark.parametrize("viewer", list(VIEWERS))
async def test_visibility_matrix(
    services: Services, clock: ManualClock, group_id: int, viewer: str, visibility: str
) -> None:
    added = await services.goals.add_kpi(actor(ANA), name="Revenue", unit="£", target="12000", visibility=visibility)
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    await services.goals.log_values(actor(ANA), group_id=group_id, month=OCT, values={added.kpi.id: "10000"})
    await services.goals.log_values(actor(ANA), group_id=group_id, month=NOV, values={added.kpi.id: "11200"})
    who = VIEWERS[viewer]
    expected = EXPECTED[(viewer, visibility)]
    ref = Ref.parse(f"id:{added.kpi.id}")

    if expected is Sight.NOTHING:
        with pytest.raises(NotFound):
            await services.goals.history(who, kpi=ref, member_id=ANA)
        assert await services.goals.kpi_choices(who, "", member_id=ANA) == []
        if viewer == "member":
            card = await services.goals.scorecard(who, member_id=ANA)
            assert card.kpis == [] and card.hidden == 1
        return

    view = (await services.goals.history(who, kpi=ref, member_id=ANA)).kpi
    assert view.sight is expected
    months = [p.month for p in view.points]
    assert months == [OCT, NOV]  # everyone who sees the KPI sees which months were logged
    values = [p.value for p in view.points]
    changes = [p.change_pct for p in view.points]
    if expected is Sight.FIGURES:
        assert values == [10000, 11200] and changes == [None, 12] and view.target == 12000
    elif expected is Sight.CHANGE:
        assert values == [None, None] and changes == [None, 12] and view.target is None
    else:
        assert values == [None, None] and changes == [None, None] and view.target is None
    card = await services.goals.scorecard(who, member_id=ANA)
    assert [k.sight for k in card.kpis] == [expected]
    assert [c.name for c in await services.goals.kpi_choices(who, "rev", member_id=ANA)] == ["Revenue"]


def test_the_sight_rule_covers_every_relation_and_visibility() -> None:
    relations = {"owner": Relation.OWNER, "member": Relation.MEMBER, "facilitator": Relation.FACILITATOR,
                 "other group": Relation.STRANGER, "other server": Relation.STRANGER}
    for (viewer, visibility), expected in EXPECTED.items():
        assert sight_of(relations[viewer], visibility) is expected


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_text_is_a_bounded_number_or_a_clear_refusal(text: str) -> None:
    try:
        value = parse_number(text, what="Revenue")
    except InvalidInput as error:
        assert str(error)
        return
    assert value.is_finite() and Decimal(0) <= value <= Decimal("1e12")


async def test_the_default_month_is_the_one_just_ended_in_the_members_zone(
    services: Services, clock: ManualClock, group_id: int
) -> None:
    await services.goals.add_kpi(actor(ANA), name="Revenue", unit="£")
    await services.guilds.set_member_timezone(actor(ANA), "America/New_York")
    clock.set(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))  # still 30 November in New York
    assert (await services.goals.log_form(actor(ANA))).month == OCT
    assert (await services.goals.log_form(actor(ANA), month="this month")).month == NOV
    with pytest.raises(InvalidInput, match="hasn't happened yet"):
        await services.goals.log_form(actor(ANA), month="2026-12")  # already December in UTC, not for Ana


async def test_only_the_owner_may_post_a_fully_shared_kpis_chart(services: Services, group_id: int) -> None:
    private = await services.goals.add_kpi(actor(ANA), name="Revenue", unit="£")
    full = await services.goals.add_kpi(actor(ANA), name="Clients", unit="n", visibility="full")
    shared = await services.goals.chart_to_share(actor(ANA), kpi_id=full.kpi.id)
    assert shared.kpi.name == "Clients" and shared.channel_id == CHANNEL and len(shared.months) == 12
    with pytest.raises(InvalidInput, match="isn't fully shared"):
        await services.goals.chart_to_share(actor(ANA), kpi_id=private.kpi.id)
    with pytest.raises(NotAllowed, match="Only the KPI's owner"):
        await services.goals.chart_to_share(actor(BOB), kpi_id=full.kpi.id)
    with pytest.raises(NotFound):
        await services.goals.chart_to_share(actor(STRANGER, guild_id=OTHER_GUILD), kpi_id=full.kpi.id)
    with pytest.raises(NotFound):
        await services.goals.chart_to_share(actor(ANA), kpi_id=987_654)
