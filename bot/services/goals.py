"""Goals (a number and a date, a status cycle) and KPIs logged month by month, shown per visibility.

Who sees a KPI's figures is decided in one place, :func:`sight_of` (the relation of the viewer to
the KPI × its visibility), and every read goes through :func:`visible_kpi`, which drops what the
viewer may not see. A KPI's months are calendar months in the member's timezone, stored as the
month's first day.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dates import parse_when, to_local
from bot.errors import InvalidInput, LimitReached, NotAllowed, NotFound, UserError
from bot.models import (
    Commitment,
    Goal,
    GoalStatus,
    Group,
    GroupMember,
    GuildSettings,
    Kpi,
    KpiDirection,
    KpiEntry,
    KpiVisibility,
    MemberProfile,
)
from bot.services.base import (
    Actor,
    Service,
    membership,
    require_active,
    require_id,
    require_member,
    require_reader,
    resolve_group,
)
from bot.services.outbox import plan_group
from bot.text import clean, name_key, quoted

GOAL_TEXT_MAX = 200
NOTE_MAX = 1000
UNIT_MAX = 12
KPI_NAME_MAX = 40
OPEN_GOALS_MAX = 5
KPIS_MAX = 8
FIELDS_PER_FORM = 5  # a modal holds five inputs
VALUE_MAX = Decimal("1e12")
PLACES = Decimal("0.0001")
YEAR_MONTHS = 12
GOAL_AHEAD_MAX = timedelta(days=10 * 366)  # a goal's date: within ten years

OPEN_GOALS = (GoalStatus.ON_TRACK, GoalStatus.AT_RISK, GoalStatus.BEHIND)

_REF = re.compile(r"^\s*#?\s*(?P<number>[0-9]{1,9})\s*$")
_SPACES = re.compile(r"[\s\u00a0\u2009\u202f']+")
_NUMBER = re.compile(r"^(?P<sign>[+-]?)(?P<body>[0-9.,]+)(?P<percent>%?)$")
_GROUPED = re.compile(r"^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$")
_ISO_MONTH = re.compile(r"^(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})$")
_NAMED_MONTH = re.compile(r"^(?P<name>[a-z]+)\.?(?:\s+(?P<year>[0-9]{4}))?$")
_MONTHS = {name.lower(): n for n, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name[:3]: n for name, n in list(_MONTHS.items())} | {"sept": 9}
_MONTH_EXAMPLES = "`2026-11`, `November`, `Nov 2026` or `last month`"


# --- numbers and months (pure) -------------------------------------------------------------------


def show_number(value: Decimal) -> str:
    """``1,250.5``: thousands separated, no trailing zeros, never an exponent."""
    return format(value.normalize(), ",f")


def parse_number(text: str, *, what: str, allows_negative: bool = False) -> Decimal:
    """A decimal as a member types it: ``1,250.50``, ``12.5 %``, ``-3``, ``12,5``.

    Refused (with a hint): units or suffixes (``£3k``), NaN, infinity, more than 10¹² either way,
    and a negative value where ``allows_negative`` is False.
    """
    raw = clean(text)
    compact = _SPACES.sub("", raw)
    hint = f"Type just the number for {what}, like `1250.50` or `12.5 %` (the unit is set once, on the KPI)."
    if not compact:
        raise InvalidInput(f"The value for {what} is empty. {hint}")
    if compact.lower().lstrip("+-") in ("nan", "inf", "infinity", "∞"):
        raise InvalidInput(f"{quoted(raw)} isn't a number. {hint}")
    match = _NUMBER.match(compact)
    if match is None:
        raise InvalidInput(f"I can't read {quoted(raw)} as a number. {hint}")
    body = match["body"]
    if "," in body and "." in body:
        if body.rfind(",") > body.rfind("."):  # 1.250,50
            body = body.replace(".", "").replace(",", ".")
        elif _GROUPED.match(body):  # 1,250.50
            body = body.replace(",", "")
        else:
            raise InvalidInput(f"I can't read {quoted(raw)} as a number. {hint}")
    elif "," in body:
        body = body.replace(",", "") if _GROUPED.match(body) else body.replace(",", ".")
    if body.count(".") > 1 or body in (".", ""):
        raise InvalidInput(f"I can't read {quoted(raw)} as a number. {hint}")
    try:
        value = Decimal(match["sign"] + body)
    except InvalidOperation:
        raise InvalidInput(f"I can't read {quoted(raw)} as a number. {hint}") from None
    if not value.is_finite():
        raise InvalidInput(f"{quoted(raw)} isn't a number. {hint}")
    if abs(value) > VALUE_MAX:
        raise InvalidInput(f"{quoted(raw)} is too large for {what}: at most 1,000,000,000,000.")
    if value < 0 and not allows_negative:
        raise InvalidInput(
            f"{what} can't be negative ({quoted(raw)}). If it can (a profit, a balance), edit the KPI with `negative: True`."
        )
    return value.quantize(PLACES, rounding=ROUND_HALF_UP).normalize() + 0


def month_of(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def show_month(month: date) -> str:
    return f"{calendar.month_abbr[month.month]} {month.year}"


def parse_month(text: str, this_month: date) -> date:
    """``2026-11``, ``November``, ``Nov 2026``, ``last month``, ``this month``: a month's first day.

    A month name without a year is the latest such month that isn't in the future.
    """
    cleaned = " ".join(clean(text).lower().split())
    if cleaned in ("last month", "previous month"):
        return add_months(this_month, -1)
    if cleaned in ("this month", "current month"):
        return this_month
    iso = _ISO_MONTH.match(cleaned)
    if iso is not None:
        number = int(iso["month"])
        if 1 <= number <= 12:
            return date(int(iso["year"]), number, 1)
    named = _NAMED_MONTH.match(cleaned)
    if named is not None and named["name"] in _MONTHS:
        number = _MONTHS[named["name"]]
        if named["year"]:
            return date(int(named["year"]), number, 1)
        year = this_month.year if number <= this_month.month else this_month.year - 1
        return date(year, number, 1)
    raise InvalidInput(f"I can't read {quoted(text)} as a month. Try {_MONTH_EXAMPLES}.")


def _clean_unit(unit: str | None) -> str | None:
    if unit is None:
        return None
    cleaned = clean(unit)
    if len(cleaned) > UNIT_MAX:
        raise InvalidInput(f"Keep the unit to {UNIT_MAX} characters, like `£`, `clients` or `%` (yours has {len(cleaned)}).")
    return cleaned or None


def _clean_note(note: str | None) -> str | None:
    if note is None:
        return None
    cleaned = clean(note, multiline=True)
    if len(cleaned) > NOTE_MAX:
        raise InvalidInput(f"Keep the note to {NOTE_MAX} characters (yours has {len(cleaned)}).")
    return cleaned or None


def _choice(value: str, allowed: type[StrEnum], what: str) -> str:
    try:
        return allowed(value).value
    except ValueError:
        names = ", ".join(f"`{member.value}`" for member in allowed)
        raise InvalidInput(f"{quoted(value, 20)} isn't a {what}. Use one of: {names}.") from None


# --- who sees what -------------------------------------------------------------------------------


class Relation(StrEnum):
    """The viewer of a KPI, as seen from it."""

    OWNER = "owner"
    FACILITATOR = "facilitator"  # of the KPI's group (or a server manager)
    MEMBER = "member"  # of the KPI's group
    STRANGER = "stranger"  # anyone else: another group, another server


class Sight(StrEnum):
    """What a viewer sees of a KPI."""

    FIGURES = "figures"  # every value and the target
    CHANGE = "change"  # the change on the month before, as a percentage
    LOGGED = "logged"  # only that a value was logged for a month
    NOTHING = "nothing"  # not even that the KPI exists


def sight_of(relation: Relation, visibility: str) -> Sight:
    """The one rule: what ``relation`` sees of a KPI with ``visibility``."""
    if relation is Relation.OWNER:
        return Sight.FIGURES
    if relation is Relation.STRANGER:
        return Sight.NOTHING
    if visibility == KpiVisibility.FULL:
        return Sight.FIGURES
    if visibility == KpiVisibility.CHANGE:
        return Sight.CHANGE
    return Sight.LOGGED if relation is Relation.FACILITATOR else Sight.NOTHING


@dataclass(frozen=True, slots=True)
class KpiPoint:
    month: date
    value: Decimal | None  # None unless the viewer sees the figures
    change_pct: int | None  # on the month before, when both are logged and the viewer may see it


@dataclass(frozen=True, slots=True)
class KpiView:
    """A KPI as one viewer may see it (built only by :func:`visible_kpi`)."""

    id: int
    user_id: int
    name: str
    unit: str
    direction: str
    visibility: str
    sight: Sight
    target: Decimal | None  # None unless the viewer sees the figures
    first_month: date
    points: list[KpiPoint]  # oldest first

    @property
    def latest(self) -> KpiPoint | None:
        return self.points[-1] if self.points else None


def change_pct(value: Decimal, before: Decimal | None) -> int | None:
    if before is None or before == 0:
        return None
    return int(((value - before) / abs(before) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def visible_kpi(kpi: Kpi, entries: Sequence[KpiEntry], relation: Relation) -> KpiView | None:
    """What ``relation`` may see of ``kpi`` and its entries; None when they may not see it at all."""
    sight = sight_of(relation, kpi.visibility)
    if sight is Sight.NOTHING:
        return None
    by_month = {entry.month: entry.value for entry in entries}
    points = []
    for month in sorted(by_month):
        value = by_month[month]
        change = change_pct(value, by_month.get(add_months(month, -1)))
        points.append(KpiPoint(
            month=month,
            value=value if sight is Sight.FIGURES else None,
            change_pct=change if sight in (Sight.FIGURES, Sight.CHANGE) else None,
        ))
    return KpiView(
        id=kpi.id, user_id=kpi.user_id, name=kpi.name, unit=kpi.unit, direction=kpi.direction,
        visibility=kpi.visibility, sight=sight, target=kpi.target if sight is Sight.FIGURES else None,
        first_month=kpi.first_month, points=points,
    )


# --- plain data returned to the adapters ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ref:
    """A goal or KPI as a member names it: its id (an autocomplete value) or what they typed."""

    id: int | None = None
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Ref:
        text = text.strip()
        if text.startswith("id:") and text[3:].isdigit():
            return cls(id=int(text[3:]))
        return cls(text=text)


@dataclass(frozen=True, slots=True)
class LinkedCommitment:
    """A commitment linked to a goal, as the goal's card shows it (no note: a note is its member's)."""

    number: int
    text: str
    status: str  # a CommitmentStatus


@dataclass(frozen=True, slots=True)
class GoalInfo:
    id: int
    group_id: int
    number: int
    user_id: int
    text: str
    target: Decimal | None
    unit: str | None
    due_on: date | None
    status: str
    note: str | None
    commitments: tuple[LinkedCommitment, ...] = ()  # linked with `/commit add goal:`, by number

    @property
    def status_label(self) -> str:
        return GoalStatus(self.status).label

    @property
    def is_open(self) -> bool:
        return GoalStatus(self.status).is_open


@dataclass(frozen=True, slots=True)
class GoalResult:
    goal: GoalInfo
    group_name: str
    changed: bool = True


@dataclass(frozen=True, slots=True)
class MemberGoals:
    user_id: int
    goals: list[GoalInfo]


@dataclass(frozen=True, slots=True)
class GoalList:
    group_name: str
    members: list[MemberGoals]


@dataclass(frozen=True, slots=True)
class KpiResult:
    kpi: KpiView
    group_name: str
    changed: bool = True


@dataclass(frozen=True, slots=True)
class KpiChart:
    kpi: KpiView
    group_name: str
    months: list[date]  # the months the chart spans, oldest first
    channel_id: int = 0  # the group's channel (where a fully shared KPI's chart may be posted)

    def value_in(self, month: date) -> Decimal | None:
        return next((p.value for p in self.kpi.points if p.month == month), None)


@dataclass(frozen=True, slots=True)
class FormField:
    kpi_id: int
    name: str
    unit: str
    current: Decimal | None  # the value already logged for the month


@dataclass(frozen=True, slots=True)
class LogForm:
    """One page of the ``/kpi log`` modal: up to five of the member's KPIs for one month."""

    group_id: int
    group_name: str
    month: date
    page: int  # from 0
    pages: int
    fields: list[FormField]


@dataclass(frozen=True, slots=True)
class LoggedValue:
    name: str
    unit: str
    value: Decimal
    change_pct: int | None


@dataclass(frozen=True, slots=True)
class Logged:
    group_name: str
    month: date
    values: list[LoggedValue]
    reached: list[str]  # KPIs whose target this month's value reaches
    reached_ids: tuple[int, ...] = ()  # the same KPIs' ids (for "Share as a win")


@dataclass(frozen=True, slots=True)
class Scorecard:
    group_name: str
    user_id: int
    kpis: list[KpiView]
    hidden: int  # the member's KPIs the viewer may not see


@dataclass(frozen=True, slots=True)
class KpiChoice:
    id: int
    name: str
    unit: str


# --- helpers used inside a transaction -----------------------------------------------------------


def _goal_info(row: Goal) -> GoalInfo:
    return GoalInfo(
        id=row.id, group_id=row.group_id, number=row.number, user_id=row.user_id, text=row.text, target=row.target,
        unit=row.unit, due_on=row.due_on, status=row.status, note=row.note,
    )


async def _linked(session: AsyncSession, goal_ids: Sequence[int]) -> dict[int, tuple[LinkedCommitment, ...]]:
    """The commitments linked to each of ``goal_ids``, by number."""
    linked: dict[int, list[LinkedCommitment]] = {}
    if goal_ids:
        rows = await session.scalars(
            select(Commitment).where(Commitment.goal_id.in_(goal_ids)).order_by(Commitment.number)
        )
        for row in rows:
            assert row.goal_id is not None
            linked.setdefault(row.goal_id, []).append(LinkedCommitment(number=row.number, text=row.text, status=row.status))
    return {goal_id: tuple(items) for goal_id, items in linked.items()}


async def open_goals_of(
    session: AsyncSession, members: Collection[tuple[int, int]]
) -> dict[tuple[int, int], list[GoalInfo]]:
    """The open goals of each (group id, user id), by number: ``GoalService.open_goals`` for many
    members in one query (the dispatcher's batch of report-back DMs)."""
    if not members:
        return {}
    found: dict[tuple[int, int], list[GoalInfo]] = {}
    rows = await session.scalars(
        select(Goal)
        .where(Goal.group_id.in_({g for g, _ in members}), Goal.user_id.in_({u for _, u in members}),
               Goal.status.in_(OPEN_GOALS))
        .order_by(Goal.number)
    )
    for row in rows:
        if (row.group_id, row.user_id) in members:
            found.setdefault((row.group_id, row.user_id), []).append(_goal_info(row))
    return found


async def goal_infos(session: AsyncSession, rows: Sequence[Goal]) -> list[GoalInfo]:
    """The goals with their linked commitments."""
    linked = await _linked(session, [row.id for row in rows])
    return [replace(_goal_info(row), commitments=linked.get(row.id, ())) for row in rows]


async def board_goals(session: AsyncSession, group_id: int, since: datetime | None) -> dict[int, list[GoalInfo]]:
    """Each member's goals for the meeting board: the open ones, and those done since ``since``
    (the previous meeting), by number. Goals are the group's to read (``/goal list``)."""
    closed_lately = Goal.status == GoalStatus.DONE
    if since is not None:
        closed_lately = and_(closed_lately, Goal.updated_at > since)
    rows = list(await session.scalars(
        select(Goal).where(Goal.group_id == group_id, or_(Goal.status.in_(OPEN_GOALS), closed_lately))
        .order_by(Goal.number)
    ))
    grouped: dict[int, list[GoalInfo]] = {}
    for info in await goal_infos(session, rows):
        grouped.setdefault(info.user_id, []).append(info)
    return grouped


async def goal_to_link(session: AsyncSession, actor: Actor, group: Group, ref: Ref) -> Goal:
    """The goal a new commitment in ``group`` works towards: the member's own, open, in that group.

    Another member's goal, a goal of another group (or server) and a closed goal are refused.
    """
    if ref.id is not None:
        row = await session.get(Goal, ref.id)
        if row is None or row.guild_id != actor.guild_id:
            raise NotFound("I can't find that goal: pick one of yours from the list.")
    else:
        match = _REF.match(ref.text)
        if match is None:
            raise InvalidInput(f"{quoted(ref.text)} isn't a goal. Pick one from the list, or type its number like `#3`.")
        row = await session.scalar(select(Goal).where(Goal.group_id == group.id, Goal.number == int(match["number"])))
        if row is None:
            raise NotFound(f"**{group.name}** has no goal #{match['number']}.")
    if row.group_id != group.id:
        other = await session.get(Group, row.group_id)
        mine = row.user_id == actor.user_id and other is not None
        where = f"**{other.name}**" if mine and other is not None else "another group"
        raise InvalidInput(
            f"That goal is in {where}, not **{group.name}**: link a commitment to a goal of the same group."
        )
    if row.user_id != actor.user_id:
        raise NotAllowed(f"#{row.number} is another member's goal: link your commitment to one of your own.")
    if not GoalStatus(row.status).is_open:
        raise InvalidInput(
            f"Goal #{row.number} is {GoalStatus(row.status).label}: link the commitment to an open goal."
        )
    return row


async def _member_tz(session: AsyncSession, guild_id: int, user_id: int) -> str:
    """The member's timezone, else the server's, else UTC (inside the caller's transaction)."""
    profile = await session.get(MemberProfile, (guild_id, user_id))
    if profile is not None and profile.timezone:
        return profile.timezone
    server = await session.get(GuildSettings, guild_id)
    return server.timezone if server is not None else "UTC"


async def relation_to(session: AsyncSession, actor: Actor, kpi: Kpi) -> Relation:
    if actor.guild_id != kpi.guild_id:
        return Relation.STRANGER
    if actor.user_id == kpi.user_id:
        return Relation.OWNER
    member = await membership(session, kpi.group_id, actor.user_id)
    # A facilitator's view is the facilitators': Manage Server alone sees none of a group's KPIs.
    if member is not None and member.is_facilitator:
        return Relation.FACILITATOR
    return Relation.MEMBER if member is not None else Relation.STRANGER


async def _entries(session: AsyncSession, kpi_ids: Sequence[int]) -> dict[int, list[KpiEntry]]:
    grouped: dict[int, list[KpiEntry]] = {kpi_id: [] for kpi_id in kpi_ids}
    if kpi_ids:
        rows = await session.scalars(select(KpiEntry).where(KpiEntry.kpi_id.in_(kpi_ids)).order_by(KpiEntry.month))
        for row in rows:
            grouped[row.kpi_id].append(row)
    return grouped


# --- the service ---------------------------------------------------------------------------------


class GoalService(Service):
    # goals ---------------------------------------------------------------------------------------

    async def add_goal(
        self, actor: Actor, *, text: str, target: str | None = None, unit: str | None = None, by: str | None = None,
        group_id: int | None = None,
    ) -> GoalResult:
        """``/goal add``: at most five open goals per member per group."""
        cleaned = self._goal_text(text)
        amount = parse_number(target, what="the target") if target is not None else None
        cleaned_unit = _clean_unit(unit)
        if cleaned_unit is not None and amount is None:
            raise InvalidInput("A unit goes with a target: give the `target` too (e.g. target `10`, unit `clients`).")
        async with self.begin() as session:
            resolved = await resolve_group(session, actor, group_id)
            group = await session.scalar(select(Group).where(Group.id == resolved.id).with_for_update())
            assert group is not None
            require_active(group)
            await require_member(session, group, actor)
            due_on = await self._due_on(session, actor, by) if by is not None else None
            open_now = await session.scalar(
                select(func.count()).select_from(Goal).where(
                    Goal.group_id == group.id, Goal.user_id == actor.user_id, Goal.status.in_(OPEN_GOALS)
                )
            ) or 0
            if open_now >= OPEN_GOALS_MAX:
                raise LimitReached(
                    f"You have {OPEN_GOALS_MAX} open goals in **{group.name}** already: mark one done or drop it first."
                )
            number = (await session.scalar(select(func.max(Goal.number)).where(Goal.group_id == group.id)) or 0) + 1
            now = self.now()
            row = Goal(
                guild_id=group.guild_id, group_id=group.id, number=number, user_id=actor.user_id, text=cleaned,
                target=amount, unit=cleaned_unit, due_on=due_on, status=GoalStatus.ON_TRACK, created_at=now,
                updated_at=now,
            )
            session.add(row)
            await session.flush()
            return GoalResult(goal=_goal_info(row), group_name=group.name)

    async def list_goals(self, actor: Actor, *, member_id: int | None = None, group_id: int | None = None) -> GoalList:
        """``/goal list``: the group's goals (dropped ones left out), by member in joining order."""
        async with self.read() as session:
            group = await resolve_group(session, actor, group_id)
            await require_reader(session, group, actor)
            query = select(Goal).where(Goal.group_id == group.id, Goal.status != GoalStatus.DROPPED)
            if member_id is not None:
                if await membership(session, group.id, member_id) is None:
                    raise NotFound(f"That member isn't in **{group.name}**.")
                query = query.where(Goal.user_id == member_id)
            rows = list(await session.scalars(query.order_by(Goal.number)))
            order = list(await session.scalars(
                select(GroupMember.user_id).where(GroupMember.group_id == group.id)
                .order_by(GroupMember.joined_at, GroupMember.user_id)
            ))
            grouped: dict[int, list[GoalInfo]] = {}
            for info in await goal_infos(session, rows):
                grouped.setdefault(info.user_id, []).append(info)
            rank = {user_id: index for index, user_id in enumerate(order)}
            users = sorted(grouped, key=lambda u: (rank.get(u, len(rank)), grouped[u][0].number))
            return GoalList(group_name=group.name, members=[MemberGoals(u, grouped[u]) for u in users])

    async def update_goal(
        self, actor: Actor, *, goal: Ref, status: str, note: str | None = None, group_id: int | None = None
    ) -> GoalResult:
        """``/goal update``: the owner sets the status (on track, at risk, behind, done, dropped)."""
        wanted = _choice(status, GoalStatus, "goal status")
        cleaned_note = _clean_note(note)
        async with self.begin() as session:
            row, group = await self._own_goal(session, actor, goal, group_id, "update")
            if not GoalStatus(row.status).is_open and GoalStatus(wanted).is_open:
                await self._check_open_room(session, row, group)
            changed = row.status != wanted or (cleaned_note is not None and cleaned_note != row.note)
            if changed:
                row.status = wanted
                if cleaned_note is not None:
                    row.note = cleaned_note
                row.updated_at = self.now()
            return GoalResult(goal=_goal_info(row), group_name=group.name, changed=changed)

    async def edit_goal(
        self, actor: Actor, *, goal: Ref, text: str | None = None, target: str | None = None,
        unit: str | None = None, by: str | None = None, group_id: int | None = None,
    ) -> GoalResult:
        """``/goal edit``: the owner changes the text, target, unit or date."""
        if text is None and target is None and unit is None and by is None:
            raise InvalidInput("Give a new `text`, `target`, `unit` or `by` date.")
        cleaned = self._goal_text(text) if text is not None else None
        amount = parse_number(target, what="the target") if target is not None else None
        cleaned_unit = _clean_unit(unit)
        async with self.begin() as session:
            row, group = await self._own_goal(session, actor, goal, group_id, "edit")
            due_on = await self._due_on(session, actor, by) if by is not None else None
            if cleaned_unit is not None and amount is None and row.target is None:
                raise InvalidInput("A unit goes with a target: give the `target` too.")
            before = (row.text, row.target, row.unit, row.due_on)
            if cleaned is not None:
                row.text = cleaned
            if amount is not None:
                row.target = amount
            if cleaned_unit is not None:
                row.unit = cleaned_unit
            if due_on is not None:
                row.due_on = due_on
            changed = before != (row.text, row.target, row.unit, row.due_on)
            if changed:
                row.updated_at = self.now()
            return GoalResult(goal=_goal_info(row), group_name=group.name, changed=changed)

    async def drop_goal(self, actor: Actor, *, goal: Ref, group_id: int | None = None) -> GoalResult:
        """``/goal drop``: the owner drops a goal (kept, no longer listed)."""
        return await self.update_goal(actor, goal=goal, status=GoalStatus.DROPPED, group_id=group_id)

    async def goal_choices(
        self, actor: Actor, query: str, *, open_only: bool = False, group_id: int | None = None, in_group: bool = False
    ) -> list[GoalInfo]:
        """Autocomplete: the member's own goals in this server (dropped ones left out), at most 25.

        ``open_only``: only open ones. ``in_group``: only those of the group the command acts on
        (``group_id``, else the channel's group; every group of hers when that can't be told).
        """
        needle = query.strip().lstrip("#").casefold()
        async with self.read() as session:
            groups = select(GroupMember.group_id).where(
                GroupMember.user_id == actor.user_id, GroupMember.guild_id == actor.guild_id
            )
            query_rows = select(Goal).where(
                Goal.guild_id == actor.guild_id, Goal.user_id == actor.user_id, Goal.group_id.in_(groups),
                Goal.status.in_(OPEN_GOALS) if open_only else Goal.status != GoalStatus.DROPPED,
            )
            if in_group:
                try:
                    group = await resolve_group(session, actor, group_id)
                except UserError:
                    group = None  # several groups and none named: offer all of hers
                if group is not None:
                    query_rows = query_rows.where(Goal.group_id == group.id)
            rows = list(await session.scalars(query_rows.order_by(Goal.number)))
        matches = [r for r in rows if not needle or needle in r.text.casefold() or str(r.number).startswith(needle)]
        return [_goal_info(r) for r in matches[:25]]

    async def open_goals(self, *, group_id: int, user_id: int) -> list[GoalInfo]:
        """The member's open goals in the group, by number (the report-back DM shows them to her)."""
        async with self.read() as session:
            rows = await session.scalars(
                select(Goal).where(Goal.group_id == group_id, Goal.user_id == user_id, Goal.status.in_(OPEN_GOALS))
                .order_by(Goal.number)
            )
            return [_goal_info(row) for row in rows]

    # KPIs ----------------------------------------------------------------------------------------

    async def has_kpis(self, *, group_id: int, user_id: int | None = None) -> bool:
        """Whether anyone in the group (or ``user_id``) keeps KPIs there (the "Log this month's KPIs" button)."""
        async with self.read() as session:
            query = select(Kpi.id).where(Kpi.group_id == group_id)
            if user_id is not None:
                query = query.where(Kpi.user_id == user_id)
            return await session.scalar(query.limit(1)) is not None

    async def add_kpi(
        self, actor: Actor, *, name: str, unit: str, target: str | None = None, direction: str = KpiDirection.UP,
        visibility: str = KpiVisibility.PRIVATE, allows_negative: bool = False, group_id: int | None = None,
    ) -> KpiResult:
        """``/kpi add``: at most eight KPIs per member per group; private unless the member says otherwise."""
        cleaned = self._kpi_name(name)
        cleaned_unit = _clean_unit(unit)
        if cleaned_unit is None:
            raise InvalidInput("Give the KPI a unit, like `£`, `clients`, `hours` or `%`.")
        wanted_direction = _choice(direction, KpiDirection, "direction")
        wanted_visibility = _choice(visibility, KpiVisibility, "visibility")
        amount = (
            parse_number(target, what=f"the target of {quoted(cleaned)}", allows_negative=allows_negative)
            if target is not None else None
        )
        async with self.begin() as session:
            resolved = await resolve_group(session, actor, group_id)
            group = await session.scalar(select(Group).where(Group.id == resolved.id).with_for_update())
            assert group is not None
            require_active(group)
            await require_member(session, group, actor)
            mine = list(await session.scalars(
                select(Kpi).where(Kpi.group_id == group.id, Kpi.user_id == actor.user_id)
            ))
            if len(mine) >= KPIS_MAX:
                raise LimitReached(f"You have {KPIS_MAX} KPIs in **{group.name}** already: remove one first.")
            key = name_key(cleaned)
            if any(row.name_key == key for row in mine):
                raise InvalidInput(f"You already have a KPI called {quoted(cleaned)} in **{group.name}**.")
            now = self.now()
            tz = await _member_tz(session, actor.guild_id, actor.user_id)
            row = Kpi(
                guild_id=group.guild_id, group_id=group.id, user_id=actor.user_id, name=cleaned, name_key=key,
                unit=cleaned_unit, target=amount, direction=wanted_direction, visibility=wanted_visibility,
                allows_negative=allows_negative, first_month=add_months(month_of(to_local(now, tz).date()), -1),
                created_at=now, updated_at=now,
            )
            session.add(row)
            await session.flush()
            await plan_group(session, group.id, now)  # the KPI nudge
            view = visible_kpi(row, [], Relation.OWNER)
            assert view is not None
            return KpiResult(kpi=view, group_name=group.name)

    async def edit_kpi(
        self, actor: Actor, *, kpi: Ref, name: str | None = None, unit: str | None = None, target: str | None = None,
        direction: str | None = None, visibility: str | None = None, allows_negative: bool | None = None,
        group_id: int | None = None,
    ) -> KpiResult:
        """``/kpi edit``: only the owner changes a KPI, its visibility included."""
        if all(value is None for value in (name, unit, target, direction, visibility, allows_negative)):
            raise InvalidInput("Give something to change: `name`, `unit`, `target`, `direction`, `visibility` or `negative`.")
        cleaned = self._kpi_name(name) if name is not None else None
        cleaned_unit = _clean_unit(unit) if unit is not None else None
        if unit is not None and cleaned_unit is None:
            raise InvalidInput("The unit can't be empty.")
        wanted_direction = _choice(direction, KpiDirection, "direction") if direction is not None else None
        wanted_visibility = _choice(visibility, KpiVisibility, "visibility") if visibility is not None else None
        async with self.begin() as session:
            row, group = await self._own_kpi(session, actor, kpi, group_id, "change")
            negative = row.allows_negative if allows_negative is None else allows_negative
            amount = (
                parse_number(target, what=f"the target of {quoted(row.name)}", allows_negative=negative)
                if target is not None else None
            )
            if not negative and allows_negative is False:
                entries = (await _entries(session, [row.id]))[row.id]
                if any(entry.value < 0 for entry in entries) or (row.target is not None and row.target < 0):
                    raise InvalidInput(f"{quoted(row.name)} already has a negative value, so it must allow negatives.")
            before = (row.name, row.unit, row.target, row.direction, row.visibility, row.allows_negative)
            if cleaned is not None and name_key(cleaned) != row.name_key:
                clash = await session.scalar(select(Kpi.id).where(
                    Kpi.group_id == row.group_id, Kpi.user_id == row.user_id, Kpi.name_key == name_key(cleaned)
                ))
                if clash is not None:
                    raise InvalidInput(f"You already have a KPI called {quoted(cleaned)} in **{group.name}**.")
            if cleaned is not None:
                row.name, row.name_key = cleaned, name_key(cleaned)
            if cleaned_unit is not None:
                row.unit = cleaned_unit
            if amount is not None:
                row.target = amount
            if wanted_direction is not None:
                row.direction = wanted_direction
            if wanted_visibility is not None:
                row.visibility = wanted_visibility
            row.allows_negative = negative
            changed = before != (row.name, row.unit, row.target, row.direction, row.visibility, row.allows_negative)
            if changed:
                row.updated_at = self.now()
            entries = (await _entries(session, [row.id]))[row.id]
            view = visible_kpi(row, entries, Relation.OWNER)
            assert view is not None
            return KpiResult(kpi=view, group_name=group.name, changed=changed)

    async def remove_kpi(self, actor: Actor, *, kpi: Ref, group_id: int | None = None) -> KpiResult:
        """``/kpi remove``: the KPI and every value logged for it are deleted."""
        async with self.begin() as session:
            row, group = await self._own_kpi(session, actor, kpi, group_id, "remove")
            entries = (await _entries(session, [row.id]))[row.id]
            view = visible_kpi(row, entries, Relation.OWNER)
            assert view is not None
            for entry in entries:
                await session.delete(entry)
            await session.delete(row)
            await plan_group(session, group.id, self.now())  # the KPI nudge
            return KpiResult(kpi=view, group_name=group.name)

    async def log_form(
        self, actor: Actor, *, month: str | date | None = None, page: int = 0, group_id: int | None = None
    ) -> LogForm:
        """The ``/kpi log`` modal's page: the member's KPIs that existed in ``month``
        (default: the month just ended, in their timezone), five at a time."""
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            require_active(group)
            await require_member(session, group, actor)
            wanted = await self._month(session, actor, month)
            kpis = list(await session.scalars(
                select(Kpi).where(Kpi.group_id == group.id, Kpi.user_id == actor.user_id).order_by(Kpi.name_key)
            ))
            if not kpis:
                raise NotFound(f"You have no KPIs in **{group.name}** yet: add one with `/kpi add`.")
            existing = [k for k in kpis if k.first_month <= wanted]
            if not existing:
                earliest = min(k.first_month for k in kpis)
                raise InvalidInput(
                    f"Your KPIs didn't exist yet in {show_month(wanted)}: the earliest month you can log is "
                    f"{show_month(earliest)}."
                )
            pages = -(-len(existing) // FIELDS_PER_FORM)
            if not 0 <= page < pages:
                raise NotFound("That page of KPIs is gone: run `/kpi log` again.")
            shown = existing[page * FIELDS_PER_FORM:(page + 1) * FIELDS_PER_FORM]
            current = {
                entry.kpi_id: entry.value
                for entry in await session.scalars(
                    select(KpiEntry).where(KpiEntry.kpi_id.in_([k.id for k in shown]), KpiEntry.month == wanted)
                )
            }
            return LogForm(
                group_id=group.id, group_name=group.name, month=wanted, page=page, pages=pages,
                fields=[FormField(kpi_id=k.id, name=k.name, unit=k.unit, current=current.get(k.id)) for k in shown],
            )

    async def log_values(self, actor: Actor, *, group_id: int, month: date, values: dict[int, str]) -> Logged:
        """The modal's answers: every value checked first, then all stored (or none). Empty fields
        leave the month's value as it was."""
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            require_active(group)
            await require_member(session, group, actor)
            wanted = await self._month(session, actor, month)
            parsed: list[tuple[Kpi, Decimal]] = []
            for kpi_id, text in values.items():
                row = await session.get(Kpi, kpi_id)
                if row is None or row.group_id != group.id or row.user_id != actor.user_id:
                    raise NotFound("I can't find one of those KPIs among yours: run `/kpi log` again.")
                if not clean(text):
                    continue
                if wanted < row.first_month:
                    raise InvalidInput(
                        f"{quoted(row.name)} didn't exist yet in {show_month(wanted)}: log it from {show_month(row.first_month)} on."
                    )
                parsed.append((row, parse_number(text, what=quoted(row.name), allows_negative=row.allows_negative)))
            if not parsed:
                raise InvalidInput("Every field was empty: nothing to log.")
            now = self.now()
            logged: list[LoggedValue] = []
            reached: list[str] = []
            reached_ids: list[int] = []
            for row, value in parsed:
                entry = await session.scalar(
                    select(KpiEntry).where(KpiEntry.kpi_id == row.id, KpiEntry.month == wanted).with_for_update()
                )
                if entry is None:
                    session.add(KpiEntry(
                        guild_id=row.guild_id, kpi_id=row.id, month=wanted, value=value, logged_at=now, updated_at=now
                    ))
                elif entry.value != value:
                    entry.value, entry.updated_at = value, now
                before = await session.scalar(
                    select(KpiEntry.value).where(KpiEntry.kpi_id == row.id, KpiEntry.month == add_months(wanted, -1))
                )
                logged.append(LoggedValue(name=row.name, unit=row.unit, value=value, change_pct=change_pct(value, before)))
                if row.target is not None and (
                    value >= row.target if row.direction == KpiDirection.UP else value <= row.target
                ):
                    reached.append(row.name)
                    reached_ids.append(row.id)
            await plan_group(session, group.id, now)  # the KPI nudge
            return Logged(group_name=group.name, month=wanted, values=logged, reached=reached,
                          reached_ids=tuple(reached_ids))

    async def target_win(self, actor: Actor, *, kpi_id: int, month: date) -> tuple[int, str]:
        """"Share as a win" on a KPI that reached its target: the group and the win's text (no figure:
        the KPI may be private). Owner only; the month's value must still reach the target."""
        async with self.begin() as session:
            row = await session.get(Kpi, kpi_id)
            if row is None or row.guild_id != actor.guild_id or row.user_id != actor.user_id:
                raise NotFound("I can't find that KPI among yours.")
            value = await session.scalar(select(KpiEntry.value).where(KpiEntry.kpi_id == row.id, KpiEntry.month == month))
            reached = value is not None and row.target is not None and (
                value >= row.target if row.direction == KpiDirection.UP else value <= row.target
            )
            if not reached:
                raise InvalidInput(f"{quoted(row.name)} no longer reaches its target for {show_month(month)}.")
            return row.group_id, f"🎯 {row.name} reached its target for {show_month(month)}"


    async def history(
        self, actor: Actor, *, kpi: Ref, member_id: int | None = None, group_id: int | None = None
    ) -> KpiResult:
        """``/kpi history``: one KPI's months, as this viewer may see them."""
        async with self.begin() as session:
            _row, group, view = await self._visible(session, actor, kpi, member_id, group_id)
            return KpiResult(kpi=view, group_name=group.name, changed=False)

    async def chart(self, actor: Actor, *, kpi: Ref | None = None, group_id: int | None = None) -> KpiChart:
        """``/kpi chart``: the member's own KPI over the twelve months ending this month (default: their
        first KPI by name)."""
        async with self.begin() as session:
            if kpi is None:
                group = await resolve_group(session, actor, group_id)
                await require_member(session, group, actor)
                row = await session.scalar(
                    select(Kpi).where(Kpi.group_id == group.id, Kpi.user_id == actor.user_id).order_by(Kpi.name_key)
                )
                if row is None:
                    raise NotFound(f"You have no KPIs in **{group.name}** yet: add one with `/kpi add`.")
            else:
                row, group = await self._own_kpi(session, actor, kpi, group_id, "chart")
            return await self._chart_of(session, actor, row, group)

    async def chart_to_share(self, actor: Actor, *, kpi_id: int) -> KpiChart:
        """The chart of the member's own KPI to post in the group's channel: only a fully shared one
        (the group sees its figures anyway); a private or "change only" KPI's chart stays hers."""
        async with self.begin() as session:
            row = await session.get(Kpi, require_id(kpi_id, "KPI"))
            if row is None or row.guild_id != actor.guild_id:
                raise NotFound("I can't find that KPI.")
            if row.user_id != actor.user_id:
                raise NotAllowed("Only the KPI's owner can share its chart.")
            group = await session.get(Group, row.group_id)
            assert group is not None  # a KPI goes with its group
            if await membership(session, group.id, actor.user_id) is None:
                raise NotAllowed(f"You're no longer a member of **{group.name}**.")
            if row.visibility != KpiVisibility.FULL:
                raise InvalidInput(
                    f"{quoted(row.name)} isn't fully shared, so its chart stays yours. To post it, share its"
                    " figures first: `/kpi edit visibility:full`."
                )
            return await self._chart_of(session, actor, row, group)

    async def _chart_of(self, session: AsyncSession, actor: Actor, row: Kpi, group: Group) -> KpiChart:
        tz = await _member_tz(session, actor.guild_id, actor.user_id)
        this_month = month_of(to_local(self.now(), tz).date())
        months = [add_months(this_month, index - YEAR_MONTHS + 1) for index in range(YEAR_MONTHS)]
        view = visible_kpi(row, (await _entries(session, [row.id]))[row.id], Relation.OWNER)
        assert view is not None
        points = [p for p in view.points if p.month >= months[0]]
        return KpiChart(kpi=_replace_points(view, points), group_name=group.name, months=months,
                        channel_id=group.channel_id)

    async def scorecard(self, actor: Actor, *, member_id: int | None = None, group_id: int | None = None) -> Scorecard:
        """``/kpi list``: a member's KPIs (default: the viewer's own), each as the viewer may see it."""
        async with self.read() as session:
            group = await resolve_group(session, actor, group_id)
            await require_reader(session, group, actor)
            user_id = member_id if member_id is not None else actor.user_id
            if await membership(session, group.id, user_id) is None:
                raise NotFound(f"That member isn't in **{group.name}**.")
            kpis = list(await session.scalars(
                select(Kpi).where(Kpi.group_id == group.id, Kpi.user_id == user_id).order_by(Kpi.name_key)
            ))
            entries = await _entries(session, [k.id for k in kpis])
            views: list[KpiView] = []
            for row in kpis:
                view = visible_kpi(row, entries[row.id], await relation_to(session, actor, row))
                if view is not None:
                    views.append(view)
            return Scorecard(group_name=group.name, user_id=user_id, kpis=views, hidden=len(kpis) - len(views))

    async def kpi_choices(self, actor: Actor, query: str, *, member_id: int | None = None) -> list[KpiChoice]:
        """Autocomplete: the member's own KPIs in this server, or (``member_id``) another member's
        that the viewer may see. At most 25."""
        needle = name_key(query)
        user_id = member_id if member_id is not None else actor.user_id
        async with self.read() as session:
            rows = list(await session.scalars(
                select(Kpi).where(Kpi.guild_id == actor.guild_id, Kpi.user_id == user_id).order_by(Kpi.name_key)
            ))
            choices = []
            for row in rows:
                if sight_of(await relation_to(session, actor, row), row.visibility) is Sight.NOTHING:
                    continue
                if needle in row.name_key:
                    choices.append(KpiChoice(id=row.id, name=row.name, unit=row.unit))
        return choices[:25]

    async def months(self, actor: Actor, *, count: int = YEAR_MONTHS) -> list[date]:
        """The months a member would log for, newest first (for the month autocomplete)."""
        async with self.begin() as session:
            tz = await _member_tz(session, actor.guild_id, actor.user_id)
        this_month = month_of(to_local(self.now(), tz).date())
        return [add_months(this_month, -index) for index in range(count)]

    # internals -----------------------------------------------------------------------------------

    @staticmethod
    def _goal_text(text: str) -> str:
        cleaned = clean(text)
        if not cleaned:
            raise InvalidInput("Say what the goal is: the text can't be empty.")
        if len(cleaned) > GOAL_TEXT_MAX:
            raise InvalidInput(f"Keep the goal to {GOAL_TEXT_MAX} characters (yours has {len(cleaned)}).")
        return cleaned

    @staticmethod
    def _kpi_name(name: str) -> str:
        cleaned = clean(name)
        if not cleaned:
            raise InvalidInput("Give the KPI a name, like `Revenue` or `New clients`.")
        if len(cleaned) > KPI_NAME_MAX:
            raise InvalidInput(f"Keep the KPI's name to {KPI_NAME_MAX} characters (yours has {len(cleaned)}).")
        return cleaned

    async def _due_on(self, session: AsyncSession, actor: Actor, by: str) -> date:
        tz = await _member_tz(session, actor.guild_id, actor.user_id)
        now = self.now()
        when = parse_when(by, tz, now, max_ahead=GOAL_AHEAD_MAX)
        day = to_local(when, tz).date()
        if day < to_local(now, tz).date():
            raise InvalidInput(f"{quoted(by)} is in the past: a goal's date is today or later.")
        return day

    async def _month(self, session: AsyncSession, actor: Actor, month: str | date | None) -> date:
        tz = await _member_tz(session, actor.guild_id, actor.user_id)
        this_month = month_of(to_local(self.now(), tz).date())
        if month is None:
            return add_months(this_month, -1)
        wanted = parse_month(month, this_month) if isinstance(month, str) else month_of(month)
        if wanted > this_month:
            raise InvalidInput(f"{show_month(wanted)} hasn't happened yet: log a month up to {show_month(this_month)}.")
        return wanted

    async def _check_open_room(self, session: AsyncSession, row: Goal, group: Group) -> None:
        open_now = await session.scalar(
            select(func.count()).select_from(Goal).where(
                Goal.group_id == row.group_id, Goal.user_id == row.user_id, Goal.status.in_(OPEN_GOALS)
            )
        ) or 0
        if open_now >= OPEN_GOALS_MAX:
            raise LimitReached(f"You have {OPEN_GOALS_MAX} open goals in **{group.name}** already.")

    async def _own_goal(
        self, session: AsyncSession, actor: Actor, ref: Ref, group_id: int | None, verb: str
    ) -> tuple[Goal, Group]:
        """A goal of the member's group; another member's is refused, one elsewhere isn't found."""
        missing = NotFound("I can't find that goal in your groups here.")
        if ref.id is not None:
            row = await session.get(Goal, ref.id, with_for_update=True)
            if row is None or row.guild_id != actor.guild_id or (group_id is not None and row.group_id != group_id):
                raise missing
            group = await session.get(Group, row.group_id)
            assert group is not None
        else:
            match = _REF.match(ref.text)
            if match is None:
                raise InvalidInput(f"{quoted(ref.text)} isn't a goal. Pick one from the list, or type its number like `#3`.")
            group = await resolve_group(session, actor, group_id)
            row = await session.scalar(
                select(Goal).where(Goal.group_id == group.id, Goal.number == int(match["number"])).with_for_update()
            )
            if row is None:
                raise NotFound(f"**{group.name}** has no goal #{match['number']}.")
        if await membership(session, group.id, actor.user_id) is None:
            raise missing
        if row.user_id != actor.user_id:
            raise NotAllowed(f"#{row.number} is another member's goal: only they can {verb} it.")
        return row, group

    async def _find_kpi(
        self, session: AsyncSession, actor: Actor, ref: Ref, user_id: int, group_id: int | None
    ) -> tuple[Kpi, Group]:
        missing = NotFound("I can't find that KPI.")
        if ref.id is not None:
            row = await session.get(Kpi, ref.id, with_for_update=True)
            if row is None or row.guild_id != actor.guild_id or (group_id is not None and row.group_id != group_id):
                raise missing
        else:
            group = await resolve_group(session, actor, group_id)
            row = await session.scalar(select(Kpi).where(
                Kpi.group_id == group.id, Kpi.user_id == user_id, Kpi.name_key == name_key(ref.text)
            ).with_for_update())
            if row is None:
                raise NotFound(f"I can't find a KPI called {quoted(ref.text)} in **{group.name}**.")
        group_row = await session.get(Group, row.group_id)
        assert group_row is not None
        return row, group_row

    async def _own_kpi(
        self, session: AsyncSession, actor: Actor, ref: Ref, group_id: int | None, verb: str
    ) -> tuple[Kpi, Group]:
        """The member's own KPI. Another member's is refused if the member can see it, else not found."""
        row, group = await self._find_kpi(session, actor, ref, actor.user_id, group_id)
        relation = await relation_to(session, actor, row)
        if relation is Relation.OWNER:
            if await membership(session, group.id, actor.user_id) is None:
                raise NotAllowed(f"You're no longer a member of **{group.name}**.")
            return row, group
        if sight_of(relation, row.visibility) is Sight.NOTHING:
            raise NotFound("I can't find that KPI.")
        raise NotAllowed(f"{quoted(row.name)} is another member's KPI: only they can {verb} it.")

    async def _visible(
        self, session: AsyncSession, actor: Actor, ref: Ref, member_id: int | None, group_id: int | None
    ) -> tuple[Kpi, Group, KpiView]:
        row, group = await self._find_kpi(session, actor, ref, member_id or actor.user_id, group_id)
        entries = (await _entries(session, [row.id]))[row.id]
        view = visible_kpi(row, entries, await relation_to(session, actor, row))
        if view is None:
            raise NotFound("I can't find that KPI.")
        return row, group, view


def _replace_points(view: KpiView, points: list[KpiPoint]) -> KpiView:
    return KpiView(
        id=view.id, user_id=view.user_id, name=view.name, unit=view.unit, direction=view.direction,
        visibility=view.visibility, sight=view.sight, target=view.target, first_month=view.first_month, points=points,
    )


def month_from_text(text: str) -> date:
    """``2026-11`` (as the modal's custom_id carries it) → the month's first day."""
    match = _ISO_MONTH.match(text)
    if match is None or not 1 <= int(match["month"]) <= 12:
        raise InvalidInput("That form is out of date: run `/kpi log` again.")
    return date(int(match["year"]), int(match["month"]), 1)


def month_key(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"
