"""The outbox: what the bot will send on its own, planned from the database and claimed for sending.

``plan_group`` derives the rows a group should have (docs/ARCHITECTURE.md, "Outbox and
notification kinds") with the planner of every notification kind in the feature registry
(``bot.features``; each feature declares its kinds), and reconciles the pending rows with them: inserts what is missing, re-times what moved, cancels what is no longer wanted
(with the reason). Other services call it inside their own transaction.

:class:`OutboxService` is the dispatcher's side: claim due rows (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite serialises writers with ``BEGIN IMMEDIATE``), then mark each sent, retried,
failed, expired or cancelled; plus the DM bookkeeping and the facilitators' listing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.features import FeatureRegistry, GroupPlan, MeetingSlot, NotificationKind, PlannedRow, features_of
from bot.features import features_of_sessions as _features_of_sessions
from bot.models import DMChannel, Group, GroupMember, GuildRemoval, Meeting, MeetingStatus, OutboxRow
from bot.models.outbox import PENDING, OutboxStatus
from bot.services.base import PAIR_SIZE, Actor, Service, require_facilitator, resolve_group
from bot.services.waking import member_reach

log = logging.getLogger(__name__)

SENT = OutboxStatus.SENT
FAILED = OutboxStatus.FAILED
EXPIRED = OutboxStatus.EXPIRED
CANCELLED = OutboxStatus.CANCELLED

# The built-in kinds (stored names). Each is declared, with its label, planner and how long it stays
# worth sending, by its feature (bot/services/*_feature.py); the registry (bot.features) is the
# truth about which kinds are planned. Rows of kinds no feature declares are left alone by the
# planner (except that an archived or channel-broken group loses every pending row).
MEETING_REMINDER = "meeting_reminder"
MEETING_PACK = "meeting_pack"
MODULE_PROMPT = "module_prompt"
CHECKIN_NUDGE = "checkin_nudge"
REPORTBACK_DM = "reportback_dm"
REPORTBACK_BOARD = "reportback_board"
CHECKIN_DIGEST = "checkin_digest"
BUDDY_SUMMARY = "buddy_summary"
POST_MEETING = "post_meeting"
PLANNED_KINDS = frozenset(  # the built-in kinds; every planned kind: bot.services.FEATURES.kind_names
    {
        MEETING_REMINDER,
        MEETING_PACK,
        MODULE_PROMPT,
        CHECKIN_NUDGE,
        REPORTBACK_DM,
        REPORTBACK_BOARD,
        CHECKIN_DIGEST,
        BUDDY_SUMMARY,
        POST_MEETING,
    }
)

# How long after the meeting's start each kind stays worth sending: NotificationKind.useful_after.
MEETING_LENGTH = timedelta(hours=3)  # post_meeting falls due this long after the start
MODULE_PROMPT_DELAY = MEETING_LENGTH + timedelta(minutes=1)  # after the previous meeting's end
BUDDY_SUMMARY_DELAY = timedelta(minutes=1)
# An ended meeting keeps its post_meeting row planned (due now) for this long after it ended.
ENDED_MEETING_WINDOW = timedelta(days=1)
# Finished rows are history the planners read (a sent row is never re-sent; "one KPI nudge a
# month" looks back a month): they are pruned only this long after they last changed, at the
# earliest, and never the newest of a kind for a recipient nor a row of a meeting still planned.
MIN_OUTBOX_RETENTION = timedelta(days=62)
PRUNE_BATCH = 5000

MAX_ATTEMPTS = 5
# A claimed row another process may take over after this; well inside Discord's nonce window
# (a few minutes), so a resend after a crash returns the first message. A batch takes seconds.
CLAIM_LEASE = timedelta(seconds=60)
BACKOFF_BASE = timedelta(seconds=30)  # 30 s, 1 min, 2 min, 4 min
REASON_LIMIT = 300

# Reasons the planner gives; rows it cancelled for these come back if they are wanted again.
R_MEMBER_LEFT = "member left the group"
R_NO_BUDDY = "no active buddy"
R_REMINDER_SETTING = "reminder setting changed"
R_LEAD_PASSED = "lead time had already passed when planned"
R_TOO_LATE = "too late: the meeting had already started"
R_MEETING_CANCELLED = "meeting cancelled"
R_MEETING_ENDED = "meeting ended"
R_MEETING_REMOVED = "meeting removed"
R_GROUP_ARCHIVED = "group archived"
R_NOT_PLANNED = "no longer planned"
R_MEMBER_AWAY = "member away (/away)"
R_SERVER_REMOVED = "Roundtable was removed from the server"  # held until a re-add (bot.services.purge)
REVIVABLE = frozenset({R_MEMBER_LEFT, R_NO_BUDDY, R_REMINDER_SETTING, R_MEETING_CANCELLED, R_NOT_PLANNED,
                       R_MEMBER_AWAY, R_SERVER_REMOVED})


def channel_broken_reason(detail: str | None) -> str:
    return f"group channel unavailable: {detail or 'unknown'}"[:REASON_LIMIT]


# --- planning ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SentMark:
    """A row whose send returned: what ``OutboxService.mark_sent_many`` records."""

    row_id: int
    message_id: int
    channel_id: int
    note: str | None = None


@dataclass(slots=True)
class PlanResult:
    inserted: int = 0
    retimed: int = 0
    cancelled: int = 0
    revived: int = 0
    earliest_change: datetime | None = None  # the earliest due time among rows inserted, re-timed or revived

    def _changed(self, due: datetime) -> None:
        if self.earliest_change is None or due < self.earliest_change:
            self.earliest_change = due


OUTBOX_CHANGED = "roundtable.outbox_earliest_change"


def note_outbox_change(session: AsyncSession, due: datetime) -> None:
    """Record in the session that a row due at ``due`` was planned.

    The composition root reads it once the transaction commits, so the scheduler can wake for a
    row due before its next tick (a command that plans a row due now sends it at once).
    """
    info = session.sync_session.info
    known = info.get(OUTBOX_CHANGED)
    info[OUTBOX_CHANGED] = due if known is None else min(known, due)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def hours_before(starts_at: datetime, hours: int, zone: ZoneInfo) -> datetime:
    """``hours`` before ``starts_at`` in the group's wall-clock time.

    Aware arithmetic with a ZoneInfo is wall-clock arithmetic: "7 days before a 19:00 meeting"
    stays 19:00 local even when daylight saving changes in between.
    """
    return (starts_at.astimezone(zone) - timedelta(hours=hours)).astimezone(UTC)


def meeting_occurrence(meeting: Meeting) -> str:
    """The occurrence of a meeting's rows (a meeting reminder adds its lead time)."""
    return f"meeting:{meeting.id}"


def meeting_payload(meeting: Meeting) -> dict[str, Any]:
    return {"starts_at": meeting.starts_at.isoformat()}


def member_dm_due(plan: GroupPlan, meeting: Meeting, user_id: int, lead_hours: int) -> datetime:
    """When a DM to a member ``lead_hours`` before ``meeting`` falls due (check-in nudge, report-back DM).

    The one place member DM times are computed: every planner of a DM before a meeting calls it.
    The time is moved inside the member's waking window, in her zone (bot.waking), never past the
    meeting.
    """
    due = hours_before(meeting.starts_at, lead_hours, plan.zone)
    if plan.reach is None:
        return due
    return plan.reach.deliver(user_id, due, now=plan.now, before=meeting.starts_at)


def member_dm_after(plan: GroupPlan, user_id: int, due: datetime) -> datetime:
    """When a DM that follows an event (the buddy summary after a meeting) goes: at ``due``, or when
    the member's waking window next opens."""
    return due if plan.reach is None else plan.reach.deliver_later(user_id, due)


USEFUL_UNTIL = "useful_until"  # a payload key: the row's own limit (ISO time), overriding its kind's


def useful_until(
    kind: NotificationKind | None, starts_at: datetime | None, due_at: datetime, payload: dict[str, Any] | None = None
) -> datetime | None:
    """Until when a row is worth sending: its meeting's start (or, without a meeting, its due time)
    plus the kind's ``useful_after``; None: always. A kind no feature declares: always. A row whose
    payload names its own limit (``USEFUL_UNTIL``) keeps that one."""
    own = (payload or {}).get(USEFUL_UNTIL)
    if own:
        return datetime.fromisoformat(own)
    if kind is None or kind.useful_after is None:
        return None
    return (starts_at if starts_at is not None else due_at) + kind.useful_after


def _insert(session: AsyncSession):  # type: ignore[no-untyped-def]
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def plan_group(session: AsyncSession, group_id: int, now: datetime) -> PlanResult:
    """Reconcile the group's pending outbox rows with its meetings, members and settings.

    Call it in the same transaction as any change that affects what the group will be sent
    (meeting scheduled/moved/cancelled/ended, member joined/left, buddies paired/unpaired,
    setting changed, group archived, channel broken). Idempotent; never commits. The rows wanted
    come from the planner of every notification kind in the session's feature registry.
    """
    result = PlanResult()
    await session.flush()  # the caller's pending changes count
    group = await session.get(Group, group_id, populate_existing=True)
    if group is None:
        return result
    pending = list(
        await session.scalars(
            select(OutboxRow).where(OutboxRow.group_id == group_id, OutboxRow.status == PENDING)
        )
    )
    removed = await session.get(GuildRemoval, group.guild_id) is not None
    if group.archived_at is not None or group.channel_broken_at is not None or removed:
        reason = (R_GROUP_ARCHIVED if group.archived_at is not None else R_SERVER_REMOVED if removed
                  else channel_broken_reason(group.channel_broken_reason))
        for row in pending:
            _finish(row, CANCELLED, reason, now)
            result.cancelled += 1
        return result

    features = features_of(session)
    meetings = list(
        await session.scalars(
            select(Meeting).where(Meeting.group_id == group_id).order_by(Meeting.starts_at, Meeting.id)
        )
    )
    meetings_by_id = {m.id: m for m in meetings}
    members = list(
        await session.scalars(
            select(GroupMember.user_id).where(GroupMember.group_id == group_id).order_by(GroupMember.joined_at)
        )
    )
    scheduled: list[MeetingSlot] = []
    ended: list[MeetingSlot] = []
    previous: Meeting | None = None
    for meeting in meetings:
        if meeting.status == MeetingStatus.CANCELLED:
            continue
        if meeting.status == MeetingStatus.SCHEDULED:
            scheduled.append(MeetingSlot(meeting, previous))
        elif (
            meeting.status == MeetingStatus.ENDED
            and meeting.ended_at is not None
            and meeting.ended_at >= now - ENDED_MEETING_WINDOW
        ):
            ended.append(MeetingSlot(meeting, previous))
        previous = meeting
    zone = _zone(group.timezone)
    plan = GroupPlan(group=group, zone=zone, now=now, members=members, meetings=scheduled, ended=ended,
                     reach=await member_reach(session, group.guild_id, members, zone))
    wanted = await _wanted(session, features, plan, meetings)
    # /away: a member's DMs due before her away ends are not sent (skipped, not deferred: a
    # report-back DM due while she is away never comes). `/away end` re-plans: later ones return.
    paused = {key for key, item in wanted.items()
              if item.recipient_id and plan.reach is not None and plan.reach.paused(item.recipient_id, item.due_at)}
    for key in paused:
        del wanted[key]

    # Existing rows for the planned meetings (and the planned rows tied to no meeting), whatever
    # their status (a sent row is never re-sent).
    meeting_ids = {item.meeting.id for item in wanted.values() if item.meeting is not None}
    existing: dict[tuple[str, str, int], OutboxRow] = {}
    if meeting_ids:
        for row in await session.scalars(
            select(OutboxRow).where(OutboxRow.group_id == group_id, OutboxRow.meeting_id.in_(meeting_ids))
        ):
            existing[(row.kind, row.occurrence, row.recipient_id)] = row
    loose = [item for item in wanted.values() if item.meeting is None]
    if loose:
        for row in await session.scalars(
            select(OutboxRow).where(
                OutboxRow.group_id == group_id,
                OutboxRow.kind.in_({item.kind for item in loose}),
                OutboxRow.occurrence.in_({item.occurrence for item in loose}),
            )
        ):
            existing[(row.kind, row.occurrence, row.recipient_id)] = row
    for row in pending:
        existing[(row.kind, row.occurrence, row.recipient_id)] = row

    inserts: list[dict[str, Any]] = []
    for key, item in wanted.items():
        kind = features.kind(item.kind)
        found = existing.get(key)
        if (found is not None and found.status == CANCELLED and found.reason == R_MEMBER_AWAY
                and plan.reach is not None and plan.reach.paused(found.recipient_id, found.due_at)):
            continue  # due while she was away: missed, even once the away is over (its due time may move)
        revive = (
            found is not None and found.status == CANCELLED and found.sent_at is None
            and (found.reason in REVIVABLE or (kind is not None and found.reason == kind.unplanned_reason))
        )
        if found is not None and found.status != PENDING and not revive:
            continue  # sent, failed, expired: history
        meeting_id = item.meeting.id if item.meeting is not None else None
        if found is not None and found.meeting_id != meeting_id:
            found.meeting_id = meeting_id  # a row that outlives its meeting (the next module's prompt)
            found.updated_at = now
        if found is not None and found.status == PENDING and (
            found.due_at == item.due_at or (found.due_at <= now and item.due_at <= now)
        ):
            if found.payload != item.payload:
                found.payload = item.payload
                found.updated_at = now
            continue  # unchanged (an overdue row stays for the dispatcher to send or expire)
        due = item.due_at
        if due < now:
            limit = useful_until(kind, item.meeting.starts_at if item.meeting is not None else None, item.due_at,
                                 item.payload)
            if item.skip_if_late or (limit is not None and now >= limit):
                if found is not None and found.status == PENDING:
                    _finish(found, CANCELLED, R_LEAD_PASSED if item.skip_if_late else R_TOO_LATE, now)
                    result.cancelled += 1
                continue
            due = now
        result._changed(due)
        if found is None:
            inserts.append(
                {
                    "kind": item.kind,
                    "guild_id": group.guild_id,
                    "group_id": group.id,
                    "meeting_id": item.meeting.id if item.meeting is not None else None,
                    "occurrence": item.occurrence,
                    "recipient_id": item.recipient_id,
                    "due_at": due,
                    "status": PENDING,
                    "attempts": 0,
                    "payload": item.payload,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            continue
        if revive:
            found.status = PENDING
            found.attempts = 0
            found.reason = None
            found.claimed_until = None
            result.revived += 1
        else:
            result.retimed += 1
        found.due_at = due
        found.payload = item.payload
        found.updated_at = now

    for key, row in existing.items():
        if row.status != PENDING or key in wanted:
            continue
        kind = features.kind(row.kind)
        if kind is None:
            continue  # not a planned kind: not the planner's to cancel
        reason = R_MEMBER_AWAY if key in paused else _why_unwanted(row, kind, meetings_by_id, set(members))
        _finish(row, CANCELLED, reason, now)
        result.cancelled += 1

    if inserts:
        insert = _insert(session)
        statement = insert(OutboxRow).values(inserts)
        statement = statement.on_conflict_do_nothing(index_elements=["kind", "group_id", "occurrence", "recipient_id"])
        await session.execute(statement)
        result.inserted = len(inserts)
    await session.flush()
    if result.earliest_change is not None:
        note_outbox_change(session, result.earliest_change)
    return result


async def _wanted(
    session: AsyncSession, features: FeatureRegistry, plan: GroupPlan, meetings: Sequence[Meeting]
) -> dict[tuple[str, str, int], PlannedRow]:
    """Every kind's planned rows, keyed like the table's unique constraint, in insertion order.

    Rows inserted at once get ids in this order, and rows due at the same moment are sent in id
    order: meeting by meeting, a meeting's channel rows by kind ``order``, its DMs together member
    by member (each member's in kind order) at the place of the first DM kind.
    """
    rows: list[tuple[NotificationKind, PlannedRow]] = []
    for kind in features.kinds:
        rows.extend((kind, row) for row in await kind.planner(session, plan))
    position = {m.id: index for index, m in enumerate(meetings)}
    member_position = {user_id: index for index, user_id in enumerate(plan.members)}
    dm_order = min((kind.order for kind, row in rows if row.recipient_id), default=0)

    def key(entry: tuple[NotificationKind, PlannedRow]) -> tuple[int, int, int, int]:
        kind, row = entry
        at = position.get(row.meeting.id, len(position)) if row.meeting is not None else len(position)
        if row.recipient_id:
            return (at, dm_order, member_position.get(row.recipient_id, len(member_position)), kind.order)
        return (at, kind.order, 0, 0)

    wanted: dict[tuple[str, str, int], PlannedRow] = {}
    for _kind, row in sorted(rows, key=key):
        wanted[(row.kind, row.occurrence, row.recipient_id)] = row
    return wanted


def _why_unwanted(row: OutboxRow, kind: NotificationKind, meetings: dict[int, Meeting], members: set[int]) -> str:
    meeting = meetings.get(row.meeting_id) if row.meeting_id is not None else None
    if row.meeting_id is not None and meeting is None:
        return R_MEETING_REMOVED
    if meeting is not None and meeting.status == MeetingStatus.CANCELLED:
        return R_MEETING_CANCELLED
    if meeting is not None and meeting.status == MeetingStatus.ENDED:
        return R_MEETING_ENDED
    if row.recipient_id and row.recipient_id not in members:
        return R_MEMBER_LEFT
    return kind.unplanned_reason


def _finish(row: OutboxRow, status: str, reason: str | None, now: datetime) -> None:
    row.status = status
    row.reason = reason[:REASON_LIMIT] if reason else None
    row.claimed_until = None
    row.updated_at = now


# --- the dispatcher's side ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row claimed for sending, with what the dispatcher needs to address it."""

    id: int
    kind: str
    guild_id: int
    group_id: int
    meeting_id: int | None
    occurrence: str
    recipient_id: int
    due_at: datetime
    payload: dict[str, Any]
    attempts: int
    group_name: str
    group_channel_id: int
    dm_channel_id: int | None = None
    dms_closed: bool = False
    # Set when a later row supersedes this one: the dispatcher runs the kind's before_render (its
    # close-out) and expires the row with this reason instead of sending it.
    expire_reason: str | None = None

    @property
    def nonce(self) -> str:
        """Discord's nonce (≤ 25 characters): a resend of this row returns the first message."""
        return f"rt-outbox-{self.id}"


@dataclass(frozen=True, slots=True)
class ClaimResult:
    claimed: list[Claimed]
    expired: int = 0
    cancelled: int = 0


@dataclass(frozen=True, slots=True)
class BrokenChannel:
    group_id: int
    group_name: str
    guild_id: int
    channel_id: int
    reason: str
    facilitator_ids: list[int]


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: int
    kind: str
    recipient_id: int
    meeting_id: int | None
    due_at: datetime
    status: str
    attempts: int
    reason: str | None
    sent_at: datetime | None
    label: str = ""  # the kind's label (its feature declares it)


@dataclass(frozen=True, slots=True)
class OutboxPage:
    group_id: int
    group_name: str
    section: str  # "upcoming" or "problems"
    entries: list[OutboxEntry]
    page: int  # 0-based
    pages: int
    total: int
    counts: dict[str, int] = field(default_factory=dict)


ADMIN_PAGE_SIZE = 10
ADMIN_SECTIONS = ("upcoming", "problems")


class OutboxService(Service):
    def __init__(self, context: Any) -> None:
        super().__init__(context)
        # Users whose DMs are known closed; None until loaded (member_active runs on every
        # interaction, so the common case must not touch the database).
        self._dms_closed: set[int] | None = None

    @property
    def features(self) -> FeatureRegistry:
        """The feature registry the composition root bound to the sessions (the dispatcher asks it)."""
        return _features_of_sessions(self._sessions)

    # --- DMs -------------------------------------------------------------------------------------

    async def load_dms_closed(self) -> set[int]:
        async with self.read() as session:
            closed = set(await session.scalars(select(DMChannel.user_id).where(DMChannel.dms_closed_at.is_not(None))))
        self._dms_closed = closed
        return set(closed)

    async def member_active(self, user_id: int) -> None:
        """The member used a command: their DMs may be open again. O(1) unless they were closed."""
        if self._dms_closed is None:
            await self.load_dms_closed()
        assert self._dms_closed is not None
        if user_id not in self._dms_closed:
            return
        async with self.begin() as session:
            await session.execute(
                update(DMChannel)
                .where(DMChannel.user_id == user_id)
                .values(dms_closed_at=None, updated_at=self.now())
            )
        self._dms_closed.discard(user_id)

    async def mark_dms_closed(self, user_id: int) -> None:
        await self._upsert_dm_channel(user_id, dms_closed_at=self.now())
        if self._dms_closed is not None:
            self._dms_closed.add(user_id)

    async def store_dm_channel(self, user_id: int, channel_id: int) -> None:
        await self._upsert_dm_channel(user_id, channel_id=channel_id)

    async def _upsert_dm_channel(self, user_id: int, **values: Any) -> None:
        """One statement (``INSERT … ON CONFLICT DO UPDATE``): two processes opening the same member's
        DM channel at once both succeed, where a read-then-insert would fail one of them."""
        now = self.now()
        async with self.begin() as session:
            statement = _insert(session)(DMChannel).values(user_id=user_id, updated_at=now, **values)
            statement = statement.on_conflict_do_update(index_elements=["user_id"], set_={**values, "updated_at": now})
            await session.execute(statement)

    # --- claiming --------------------------------------------------------------------------------

    async def claim_due(self, *, limit: int = 100) -> ClaimResult:
        """Claim up to ``limit`` due rows, oldest first; expire or cancel the ones not worth sending.

        PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so two processes claim disjoint rows. SQLite: the
        transaction holds the write lock from its start (``BEGIN IMMEDIATE``). A claim is a lease
        (``claimed_until``); a process that dies mid-send leaves the row to be retried after it,
        with the same nonce.
        """
        now = self.now()
        async with self.begin() as session:
            query = (
                select(OutboxRow)
                .where(
                    OutboxRow.status == PENDING,
                    OutboxRow.due_at <= now,
                    or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until <= now),
                )
                .order_by(OutboxRow.due_at, OutboxRow.id)
                .limit(limit)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = list(await session.scalars(query))
            if not rows:
                return ClaimResult([])
            features = features_of(session)
            groups = {
                g.id: g
                for g in await session.scalars(select(Group).where(Group.id.in_({r.group_id for r in rows})))
            }
            meeting_ids = {r.meeting_id for r in rows if r.meeting_id is not None}
            meetings = (
                {m.id: m for m in await session.scalars(select(Meeting).where(Meeting.id.in_(meeting_ids)))}
                if meeting_ids
                else {}
            )
            user_ids = {r.recipient_id for r in rows if r.recipient_id}
            dms = (
                {d.user_id: d for d in await session.scalars(select(DMChannel).where(DMChannel.user_id.in_(user_ids)))}
                if user_ids
                else {}
            )
            superseded = await _superseded(session, features, rows, now)
            claimed: list[Claimed] = []
            expired = cancelled = 0
            for row in rows:
                group = groups[row.group_id]
                meeting = meetings.get(row.meeting_id) if row.meeting_id is not None else None
                kind = features.kind(row.kind)
                verdict = _stale(row, kind, group, meeting, now)
                expire_reason = superseded.get(row.id) if verdict is None else None
                if expire_reason is not None and (kind is None or kind.before_render is None):
                    verdict = EXPIRED, expire_reason
                    expire_reason = None
                if verdict is not None:
                    status, reason = verdict
                    _finish(row, status, reason, now)
                    if status == EXPIRED:
                        expired += 1
                        log.info("Outbox row %s (%s) expired: %s", row.id, row.kind, reason)
                    else:
                        cancelled += 1
                    continue
                row.claimed_until = now + CLAIM_LEASE
                row.attempts += 1
                row.updated_at = now
                dm = dms.get(row.recipient_id)
                claimed.append(
                    Claimed(
                        id=row.id,
                        kind=row.kind,
                        guild_id=row.guild_id,
                        group_id=row.group_id,
                        meeting_id=row.meeting_id,
                        occurrence=row.occurrence,
                        recipient_id=row.recipient_id,
                        due_at=row.due_at,
                        payload=dict(row.payload or {}),
                        attempts=row.attempts,
                        group_name=group.name,
                        group_channel_id=group.channel_id,
                        dm_channel_id=dm.channel_id if dm else None,
                        dms_closed=bool(dm and dm.dms_closed_at is not None),
                        expire_reason=expire_reason,
                    )
                )
        return ClaimResult(claimed, expired=expired, cancelled=cancelled)

    async def release(self, row_ids: Sequence[int]) -> None:
        """Give back claimed rows not attempted (shutdown): another process may send them at once."""
        if not row_ids:
            return
        async with self.begin() as session:
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(row_ids), OutboxRow.status == PENDING)
                .values(claimed_until=None, attempts=OutboxRow.attempts - 1)
            )

    async def next_due(self) -> datetime | None:
        """When the next pending row falls due after now (the scheduler's one-off wake-up).

        Rows already due are the tick's business; this stays on the pending-due index.
        """
        now = self.now()
        async with self.begin() as session:
            return await session.scalar(
                select(func.min(OutboxRow.due_at)).where(OutboxRow.status == PENDING, OutboxRow.due_at > now)
            )

    async def prune(self, retention: timedelta, *, limit: int = PRUNE_BATCH) -> int:
        """Delete up to ``limit`` finished rows (sent, cancelled, expired, failed) older than ``retention``.

        Kept, whatever their age: pending rows; rows of a meeting still scheduled or ended within
        :data:`ENDED_MEETING_WINDOW` (the planners still plan for it); the newest row of each kind
        for each recipient of a group (what a planner reads as "already sent"). With a retention of
        at least :data:`MIN_OUTBOX_RETENTION` nothing a planner can still want is ever deleted, so
        pruning never makes anything send twice (tested over a year). Returns how many went.
        """
        if retention < MIN_OUTBOX_RETENTION:
            raise ValueError(f"outbox retention must be at least {MIN_OUTBOX_RETENTION.days} days")
        now = self.now()
        later = aliased(OutboxRow)
        planned_meetings = select(Meeting.id).where(
            or_(
                Meeting.status == MeetingStatus.SCHEDULED,
                and_(Meeting.status == MeetingStatus.ENDED, Meeting.ended_at >= now - ENDED_MEETING_WINDOW),
            )
        )
        candidates = (
            select(OutboxRow.id)
            .where(
                OutboxRow.status.in_((SENT, CANCELLED, EXPIRED, FAILED)),
                OutboxRow.updated_at < now - retention,
                or_(OutboxRow.meeting_id.is_(None), OutboxRow.meeting_id.not_in(planned_meetings)),
                exists().where(
                    later.group_id == OutboxRow.group_id,
                    later.kind == OutboxRow.kind,
                    later.recipient_id == OutboxRow.recipient_id,
                    later.id > OutboxRow.id,
                ),
            )
            .order_by(OutboxRow.id)
            .limit(limit)
        )
        async with self.begin() as session:
            ids = list(await session.scalars(candidates))
            if ids:
                # A row revived since it was read (cancelled → pending) stays.
                await session.execute(delete(OutboxRow).where(OutboxRow.id.in_(ids), OutboxRow.status != PENDING))
        return len(ids)

    # --- outcomes ---------------------------------------------------------------------------------

    async def mark_sent(
        self, row_id: int, *, message_id: int | None, channel_id: int | None, note: str | None = None
    ) -> None:
        now = self.now()
        async with self.begin() as session:
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row_id)
                .values(
                    status=SENT, message_id=message_id, channel_id=channel_id, sent_at=now,
                    claimed_until=None, updated_at=now, reason=note[:REASON_LIMIT] if note else None,
                )
            )

    async def mark_sent_many(self, marks: Sequence[SentMark]) -> None:
        """Rows whose sends returned, marked sent in one transaction (one UPDATE, executed for every row)."""
        if not marks:
            return
        now = self.now()
        async with self.begin() as session:
            await session.execute(
                update(OutboxRow),
                [
                    dict(id=m.row_id, status=SENT, message_id=m.message_id, channel_id=m.channel_id, sent_at=now,
                         claimed_until=None, updated_at=now, reason=m.note[:REASON_LIMIT] if m.note else None)
                    for m in marks
                ],
            )

    async def _set(self, row_id: int, status: str, reason: str) -> None:
        now = self.now()
        async with self.begin() as session:
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row_id)
                .values(status=status, reason=reason[:REASON_LIMIT], claimed_until=None, updated_at=now)
            )

    async def mark_failed(self, row_id: int, reason: str) -> None:
        await self._set(row_id, FAILED, reason)

    async def mark_cancelled(self, row_id: int, reason: str) -> None:
        await self._set(row_id, CANCELLED, reason)

    async def mark_expired(self, row_id: int, reason: str) -> None:
        await self._set(row_id, EXPIRED, reason)

    async def retry_later(self, row_id: int, reason: str) -> bool:
        """A transient failure: try again after a backoff, or fail after MAX_ATTEMPTS. True if it will retry."""
        now = self.now()
        async with self.begin() as session:
            row = await session.get(OutboxRow, row_id)
            if row is None or row.status != PENDING:
                return False
            if row.attempts >= MAX_ATTEMPTS:
                _finish(row, FAILED, f"gave up after {row.attempts} attempts: {reason}", now)
                return False
            row.claimed_until = now + BACKOFF_BASE * (2 ** max(row.attempts - 1, 0))
            row.reason = f"attempt {row.attempts} failed, retrying: {reason}"[:REASON_LIMIT]
            row.updated_at = now
            return True

    async def mark_channel_broken(self, group_id: int, reason: str) -> BrokenChannel | None:
        """The group's channel is gone or closed to the bot: record it and stop its rows.

        Returns who to tell, the first time only (None if it was already marked broken).
        """
        now = self.now()
        async with self.begin() as session:
            group = await session.get(Group, group_id)
            if group is None or group.channel_broken_at is not None:
                return None
            group.channel_broken_at = now
            group.channel_broken_reason = reason[:200]
            await plan_group(session, group_id, now)
            members = list(await session.scalars(
                select(GroupMember).where(GroupMember.group_id == group_id)
                .order_by(GroupMember.joined_at, GroupMember.user_id)
            ))
            # Who runs the group hears of it: its facilitators, or both members of a pair (``may_facilitate``).
            facilitators = [m.user_id for m in members if m.is_facilitator or len(members) == PAIR_SIZE]
            return BrokenChannel(group.id, group.name, group.guild_id, group.channel_id, reason, facilitators)

    # --- the facilitators' view -----------------------------------------------------------------------

    async def list_for_admin(
        self, actor: Actor, *, group_id: int | None = None, section: str = "upcoming", page: int = 0
    ) -> OutboxPage:
        """Upcoming (pending) or problem (failed / expired / cancelled) notifications of one group."""
        if section not in ADMIN_SECTIONS:
            section = "upcoming"
        async with self.begin() as session:
            group = await resolve_group(session, actor, group_id)
            await require_facilitator(session, group, actor)
            counts = dict(
                (status, count)
                for status, count in await session.execute(
                    select(OutboxRow.status, func.count())
                    .where(OutboxRow.group_id == group.id)
                    .group_by(OutboxRow.status)
                )
            )
            if section == "upcoming":
                where = [OutboxRow.group_id == group.id, OutboxRow.status == PENDING]
                order: Iterable[Any] = (OutboxRow.due_at, OutboxRow.id)
            else:
                where = [OutboxRow.group_id == group.id, OutboxRow.status.in_((FAILED, EXPIRED, CANCELLED))]
                order = (OutboxRow.updated_at.desc(), OutboxRow.id.desc())
            total = await session.scalar(select(func.count()).select_from(OutboxRow).where(*where)) or 0
            pages = max(1, -(-total // ADMIN_PAGE_SIZE))
            page = min(max(page, 0), pages - 1)
            rows = await session.scalars(
                select(OutboxRow).where(*where).order_by(*order).offset(page * ADMIN_PAGE_SIZE).limit(ADMIN_PAGE_SIZE)
            )
            features = features_of(session)
            entries = [
                OutboxEntry(r.id, r.kind, r.recipient_id, r.meeting_id, r.due_at, r.status, r.attempts, r.reason, r.sent_at,
                            features.label(r.kind))
                for r in rows
            ]
            return OutboxPage(group.id, group.name, section, entries, page, pages, total, counts)


async def _superseded(
    session: AsyncSession, features: FeatureRegistry, rows: Sequence[OutboxRow], now: datetime
) -> dict[int, str]:
    """The due rows a later due row supersedes, with the reason: a row of its own kind or of one of
    its ``superseded_by`` kinds, in its ``superseded_within`` scope (same meeting / same group) and
    to the same recipient.

    Looks past the claimed batch: the later row may not be in it.
    """
    kinds = {k.name: k for k in features.kinds if k.superseded_within is not None}
    candidates = [r for r in rows if r.kind in kinds]
    if not candidates:
        return {}
    rivals = {name: {name, *kind.superseded_by} for name, kind in kinds.items()}
    wanted = set().union(*(rivals[r.kind] for r in candidates))
    due = list(
        await session.execute(
            select(OutboxRow.kind, OutboxRow.group_id, OutboxRow.meeting_id, OutboxRow.recipient_id,
                   OutboxRow.due_at, OutboxRow.id)
            .where(
                OutboxRow.status == PENDING,
                OutboxRow.due_at <= now,
                OutboxRow.kind.in_(wanted),
                OutboxRow.group_id.in_({r.group_id for r in candidates}),
            )
        )
    )
    found: dict[int, str] = {}
    for row in candidates:
        kind = kinds[row.kind]
        same_meeting = kind.superseded_within == "meeting"
        later = [
            (due_at, row_id, other)
            for other, group_id, meeting_id, recipient_id, due_at, row_id in due
            if other in rivals[row.kind] and group_id == row.group_id and recipient_id == row.recipient_id
            and (not same_meeting or meeting_id == row.meeting_id) and (due_at, row_id) > (row.due_at, row.id)
        ]
        if later:
            other = max(later)[2]
            what = "of the same meeting" if same_meeting else "(a later meeting's)"
            found[row.id] = f"superseded: a later {features.label(other).lower()} {what} was due too"
    return found


def _stale(
    row: OutboxRow, kind: NotificationKind | None, group: Group, meeting: Meeting | None, now: datetime
) -> tuple[str, str] | None:
    """Why a due row should not be sent now (status, reason), or None to send it."""
    if group.archived_at is not None:
        return CANCELLED, R_GROUP_ARCHIVED
    if group.channel_broken_at is not None:
        return CANCELLED, channel_broken_reason(group.channel_broken_reason)
    if meeting is None:
        if row.meeting_id is None:
            limit = useful_until(kind, None, row.due_at, row.payload)
            if limit is not None and now >= limit:
                return EXPIRED, f"too late: due {row.due_at:%Y-%m-%d %H:%M} UTC when it could be sent"
        return None
    if meeting.status == MeetingStatus.CANCELLED:
        return CANCELLED, R_MEETING_CANCELLED
    if meeting.status == MeetingStatus.ENDED and kind is not None and kind.useful_after == timedelta(0):
        return EXPIRED, f"{R_MEETING_ENDED} before it was sent"
    limit = useful_until(kind, meeting.starts_at, row.due_at, row.payload)
    if limit is not None and now >= limit:
        return EXPIRED, f"{R_TOO_LATE} ({meeting.starts_at:%Y-%m-%d %H:%M} UTC) when it could be sent"
    return None
