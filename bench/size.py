"""Memory and start-up at size: many servers and groups, then a fan-out, in the real bot.

    python -m bench.size [url] [--servers 1000] [--groups 10000] [--size 6] [--fanout 10000]

A benchmark, not a test: it prints numbers for docs/PERFORMANCE.md. ``url`` is an empty database
(default: a fresh SQLite file in a temporary directory; PostgreSQL: a database made for it, e.g.
``postgresql://postgres@127.0.0.1:5432/bench_size`` after ``CREATE DATABASE bench_size``).

The world: ``--groups`` groups of ``--size`` members spread over ``--servers`` servers, each group
with two open commitments per member and a monthly series set through the real service
(``MeetingService.recurring``: the series, its meetings for the horizon, every planned outbox row).
The seeding runs in a child process, so the bot's process starts as ``python -m bot`` would: it
has never held the seeding's objects. The simulator runs in another child (``bench/_harness.py``).

Measured in the bot's process: ready (``on_ready``) after ``App.start()``; RSS (VmRSS) and its
peak (VmHWM) after ready with the start-up heap frozen, as ``python -m bot`` does; then
``--fanout`` of the planned report-back DMs made due now and sent with the limits off (the
dispatcher's pacer unlimited), and RSS again once they are sent. The database's size per group:
the SQLite file (WAL checkpointed) or ``pg_database_size``.
Targets (issue 20): RSS ≤ 150 MiB after start-up and after the fan-out; ready ≤ 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import multiprocessing
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import make_url

from bench._harness import SimProcess, SimWorld, _poll, build_app, machine
from bot.app import App, freeze_startup_heap
from bot.db import create_engine
from bot.models import Commitment, DMChannel, Group, GroupMember, Meeting, OutboxRow
from bot.models.outbox import PENDING
from bot.services.base import Actor
from bot.services.outbox import REPORTBACK_DM, SENT, note_outbox_change

COMMITMENTS_PER_MEMBER = 2
RULE = "first tuesday"
RSS_TARGET_MIB = 150
READY_TARGET_S = 10


def memory() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MiB."""
    values: dict[str, float] = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


# --- seeding, in a child process ----------------------------------------------------------------------


async def _seed_base(app: App, world: SimWorld, joined: datetime) -> None:
    """Groups, members and their stored DM channels (steady state: a DM is one request), in bulk."""
    await app.migrate()
    groups: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    dm_channels: list[dict[str, Any]] = []
    for group_id, group in enumerate(world.groups, start=1):
        groups.append(dict(
            id=group_id, guild_id=group.guild_id, channel_id=group.channel_id, name=f"Group {group_id}",
            name_key=f"group {group_id}", timezone="Europe/London", created_by=group.members[0][0],
            created_at=joined,
        ))
        for position, (user_id, dm_channel_id) in enumerate(group.members):
            members.append(dict(group_id=group_id, user_id=user_id, guild_id=group.guild_id,
                                is_facilitator=position == 0, joined_at=joined + timedelta(seconds=position)))
            dm_channels.append(dict(user_id=user_id, channel_id=dm_channel_id, updated_at=joined))
    await _insert(app, ((Group, groups), (GroupMember, members), (DMChannel, dm_channels)))


async def _seed_series(app: App, world: SimWorld, part: int, parts: int) -> None:
    """Every ``parts``-th group's series through the real service (``MeetingService.recurring``)."""
    started = time.monotonic()
    for group_id, group in enumerate(world.groups, start=1):
        if group_id % parts != part:
            continue
        actor = Actor(guild_id=group.guild_id, user_id=group.members[0][0])
        await app.services.meetings.recurring(actor, rule=RULE, time="18:30", location="The Old Library", group_id=group_id)
        if part == 0 and group_id % 1_000 < parts:
            print(f"  seeded about {group_id:,} groups ({time.monotonic() - started:.0f} s)", flush=True)


async def _seed_commitments(app: App, world: SimWorld, joined: datetime) -> int:
    """Two open commitments per member, due at the group's first meeting; returns the outbox's rows."""
    async with app.sessions() as session:
        first = dict((await session.execute(
            select(Meeting.group_id, func.min(Meeting.id)).group_by(Meeting.group_id)
        )).all())
        due = {m.id: m.starts_at for m in await session.scalars(select(Meeting).where(Meeting.id.in_(first.values())))}
        rows = await session.scalar(select(func.count()).select_from(OutboxRow)) or 0
    commitments: list[dict[str, Any]] = []
    for group_id, group in enumerate(world.groups, start=1):
        meeting_id = first[group_id]
        for position, (user_id, _dm) in enumerate(group.members):
            for n in range(COMMITMENTS_PER_MEMBER):
                commitments.append(dict(
                    guild_id=group.guild_id, group_id=group_id, number=position * COMMITMENTS_PER_MEMBER + n + 1,
                    user_id=user_id, text=f"Commitment {n + 1} of member {position + 1}", meeting_id=meeting_id,
                    due_at=due[meeting_id] - timedelta(hours=1), created_at=joined, updated_at=joined,
                ))
    await _insert(app, ((Commitment, commitments),))
    # What fell due while seeding (each new series' first module prompt) counts as sent, as it would
    # have been at each group's set-up: the bot starts at steady state.
    now = datetime.now(UTC)
    async with app.sessions.begin() as session:
        await session.execute(
            update(OutboxRow).where(OutboxRow.status == PENDING, OutboxRow.due_at <= now + timedelta(minutes=5))
            .values(status=SENT, sent_at=now, updated_at=now, message_id=OutboxRow.id + 10**15)
        )
    return rows


async def _insert(app: App, tables: Sequence[tuple[type[Any], list[dict[str, Any]]]]) -> None:
    async with app.engine.begin() as conn:
        for model, values in tables:
            for start in range(0, len(values), 5_000):
                await conn.execute(insert(model), values[start:start + 5_000])


async def _seed_step(url: str, world: SimWorld, step: str, part: int, parts: int, joined: datetime) -> int:
    app = build_app(url, world, budget=25)
    try:
        if step == "base":
            await _seed_base(app, world, joined)
        elif step == "series":
            await _seed_series(app, world, part, parts)
        else:
            return await _seed_commitments(app, world, joined)
        return 0
    finally:
        await app.engine.dispose()


def _seed_child(url: str, world: SimWorld, step: str, part: int, parts: int, joined: datetime, conn: Any) -> None:
    logging.basicConfig(level=logging.WARNING)
    conn.send(asyncio.run(_seed_step(url, world, step, part, parts, joined)))


def _in_children(url: str, world: SimWorld, step: str, parts: int, joined: datetime) -> int:
    context = multiprocessing.get_context("spawn")
    running = []
    for part in range(parts):
        parent, child = context.Pipe()
        process = context.Process(target=_seed_child, args=(url, world, step, part, parts, joined, child),
                                  name=f"seed-{step}-{part}")
        process.start()
        child.close()
        running.append((process, parent))
    results = []
    for process, parent in running:
        try:
            results.append(parent.recv())
        except EOFError:
            results.append(None)
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"seeding ({step}) failed in {process.name} (exit {process.exitcode})")
    return sum(r or 0 for r in results)


def seed_world(url: str, world: SimWorld, jobs: int) -> tuple[float, int]:
    """Seed in child processes (the bot's process never holds the seeding's objects); the series in
    ``jobs`` processes at once. Returns (seconds for the series, outbox rows planned)."""
    joined = datetime.now(UTC) - timedelta(days=30)
    _in_children(url, world, "base", 1, joined)
    started = time.monotonic()
    _in_children(url, world, "series", jobs, joined)
    seconds = time.monotonic() - started
    return seconds, _in_children(url, world, "commitments", 1, joined)


# --- the bot ---------------------------------------------------------------------------------------------


async def _database_size(url: str) -> int:
    """The database's size on disk: the SQLite file (its WAL was checkpointed when the seeding's
    last connection closed) or ``pg_database_size``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        return sum(p.stat().st_size for p in (path, path.with_name(f"{path.name}-wal")) if p.exists())
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(text("SELECT pg_database_size(current_database())")) or 0)
    finally:
        await engine.dispose()


async def _none_left(app: App, ids: Sequence[int]) -> bool:
    async with app.sessions() as session:
        return not await session.scalar(select(func.count()).where(OutboxRow.id.in_(ids), OutboxRow.status == PENDING))


async def run(url: str, *, servers: int, groups: int, size: int, fanout: int, profile: str | None,
              jobs: int) -> None:
    print(f"machine: {machine()}")
    members = groups * size
    per_server = -(-groups // servers)
    sim = await SimProcess.start(
        members=members, rate_limits=False, open_dms=True, group_size=size, groups_per_server=per_server
    )
    try:
        world = sim.world
        print(f"world: {len(world.groups):,} groups of {size} in {servers:,} servers ({members:,} members)")
        seeding, planned = await asyncio.to_thread(seed_world, url, world, jobs)
        print(f"seeded: every group's series through MeetingService.recurring in {seeding:.0f} s with {jobs} "
              f"process(es) ({seeding / groups * 1000 * jobs:.1f} ms a group each); {planned:,} outbox rows planned")
        size_bytes = await _database_size(url)
        print(f"database: {make_url(url).get_backend_name()} {size_bytes / 2**20:.1f} MiB = "
              f"{size_bytes / groups / 1024:.1f} KiB per group")
        rss_before, _ = memory()
        app = build_app(url, world, budget=25)
        from bench.fanout import UNLIMITED
        from bot.dispatch import Pacer

        app.scheduler.dispatcher.pacer = Pacer(UNLIMITED)
        ready = asyncio.get_running_loop().create_future()

        async def on_ready() -> None:
            if not ready.done():
                ready.set_result(time.monotonic())

        app.bot.add_listener(on_ready, "on_ready")
        try:
            started = time.monotonic()
            await app.start()
            ready_at = await ready
            freeze_startup_heap()
            rss_ready, peak_ready = memory()
            print(f"start-up: ready {ready_at - started:.2f} s after App.start() (target ≤ {READY_TARGET_S} s); "
                  f"RSS {rss_ready:.0f} MiB, peak {peak_ready:.0f} MiB (target ≤ {RSS_TARGET_MIB} MiB); "
                  f"{rss_before:.0f} MiB before the App was built")
            if fanout:
                now = datetime.now(UTC)
                async with app.sessions.begin() as session:
                    ids = list(await session.scalars(
                        select(OutboxRow.id).where(OutboxRow.kind == REPORTBACK_DM, OutboxRow.status == PENDING)
                        .order_by(OutboxRow.due_at, OutboxRow.id).limit(fanout)
                    ))
                    await session.execute(update(OutboxRow).where(OutboxRow.id.in_(ids)).values(due_at=now))
                    note_outbox_change(session, now)  # the scheduler wakes for them, as after a command
                profiler = cProfile.Profile() if profile else None
                if profiler:
                    profiler.enable()
                sent_from = time.monotonic()
                await _poll(lambda: _none_left(app, ids), every=0.5)
                took = time.monotonic() - sent_from
                if profiler:
                    profiler.disable()
                    profiler.dump_stats(profile)
                    print(f"profile of the fan-out: {profile}")
                rss_after, peak_after = memory()
                print(f"fan-out: {len(ids):,} report-back DMs sent in {took:.1f} s (limits off); "
                      f"RSS {rss_after:.0f} MiB, peak {peak_after:.0f} MiB (target ≤ {RSS_TARGET_MIB} MiB)")
        finally:
            await app.stop()
    finally:
        sim.close()
    print(f"machine after: {machine()}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.size", description=__doc__.split("\n")[0])
    parser.add_argument("url", nargs="?", help="an empty database (default: a fresh SQLite file)")
    parser.add_argument("--servers", type=int, default=1_000)
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=6, help="members per group")
    parser.add_argument("--fanout", type=int, default=10_000, help="report-back DMs made due and sent (0: none)")
    parser.add_argument(
        "--jobs", type=int, default=None,
        help="processes seeding the series at once (default: 1 on SQLite, whose writers queue; 2 on PostgreSQL)",
    )
    parser.add_argument("--profile", metavar="PATH", help="cProfile the bot's process during the fan-out into PATH")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-size-") as directory:
        url = args.url or f"sqlite+aiosqlite:///{directory}/size.db"
        jobs = args.jobs or (1 if make_url(url).get_backend_name() == "sqlite" else 2)
        asyncio.run(run(url, servers=args.servers, groups=args.groups, size=args.size, fanout=args.fanout,
                        profile=args.profile, jobs=jobs))


if __name__ == "__main__":
    main()
