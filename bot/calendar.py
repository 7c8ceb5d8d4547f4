"""Calendar files (RFC 5545 ``.ics``) for a meeting and for a group's series, built with ``icalendar``.

Times are written in the group's zone (``DTSTART;TZID=Europe/London:20261201T180000``) with the
zone's VTIMEZONE generated from zoneinfo, so a calendar keeps the meeting at its local wall-clock
time across daylight-saving changes, as the bot does. UIDs are stable (``meeting-<id>@roundtable``,
``series-<id>@roundtable``): importing the file again updates the event instead of adding a copy.

No discord import: this is the domain ring. The adapter attaches the bytes as a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import icalendar

from bot import recurrence
from bot.timezones import zone

PRODID = "-//Roundtable//Roundtable meetings//EN"
UID_DOMAIN = "roundtable"
DURATION = timedelta(hours=3)  # the bot's MEETING_LENGTH: a meeting "under way" for three hours
# How far the VTIMEZONE's transitions reach around the events (a series runs on for years).
_ZONE_BEFORE = timedelta(days=366)
_ZONE_AFTER = timedelta(days=5 * 366)


@dataclass(frozen=True, slots=True)
class MeetingEvent:
    """What a calendar needs of one meeting (plain values; ``starts_at`` aware)."""

    meeting_id: int
    group_name: str
    timezone: str
    starts_at: datetime
    location: str | None = None
    description: str | None = None
    url: str | None = None  # the place's link (the online meeting, or the map)


@dataclass(frozen=True, slots=True)
class SeriesEvent:
    """A series: its stored rule (``recurrence.store`` text) and the exceptions to it."""

    series_id: int
    group_name: str
    timezone: str
    rrule: str  # "DTSTART:<naive local>\nRRULE:<rule>", as kept in meeting_series.rrule
    location: str | None = None
    description: str | None = None
    url: str | None = None  # the place's link (the online meeting, or the map)
    # When the series was set: its calendar starts at the first date after that.
    created_at: datetime | None = None
    # Occurrences (aware, the series' own dates) that were cancelled: EXDATEs.
    cancelled: Sequence[datetime] = ()
    # Occurrences moved to another time: (occurrence, new start), written as RECURRENCE-ID overrides.
    moved: Sequence[tuple[datetime, datetime]] = field(default_factory=tuple)


def meeting_uid(meeting_id: int) -> str:
    return f"meeting-{meeting_id}@{UID_DOMAIN}"


def series_uid(series_id: int) -> str:
    return f"series-{series_id}@{UID_DOMAIN}"


def summary(group_name: str) -> str:
    return f"{group_name} meeting"


def default_description(group_name: str) -> str:
    return (f"The {group_name} peer group meets. In Discord, /meeting next has Going / Maybe / Can't make it, "
            "and /meeting agenda who's tabling what.")


def _calendar(name: str) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    return cal


def _local(when: datetime, tz: str) -> datetime:
    return when.astimezone(zone(tz))


def _event(uid: str, *, group_name: str, start_local: datetime, location: str | None, description: str | None,
           now: datetime, url: str | None = None) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", now)
    event.add("summary", summary(group_name))
    event.add("dtstart", start_local)
    event.add("dtend", start_local + DURATION)
    if location:
        event.add("location", location)
    if url:
        event.add("url", url)
    event.add("description", description or default_description(group_name))
    return event


def _finish(cal: icalendar.Calendar, first: datetime, last: datetime) -> bytes:
    """Add the VTIMEZONE of every TZID used, covering ``first``..``last``, and serialise."""
    cal.add_missing_timezones(first_date=(first - _ZONE_BEFORE).date(), last_date=(last + _ZONE_AFTER).date())
    data: bytes = cal.to_ical()
    return data


def meeting_ics(meeting: MeetingEvent, *, now: datetime) -> bytes:
    """One meeting as an ``.ics`` file."""
    cal = _calendar(summary(meeting.group_name))
    start = _local(meeting.starts_at, meeting.timezone)
    cal.add_component(_event(meeting_uid(meeting.meeting_id), group_name=meeting.group_name, start_local=start,
                             location=meeting.location, description=meeting.description, now=now,
                             url=meeting.url))
    return _finish(cal, meeting.starts_at, meeting.starts_at)


def series_start(series: SeriesEvent) -> datetime:
    """The series' first date (aware, in its zone): its DTSTART, the first meeting the rule gave.

    The stored anchor is the day the series was set, at its time (not necessarily a date of the
    rule, and maybe already past then); RFC 5545 counts DTSTART as the first occurrence, so it must
    be one: the first date after the series was set. A rule with ``COUNT`` counts from its anchor,
    so there it is the anchor's first date.
    """
    rule, anchor = recurrence.load(series.rrule)
    tz = series.timezone
    just_before = recurrence.local_instant(anchor, tz) - timedelta(seconds=1)
    if series.created_at is not None and "COUNT=" not in rule.upper():
        just_before = max(just_before, series.created_at)
    first = recurrence.occurrences(rule, anchor, tz, after=just_before, count=1)
    return _local(first[0] if first else recurrence.local_instant(anchor, tz), tz)


def series_ics(series: SeriesEvent, *, now: datetime) -> bytes:
    """The whole series as one recurring event (RRULE), cancelled dates excluded, moved ones overridden."""
    rule, _ = recurrence.load(series.rrule)
    tz = series.timezone
    start = series_start(series)
    cal = _calendar(summary(series.group_name))
    uid = series_uid(series.series_id)
    main = _event(uid, group_name=series.group_name, start_local=start, location=series.location,
                  description=series.description, now=now, url=series.url)
    main.add("rrule", icalendar.vRecur.from_ical(rule))
    excluded = sorted({*series.cancelled})
    if excluded:
        main.add("exdate", [_local(when, tz) for when in excluded])
    cal.add_component(main)
    last = start
    for occurrence, new_start in sorted(series.moved):
        override = _event(uid, group_name=series.group_name, start_local=_local(new_start, tz),
                          location=series.location, description=series.description, now=now, url=series.url)
        override.add("recurrence-id", _local(occurrence, tz))
        cal.add_component(override)
        last = max(last, new_start, occurrence)
    return _finish(cal, start, max(last, now))


def meeting_filename(meeting: MeetingEvent) -> str:
    return filename(meeting.group_name, _local(meeting.starts_at, meeting.timezone).date())


def filename(group_name: str, when: date | None = None) -> str:
    """A safe file name: ``makers-2026-12-01.ics`` / ``makers-series.ics``."""
    slug = "".join(c if c.isascii() and c.isalnum() else "-" for c in group_name.casefold())
    slug = "-".join(filter(None, slug.split("-")))[:40] or "meeting"
    return f"{slug}-{when.isoformat()}.ics" if when is not None else f"{slug}-series.ics"
