"""Reads that list many things run a bounded number of statements, whatever the history.

Counted with SQLAlchemy's cursor events on a real SQLite file and PostgreSQL: listing 3 meetings
and listing 20 costs the same; so does reading 2 open brainstorms and 12 for the recount at start,
and ``/commit stats`` over 3 cycles or 24.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import ManualClock
from bot.models import Commitment, Meeting, MeetingStatus, Rsvp
from bot.services import Services
from bot.services.commitments import DONE, NOT_DONE, PARTLY, CycleRate, cycle_rate, due_at_meeting
from tests.seeding import insert_meeting
from tests.unit.test_groups import ADMIN, ALICE, BOB, CHANNEL, GUILD, actor, make_group


@asynccontextmanager
async def counting(engine: AsyncEngine) -> AsyncIterator[list[str]]:
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)


async def statements_for(engine: AsyncEngine, read: Callable[[], Awaitable[object]]) -> int:
    async with counting(engine) as statements:
        await read()
    return len(statements)


async def add_meetings(services: Services, sessions: Any, group_id: int, clock: ManualClock, count: int,
                       offset: int) -> None:
    now = clock.now()
    async with sessions.begin() as session:
        for index in range(count):
            meeting = await insert_meeting(session, guild_id=GUILD, group_id=group_id, created_at=now,
                                           starts_at=now + timedelta(days=7 * (offset + index + 1)))
            for user_id, answer in ((ADMIN, "going"), (ALICE, "maybe"), (BOB, "no")):
                session.add(Rsvp(meeting_id=meeting.id, user_id=user_id, guild_id=GUILD, answer=answer, updated_at=now))


async def test_listing_meetings_costs_the_same_for_3_or_20(
    services: Services, sessions: Any, engine: AsyncEngine, clock: ManualClock
) -> None:
    group_id = await make_group(services)
    for user_id in (ALICE, BOB):
        await services.groups.join(actor(user_id, channel=CHANNEL), group_id=group_id)
    await add_meetings(services, sessions, group_id, clock, 3, 0)
    few = await statements_for(engine, lambda: services.meetings.upcoming(actor(ALICE, channel=CHANNEL)))
    _, listed = await services.meetings.upcoming(actor(ALICE, channel=CHANNEL))
    assert [m.number for m in listed] == [1, 2, 3]
    assert listed[0].answers["going"] == [ADMIN] and listed[0].counts["no"] == 1

    await add_meetings(services, sessions, group_id, clock, 17, 3)
    many = await statements_for(engine, lambda: services.meetings.upcoming(actor(ALICE, channel=CHANNEL)))
    _, listed = await services.meetings.upcoming(actor(ALICE, channel=CHANNEL))
    assert [m.number for m in listed] == list(range(1, 21))
    assert all(m.counts == listed[0].counts for m in listed), [m.counts for m in listed]
    assert listed[0].counts == {"going": 1, "maybe": 1, "no": 1}
    assert many == few, f"{few} statements for 3 meetings, {many} for 20"


async def test_the_recount_reads_every_open_brainstorm_in_a_bounded_number_of_statements(
    services: Services, engine: AsyncEngine
) -> None:
    await make_group(services)
    ana = actor(ADMIN, channel=CHANNEL)

    async def open_with_ideas(count: int) -> None:
        for index in range(count):
            opened = await services.brainstorms.open(ana, issue=f"Pricing question {index}")
            await services.brainstorms.attach_thread(brainstorm_id=opened.id, thread_id=9000 + opened.id,
                                                     message_id=8000 + opened.id)
            for idea in range(3):
                await services.brainstorms.add_idea(ana, text=f"Idea {idea}", brainstorm_id=opened.id)

    await open_with_ideas(2)
    few = await statements_for(engine, services.brainstorms.open_brainstorms)
    await open_with_ideas(10)
    many = await statements_for(engine, services.brainstorms.open_brainstorms)
    found = await services.brainstorms.open_brainstorms()
    assert len(found) == 12 and all(len(b.ideas) == 3 for b in found)
    assert [b.issue for b in found[:2]] == ["Pricing question 0", "Pricing question 1"]
    assert many == few, f"{few} statements for 2 brainstorms, {many} for 12"


async def test_listing_a_groups_brainstorms_costs_the_same_for_2_or_12(services: Services, engine: AsyncEngine) -> None:
    await make_group(services)
    ana = actor(ADMIN, channel=CHANNEL)
    for index in range(12):
        opened = await services.brainstorms.open(ana, issue=f"Hiring question {index}")
        await services.brainstorms.attach_thread(brainstorm_id=opened.id, thread_id=9000 + opened.id,
                                                 message_id=8000 + opened.id)
        if index == 1:
            few = await statements_for(engine, lambda: services.brainstorms.list_group(ana))
    many = await statements_for(engine, lambda: services.brainstorms.list_group(ana))
    _, listed = await services.brainstorms.list_group(ana)
    assert [b.number for b in listed] == list(range(12, 0, -1))
    assert many == few, f"{few} statements for 2 brainstorms, {many} for 12"


async def add_cycles(sessions: Any, group_id: int, clock: ManualClock, count: int, offset: int) -> None:
    """``count`` more weekly meetings, ended, each with Alice's commitments three ways: one made for
    it (done), one with no meeting whose date falls in its cycle (partly), and — every third week —
    a meeting cancelled in its cycle, with a commitment for it (not done) that counts in this cycle."""
    now = clock.now()
    async with sessions.begin() as session:
        number = await session.scalar(select(func.coalesce(func.max(Commitment.number), 0))
                                      .where(Commitment.group_id == group_id))
        for index in range(offset, offset + count):
            starts = now - timedelta(days=7 * (200 - index))
            meeting = await insert_meeting(session, guild_id=GUILD, group_id=group_id, created_at=now,
                                           starts_at=starts, status=MeetingStatus.ENDED)
            made: list[tuple[str, datetime, int | None]] = [(DONE, starts - timedelta(hours=1), meeting.id),
                                                            (PARTLY, starts - timedelta(days=2), None)]
            if index % 3 == 0:
                dropped = await insert_meeting(session, guild_id=GUILD, group_id=group_id, created_at=now,
                                               starts_at=starts - timedelta(days=3), status=MeetingStatus.CANCELLED)
                made.append((NOT_DONE, starts - timedelta(days=4), dropped.id))
            for status, due_at, meeting_id in made:
                number += 1
                session.add(Commitment(guild_id=GUILD, group_id=group_id, number=number, user_id=ALICE,
                                       text=f"Week {index}", due_at=due_at, meeting_id=meeting_id, status=status,
                                       created_at=now, updated_at=now))


async def test_commit_stats_costs_the_same_for_3_or_24_cycles(
    services: Services, sessions: Any, engine: AsyncEngine, clock: ManualClock
) -> None:
    group_id = await make_group(services)
    await services.groups.join(actor(ALICE, channel=CHANNEL), group_id=group_id)
    alice = actor(ALICE, channel=CHANNEL)

    async def check() -> int:
        stats = await services.commitments.stats(alice)
        # The same cycles as the board's definition, meeting by meeting (due_at_meeting).
        async with sessions() as session:
            expected = []
            for cycle in stats.cycles:
                meeting = await session.get(Meeting, cycle.meeting_id)
                expected.append(cycle_rate(await due_at_meeting(session, meeting, ALICE)))
        assert [c.rate for c in stats.cycles] == expected
        return await statements_for(engine, lambda: services.commitments.stats(alice))

    await add_cycles(sessions, group_id, clock, 3, 0)
    few = await check()
    stats = await services.commitments.stats(alice)
    assert [c.rate.counted for c in stats.cycles] == [2, 2, 3]  # newest first; week 0 had a cancelled meeting
    assert stats.cycles[-1].rate == CycleRate(done=1, partly=1, counted=3)

    await add_cycles(sessions, group_id, clock, 21, 3)
    many = await check()
    stats = await services.commitments.stats(alice)
    assert len(stats.cycles) == 24 and sum(c.rate.counted for c in stats.cycles) == 24 * 2 + 8
    assert many == few, f"{few} statements for 3 cycles, {many} for 24"
