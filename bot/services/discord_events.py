"""Discord's own Events: a group's next planned meetings mirrored to guild scheduled events.

Where the server gives Roundtable Manage Events, the group's next :data:`MAX_EVENTS` scheduled
meetings within :data:`WINDOW` are each a guild scheduled event (external, at the meeting's place;
or, where the group has an event channel, in that voice or stage channel for a meeting online or
without a place), created, moved and removed with the meeting, so they show in the server's Events list. A member who
marks one "Interested" and hasn't answered the meeting's RSVP counts as going.

Discord-free: this module says what the events should be (:class:`SyncPlan`) and records what the
cog did; ``cogs/events.py`` makes the REST calls, from the group's ``discord_events`` outbox row
(``bot/services/events_feature.py``), so a sync is planned in the transaction that changed the
meeting and survives a restart.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Group, Meeting, MeetingSeries, MeetingStatus, Rsvp
from bot.models.discord_events import DiscordEvent, DiscordEventGuild, DiscordEventInterest, DiscordEventSync
from bot.places import Place, PlaceKind, place_of
from bot.services import outbox
from bot.services.base import Service, membership
from bot.services.outbox import MEETING_LENGTH

WINDOW = timedelta(days=30)  # meetings further out are not listed yet
MAX_EVENTS = 2  # the group's next two meetings
MAX_NAME = 100
MAX_LOCATION = 100  # Discord's limit for an external event's location
MAX_DESCRIPTION = 1000
GOING = "going"


@dataclass(frozen=True, slots=True)
class EventSpec:
    """What one meeting's event should show."""

    meeting_id: int
    name: str
    description: str
    starts_at: datetime
    ends_at: datetime
    location: str
    channel_id: int | None = None  # the group's voice or stage channel: the event is there, not external
    stage: bool = False

    @property
    def digest(self) -> str:
        data: list[object] = [self.meeting_id, self.name, self.description, self.starts_at.isoformat(), self.ends_at.isoformat(),
                self.location]
        if self.channel_id is not None:  # (an external event's digest is as before the event channel)
            data += [self.channel_id, self.stage]
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """What the cog should do for one group: create, update (with the event's id), delete."""

    guild_id: int
    group_id: int
    create: list[EventSpec] = field(default_factory=list)
    update: list[tuple[EventSpec, int]] = field(default_factory=list)
    delete: list[tuple[int, int]] = field(default_factory=list)  # (meeting id, event id)
    known_event_ids: frozenset[int] = frozenset()


def location_of(meeting: Meeting, series: MeetingSeries | None) -> str:
    """The event's location: the venue and address; an online meeting's link stays in the group (the
    Events list is the whole server's, and the link lets anyone into the call)."""
    return _location(place_of(meeting, series))


def _location(place: Place | None) -> str:
    if place is None:
        text = "See the group's channel"
    elif place.kind == PlaceKind.ONLINE:
        text = "Online: the link is in the group's channel"
    else:
        text = place.text
    return text if len(text) <= MAX_LOCATION else text[: MAX_LOCATION - 1] + "…"


async def wanted_specs(session: AsyncSession, group: Group, meetings: list[Meeting], now: datetime) -> list[EventSpec]:
    """The events the group should have: none when it is off or archived, else its next meetings.

    ``meetings``: the group's scheduled meetings in time order (a meeting under way still counts
    until it ends, so its event doesn't vanish at its start).
    """
    if not group.discord_events or group.archived_at is not None:
        return []
    specs: list[EventSpec] = []
    for meeting in meetings:
        if meeting.status != MeetingStatus.SCHEDULED or meeting.starts_at + MEETING_LENGTH <= now:
            continue
        if meeting.starts_at > now + WINDOW or len(specs) == MAX_EVENTS:
            break
        series = await session.get(MeetingSeries, meeting.series_id) if meeting.series_id is not None else None
        name = f"{group.name}: group meeting"
        place = place_of(meeting, series)
        in_channel = group.event_channel_id is not None and (place is None or place.kind == PlaceKind.ONLINE)
        specs.append(EventSpec(
            meeting_id=meeting.id,
            name=name if len(name) <= MAX_NAME else name[: MAX_NAME - 1] + "…",
            description=(f"A meeting of the peer group {group.name}. Members: answer the RSVP in the group's "
                         "channel; marking Interested here counts as Going.")[:MAX_DESCRIPTION],
            starts_at=meeting.starts_at,
            ends_at=meeting.starts_at + MEETING_LENGTH,
            location=_location(place),
            channel_id=group.event_channel_id if in_channel else None,
            stage=group.event_channel_stage if in_channel else False,
        ))
    return specs


def fingerprint(specs: list[EventSpec]) -> str:
    return hashlib.sha256(",".join(spec.digest for spec in specs).encode()).hexdigest()


async def scheduled_meetings(session: AsyncSession, group_id: int) -> list[Meeting]:
    return list(await session.scalars(
        select(Meeting).where(Meeting.group_id == group_id, Meeting.status == MeetingStatus.SCHEDULED)
        .order_by(Meeting.starts_at, Meeting.id)
    ))


async def can_manage(session: AsyncSession, guild_id: int) -> bool:
    row = await session.get(DiscordEventGuild, guild_id)
    return row is not None and row.can_manage


async def _force_resync(session: AsyncSession, guild_id: int, now: datetime) -> None:
    """Forget what each group of the server last synced, and re-plan: every group syncs again."""
    await session.execute(
        update(DiscordEventSync).where(DiscordEventSync.guild_id == guild_id).values(fingerprint="")
    )
    for group_id in await session.scalars(
        select(Group.id).where(Group.guild_id == guild_id, Group.archived_at.is_(None))
    ):
        await outbox.plan_group(session, group_id, now)


class EventsService(Service):
    """The events' sync plans and bookkeeping, the permission, and Interested → Going."""

    # --- the permission -----------------------------------------------------------------------

    async def can_manage(self, guild_id: int) -> bool:
        async with self.begin() as session:
            return await can_manage(session, guild_id)

    async def set_permission(self, guild_id: int, allowed: bool) -> bool:
        """Whether Roundtable has Manage Events in the server, as just seen; True if it changed.

        Given (again): every group of the server syncs its events.
        """
        now = self.now()
        async with self.read() as session:  # most calls change nothing (every server at each start)
            known = await session.scalar(select(DiscordEventGuild.can_manage).where(DiscordEventGuild.guild_id == guild_id))
        if (known is None and not allowed) or known == allowed:
            return False
        async with self.begin() as session:
            row = await session.get(DiscordEventGuild, guild_id, with_for_update=True)
            if row is not None and row.can_manage == allowed:
                return False
            if row is None:
                if not allowed:
                    return False  # never had it: nothing to record (no row is "no")
                session.add(DiscordEventGuild(guild_id=guild_id, can_manage=allowed, updated_at=now))
            else:
                row.can_manage = allowed
                row.updated_at = now
            await session.flush()
            if allowed:
                await _force_resync(session, guild_id, now)
            return True

    async def permission_lost(self, guild_id: int) -> None:
        """Discord refused an event call (403): off until the permission is seen again; then all resync."""
        await self.set_permission(guild_id, False)
        async with self.begin() as session:
            await session.execute(
                update(DiscordEventSync).where(DiscordEventSync.guild_id == guild_id).values(fingerprint="")
            )

    async def channel_gone(self, guild_id: int, channel_id: int) -> int:
        """A voice or stage channel was deleted: the groups that had it as their event channel have none
        now, and re-sync (their events go back to the meeting's place). How many groups."""
        now = self.now()
        async with self.begin() as session:
            groups = list(await session.scalars(
                select(Group).where(Group.guild_id == guild_id, Group.event_channel_id == channel_id)))
            for group in groups:
                group.event_channel_id, group.event_channel_stage = None, False
            await session.flush()
            for group in groups:
                await outbox.plan_group(session, group.id, now)
            return len(groups)

    # --- the sync -------------------------------------------------------------------------------

    async def sync_plan(self, group_id: int) -> SyncPlan | None:
        """What to create, update and delete for the group now; None without the permission."""
        now = self.now()
        async with self.begin() as session:
            group = await session.get(Group, group_id)
            if group is None or not await can_manage(session, group.guild_id):
                return None
            specs = await wanted_specs(session, group, await scheduled_meetings(session, group.id), now)
            tracked = {row.meeting_id: row for row in await session.scalars(
                select(DiscordEvent).where(DiscordEvent.group_id == group.id))}
            plan = SyncPlan(group.guild_id, group.id, known_event_ids=frozenset(r.event_id for r in tracked.values()))
            for spec in specs:
                row = tracked.get(spec.meeting_id)
                if row is None:
                    plan.create.append(spec)
                elif row.synced != spec.digest:
                    plan.update.append((spec, row.event_id))
            wanted = {spec.meeting_id for spec in specs}
            plan.delete.extend((m, row.event_id) for m, row in tracked.items() if m not in wanted)
            return plan

    async def record_event(self, *, group_id: int, spec: EventSpec, event_id: int) -> None:
        """The meeting's event now shows ``spec`` (created or updated)."""
        now = self.now()
        async with self.begin() as session:
            group = await session.get(Group, group_id)
            if group is None:
                return
            row = await session.get(DiscordEvent, spec.meeting_id)
            if row is None:
                session.add(DiscordEvent(meeting_id=spec.meeting_id, guild_id=group.guild_id, group_id=group.id,
                                         event_id=event_id, synced=spec.digest, updated_at=now))
            else:
                row.event_id = event_id
                row.synced = spec.digest
                row.updated_at = now

    async def forget_event(self, meeting_id: int) -> None:
        """The meeting's event was deleted (or was already gone)."""
        async with self.begin() as session:
            await session.execute(delete(DiscordEvent).where(DiscordEvent.meeting_id == meeting_id))

    async def leftovers(self) -> list[tuple[int, int, int]]:
        """Events of archived groups still on Discord: (guild id, meeting id, event id)."""
        async with self.begin() as session:
            rows = await session.execute(
                select(DiscordEvent.guild_id, DiscordEvent.meeting_id, DiscordEvent.event_id)
                .join(Group, Group.id == DiscordEvent.group_id)
                .where(Group.archived_at.is_not(None))
            )
            return [(g, m, e) for g, m, e in rows]

    async def tracked_events(self) -> dict[int, set[int]]:
        """Per server where Roundtable may manage events: the event ids it keeps (any other event it
        created there is an orphan: its group was deleted)."""
        async with self.begin() as session:
            found: dict[int, set[int]] = {
                guild_id: set() for guild_id in await session.scalars(
                    select(DiscordEventGuild.guild_id).where(DiscordEventGuild.can_manage.is_(True)))
            }
            for guild_id, event_id in await session.execute(select(DiscordEvent.guild_id, DiscordEvent.event_id)):
                if guild_id in found:
                    found[guild_id].add(event_id)
            return found

    async def refresh(self, *, since: timedelta | None = None) -> int:
        """Re-plan the groups that list their meetings as events and have a meeting that came within
        the window in the last ``since`` (every such group when None: at start, after any outage);
        how many groups were re-planned. A change to a meeting re-plans its group on its own."""
        now = self.now()
        async with self.read() as session:
            query = (
                select(Group.id)
                .join(DiscordEventGuild, DiscordEventGuild.guild_id == Group.guild_id)
                .where(DiscordEventGuild.can_manage.is_(True), Group.archived_at.is_(None),
                       Group.discord_events.is_(True))
            )
            if since is not None:
                query = query.where(Group.id.in_(
                    select(Meeting.group_id).where(
                        Meeting.status == MeetingStatus.SCHEDULED,
                        Meeting.starts_at > now + WINDOW - since, Meeting.starts_at <= now + WINDOW,
                    )
                ))
            ids = list(await session.scalars(query))
        for group_id in ids:
            async with self.begin() as session:
                await outbox.plan_group(session, group_id, now)
        return len(ids)

    # --- Interested → Going ------------------------------------------------------------------------

    async def interested(self, *, guild_id: int, event_id: int, user_id: int) -> bool:
        """A member marked the meeting's event Interested: going, if she hasn't answered. True if recorded."""
        now = self.now()
        async with self.begin() as session:
            event = await session.scalar(select(DiscordEvent).where(DiscordEvent.event_id == event_id))
            if event is None or event.guild_id != guild_id:
                return False
            meeting = await session.get(Meeting, event.meeting_id)
            if meeting is None or meeting.status != MeetingStatus.SCHEDULED or meeting.starts_at + MEETING_LENGTH <= now:
                return False
            if await membership(session, meeting.group_id, user_id) is None:
                return False
            if await session.get(Rsvp, (meeting.id, user_id)) is not None:
                return False  # she answered: her answer stands ("Can't make it" included)
            session.add(Rsvp(meeting_id=meeting.id, user_id=user_id, guild_id=meeting.guild_id, answer=GOING,
                             updated_at=now))
            session.add(DiscordEventInterest(meeting_id=meeting.id, user_id=user_id, guild_id=meeting.guild_id,
                                             group_id=meeting.group_id, created_at=now))
            await session.flush()
            await outbox.plan_group(session, meeting.group_id, now)
            return True

    async def not_interested(self, *, guild_id: int, event_id: int, user_id: int) -> bool:
        """She took Interested back: the RSVP goes only if it came from the event and is unchanged."""
        now = self.now()
        async with self.begin() as session:
            event = await session.scalar(select(DiscordEvent).where(DiscordEvent.event_id == event_id))
            if event is None or event.guild_id != guild_id:
                return False
            mark = await session.get(DiscordEventInterest, (event.meeting_id, user_id))
            if mark is None:
                return False
            await session.delete(mark)
            rsvp = await session.get(Rsvp, (event.meeting_id, user_id))
            if rsvp is None or rsvp.answer != GOING or rsvp.updated_at != mark.created_at:
                return False  # she has answered herself since
            await session.delete(rsvp)
            await session.flush()
            await outbox.plan_group(session, event.group_id, now)
            return True
