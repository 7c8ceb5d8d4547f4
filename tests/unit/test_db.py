"""The data layer on both databases: aware UTC datetimes, 64-bit snowflakes, serialised SQLite writes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.models import GuildSettings, MemberProfile
from bot.services import Services
from bot.services.base import Actor

BIG = 1_234_567_890_123_456_789  # a snowflake beyond 32 bits


async def test_datetimes_come_back_aware_utc_and_snowflakes_fit(sessions) -> None:
    local = datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=-5)))
    async with sessions.begin() as session:
        session.add(GuildSettings(guild_id=BIG, timezone="UTC", facilitator_role_id=BIG + 1,
                                  created_at=local, updated_at=local))
    async with sessions() as session:
        row = await session.scalar(select(GuildSettings).where(GuildSettings.guild_id == BIG))
    assert row is not None
    assert row.facilitator_role_id == BIG + 1
    assert row.created_at.tzinfo is not None
    assert row.created_at.utcoffset() == timedelta(0)
    assert row.created_at == local.astimezone(UTC)


async def test_naive_datetimes_are_refused(sessions) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        async with sessions.begin() as session:
            session.add(GuildSettings(guild_id=1, timezone="UTC", created_at=datetime(2026, 1, 1),
                                      updated_at=datetime(2026, 1, 1)))


async def test_concurrent_writers_never_see_database_is_locked(services: Services, sessions) -> None:
    """Fifty handlers writing at once all succeed (SQLite: BEGIN IMMEDIATE + busy timeout)."""
    actors = [Actor(guild_id=7, user_id=1000 + n) for n in range(50)]
    zones = ["Europe/London", "America/New_York", "Australia/Sydney"]
    results = await asyncio.gather(
        *(services.guilds.set_member_timezone(actor, zones[n % 3]) for n, actor in enumerate(actors))
    )
    assert len(results) == 50
    async with sessions() as session:
        stored = list(await session.scalars(select(MemberProfile).where(MemberProfile.guild_id == 7)))
    assert len(stored) == 50
    assert {row.timezone for row in stored} == set(zones)


async def test_member_timezone_falls_back_to_the_server_then_utc(services: Services) -> None:
    admin = Actor(guild_id=9, user_id=1, can_manage_server=True)
    assert await services.guilds.member_timezone(9, 2) == "UTC"
    await services.guilds.setup(admin, timezone="europe/berlin", facilitator_role_id=None)
    assert await services.guilds.member_timezone(9, 2) == "Europe/Berlin"
    await services.guilds.set_member_timezone(Actor(guild_id=9, user_id=2), "Asia/Tokyo")
    assert await services.guilds.member_timezone(9, 2) == "Asia/Tokyo"
    # Another server never sees this member's setting.
    assert await services.guilds.member_timezone(10, 2) == "UTC"


async def test_server_setup_needs_manage_server_and_a_real_timezone(services: Services) -> None:
    from bot.errors import InvalidInput, NotAllowed

    with pytest.raises(NotAllowed):
        await services.guilds.setup(Actor(guild_id=9, user_id=1), timezone="UTC", facilitator_role_id=None)
    with pytest.raises(InvalidInput, match="isn't a timezone"):
        await services.guilds.setup(
            Actor(guild_id=9, user_id=1, can_manage_server=True), timezone="Mars/Olympus", facilitator_role_id=None
        )
    assert (await services.guilds.get(9)).timezone == "UTC"  # nothing stored
