"""Places: a meeting's or a series' place (in person / online), inherited, changed, refused — on both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest
from sqlalchemy import select, text

from bot import calendar, migrate
from bot.db import create_engine
from bot.errors import InvalidInput, NotAllowed
from bot.models import Meeting, MeetingSeries
from bot.places import Place, PlaceKind, make_place
from bot.services import Services
from tests.unit.test_groups import ADMIN, ALICE, BOB, CHANNEL, actor, make_group

FAC = actor(ADMIN, channel=CHANNEL)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
HUB = Place(PlaceKind.IN_PERSON, "The Hub", "1 High St, Leeds", "https://maps.example/hub")


async def _group(services: Services) -> int:
    """The admin's group with Alice and Bob (three: a pair would need no facilitator)."""
    gid = await make_group(services, timezone="Europe/London")
    for user_id in (ALICE, BOB):
        await services.groups.join(actor(user_id), group_id=gid)
    return gid


async def _rows(services: Services) -> tuple[list[Meeting], list[MeetingSeries]]:
    async with services.meetings.begin() as session:
        return list(await session.scalars(select(Meeting))), list(await session.scalars(select(MeetingSeries)))


async def test_a_meeting_in_person_and_one_online(services: Services) -> None:
    await _group(services)
    there = await services.meetings.schedule(FAC, when="2026-12-03 18:00", location="The Hub",
                                             address="1 High St, Leeds", link="https://maps.example/hub")
    assert there.place == HUB and there.location == "The Hub"
    online = await services.meetings.schedule(FAC, when="2026-12-10 18:00", link="https://meet.example/abc")
    assert online.place == Place(PlaceKind.ONLINE, link="https://meet.example/abc")
    named = await services.meetings.schedule(FAC, when="2026-12-17 18:00", location="Zoom", online=True,
                                             link="https://zoom.example/j/1")
    assert named.place == Place(PlaceKind.ONLINE, "Zoom", link="https://zoom.example/j/1")
    _, upcoming = await services.meetings.upcoming(actor(ALICE))
    assert [m.place for m in upcoming] == [there.place, online.place, named.place]
    nothing = await services.meetings.schedule(FAC, when="2026-12-24 18:00")
    assert nothing.place is None


@pytest.mark.parametrize(("options", "message"), [
    ({"link": "javascript:alert(1)"}, "https://"),
    ({"link": "ftp://files.example/x"}, "https://"),
    ({"link": "https://"}, "https://"),
    ({"location": "v" * 101}, "venue is 101 characters long; at most 100"),
    ({"address": "a" * 201}, "address is 201 characters long; at most 200"),
    ({"link": "https://x.example/" + "l" * 490}, "link is 508 characters long; at most 500"),
    ({"location": "Zoom", "online": True}, "online meeting needs its link"),
    ({"online": True}, "online meeting needs its link"),
    ({"link": "https://meet.example/a", "online": False}, "needs a `venue:` or an `address:`"),
])
async def test_a_bad_place_is_refused_and_nothing_is_stored(services: Services, options: dict[str, object],
                                                            message: str) -> None:
    await _group(services)
    with pytest.raises(InvalidInput, match=re.escape(message)):
        await services.meetings.schedule(FAC, when="2026-12-03 18:00", **options)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await services.meetings.recurring(FAC, rule="first tuesday", **options)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await services.meetings.set_place(FAC, **{("venue" if k == "location" else k): v  # type: ignore[arg-type]
                                                   for k, v in options.items()})
    assert await _rows(services) == ([], [])


async def test_a_series_meeting_inherits_its_place_unless_it_has_its_own(services: Services) -> None:
    await _group(services)
    series = await services.meetings.recurring(FAC, rule="first tuesday", time="18:00", location="The Hub",
                                               address="1 High St, Leeds", link="https://maps.example/hub")
    assert series.place == HUB and series.location == "The Hub"
    _, (first, second, third) = await services.meetings.upcoming(actor(ALICE))
    assert first.place == second.place == third.place == HUB

    # The second meeting goes online; the series moves; the others follow the series, not the second.
    online = await services.meetings.set_place(FAC, meeting_id=second.id, link="https://meet.example/x")
    assert online.starts_at == second.starts_at and online.place == Place(PlaceKind.ONLINE, link="https://meet.example/x")
    moved = await services.meetings.set_place(FAC, series=True, venue="The Loft")
    assert moved.starts_at is None and moved.place == Place(PlaceKind.IN_PERSON, "The Loft")
    _, upcoming = await services.meetings.upcoming(actor(ALICE))
    assert [m.place for m in upcoming] == [moved.place, online.place, moved.place]
    assert (await services.meetings.next(actor(ALICE))).place == moved.place
    pack = await services.minutes.pack(meeting_id=second.id)
    assert pack is not None and pack.place == online.place

    # Clearing the second's own place gives it the series' again; the default target is the next meeting.
    cleared = await services.meetings.set_place(FAC, meeting_id=second.id, clear=True)
    assert cleared.place == moved.place
    await services.meetings.set_place(FAC, venue="Café Nord", address="2 Low St")
    _, upcoming = await services.meetings.upcoming(actor(ALICE))
    assert [m.place for m in upcoming] == [Place(PlaceKind.IN_PERSON, "Café Nord", "2 Low St"), moved.place,
                                           moved.place]


async def test_changing_a_place_needs_a_facilitator_and_a_place(services: Services) -> None:
    await _group(services)
    await services.meetings.schedule(FAC, when="2026-12-03 18:00", location="The Hub")
    with pytest.raises(NotAllowed):
        await services.meetings.set_place(actor(ALICE), venue="My flat")
    with pytest.raises(InvalidInput, match="Give the place"):
        await services.meetings.set_place(FAC)
    with pytest.raises(InvalidInput, match="not both"):
        await services.meetings.set_place(FAC, venue="The Loft", clear=True)
    with pytest.raises(InvalidInput, match="not both"):
        await services.meetings.set_place(FAC, series=True, meeting_id=1, venue="The Loft")
    assert (await services.meetings.next(actor(ALICE))).place == Place(PlaceKind.IN_PERSON, "The Hub")


async def test_an_old_free_text_location_reads_as_the_venue(services: Services) -> None:
    await _group(services)
    meeting = await services.meetings.schedule(FAC, when="2026-12-03 18:00")
    async with services.meetings.begin() as session:  # a row from before places: location only
        row = await session.get(Meeting, meeting.id)
        assert row is not None
        row.location = "Room 4, or the call link"
    assert (await services.meetings.next(actor(ALICE))).place == Place(PlaceKind.IN_PERSON, "Room 4, or the call link")


async def test_the_calendar_files_carry_location_and_url(services: Services) -> None:
    await _group(services)
    await services.meetings.recurring(FAC, rule="first tuesday", time="18:00", location="The Hub",
                                      address="1 High St, Leeds", link="https://maps.example/hub")
    _, (first, second, _third) = await services.meetings.upcoming(actor(ALICE))
    await services.meetings.set_place(FAC, meeting_id=second.id, link="https://meet.example/x")
    one, series = await services.meetings.calendar(actor(ALICE), meeting_id=first.id)
    assert series is not None
    [event] = icalendar.Calendar.from_ical(calendar.meeting_ics(one, now=NOW)).events
    assert str(event["LOCATION"]) == "The Hub, 1 High St, Leeds" and str(event["URL"]) == "https://maps.example/hub"
    [main] = icalendar.Calendar.from_ical(calendar.series_ics(series, now=NOW)).events
    assert str(main["LOCATION"]) == "The Hub, 1 High St, Leeds" and str(main["URL"]) == "https://maps.example/hub"
    online, _ = await services.meetings.calendar(actor(ALICE), meeting_id=second.id)
    [event] = icalendar.Calendar.from_ical(calendar.meeting_ics(online, now=NOW)).events
    assert str(event["LOCATION"]) == "Online" and str(event["URL"]) == "https://meet.example/x"
    bare = await services.meetings.schedule(FAC, when="2026-12-20 18:00")
    alone, _ = await services.meetings.calendar(actor(ALICE), meeting_id=bare.id)
    [event] = icalendar.Calendar.from_ical(calendar.meeting_ics(alone, now=NOW)).events
    assert "LOCATION" not in event and "URL" not in event


def test_make_place_reads_the_options() -> None:
    assert make_place() is None
    assert make_place(venue="  The   Hub ") == Place(PlaceKind.IN_PERSON, "The Hub")
    assert make_place(link="HTTPS://meet.example/a") == Place(PlaceKind.ONLINE, link="HTTPS://meet.example/a")
    assert make_place(address="1 High St", link="https://maps.example") == Place(
        PlaceKind.IN_PERSON, address="1 High St", link="https://maps.example")


async def test_the_migration_keeps_old_locations_as_venues(backend: str, _templates: object, tmp_path: Path) -> None:
    """0160 on a database with free-text locations: a one-off meeting's becomes its venue (in person); a
    series meeting's copy of its series' location is dropped, so it follows the series' place."""
    from tests.conftest import drop_database_url
    from tests.unit.test_migrations import _empty_url

    url = await _empty_url(backend, _templates, tmp_path)
    engine = create_engine(url)
    at = "2026-11-01 10:00:00+00:00"
    try:
        await migrate.upgrade(engine, "0140")
        async with engine.begin() as connection:
            await connection.execute(text(
                "INSERT INTO peer_group (id, guild_id, channel_id, name, name_key, timezone, max_members, "
                "announce_commitments, board_notes, meeting_reminder_hours, reportback_lead_hours, "
                "checkin_nudge_lead_hours, pack_lead_hours, current_module_number, created_by, created_at) "
                "VALUES (1, 10, 20, 'Makers', 'makers', 'UTC', 8, false, 'member_chooses', '[168, 24]', 48, 72, "
                f"24, 1, 30, '{at}')"))
            await connection.execute(text(
                "INSERT INTO meeting_series (id, guild_id, group_id, rule_text, rrule, local_time, location, "
                f"created_by, created_at) VALUES (1, 10, 1, 'first tuesday', 'x', '18:00', 'The Hub', 30, '{at}')"))
            for mid, series, location in ((1, None, "Café Nord"), (2, 1, "The Hub"), (3, 1, "Room 4"), (4, None, None)):
                await connection.execute(text(
                    "INSERT INTO meeting (id, guild_id, group_id, series_id, starts_at, location, status, created_at) "
                    f"VALUES (:id, 10, 1, :series, '{at}', :location, 'scheduled', '{at}')"),
                    {"id": mid, "series": series, "location": location})
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            rows = (await connection.execute(text(
                "SELECT id, location, place_kind FROM meeting ORDER BY id"))).all()
            series_row = (await connection.execute(text("SELECT location, place_kind FROM meeting_series"))).one()
        assert [tuple(r) for r in rows] == [(1, "Café Nord", "in_person"), (2, None, None), (3, "Room 4", "in_person"),
                                            (4, None, None)]
        assert tuple(series_row) == ("The Hub", "in_person")
    finally:
        await engine.dispose()
        await drop_database_url(url)
