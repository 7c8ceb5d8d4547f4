"""The feature registry: what each feature contributes to the core, declared in the feature's own module.

A :class:`Feature` is the one registration of a feature: its service classes (built by the
composition root, reached by the cogs as ``services.get(GoalService)``), its cog extension (a
dotted name: the domain never imports a cog), its notification kinds (:class:`NotificationKind`: the stored name, the
label ``/admin outbox`` shows, how long a row stays worth sending, the planner that derives the
rows a group should have) and the hooks the core calls without knowing the feature: a meeting
ended, a member left or was removed, a group was archived, export or delete a member's data, and
the lines it adds to ``/group info``. Its tables register on the metadata when the feature module
imports its models (the catalog imports every feature module; Alembic's env.py imports the catalog).

The core loops over a :class:`FeatureRegistry`: ``bot.services.outbox.plan_group`` (planning and
reconciling), the outbox claim (staleness), ``GroupService.end_meeting``, ``/group info``,
``/admin outbox`` and the dispatcher. It never imports a feature: the composition root builds the
registry from the features' declarations (``bot.services.catalog``) and binds it to the
sessionmaker (:func:`bind_features`); ``features_of(session)`` reads it back.

Domain ring: no ``discord`` import, no service import (features import this module, not the
other way round).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import Group, Meeting

if TYPE_CHECKING:
    from bot.services.base import ServiceContext
    from bot.services.outbox import Claimed

FEATURES_KEY = "roundtable.features"  # where a session's info holds its registry


# --- what a planner sees and returns ------------------------------------------------------------


if TYPE_CHECKING:
    from bot.services.waking import MemberReach


@dataclass(frozen=True, slots=True)
class MeetingSlot:
    """A meeting the planner plans rows for, with the group's previous (not cancelled) meeting."""

    meeting: Meeting
    previous: Meeting | None


@dataclass(frozen=True, slots=True)
class GroupPlan:
    """What every planner of one group shares, loaded once per ``plan_group``."""

    group: Group
    zone: ZoneInfo
    now: datetime
    members: Sequence[int]  # user ids, oldest member first
    # Scheduled meetings, in time order; and meetings ended within the last day (they keep only
    # their post-meeting row). Each with the meeting before it.
    meetings: Sequence[MeetingSlot]
    ended: Sequence[MeetingSlot]
    # Each member's zone and waking window (bot.waking), for the due time of a DM; None: none known.
    reach: MemberReach | None = None


@dataclass(frozen=True, slots=True)
class PlannedRow:
    """One outbox row a group should have. ``meeting`` None: a row not tied to a meeting."""

    kind: str
    meeting: Meeting | None
    occurrence: str  # unique with kind, group and recipient, e.g. "meeting:42" or "month:2027-01"
    recipient_id: int  # 0: the group channel; else the member to DM
    due_at: datetime
    payload: dict[str, Any]
    # A channel reminder whose lead time has passed is not worth creating late.
    skip_if_late: bool = False


Planner = Callable[[AsyncSession, GroupPlan], Awaitable[Iterable[PlannedRow]]]
MeetingPlanner = Callable[[GroupPlan, MeetingSlot], Iterable[PlannedRow]]


def each_meeting(plan_one: MeetingPlanner) -> Planner:
    """A planner over the group's scheduled meetings from one that plans a single meeting."""

    async def planner(session: AsyncSession, plan: GroupPlan) -> list[PlannedRow]:
        return [row for slot in plan.meetings for row in plan_one(plan, slot)]

    return planner


# --- declarations ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NotificationKind:
    """One kind of message the bot sends on its own; its renderer lives in the feature's cog."""

    name: str  # stored in outbox.kind (at most 32 characters); the renderer is registered under it
    label: str  # shown in /admin outbox
    planner: Planner
    # How long a row stays worth sending: measured from its meeting's start for a meeting row, from
    # its due time for any other. None: always (however late). Past it the row is expired.
    useful_after: timedelta | None
    # Rows due at the same moment go out in this order (lower first); a member's DMs stay together.
    order: int = 100
    # The reason a pending row the planner no longer wants is cancelled with (when no general one
    # applies: meeting cancelled/ended/removed, member left). Rows cancelled for it come back.
    unplanned_reason: str = "no longer planned"
    # Called by the dispatcher with the services before the row is rendered (post_meeting ends the
    # meeting first). Must be idempotent: a row can be retried.
    before_render: Callable[[Any, Claimed], Awaitable[None]] | None = None
    # A due row is expired, not sent, when a later row of the same kind and recipient is also due
    # (after an outage): "meeting" within the same meeting (a 7-day reminder beside the 1-day one),
    # "group" within the group (an older meeting's post-meeting prompt). Its before_render still runs.
    superseded_within: str | None = None
    # Later rows of these other kinds, in the same scope and to the same recipient, supersede it too
    # (the 7-day meeting reminder gives way to the meeting pack, which replaced the 1-day reminder).
    superseded_by: Sequence[str] = ()
    # Whether its DM offers "Remind me later" (bot.services.snooze), and what a snooze may not pass:
    # SNOOZE_BEFORE_MEETING (the row's meeting: a report-back DM, a nudge) or SNOOZE_BEFORE_NEXT_MEETING
    # (the group's next meeting after the row's: the carry-over DM). None: not snoozable.
    snoozable: str | None = None


SNOOZE_BEFORE_MEETING = "meeting"
SNOOZE_BEFORE_NEXT_MEETING = "next_meeting"


@dataclass(frozen=True, slots=True)
class InfoLine:
    """A line a feature adds to ``/group info`` (an embed field)."""

    name: str
    value: str


MeetingEnded = Callable[[AsyncSession, Group, Meeting, datetime], Awaitable[None]]
MemberLeft = Callable[[AsyncSession, Group, int, datetime], Awaitable[None]]  # user id
GroupArchived = Callable[[AsyncSession, Group, datetime], Awaitable[None]]
ExportMember = Callable[[AsyncSession, int, int], Awaitable[dict[str, Any]]]  # guild id, user id
DeleteMember = Callable[[AsyncSession, int, int, datetime], Awaitable[int]]  # guild id, user id → rows
InfoLines = Callable[[AsyncSession, Group], Awaitable[Sequence[InfoLine]]]


# A service class: built once by the composition root with the ServiceContext (``GoalService``).
ServiceFactory = Callable[["ServiceContext"], object]


@dataclass(frozen=True, slots=True)
class Feature:
    """What one feature contributes. Hooks run inside the caller's transaction and never commit."""

    name: str
    kinds: Sequence[NotificationKind] = ()
    # Its service classes, each built once (``bot.services.Services.build``) and found by its class
    # (``services.get(GoalService)``); and its cog, as the extension's dotted name ("cogs.goals"),
    # loaded by the client after the core cogs, in catalog order.
    services: Sequence[ServiceFactory] = ()
    extension: str | None = None
    meeting_ended: MeetingEnded | None = None
    member_left: MemberLeft | None = None  # left or removed, before the membership row goes
    group_archived: GroupArchived | None = None
    export_member: ExportMember | None = None
    delete_member: DeleteMember | None = None
    info_lines: InfoLines | None = None


class FeatureError(Exception):
    """The features and the renderers don't fit together; ``str()`` is one line."""


@dataclass(frozen=True)
class FeatureRegistry:
    """The features the bot runs, in order (hooks and ``/group info`` lines follow it)."""

    features: Sequence[Feature]
    _kinds: dict[str, NotificationKind] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        kinds: dict[str, NotificationKind] = {}
        names: set[str] = set()
        for feature in self.features:
            if feature.name in names:
                raise FeatureError(f"feature {feature.name!r} is registered twice")
            names.add(feature.name)
            for kind in feature.kinds:
                if kind.name in kinds:
                    raise FeatureError(f"notification kind {kind.name!r} is declared by two features")
                if not 0 < len(kind.name) <= 32:
                    raise FeatureError(f"notification kind {kind.name!r}: a name has 1 to 32 characters")
                kinds[kind.name] = kind
        extensions = [feature.extension for feature in self.features if feature.extension is not None]
        if len(set(extensions)) != len(extensions):
            raise FeatureError("an extension is declared by two features")
        for kind in kinds.values():
            if kind.superseded_by and kind.superseded_within is None:
                raise FeatureError(f"notification kind {kind.name!r}: superseded_by needs superseded_within")
            unknown = sorted(set(kind.superseded_by) - set(kinds))
            if unknown:
                raise FeatureError(f"notification kind {kind.name!r} is superseded by unknown kinds: {', '.join(unknown)}")
        object.__setattr__(self, "_kinds", kinds)

    # --- services and extensions -----------------------------------------------------------------

    @property
    def service_factories(self) -> list[ServiceFactory]:
        return [factory for feature in self.features for factory in feature.services]

    @property
    def extensions(self) -> list[str]:
        """The features' cog extensions, in order."""
        return [feature.extension for feature in self.features if feature.extension is not None]

    # --- kinds -----------------------------------------------------------------------------------

    @property
    def kinds(self) -> list[NotificationKind]:
        return list(self._kinds.values())

    @property
    def kind_names(self) -> frozenset[str]:
        return frozenset(self._kinds)

    def kind(self, name: str) -> NotificationKind | None:
        return self._kinds.get(name)

    def label(self, name: str) -> str:
        kind = self._kinds.get(name)
        return kind.label if kind is not None else name

    def check_renderers(self, rendered: Iterable[str]) -> None:
        """Every planned kind has a renderer and a label, and every renderer a planned kind.

        (A second renderer for a kind is refused when it is registered.) Raises :class:`FeatureError`.
        """
        rendered = set(rendered)
        unlabelled = sorted(k.name for k in self._kinds.values() if not k.label.strip())
        missing = sorted(self.kind_names - rendered)
        orphans = sorted(rendered - self.kind_names)
        problems = []
        if missing:
            problems.append(f"no renderer for {', '.join(missing)}")
        if unlabelled:
            problems.append(f"no label for {', '.join(unlabelled)}")
        if orphans:
            problems.append(f"renderers for kinds no feature plans: {', '.join(orphans)}")
        if problems:
            raise FeatureError("Notification kinds don't match the renderers: " + "; ".join(problems) + ".")

    # --- hooks (the caller's transaction) -------------------------------------------------------------

    async def meeting_ended(self, session: AsyncSession, group: Group, meeting: Meeting, now: datetime) -> None:
        for feature in self.features:
            if feature.meeting_ended is not None:
                await feature.meeting_ended(session, group, meeting, now)

    async def member_left(self, session: AsyncSession, group: Group, user_id: int, now: datetime) -> None:
        for feature in self.features:
            if feature.member_left is not None:
                await feature.member_left(session, group, user_id, now)

    async def group_archived(self, session: AsyncSession, group: Group, now: datetime) -> None:
        for feature in self.features:
            if feature.group_archived is not None:
                await feature.group_archived(session, group, now)

    async def export_member(self, session: AsyncSession, guild_id: int, user_id: int) -> dict[str, dict[str, Any]]:
        """Each feature's data about the member, by feature name (features with nothing are left out)."""
        found: dict[str, dict[str, Any]] = {}
        for feature in self.features:
            if feature.export_member is not None:
                data = await feature.export_member(session, guild_id, user_id)
                if data:
                    found[feature.name] = data
        return found

    async def delete_member(self, session: AsyncSession, guild_id: int, user_id: int, now: datetime) -> int:
        """Delete the member's data in every feature; how many rows went."""
        deleted = 0
        for feature in self.features:
            if feature.delete_member is not None:
                deleted += await feature.delete_member(session, guild_id, user_id, now)
        return deleted

    async def info_lines(self, session: AsyncSession, group: Group) -> list[InfoLine]:
        lines: list[InfoLine] = []
        for feature in self.features:
            if feature.info_lines is not None:
                lines.extend(await feature.info_lines(session, group))
        return lines


# --- binding ---------------------------------------------------------------------------------------

_builtin: FeatureRegistry | None = None


def set_builtin(registry: FeatureRegistry) -> None:
    """The registry of sessions built without one (unit tests, scripts): ``bot.services.catalog``."""
    global _builtin
    _builtin = registry


def bind_features(sessions: async_sessionmaker[AsyncSession], registry: FeatureRegistry) -> None:
    """Every session of ``sessions`` carries ``registry`` (the composition root calls this once)."""
    info = dict(sessions.kw.get("info") or {})
    info[FEATURES_KEY] = registry
    sessions.configure(info=info)


def _registry(found: object) -> FeatureRegistry:
    if isinstance(found, FeatureRegistry):
        return found
    if _builtin is None:
        raise FeatureError("No feature registry: bind one with bot.features.bind_features (bot.app does)")
    return _builtin


def features_of(session: AsyncSession) -> FeatureRegistry:
    """The registry bound to this session's sessionmaker, else the built-in one."""
    return _registry(session.info.get(FEATURES_KEY))


def features_of_sessions(sessions: async_sessionmaker[AsyncSession]) -> FeatureRegistry:
    return _registry((sessions.kw.get("info") or {}).get(FEATURES_KEY))
