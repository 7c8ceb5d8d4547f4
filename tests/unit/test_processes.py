"""Processes count themselves in PostgreSQL and share the send budget (bot.processes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import create_engine, create_sessionmaker
from bot.models import BotProcess
from bot.processes import LIVE_SECONDS, IdentifyGate, ProcessRegistry, share
from tests.conftest import _Templates, drop_database_url, fresh_database_url

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pg_sessions(_templates: _Templates, tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = await fresh_database_url("postgres", _templates, tmp_path)  # skips with the reason without PostgreSQL
    engine = create_engine(url)
    yield create_sessionmaker(engine)
    await engine.dispose()
    await drop_database_url(url)


def test_each_process_takes_an_equal_share_of_the_budget() -> None:
    assert share(40, 1) == 40 and share(40, 2) == 20 and share(45, 3) == 15
    assert share(25, 0) == 25  # never more than the whole budget


async def test_live_processes_count_themselves_and_a_stopped_one_leaves(
    pg_sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, second = ProcessRegistry(pg_sessions, [0]), ProcessRegistry(pg_sessions, [1])
    assert await first.heartbeat() == 1
    assert await second.heartbeat() == 2
    assert await first.heartbeat() == 2 and await first.heartbeat() == 2  # a heartbeat is not a new process
    async with pg_sessions() as session:
        rows = {row.id: row.shard_ids for row in await session.scalars(select(BotProcess))}
    assert rows == {first.id: "0", second.id: "1"}

    await second.leave()
    assert await first.heartbeat() == 1


async def test_a_process_that_stopped_heartbeating_stops_counting(
    pg_sessions: async_sessionmaker[AsyncSession],
) -> None:
    alive, dead = ProcessRegistry(pg_sessions, None), ProcessRegistry(pg_sessions, None)
    await dead.heartbeat()
    assert await alive.heartbeat() == 2
    async with pg_sessions.begin() as session:  # the dead one's last heartbeat, LIVE_SECONDS + 1 ago
        await session.execute(
            text("UPDATE bot_processes SET heartbeat_at = heartbeat_at - make_interval(secs => :seconds) WHERE id = :id"),
            {"seconds": LIVE_SECONDS + 1, "id": dead.id},
        )
    assert await alive.heartbeat() == 1


async def test_the_identify_gate_lets_one_process_per_bucket_identify_at_a_time(
    pg_sessions: async_sessionmaker[AsyncSession],
) -> None:
    engine = pg_sessions.kw["bind"]
    first, second = IdentifyGate(engine, window=60), IdentifyGate(engine, window=60)
    try:
        await first.wait_turn(0)
        await second.wait_turn(1)  # another bucket: at once
        waiting = asyncio.create_task(second.wait_turn(0))
        await asyncio.sleep(0.2)
        assert not waiting.done()  # bucket 0 is the first process's for its window
        await first.close()  # its window ends (here: it stops)
        async with asyncio.timeout(10):
            await waiting
    finally:
        await first.close()
        await second.close()
