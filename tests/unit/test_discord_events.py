"""Discord Events: the migration keeps every group's rows (SQLite must not rebuild peer_group), and
what a group's events should show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import text

from bot import migrate
from bot.clock import ManualClock
from bot.db import create_engine
from bot.services import Services
from bot.services.discord_events import MAX_LOCATION, EventsService, location_of


async def test_the_migration_up_and_down_keeps_the_groups_and_their_meetings(
    backend: str, _templates: object, tmp_path: Path
) -> None:
    from tests.conftest import drop_database_url
    from tests.unit.test_migrations import _empty_url

    url = await _empty_url(backend, _templates, tmp_path)
    engine = create_engine(url)
    at = "2026-11-01 10:00:00+00:00"
    try:
        await migrate.upgrade(engine, "0160")
        async with engine.begin() as connection:
            await connection.execute(text(
                "INSERT INTO peer_group (id, guild_id, channel_id, name, name_key, timezone, max_members, "
                "announce_commitments, board_notes, meeting_reminder_hours, reportback_lead_hours, "
                "checkin_nudge_lead_hours, pack_lead_hours, current_module_number, created_by, created_at) "
                "VALUES (1, 10, 20, 'Makers', 'makers', 'UTC', 8, false, 'member_chooses', '[168, 24]', 48, 72, "
                f"24, 1, 30, '{at}')"))
            await connection.execute(text(
                "INSERT INTO meeting (id, guild_id, group_id, starts_at, status, created_at) "
                f"VALUES (1, 10, 1, '{at}', 'scheduled', '{at}')"))
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT discord_events FROM peer_group"))).scalar_one() in (True, 1)
            channel = (await connection.execute(text("SELECT event_channel_id, event_channel_stage FROM peer_group"))).one()
            assert channel[0] is None and channel[1] in (False, 0)  # 0200: no event channel, the events stay external
            assert (await connection.execute(text("SELECT count(*) FROM meeting"))).scalar_one() == 1
        await migrate.downgrade(engine, "0170")  # 0200 down keeps the rows too
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM meeting"))).scalar_one() == 1
        await migrate.downgrade(engine, "0160")
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM meeting"))).scalar_one() == 1
            assert (await connection.execute(text("SELECT count(*) FROM peer_group"))).scalar_one() == 1
    finally:
        await engine.dispose()
        await drop_database_url(url)


def _row(**place: object) -> SimpleNamespace:
    values = {"location": None, "address": None, "place_link": None, "place_kind": None, **place}
    return SimpleNamespace(**values, starts_at=datetime(2026, 12, 1, 18, tzinfo=UTC))


def test_the_location_is_the_venue_and_address_or_online_never_the_link_within_100_characters() -> None:
    assert location_of(_row(location="The Hub", address="1 High St", place_kind="in_person"), None) == "The Hub, 1 High St"  # type: ignore[arg-type]
    online = _row(location="Zoom", place_link="https://meet.example/x", place_kind="online")
    assert location_of(online, None) == "Online: the link is in the group's channel"  # type: ignore[arg-type]
    series = _row(location="Series room", place_kind="in_person")
    assert location_of(_row(), series) == "Series room"  # type: ignore[arg-type]
    assert location_of(_row(), None) == "See the group's channel"  # type: ignore[arg-type]
    long = location_of(_row(location="x" * 100, address="y" * 100, place_kind="in_person"), None)  # type: ignore[arg-type]
    assert len(long) == MAX_LOCATION and long.endswith("…")


async def test_the_half_hourly_refresh_replans_only_groups_whose_meeting_came_within_the_window(
    services: Services, clock: ManualClock
) -> None:
    from tests.unit.test_groups import ADMIN, CHANNEL, actor, make_group

    events = services.get(EventsService)
    gid = await make_group(services)
    assert not await events.set_permission(1, False)  # never had it: nothing recorded
    fac = actor(ADMIN, channel=CHANNEL)
    guild_id = fac.guild_id
    assert await events.set_permission(guild_id, True)
    assert not await events.set_permission(guild_id, True)  # as recorded: no write, no re-sync
    meeting = await services.meetings.schedule(fac, when=(clock.now() + timedelta(days=45)).strftime("%Y-%m-%d 18:00"))
    assert meeting.id and gid
    assert await events.refresh() == 1  # at start: every listing group
    assert await events.refresh(since=timedelta(hours=1)) == 0  # 45 days out: nothing came within 30
    clock.advance(days=15, hours=9)  # the meeting (18:00 on day 45) is now inside the window by an hour
    assert await events.refresh(since=timedelta(hours=1)) == 0  # it came in more than an hour ago
    assert await events.refresh(since=timedelta(hours=3)) == 1
