"""Members' zones and waking windows, loaded once per plan for the outbox planner and the meeting replies.

The arithmetic is :mod:`bot.waking`; this module only reads ``member_profile``. A member who set no
zone is read in the group's zone; one who set no window has the default 08:00–21:00.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import MemberProfile
from bot.waking import DEFAULT_WINDOW, Window, deliver_after, deliver_at, outside, window_of

# A row that fell due this recently is sent now, not held for the next window: a re-plan racing
# the dispatcher at the window's close must not push a DM to the next day.
LATE_GRACE = timedelta(minutes=10)


def _zone(name: str | None, fallback: ZoneInfo) -> ZoneInfo:
    if not name:
        return fallback
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


@dataclass(frozen=True, slots=True)
class Reach:
    """When one member may be sent a DM."""

    zone: ZoneInfo
    window: Window = DEFAULT_WINDOW
    zone_set: bool = False  # the member chose the zone (else it is the group's)
    # ``/away``: her DMs due before this are not sent (bot.services.snooze); None: not away.
    away_until: datetime | None = None

    def deliver_at(self, due: datetime) -> datetime:
        return deliver_at(due, self.zone, self.window.start, self.window.end)

    def deliver_after(self, due: datetime) -> datetime:
        return deliver_after(due, self.zone, self.window.start, self.window.end)


@dataclass(frozen=True, slots=True)
class MemberReach:
    """Every member of one group: ``deliver(user_id, due)`` is when a DM due at ``due`` goes."""

    group_zone: ZoneInfo
    members: dict[int, Reach] = field(default_factory=dict)

    def of(self, user_id: int) -> Reach:
        return self.members.get(user_id) or Reach(self.group_zone)

    def deliver(self, user_id: int, due: datetime, *, now: datetime, before: datetime) -> datetime:
        """When a DM due at ``due`` about something at ``before`` goes: the window's last moment at
        or before ``due``; if that passed more than :data:`LATE_GRACE` ago (a meeting planned at
        short notice), the next opening still before ``before``; failing both, the past moment
        (the planner sends it now)."""
        reach = self.of(user_id)
        at = reach.deliver_at(due)
        if at >= now - LATE_GRACE:
            return at
        later = reach.deliver_after(now)
        return later if later < before else at

    def paused(self, user_id: int, due: datetime) -> bool:
        """Whether a DM to the member due at ``due`` falls in her ``/away`` (it is not sent)."""
        until = self.of(user_id).away_until
        return until is not None and due < until

    def deliver_later(self, user_id: int, due: datetime) -> datetime:
        """When a DM that follows an event (due at ``due``) goes: then, or the window's next opening."""
        return self.of(user_id).deliver_after(due)


async def member_reach(
    session: AsyncSession, guild_id: int, user_ids: Iterable[int], group_zone: ZoneInfo
) -> MemberReach:
    """The zones and windows of ``user_ids`` in one server, in one query."""
    ids = list(user_ids)
    found: dict[int, Reach] = {}
    if ids:
        for profile in await session.scalars(
            select(MemberProfile).where(MemberProfile.guild_id == guild_id, MemberProfile.user_id.in_(ids))
        ):
            found[profile.user_id] = Reach(
                _zone(profile.timezone, group_zone),
                window_of(profile.waking_start, profile.waking_end),
                zone_set=bool(profile.timezone),
                away_until=profile.away_until,
            )
    return MemberReach(group_zone, found)


@dataclass(frozen=True, slots=True)
class MemberLocalTime:
    """A meeting as one member who set a zone lives it (the facilitator's reply to schedule / move / a series)."""

    user_id: int
    timezone: str
    local: datetime  # the (first) meeting in the member's zone
    unsociable: bool  # it falls outside 07:00–22:00 there (for a series: any of the dates given)


async def member_local_times(
    session: AsyncSession, guild_id: int, user_ids: Iterable[int], dates: list[datetime]
) -> list[MemberLocalTime]:
    """For each member who set a zone, ``dates[0]`` in that zone and whether any date is unsociable."""
    if not dates:
        return []
    ids = list(user_ids)
    reach = await member_reach(session, guild_id, ids, ZoneInfo("UTC"))
    result = []
    for user_id in ids:
        member = reach.members.get(user_id)
        if member is None or not member.zone_set:
            continue
        result.append(MemberLocalTime(user_id, member.zone.key, dates[0].astimezone(member.zone),
                                      any(outside(d, member.zone) for d in dates)))
    return result
