"""Remind me later (a snooze of a reminder DM) and ``/away`` (a pause of a member's DMs).

**Snooze.** Every reminder DM whose kind is declared ``snoozable`` (``bot.features.NotificationKind``)
carries "Remind me later" (``bot.ui.snooze``). :meth:`SnoozeService.options` offers, for the member
who clicked: in 1 hour (only when that is inside her waking window), tomorrow morning (the opening
of her window tomorrow, in her zone, ``bot.waking``) and the day before the meeting (the wall-clock
day before, moved into her window); none that would land at or past the meeting, none inside her
``/away``. :meth:`SnoozeService.snooze` stores the choice as one outbox row of kind ``snooze``
(``bot.services.snooze_feature``), tied to no meeting, whose renderer re-sends the original reminder
as it is then. The row is exactly-once and survives restarts like any other; its payload's
``useful_until`` is the meeting's start, so a snooze never arrives after the meeting. A snooze of
a reminder whose meeting has started is refused.

**Away.** ``/away set until:DATE`` pauses the member's DMs in every group of the server through
that date (in her zone): ``member_profile.away_until`` is the start of the next day, and the planner
(``bot.services.outbox.plan_group``) drops every DM to her due before it — skipped, not deferred: a
report-back DM due while she is away is never sent (the meeting is hers to miss; the board shows her
as away). ``/away end`` ends it now and re-plans, so DMs due from now on come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dates import parse_when, to_local
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.features import SNOOZE_BEFORE_MEETING, SNOOZE_BEFORE_NEXT_MEETING, features_of
from bot.models import Group, Meeting, MeetingStatus, MemberProfile, OutboxRow
from bot.models.outbox import PENDING
from bot.services import outbox
from bot.services.base import Actor, Service, groups_of_member, membership, require_id
from bot.services.guilds import member_timezone
from bot.services.meetings import meeting_after
from bot.services.outbox import CANCELLED, USEFUL_UNTIL, meeting_occurrence, note_outbox_change
from bot.services.waking import Reach, member_reach
from bot.text import clean
from bot.timezones import zone as zone_of
from bot.waking import DEFAULT_START

SNOOZE = "snooze"
HOUR, MORNING, DAY_BEFORE = "hour", "morning", "day_before"
OPTIONS = (HOUR, MORNING, DAY_BEFORE)
LABELS = {HOUR: "In 1 hour", MORNING: "Tomorrow morning", DAY_BEFORE: "The day before the meeting"}
# A snooze tied to no meeting's start (a carry-over DM with no next meeting) stays worth sending this long.
UNBOUNDED_USEFUL = timedelta(days=1)
R_SNOOZED_AGAIN = "snoozed again"

AWAY_NOTE_MAX = 200
AWAY_MAX_DAYS = 365  # an away date at most a year ahead


@dataclass(frozen=True, slots=True)
class SnoozeOption:
    key: str  # HOUR | MORNING | DAY_BEFORE
    at: datetime  # when the reminder comes back (UTC)

    @property
    def label(self) -> str:
        return LABELS[self.key]


@dataclass(frozen=True, slots=True)
class SnoozeChoices:
    """What "Remind me later" offers one member for one reminder."""

    group_name: str
    limit: datetime | None  # the meeting no snooze may pass (None: none scheduled)
    options: list[SnoozeOption]


@dataclass(frozen=True, slots=True)
class Snoozed:
    group_name: str
    option: SnoozeOption


@dataclass(frozen=True, slots=True)
class _Target:
    group: Group
    meeting: Meeting  # the reminder's meeting
    limit: Meeting | None  # the meeting a snooze may not pass
    reach: Reach


def _shown(when: datetime, tz: str) -> str:
    """A moment as the member reads it in a message of the domain (no Discord timestamp here)."""
    local = to_local(when, tz)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M} ({tz})"


def _options(now: datetime, reach: Reach, limit: datetime | None) -> list[SnoozeOption]:
    """The snooze times for a member now: each inside her window, before ``limit``, none duplicated."""
    zone = reach.zone
    found: list[SnoozeOption] = []
    hour = now + timedelta(hours=1)
    if reach.deliver_at(hour) == hour:  # inside her window (else "tomorrow morning" is the choice)
        found.append(SnoozeOption(HOUR, hour))
    start = DEFAULT_START if reach.window.all_day else reach.window.start
    tomorrow: date = now.astimezone(zone).date() + timedelta(days=1)
    morning = reach.deliver_after(datetime.combine(tomorrow, start, tzinfo=zone).astimezone(UTC))
    found.append(SnoozeOption(MORNING, morning))
    if limit is not None:
        # The wall-clock day before (a 19:00 meeting: 19:00 the day before, whatever DST does), into her window.
        day_before = reach.deliver_at((limit.astimezone(zone) - timedelta(days=1)).astimezone(UTC))
        if day_before > now + timedelta(minutes=1) and day_before not in {o.at for o in found}:
            found.append(SnoozeOption(DAY_BEFORE, day_before))
    paused = reach.away_until
    return sorted(
        (o for o in found
         if (limit is None or o.at < limit) and (paused is None or o.at >= paused)),
        key=lambda o: o.at,
    )


class SnoozeService(Service):
    async def _target(self, session: AsyncSession, user_id: int, group_id: int, kind: str, meeting_id: int) -> _Target:
        require_id(group_id, "group")
        require_id(meeting_id, "meeting")
        declared = features_of(session).kind(kind)
        if declared is None or declared.snoozable is None:
            raise InvalidInput("This message can't be snoozed.")
        group = await session.get(Group, group_id)
        if group is None or group.archived_at is not None:
            raise NotFound("That group is gone: there's nothing to remind you of.")
        if await membership(session, group.id, user_id) is None:
            raise NotAllowed(f"You're no longer in **{group.name}**: there's nothing to remind you of.")
        meeting = await session.get(Meeting, meeting_id)
        if meeting is None or meeting.group_id != group.id or meeting.status == MeetingStatus.CANCELLED:
            raise NotFound("That meeting is gone (cancelled or removed): there's nothing to remind you of.")
        now = self.now()
        tz = await member_timezone(session, group.guild_id, user_id)
        limit: Meeting | None = meeting
        if declared.snoozable == SNOOZE_BEFORE_NEXT_MEETING:
            limit = await meeting_after(session, meeting)
        elif declared.snoozable != SNOOZE_BEFORE_MEETING:
            raise InvalidInput("This message can't be snoozed.")
        if limit is not None and (limit.status != MeetingStatus.SCHEDULED or limit.starts_at <= now):
            raise InvalidInput(
                f"The meeting of {_shown(limit.starts_at, tz)} has already started, so there's nothing to remind "
                "you of before it."
            )
        reach = (await member_reach(session, group.guild_id, [user_id], zone_of(group.timezone))).of(user_id)
        return _Target(group, meeting, limit, reach)

    async def options(self, *, user_id: int, group_id: int, kind: str, meeting_id: int) -> SnoozeChoices:
        """What "Remind me later" offers now (refusals: not a member, the meeting started or gone)."""
        async with self.begin() as session:
            target = await self._target(session, user_id, group_id, kind, meeting_id)
            limit = target.limit.starts_at if target.limit is not None else None
            options = _options(self.now(), target.reach, limit)
            if not options:
                raise InvalidInput("The meeting is too close to snooze this: there's no later time before it that "
                                   "your waking hours allow.")
            return SnoozeChoices(target.group.name, limit, options)

    async def snooze(self, *, user_id: int, group_id: int, kind: str, meeting_id: int, option: str) -> Snoozed:
        """Store the snooze as one outbox row (re-checked now: an old choice that would land past
        the meeting is refused). A second snooze of the same reminder replaces the first."""
        if option not in OPTIONS:
            raise InvalidInput("Pick one of the times offered.")
        async with self.begin() as session:
            now = self.now()
            target = await self._target(session, user_id, group_id, kind, meeting_id)
            limit = target.limit.starts_at if target.limit is not None else None
            chosen = next((o for o in _options(now, target.reach, limit) if o.key == option), None)
            if chosen is None:
                raise InvalidInput(f"“{LABELS[option]}” would come too late now (past the meeting, outside your "
                                   "waking hours or while you're away): click **Remind me later** again for the "
                                   "times still open.")
            prefix = f"{kind}:{meeting_id}@"
            for old in await session.scalars(
                select(OutboxRow).where(
                    OutboxRow.group_id == group_id, OutboxRow.kind == SNOOZE, OutboxRow.recipient_id == user_id,
                    OutboxRow.status == PENDING, OutboxRow.occurrence.startswith(prefix, autoescape=True),
                )
            ):
                old.status, old.reason, old.updated_at = CANCELLED, R_SNOOZED_AGAIN, now
            useful = limit if limit is not None else chosen.at + UNBOUNDED_USEFUL
            payload: dict[str, Any] = {
                "kind": kind,
                "meeting_id": target.meeting.id,
                "occurrence": meeting_occurrence(target.meeting),
                "starts_at": target.meeting.starts_at.isoformat(),
                "limit_meeting_id": target.limit.id if target.limit is not None else None,
                USEFUL_UNTIL: useful.isoformat(),
            }
            values = {
                "kind": SNOOZE, "guild_id": target.group.guild_id, "group_id": group_id, "meeting_id": None,
                "occurrence": f"{prefix}{int(chosen.at.timestamp()) // 60}", "recipient_id": user_id,
                "due_at": chosen.at, "status": PENDING, "attempts": 0, "payload": payload, "created_at": now,
                "updated_at": now, "reason": None,
            }
            statement = outbox._insert(session)(OutboxRow).values(values).on_conflict_do_update(
                index_elements=["kind", "group_id", "occurrence", "recipient_id"],
                set_={"status": PENDING, "reason": None, "due_at": chosen.at, "payload": payload, "updated_at": now,
                      "attempts": 0},
                where=OutboxRow.sent_at.is_(None),
            )
            await session.execute(statement)
            note_outbox_change(session, chosen.at)
            return Snoozed(target.group.name, chosen)


# --- away -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AwayStatus:
    until: datetime | None  # DMs resume then (UTC); None: not away
    last_day: date | None  # the last day away, in the member's zone
    note: str | None
    timezone: str
    changed: int = 0  # DMs paused (set) or back (end)

    @property
    def away(self) -> bool:
        return self.until is not None


async def away_members(session: AsyncSession, guild_id: int, user_ids: list[int], now: datetime) -> dict[int, datetime]:
    """In-session: the members of ``user_ids`` away now, with when their away ends (UTC)."""
    if not user_ids:
        return {}
    rows = await session.execute(
        select(MemberProfile.user_id, MemberProfile.away_until).where(
            MemberProfile.guild_id == guild_id, MemberProfile.user_id.in_(user_ids), MemberProfile.away_until > now,
        )
    )
    return {user_id: until for user_id, until in rows if until is not None}


def _last_day(until: datetime, tz: str) -> date:
    return (to_local(until, tz) - timedelta(minutes=1)).date()


class AwayService(Service):
    async def _replan(self, session: AsyncSession, actor: Actor, now: datetime) -> tuple[int, int]:
        cancelled = back = 0
        for group in await groups_of_member(session, actor.guild_id, actor.user_id):
            result = await outbox.plan_group(session, group.id, now)
            cancelled += result.cancelled
            back += result.revived + result.inserted
        return cancelled, back

    async def set(self, actor: Actor, *, until: str, note: str | None = None) -> AwayStatus:
        """``/away set``: pause the member's DMs in every group of the server through ``until`` (a
        date in her zone, today up to a year ahead). Refused (nothing stored): unparseable, past, too far."""
        text = clean(note) if note is not None else None
        if text is not None and len(text) > AWAY_NOTE_MAX:
            raise InvalidInput(f"Your note is too long ({len(text)} characters; at most {AWAY_NOTE_MAX}).")
        async with self.begin() as session:
            now = self.now()
            tz = await member_timezone(session, actor.guild_id, actor.user_id)
            when = parse_when(until, tz, now, max_ahead=None)
            day = to_local(when, tz).date()
            today = to_local(now, tz).date()
            if day < today:
                raise InvalidInput(
                    f"{day:%a} {day.day} {day:%b %Y} is in the past: give the last day you'll be away, today or "
                    "later (like `next friday` or `24 December`)."
                )
            latest = today + timedelta(days=AWAY_MAX_DAYS)
            if day > latest:
                raise InvalidInput(
                    f"{day.day} {day:%b %Y} is more than a year ahead: pick a date up to {latest.day} "
                    f"{latest:%b %Y}."
                )
            resume = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone_of(tz)).astimezone(UTC)
            profile = await session.get(MemberProfile, (actor.guild_id, actor.user_id))
            if profile is None:
                profile = MemberProfile(guild_id=actor.guild_id, user_id=actor.user_id, timezone=None, updated_at=now)
                session.add(profile)
            profile.away_until = resume
            profile.away_note = text or None
            profile.updated_at = now
            paused, _back = await self._replan(session, actor, now)
            return AwayStatus(resume, day, profile.away_note, tz, paused)

    async def end(self, actor: Actor) -> AwayStatus:
        """``/away end``: DMs from now on come back (those due while away stay unsent). Refused when not away."""
        async with self.begin() as session:
            now = self.now()
            tz = await member_timezone(session, actor.guild_id, actor.user_id)
            profile = await session.get(MemberProfile, (actor.guild_id, actor.user_id))
            if profile is None or profile.away_until is None or profile.away_until <= now:
                raise InvalidInput("You're not away, so there's nothing to end. `/away set` pauses your DMs.")
            profile.away_until = now
            profile.away_note = None
            profile.updated_at = now
            _paused, back = await self._replan(session, actor, now)
            return AwayStatus(None, None, None, tz, back)

    async def status(self, actor: Actor) -> AwayStatus:
        async with self.begin() as session:
            now = self.now()
            tz = await member_timezone(session, actor.guild_id, actor.user_id)
            profile = await session.get(MemberProfile, (actor.guild_id, actor.user_id))
            if profile is None or profile.away_until is None or profile.away_until <= now:
                return AwayStatus(None, None, None, tz)
            return AwayStatus(profile.away_until, _last_day(profile.away_until, tz), profile.away_note, tz)
