"""The feature registry: features plug in kinds (meeting rows or not) and hooks; the startup check."""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import App, StartupError
from bot.clock import ManualClock
from bot.db import create_sessionmaker
from bot.features import (
    Feature,
    FeatureError,
    FeatureRegistry,
    GroupPlan,
    InfoLine,
    NotificationKind,
    PlannedRow,
    bind_features,
)
from bot.models import BuddyPair, Group, Meeting, OutboxRow
from bot.services import FEATURES, ServiceContext, Services
from bot.services.base import Actor
from bot.services.outbox import PLANNED_KINDS, plan_group
from bot.settings import Settings
from tests.unit.seeding import CHANNEL, GUILD, add_meeting, make_group

ANA, BEN = 11, 12
KPI_NUDGE = "test_kpi_nudge"


def first_of_next_month(now: datetime) -> datetime:
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, 1, 9, 0, tzinfo=UTC)


async def plan_kpi_nudges(session: AsyncSession, plan: GroupPlan) -> Iterable[PlannedRow]:
    """A DM to each member on the 1st of next month, tied to no meeting."""
    due = first_of_next_month(plan.now)
    return [PlannedRow(KPI_NUDGE, None, f"month:{due:%Y-%m}", user_id, due, {}) for user_id in plan.members]


class Calls:
    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    async def meeting_ended(self, session: AsyncSession, group: Group, meeting: Meeting, now: datetime) -> None:
        self.seen.append(("meeting ended", meeting.id))

    async def member_left(self, session: AsyncSession, group: Group, user_id: int, now: datetime) -> None:
        self.seen.append(("member left", user_id))

    async def group_archived(self, session: AsyncSession, group: Group, now: datetime) -> None:
        self.seen.append(("archived", group.id))

    async def info_lines(self, session: AsyncSession, group: Group) -> list[InfoLine]:
        return [InfoLine("Goals", "2 this month")]


def goals_feature(calls: Calls) -> Feature:
    return Feature(
        name="test_goals",
        kinds=(NotificationKind(KPI_NUDGE, "KPI nudge", plan_kpi_nudges, useful_after=timedelta(days=1),
                                unplanned_reason="goal setting changed"),),
        meeting_ended=calls.meeting_ended,
        member_left=calls.member_left,
        group_archived=calls.group_archived,
        info_lines=calls.info_lines,
    )


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def goal_sessions(engine: AsyncEngine, calls: Calls) -> async_sessionmaker[AsyncSession]:
    sessions = create_sessionmaker(engine)
    bind_features(sessions, FeatureRegistry((*FEATURES.features, goals_feature(calls))))
    return sessions


@pytest.fixture
def goal_services(goal_sessions, clock: ManualClock) -> Services:
    return Services.build(ServiceContext(sessions=goal_sessions, clock=clock))


def facilitator() -> Actor:
    return Actor(guild_id=GUILD, user_id=ANA, channel_id=CHANNEL, can_manage_server=True)


async def outbox_rows(sessions, group_id: int, kind: str) -> list[OutboxRow]:
    async with sessions.begin() as session:
        return list(await session.scalars(
            select(OutboxRow).where(OutboxRow.group_id == group_id, OutboxRow.kind == kind).order_by(OutboxRow.id)
        ))


async def test_a_kind_tied_to_no_meeting_is_planned_expired_and_cancelled(
    goal_sessions, goal_services: Services, clock: ManualClock
) -> None:
    group_id = await make_group(goal_sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BEN],
                                facilitators=(ANA,))
    async with goal_sessions.begin() as session:
        await plan_group(session, group_id, clock.now())
    due = first_of_next_month(clock.now())
    rows = await outbox_rows(goal_sessions, group_id, KPI_NUDGE)
    assert [(r.recipient_id, r.meeting_id, r.occurrence, r.due_at, r.status) for r in rows] == [
        (ANA, None, f"month:{due:%Y-%m}", due, "pending"),
        (BEN, None, f"month:{due:%Y-%m}", due, "pending"),
    ]
    async with goal_sessions.begin() as session:
        again = await plan_group(session, group_id, clock.now())
    assert (again.inserted, again.retimed, again.cancelled) == (0, 0, 0)

    # Ben leaves: his nudge is cancelled with the reason; Ana's stays.
    await goal_services.groups.remove_member(facilitator(), member_id=BEN, group_id=group_id)
    by_user = {r.recipient_id: r for r in await outbox_rows(goal_sessions, group_id, KPI_NUDGE)}
    assert (by_user[BEN].status, by_user[BEN].reason) == ("cancelled", "member left the group")
    assert by_user[ANA].status == "pending"

    # Down for more than a day past its due time: not worth sending any more.
    clock.set(due + timedelta(days=1, minutes=1))
    claimed = await goal_services.outbox.claim_due()
    assert claimed.claimed == [] and claimed.expired == 1
    by_user = {r.recipient_id: r for r in await outbox_rows(goal_sessions, group_id, KPI_NUDGE)}
    assert by_user[ANA].status == "expired" and "too late" in by_user[ANA].reason


async def test_a_kind_tied_to_no_meeting_is_claimed_while_useful(goal_sessions, goal_services: Services, clock) -> None:
    group_id = await make_group(goal_sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA])
    async with goal_sessions.begin() as session:
        await plan_group(session, group_id, clock.now())
    clock.set(first_of_next_month(clock.now()) + timedelta(hours=2))
    claimed = await goal_services.outbox.claim_due()
    assert [(c.kind, c.recipient_id, c.meeting_id) for c in claimed.claimed] == [(KPI_NUDGE, ANA, None)]


async def test_the_core_calls_every_features_hooks(goal_sessions, goal_services: Services, clock, calls) -> None:
    group_id = await make_group(goal_sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BEN],
                                facilitators=(ANA,))
    meeting_id = await add_meeting(goal_sessions, group_id, clock.now() + timedelta(days=2))
    info = await goal_services.groups.info(facilitator(), group_id=group_id)
    # The built-in features' lines first, in feature order, then the plugged-in one.
    assert [(line.name, line.value) for line in info.lines] == [
        ("Current module", "1. Vision and goals"), ("Open commitments", "0"), ("Goals", "2 this month"),
    ]
    clock.advance(days=2, hours=3)
    await goal_services.groups.end_meeting(meeting_id=meeting_id, actor=None)
    await goal_services.groups.end_meeting(meeting_id=meeting_id, actor=None)  # idempotent: no second call
    await goal_services.groups.remove_member(facilitator(), member_id=BEN, group_id=group_id)
    await goal_services.groups.archive(facilitator(), group_id=group_id)
    assert calls.seen == [("meeting ended", meeting_id), ("member left", BEN), ("archived", group_id)]
    # The built-in hooks ran too: the module moved on.
    async with goal_sessions.begin() as session:
        assert (await session.get(Group, group_id)).current_module_number == 2


async def test_admin_outbox_shows_the_label_the_feature_declares(goal_sessions, goal_services: Services, clock) -> None:
    group_id = await make_group(goal_sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA],
                                facilitators=(ANA,))
    await add_meeting(goal_sessions, group_id, clock.now() + timedelta(days=10))
    async with goal_sessions.begin() as session:
        await plan_group(session, group_id, clock.now())
    page = await goal_services.outbox.list_for_admin(facilitator(), group_id=group_id)
    labels = {entry.kind: entry.label for entry in page.entries}
    assert labels["module_prompt"] == "Module prompt" and labels[KPI_NUDGE] == "KPI nudge"


def test_the_built_in_kinds_are_in_the_registry() -> None:
    assert PLANNED_KINDS.issubset(FEATURES.kind_names)  # outbox.PLANNED_KINDS: the built-in names, kept for callers
    assert all(kind.label for kind in FEATURES.kinds)


def test_the_registry_module_is_domain() -> None:
    tree = ast.parse((Path(__file__).resolve().parents[2] / "bot" / "features.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not {name for name in imported if name.startswith(("discord", "bot.ui", "bot.client", "bot.app", "cogs"))}


def test_a_kind_declared_twice_is_refused() -> None:
    kind = NotificationKind("twice", "Twice", plan_kpi_nudges, useful_after=None)
    with pytest.raises(FeatureError, match="'twice' is declared by two features"):
        FeatureRegistry((Feature("a", kinds=(kind,)), Feature("b", kinds=(kind,))))


def test_a_kind_superseded_by_an_unknown_kind_is_refused() -> None:
    kind = NotificationKind("early", "Early", plan_kpi_nudges, useful_after=None, superseded_within="meeting",
                            superseded_by=("later",))
    with pytest.raises(FeatureError, match="'early' is superseded by unknown kinds: later"):
        FeatureRegistry((Feature("a", kinds=(kind,)),))
    unscoped = NotificationKind("early", "Early", plan_kpi_nudges, useful_after=None, superseded_by=("early",))
    with pytest.raises(FeatureError, match="superseded_by needs superseded_within"):
        FeatureRegistry((Feature("a", kinds=(unscoped,)),))


@pytest.fixture
async def offline_app(tmp_path: Path) -> AsyncIterator[App]:
    settings = Settings(discord_token="offline", database_url=f"sqlite:///{tmp_path / 'x.db'}", _env_file=None)  # type: ignore[call-arg]
    app = App(settings)
    for extension in app.bot._extensions:
        await app.bot.load_extension(extension)
    yield app
    await app.engine.dispose()


async def test_every_planned_kind_has_one_renderer_and_every_renderer_a_kind(offline_app: App) -> None:
    offline_app.check_features()  # the cogs as shipped
    assert offline_app.bot.notifications.kinds == FEATURES.kind_names


async def test_a_kind_without_a_renderer_stops_the_start_with_one_line(offline_app: App) -> None:
    offline_app.bot.notifications.unregister("checkin_digest")
    with pytest.raises(StartupError) as failure:
        offline_app.check_features()
    assert "no renderer for checkin_digest" in str(failure.value) and "\n" not in str(failure.value)


async def test_a_renderer_for_no_planned_kind_stops_the_start(offline_app: App) -> None:
    async def render(notification):  # pragma: no cover - never called
        raise AssertionError

    offline_app.bot.notifications.register("stray_kind", render)
    with pytest.raises(StartupError, match="renderers for kinds no feature plans: stray_kind"):
        offline_app.check_features()


async def test_a_kind_without_a_label_stops_the_start(offline_app: App) -> None:
    kinds = [NotificationKind(k.name, "" if k.name == "buddy_summary" else k.label, k.planner, k.useful_after)
             for k in FEATURES.kinds]
    with pytest.raises(FeatureError, match="no label for buddy_summary"):
        FeatureRegistry((Feature("all", kinds=kinds),)).check_renderers(offline_app.bot.notifications.kinds)


async def test_rows_due_at_once_are_inserted_in_kind_order_a_members_dms_together(sessions, clock) -> None:
    """Rows due at the same moment are sent in id order: a meeting an hour away makes the prompt and
    every DM due now; the channel's rows follow kind order, each member's DMs stay together."""
    cy = 13  # three members: a pair gets no buddy summaries (the board says it all)
    group_id = await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BEN, cy])
    async with sessions.begin() as session:
        session.add(BuddyPair(guild_id=GUILD, group_id=group_id, requester_id=ANA, partner_id=BEN, status="active",
                              created_at=clock.now()))
    await add_meeting(sessions, group_id, clock.now() + timedelta(hours=1))
    async with sessions.begin() as session:
        await plan_group(session, group_id, clock.now())
        found = [(r.kind, r.recipient_id) for r in await session.scalars(
            select(OutboxRow).where(OutboxRow.group_id == group_id).order_by(OutboxRow.id))]
    assert found == [
        ("module_prompt", 0),
        ("checkin_nudge", ANA), ("reportback_dm", ANA), ("buddy_summary", ANA),
        ("checkin_nudge", BEN), ("reportback_dm", BEN), ("buddy_summary", BEN),
        ("checkin_nudge", cy), ("reportback_dm", cy),
        ("attendance_prompt", 0), ("reportback_board", 0), ("checkin_digest", 0), ("post_meeting", 0),
    ]


class NoteService:
    """A feature's service: built once from the ServiceContext, found by its class."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context


def test_a_features_services_are_built_from_its_declaration_and_found_by_class(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    context = ServiceContext(sessions=sessions, clock=clock)
    notes = Feature("notes", services=(NoteService,), extension="tests.notes_cog")
    registry = FeatureRegistry((*FEATURES.features, notes))
    services = Services.build(context, registry)
    found = services.get(NoteService)
    assert isinstance(found, NoteService) and found.context is context and services.get(NoteService) is found
    assert registry.extensions[-1] == "tests.notes_cog" and "cogs.goals" in registry.extensions
    with pytest.raises(FeatureError, match="No NoteService: no feature in the registry declares it"):
        Services.build(context).get(NoteService)
    with pytest.raises(FeatureError, match="NoteService is declared by two features"):
        Services.build(context, FeatureRegistry((notes, Feature("again", services=(NoteService,)))))
    with pytest.raises(FeatureError, match="an extension is declared by two features"):
        FeatureRegistry((notes, Feature("again", extension="tests.notes_cog")))


def test_the_app_loads_the_core_cogs_then_each_features_cog_in_catalog_order(tmp_path: Path) -> None:
    from cogs import EXTENSIONS

    settings = Settings(discord_token="offline", database_url=f"sqlite:///{tmp_path / 'x.db'}", _env_file=None)  # type: ignore[call-arg]
    app = App(settings, extra_extensions=("tests.e2e.outbox_renderers",))
    assert app.bot._extensions == (*EXTENSIONS, *(f.extension for f in FEATURES.features if f.extension),
                                   "tests.e2e.outbox_renderers")
    assert set(app.bot._extensions) >= {"cogs.meetings", "cogs.modules", "cogs.commitments", "cogs.buddies",
                                        "cogs.brainstorms", "cogs.goals"}
    assert "cogs.agenda" not in app.bot._extensions  # its commands are under /meeting
