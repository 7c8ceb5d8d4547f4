"""The "Add to calendar" files: parsed back with icalendar, times right in the group's zone across DST."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from dateutil import rrule as du

from bot import calendar, recurrence
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.services import Services
from tests.unit.test_groups import ADMIN, ALICE, BOB, CHANNEL, actor, make_group

FAC = actor(ADMIN, channel=CHANNEL)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

# (zone, a date in its winter, a date in its summer, UTC offset in hours on each)
ZONES = [
    ("Europe/London", "2026-12-01", "2027-04-06", 0, 1),
    ("America/New_York", "2026-12-01", "2027-04-06", -5, -4),
    ("Australia/Sydney", "2026-12-01", "2027-05-04", 11, 10),  # southern hemisphere: summer in December
]


def _parse(data: bytes) -> icalendar.Calendar:
    assert data.startswith(b"BEGIN:VCALENDAR\r\n") and data.rstrip().endswith(b"END:VCALENDAR")
    return icalendar.Calendar.from_ical(data)


def _vtimezone_offset(cal: icalendar.Calendar, tzid: str, wall: datetime) -> timedelta:
    """The UTC offset the file's own VTIMEZONE gives at a local wall time (not the reader's zoneinfo)."""
    [vtz] = [tz for tz in cal.walk("VTIMEZONE") if str(tz["TZID"]) == tzid]
    offset = wall.replace(tzinfo=vtz.to_tz()).utcoffset()
    assert offset is not None
    return offset


@pytest.mark.parametrize(("tz", "winter", "summer", "winter_offset", "summer_offset"), ZONES)
async def test_a_meeting_file_keeps_its_local_time_and_zone_across_dst(
    services: Services, tz: str, winter: str, summer: str, winter_offset: int, summer_offset: int
) -> None:
    gid = await make_group(services, name="Makers & Co", timezone=tz)
    await services.groups.join(actor(ALICE), group_id=gid)
    for day, offset in ((winter, winter_offset), (summer, summer_offset)):
        meeting = await services.meetings.schedule(FAC, when=f"{day} 18:00", location="The Hub, 1 High St")
        one, series = await services.meetings.calendar(actor(ALICE), meeting_id=meeting.id)
        assert series is None  # a one-off meeting has no series file
        cal = _parse(calendar.meeting_ics(one, now=NOW))
        [event] = cal.events
        start = event.decoded("DTSTART")
        assert event["DTSTART"].params["TZID"] == tz
        assert (start.year, start.month, start.day) == tuple(int(x) for x in day.split("-"))
        assert (start.hour, start.minute) == (18, 0)
        assert start.astimezone(UTC) == meeting.starts_at
        assert start.utcoffset() == timedelta(hours=offset)
        # The VTIMEZONE in the file agrees, so a reader without tz data places it right too.
        assert _vtimezone_offset(cal, tz, start.replace(tzinfo=None)) == timedelta(hours=offset)
        assert event.decoded("DTEND") - start == timedelta(hours=3)
        assert str(event["UID"]) == f"meeting-{meeting.id}@roundtable"
        assert "Makers & Co" in str(event["SUMMARY"])
        assert str(event["LOCATION"]) == "The Hub, 1 High St"
        assert "Makers & Co" in str(event["DESCRIPTION"]) and "/meeting next" in str(event["DESCRIPTION"])
        again = _parse(calendar.meeting_ics(one, now=NOW + timedelta(days=1))).events[0]
        assert str(again["UID"]) == str(event["UID"])  # stable: a re-import updates, never duplicates
        assert calendar.meeting_filename(one) == f"makers-co-{day}.ics"


@pytest.mark.parametrize("tz", [z[0] for z in ZONES])
@pytest.mark.parametrize("rule", ["first tuesday", "last friday", "every 2 weeks on monday"])
async def test_the_series_rrule_expands_to_the_bots_own_dates(services: Services, tz: str, rule: str) -> None:
    gid = await make_group(services, timezone=tz)
    await services.groups.join(actor(ALICE), group_id=gid)
    await services.meetings.recurring(FAC, rule=rule, time="18:30", location="Zoom")
    nxt = await services.meetings.next(actor(ALICE))
    one, series = await services.meetings.calendar(actor(ALICE), meeting_id=nxt.id)
    assert series is not None
    cal = _parse(calendar.series_ics(series, now=NOW))
    [event] = cal.events
    assert str(event["UID"]) == f"series-{series.series_id}@roundtable"
    assert event["DTSTART"].params["TZID"] == tz
    start = event.decoded("DTSTART")
    assert start.astimezone(UTC) == nxt.starts_at  # the series' first date is the next meeting
    # Expand the file's RRULE as a calendar would: in the zone's wall-clock time, for two years.
    expanded = list(itertools.islice(du.rrulestr(event["RRULE"].to_ical().decode(), dtstart=start.replace(tzinfo=None)),
                                     30))
    from_file = [recurrence.local_instant(wall, tz) for wall in expanded]
    stored_rule, anchor = recurrence.load(series.rrule)
    bots = recurrence.occurrences(stored_rule, anchor, tz, after=NOW, count=30)
    assert from_file == bots
    # Across the clock changes the wall-clock time stays 18:30 in the group's zone.
    assert {instant.astimezone(ZoneInfo(tz)).strftime("%H:%M") for instant in from_file} == {"18:30"}
    assert len({instant.astimezone(ZoneInfo(tz)).utcoffset() for instant in from_file}) == 2
    for wall in expanded:  # and the file's VTIMEZONE gives the same offsets as zoneinfo
        assert _vtimezone_offset(cal, tz, wall) == wall.replace(tzinfo=ZoneInfo(tz)).utcoffset()
    assert str(event["LOCATION"]) == "Zoom"
    # The single meeting's file is still one event, not the series.
    assert len(_parse(calendar.meeting_ics(one, now=NOW)).events) == 1


async def test_the_series_file_leaves_out_cancelled_dates_and_shows_moved_ones(services: Services) -> None:
    gid = await make_group(services, timezone="Europe/London")
    await services.groups.join(actor(ALICE), group_id=gid)
    await services.meetings.recurring(FAC, rule="first tuesday", time="18:00")
    _, upcoming = await services.meetings.upcoming(actor(ALICE))
    first, second, third = upcoming
    await services.meetings.cancel(FAC, meeting_id=second.id)
    await services.meetings.move(FAC, meeting_id=third.id, when="2027-02-03 19:00")
    _, series = await services.meetings.calendar(actor(ALICE), meeting_id=first.id)
    assert series is not None
    cal = _parse(calendar.series_ics(series, now=NOW))
    main, override = cal.events
    exdates = [d.dt for d in main["EXDATE"].dts] if not isinstance(main["EXDATE"], list) else [
        d.dt for e in main["EXDATE"] for d in e.dts]
    assert [d.astimezone(UTC) for d in exdates] == [second.starts_at]
    assert str(override["UID"]) == str(main["UID"])
    assert override.decoded("RECURRENCE-ID").astimezone(UTC) == third.starts_at
    moved = override.decoded("DTSTART")
    assert (moved.day, moved.hour) == (3, 19) and moved.tzinfo is not None
    # A new series is a new calendar event (the old one's meetings were cancelled with it).
    await services.meetings.recurring(FAC, rule="last friday")
    nxt = await services.meetings.next(actor(ALICE))
    _, new = await services.meetings.calendar(actor(ALICE), meeting_id=nxt.id)
    assert new is not None and new.series_id != series.series_id
    [event] = _parse(calendar.series_ics(new, now=NOW)).events
    assert event["RRULE"].to_ical() == b"FREQ=MONTHLY;BYDAY=-1FR" and "EXDATE" not in event


async def test_only_members_get_the_files_and_not_for_a_cancelled_meeting(services: Services) -> None:
    gid = await make_group(services, timezone="UTC")
    await services.groups.join(actor(ALICE), group_id=gid)
    meeting = await services.meetings.schedule(FAC, when="2026-12-03 18:00")
    with pytest.raises(NotAllowed):
        await services.meetings.calendar(actor(BOB), meeting_id=meeting.id)
    with pytest.raises(NotFound):
        await services.meetings.calendar(actor(ALICE, guild=999), meeting_id=meeting.id)
    await services.meetings.cancel(FAC, meeting_id=meeting.id)
    with pytest.raises(InvalidInput, match="cancelled"):
        await services.meetings.calendar(actor(ALICE), meeting_id=meeting.id)


def test_file_names_are_safe() -> None:
    assert calendar.filename("Tuesday Founders") == "tuesday-founders-series.ics"
    assert calendar.filename("../../etc/passwd").startswith("etc-passwd")
    assert calendar.filename("🎉🎉") == "meeting-series.ics"
