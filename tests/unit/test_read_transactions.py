"""Read-only transactions (``Service.read``), on a SQLite file and PostgreSQL.

A read never takes SQLite's write lock: it reads while another connection holds a write
transaction (in WAL mode, the last committed snapshot), and a write inside it fails at once on
both databases. The connection it used writes normally afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.models import GuildSettings
from bot.services import Services

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def settings_row(guild_id: int) -> GuildSettings:
    return GuildSettings(guild_id=guild_id, timezone="UTC", created_at=NOW, updated_at=NOW)


async def stored(services: Services) -> set[int]:
    async with services.groups.read() as session:
        return set(await session.scalars(select(GuildSettings.guild_id)))


async def test_a_write_in_a_read_transaction_fails_and_stores_nothing(services: Services) -> None:
    with pytest.raises(DBAPIError, match=r"(?i)read-?only"):
        async with services.groups.read() as session:
            session.add(settings_row(1))
            await session.flush()
    assert await stored(services) == set()
    # The connection that refused it writes again in an ordinary transaction, and reads see it.
    async with services.groups.begin() as session:
        session.add(settings_row(2))
    assert await stored(services) == {2}


async def test_a_read_neither_waits_for_a_writer_nor_sees_its_uncommitted_rows(services: Services) -> None:
    async with services.groups.begin() as session:
        session.add(settings_row(1))
    writing, read_done = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with services.groups.begin() as session:  # SQLite: BEGIN IMMEDIATE, the write lock held
            session.add(settings_row(2))
            await session.flush()
            writing.set()
            await read_done.wait()  # holds the lock until the read is over

    task = asyncio.create_task(writer())
    await writing.wait()
    try:
        seen = await stored(services)  # a read that took the write lock would fail: "database is locked"
    finally:
        read_done.set()
        await task
    assert seen == {1}
    assert await stored(services) == {1, 2}


READ_ONLY_FLAG = {"sqlite": "PRAGMA query_only", "postgresql": "SHOW transaction_read_only"}
ON = {"sqlite": 1, "postgresql": "on"}
OFF = {"sqlite": 0, "postgresql": "off"}


async def test_the_connection_is_writable_again_after_a_read_even_a_failed_one(
    services: Services, engine: AsyncEngine
) -> None:
    dialect = engine.dialect.name
    for failing in (False, True):
        with pytest.raises(RuntimeError) if failing else contextlib.nullcontext():
            async with services.groups.read() as session:
                assert await session.scalar(text(READ_ONLY_FLAG[dialect])) == ON[dialect]
                await session.scalar(select(func.count()).select_from(GuildSettings))
                if failing:
                    raise RuntimeError("the handler failed mid-read")
        # The pool hands the same connection back (one in use at a time): it is writable again.
        async with engine.connect() as connection:
            assert await connection.scalar(text(READ_ONLY_FLAG[dialect])) == OFF[dialect]
