"""Hostile values at the data layer, on SQLite and PostgreSQL: ids beyond 64 bits, NUL bytes, and the
whole-bot freeze a failed SQLite statement used to leave behind for the garbage collector."""

from __future__ import annotations

import asyncio
import gc
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.db import SQLITE_BUSY_TIMEOUT_MS
from bot.errors import InvalidInput
from bot.models import Commitment, Meeting, MemberProfile
from bot.services import Services
from bot.services.base import Actor, require_id
from bot.services.commitments import CommitmentRef
from tests.unit.seeding import CHANNEL, GUILD, add_meeting, make_group

ANA, BOB = 4_000_000_000_000_000_001, 4_000_000_000_000_000_002
HUGE_IDS = [2**63, 9_223_372_036_854_775_808, 10**30, 0, -1]


def ana() -> Actor:
    return Actor(guild_id=GUILD, user_id=ANA, channel_id=CHANNEL, can_manage_server=True)


async def seed(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> int:
    group_id = await make_group(sessions, clock, name="Alpha", channel_id=CHANNEL, members=[ANA, BOB],
                                facilitators=(ANA,))
    await add_meeting(sessions, group_id, clock.now() + timedelta(days=7))
    return group_id


async def count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions.begin() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def load(services: Services, n: int = 20) -> None:
    """Other members' handlers writing and reading at once: every one must succeed."""
    zones = ["Europe/London", "Asia/Tokyo"]
    await asyncio.gather(
        *(services.guilds.set_member_timezone(Actor(guild_id=GUILD, user_id=5000 + k), zones[k % 2]) for k in range(n)),
        *(services.guilds.member_timezone(GUILD, 5000 + k) for k in range(n)),
    )


async def raw_connection(session: AsyncSession) -> Any:
    return (await (await session.connection()).get_raw_connection()).dbapi_connection


# --- the freeze ----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_failed_statement_leaves_nothing_for_the_garbage_collector_to_block_on(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], services: Services
) -> None:
    """The freeze of issue 19, replayed step by step.

    An overflowing id fails inside a query on connection X; its exception lives on in a reference
    cycle. Later another connection holds SQLite's write lock while X waits for it on aiosqlite's
    worker thread, and the garbage collector runs on the event loop. It used to free the failed
    cursor there, blocking on X's mutex for the whole busy timeout — so the lock holder (which needs
    the event loop to finish) never let go, and X failed with "database is locked".
    """
    holder = await engine.connect()  # checked out first, so the failed connection is the next one handed out
    gc.disable()
    try:
        async with sessions.begin() as session:
            failed_on = await raw_connection(session)
            # Long enough that only the freeze itself can exhaust it: a full collection of a big
            # test process's heap on a loaded machine may take seconds, which is not the bug.
            await session.execute(text("PRAGMA busy_timeout = 60000"))
            # Keep the failure alive the way a real one is: in a cycle only the collector can free.
            try:
                await session.get(Commitment, 10**30)
            except OverflowError as exc:
                trap: list[Any] = [exc]
                trap.append(trap)
                del trap
            else:
                pytest.fail("SQLite took a 100-bit integer")
            await session.rollback()

        waiting = asyncio.Event()

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _note_begin(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement == "BEGIN IMMEDIATE" and conn.connection.dbapi_connection is failed_on:
                waiting.set()

        locked, release = asyncio.Event(), asyncio.Event()

        async def hold_the_write_lock() -> None:
            async with holder.begin():
                await holder.execute(text("SELECT 1"))
                locked.set()
                await release.wait()

        async def wait_for_it() -> Any:
            await locked.wait()
            async with sessions.begin() as session:
                await session.execute(text("SELECT 1"))
                return await raw_connection(session)

        async def collect_while_it_waits() -> None:
            await waiting.wait()
            await asyncio.sleep(0.2)  # let the worker thread enter SQLite's busy wait
            gc.collect()
            release.set()

        _, waiter_connection, _ = await asyncio.gather(hold_the_write_lock(), wait_for_it(), collect_while_it_waits())
        assert waiter_connection is failed_on  # the scenario really ran on the failed connection
    finally:
        gc.enable()
        await holder.close()
    # And the bot carries on: later sessions read and write.
    await load(services, 3)
    assert await count(sessions, MemberProfile) == 3


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_sqlite_never_waits_long_for_a_lock(engine: AsyncEngine) -> None:
    assert SQLITE_BUSY_TIMEOUT_MS <= 5_000
    async with engine.connect() as connection:
        assert (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar() == SQLITE_BUSY_TIMEOUT_MS


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_write_lock_held_too_long_fails_the_waiter_not_the_bot(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], services: Services
) -> None:
    """A waiter gives up after the (short) busy timeout; the holder and later sessions are unharmed."""
    async with engine.connect() as holder, holder.begin():
        await holder.execute(text("SELECT 1"))
        with pytest.raises(OperationalError, match="database is locked"):
            async with sessions.begin() as session:
                await session.execute(text("SELECT 1"))
    await load(services, 3)
    assert await count(sessions, MemberProfile) == 3


# --- ids beyond 64 bits, at the service boundary ------------------------------------------------


@pytest.mark.parametrize("value", HUGE_IDS)
def test_ids_outside_the_64_bit_row_range_are_refused(value: int) -> None:
    with pytest.raises(InvalidInput, match="pick one from the list"):
        require_id(value, "meeting")
    assert require_id(2**63 - 1, "meeting") == 2**63 - 1


@pytest.mark.parametrize("typed", ["id:9223372036854775808", "id:" + "9" * 30, "id:²", "id:0"])
def test_a_commitment_reference_with_an_impossible_id_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput):
        CommitmentRef.parse(typed)


async def test_huge_ids_through_the_services_are_refused_and_the_bot_carries_on(
    services: Services, sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    group_id = await seed(sessions, clock)
    await services.commitments.add(ana(), text="Write the brief", group_id=group_id)
    meetings_before = await count(sessions, Meeting)
    for huge in HUGE_IDS:
        calls = [
            services.commitments.report(ana(), commitment=CommitmentRef(id=huge), status="done"),
            services.commitments.drop(ana(), commitment=CommitmentRef(id=huge)),
            services.commitments.add(ana(), text="x", group_id=huge),
            services.meetings.cancel(ana(), meeting_id=huge),
            services.meetings.rsvp(guild_id=GUILD, user_id=ANA, meeting_id=huge, answer="going"),
            services.groups.end_meeting(meeting_id=huge, actor=ana()),
            services.groups.join(ana(), group_id=huge),
            services.brainstorms.show(ana(), brainstorm_id=huge),
            services.commitments.report_by_button(user_id=ANA, commitment_id=huge, status="done"),
        ]
        for call in calls:
            with pytest.raises(InvalidInput):
                await call
        await load(services, 5)
    assert await count(sessions, Commitment) == 1
    assert await count(sessions, Meeting) == meetings_before
    await load(services)
    assert await count(sessions, MemberProfile) == 20


async def test_a_value_the_database_refuses_is_the_members_input_not_a_fault(
    services: Services, sessions: async_sessionmaker[AsyncSession], clock: ManualClock, engine: AsyncEngine
) -> None:
    """An id no service checks (here a member id beyond 64 bits) still ends as InvalidInput, the
    session is rolled back, and no connection is left checked out."""
    group_id = await seed(sessions, clock)
    for huge in (2**63, 10**30):
        with pytest.raises(InvalidInput, match="too large"):
            await services.commitments.list_commitments(ana(), member_id=huge, group_id=group_id)
    await load(services)
    assert await count(sessions, MemberProfile) == 20
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


# --- NUL bytes ------------------------------------------------------------------------------------


async def test_a_nul_byte_in_member_text_is_dropped_on_both_databases(
    services: Services, sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    group_id = await seed(sessions, clock)
    await services.commitments.add(ana(), text="Read\x00 the book\x00", group_id=group_id)
    await services.commitments.win(ana(), text="Fin\x00ished", group_id=group_id)
    async with sessions.begin() as session:
        stored = await session.scalar(select(Commitment.text))
    assert stored is not None and "\x00" not in stored
    assert stored.startswith("Read") and "the book" in stored
    # Searching with one (autocomplete) is no internal error either.
    await services.commitments.choices(ana(), "Re\x00ad", group_id=group_id)
