"""Planning cost: ``plan_group`` for a group of 8 with a year of meetings (issue 20).

    python -m bench.plan [url] [--runs 200] [--profile]

A benchmark, not a test: it prints numbers for docs/PERFORMANCE.md. ``url`` is an empty database
(default: a fresh SQLite file in a temporary directory).

The services on a manual clock replay a year: a group of 8 created a year ago with a weekly series;
every week each member commits to something, answers the RSVP, the meeting ends, and every row
due by then is marked sent (as the dispatcher would have). Then
``plan_group`` runs ``--runs`` times in its own transaction with nothing changed — what every
command that touches a meeting or membership pays (target p99 ≤ 5 ms) — and, for comparison, the
same with the series' next meeting moved an hour each time (planning something). ``--profile``
prints where the unchanged runs spend their time (cProfile, top functions by cumulative time).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select, update

from bench._harness import distribution, machine
from bot.clock import ManualClock
from bot.db import create_engine, create_sessionmaker
from bot.features import bind_features
from bot.migrate import upgrade
from bot.models import Meeting, MeetingStatus, OutboxRow
from bot.models.outbox import PENDING
from bot.services import FEATURES, ServiceContext, Services
from bot.services.base import Actor
from bot.services.outbox import SENT, plan_group

GUILD, CHANNEL = 1_000_000_000_000_000_001, 2_000_000_000_000_000_001
MEMBERS = [3_000_000_000_000_000_001 + n for n in range(8)]
WEEKS = 52


def member(user_id: int, *, manager: bool = False) -> Actor:
    return Actor(guild_id=GUILD, user_id=user_id, channel_id=CHANNEL, can_manage_server=manager)


async def replay_year(services: Services, clock: ManualClock) -> int:
    """The group and its year; returns its id."""
    info = await services.groups.create(member(MEMBERS[0], manager=True), name="Founders", channel_id=CHANNEL)
    for user_id in MEMBERS[1:]:
        await services.groups.join(member(user_id), group_id=info.id)
    await services.meetings.recurring(member(MEMBERS[0]), rule="every week on tuesday", time="18:00")
    for week in range(WEEKS):
        upcoming = await services.meetings.next(member(MEMBERS[0]))
        clock.set(upcoming.starts_at - timedelta(days=5))
        for index, user_id in enumerate(MEMBERS):
            await services.commitments.add(member(user_id), text=f"Week {week} task {index}")
            await services.meetings.rsvp(guild_id=GUILD, user_id=user_id, meeting_id=upcoming.id,
                                         answer="going" if (week + index) % 5 else "no")
        clock.set(upcoming.starts_at + timedelta(hours=3))
        await services.groups.end_meeting(meeting_id=upcoming.id, actor=None)
        await dispatch_due(services, clock)
    return info.id


async def dispatch_due(services: Services, clock: ManualClock) -> None:
    """What the dispatcher would have done by now: every row due is sent (its message id made up)."""
    now = clock.now()
    async with services.groups.context.sessions.begin() as session:
        await session.execute(
            update(OutboxRow)
            .where(OutboxRow.status == PENDING, OutboxRow.due_at <= now)
            .values(status=SENT, sent_at=now, updated_at=now, message_id=OutboxRow.id + 10**15)
        )


async def time_runs(sessions, group_id: int, clock: ManualClock, runs: int, *, move: bool) -> list[float]:  # type: ignore[no-untyped-def]
    timings = []
    for run in range(runs):
        started = time.perf_counter()
        async with sessions.begin() as session:
            if move:
                meeting = await session.scalar(
                    select(Meeting).where(Meeting.group_id == group_id, Meeting.status == MeetingStatus.SCHEDULED)
                    .order_by(Meeting.starts_at).limit(1)
                )
                assert meeting is not None
                meeting.starts_at += timedelta(hours=1 if run % 2 == 0 else -1)
            await plan_group(session, group_id, clock.now())
        timings.append(time.perf_counter() - started)
    return timings


async def run(url: str, runs: int, profile: bool) -> None:
    print(f"machine: {machine()}")
    engine = create_engine(url)
    try:
        await upgrade(engine)
        sessions = create_sessionmaker(engine)
        bind_features(sessions, FEATURES)
        clock = ManualClock(datetime.now(UTC) - timedelta(days=7 * WEEKS + 3))
        services = Services.build(ServiceContext(sessions=sessions, clock=clock), FEATURES)
        started = time.perf_counter()
        group_id = await replay_year(services, clock)
        print(f"a year replayed in {time.perf_counter() - started:.1f} s ({engine.dialect.name}): 8 members, "
              f"{WEEKS} weekly meetings ended, {WEEKS * 8} commitments, {WEEKS * 8} RSVPs")
        await time_runs(sessions, group_id, clock, 20, move=False)  # warm the statement caches
        profiler = cProfile.Profile() if profile else None
        if profiler is not None:
            profiler.enable()
        same = await time_runs(sessions, group_id, clock, runs, move=False)
        if profiler is not None:
            profiler.disable()
        moved = await time_runs(sessions, group_id, clock, runs, move=True)
        statements: list[str] = []

        def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            statements.append(statement.split(None, 1)[0].upper())

        event.listen(engine.sync_engine, "before_cursor_execute", note)
        await time_runs(sessions, group_id, clock, 1, move=False)
        event.remove(engine.sync_engine, "before_cursor_execute", note)
        kinds = ", ".join(f"{n} {kind}" for kind, n in Counter(statements).most_common())
        print(f"plan_group, nothing changed ({runs} runs, a transaction each): {distribution(same)}")
        print(f"  statements in one unchanged run (its transaction included): {len(statements)} ({kinds})")
        print(f"plan_group, the next meeting moved an hour each run: {distribution(moved)}")
        if profiler is not None:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
            print(out.getvalue())
    finally:
        await engine.dispose()
    print(f"machine after: {machine()}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.plan", description=__doc__.split("\n")[0])
    parser.add_argument("url", nargs="?", help="an empty database (default: a fresh SQLite file)")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as directory:
        asyncio.run(run(args.url or f"sqlite+aiosqlite:///{directory}/plan.db", args.runs, args.profile))


if __name__ == "__main__":
    main()
