"""Shards benchmark: N report-back DMs fanned out by two bot processes sharing one send budget.

    /tmp/venv/bin/python -m bench.shards postgresql://postgres@127.0.0.1:5432/bench [--dms 10000] [--budget 40]

A benchmark, not a test: it prints numbers for docs/PERFORMANCE.md. ``url`` is an empty PostgreSQL
database (several processes need PostgreSQL), e.g. after ``CREATE DATABASE bench``.

Two real Apps (every cog), ``SHARD_COUNT=2`` and ``SHARD_IDS=0`` / ``1``, each with its own engine,
gateway connection and scheduler, on one database; the simulator in its own process enforces
Discord's global limit (50 requests/s, counted across both connections: one token) and its
per-route buckets. The rows fall due a few seconds after both are ready, so both count each other
(``bot_processes``) and each paces at half of ``--budget`` (SEND_BUDGET_PER_SECOND, the bot's total).
Measured: first to last send against the floor N / budget (target within 10 %), the 429s (target:
no global one), every row sent exactly once (0 lost, 0 duplicated), and how the sends split.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bench._harness import GLOBAL_LIMIT, SimProcess, SimWorld, _poll, check_delivery, machine, seed
from bot.app import App, freeze_startup_heap
from bot.clock import SystemClock
from bot.models import OutboxRow
from bot.models.outbox import PENDING
from bot.settings import Settings

SHARDS = 2
LEAD_SECONDS = 15.0  # the rows fall due this long after seeding: both processes are up and counted


def sharded_app(url: str, world: SimWorld, *, shard: int, budget: float) -> App:
    settings = Settings(
        discord_token=world.token,
        database_url=url,
        discord_api_base=world.api_base,
        send_budget_per_second=budget,
        shard_count=SHARDS,
        shard_ids=[shard],
        _env_file=None,  # type: ignore[call-arg]
    )
    return App(settings, clock=SystemClock())


def count_sends(app: App, tally: list[int]) -> None:
    mark_sent: Callable[..., Awaitable[None]] = app.services.outbox.mark_sent

    async def mark(*args: Any, **kwargs: Any) -> None:
        await mark_sent(*args, **kwargs)
        tally[0] += 1

    app.services.outbox.mark_sent = mark  # type: ignore[method-assign]


async def pending(app: App) -> int:
    async with app.sessions() as session:
        return int(await session.scalar(select(func.count()).where(OutboxRow.status == PENDING)) or 0)


async def drained(sim: SimProcess, app: App, dms: int) -> bool:
    return await sim.messages() >= dms and not await pending(app)


async def run(url: str, dms: int, *, budget: float) -> None:
    print(f"machine: {machine()}")
    sim = await SimProcess.start(members=dms, rate_limits=True, open_dms=True)
    apps = [sharded_app(url, sim.world, shard=shard, budget=budget) for shard in range(SHARDS)]
    tallies = [[0] for _ in apps]
    try:
        await apps[0].migrate()
        due = datetime.now(UTC) + timedelta(seconds=LEAD_SECONDS)
        await seed(
            apps[0], sim.world, starts_at=lambda _group: due + timedelta(hours=47), due_at=lambda _member: due,
            store_dm_channels=True,
        )
        for app, tally in zip(apps, tallies, strict=True):
            count_sends(app, tally)
        started = time.monotonic()
        await asyncio.gather(*(app.start() for app in apps))
        freeze_startup_heap()  # as python -m bot does, once ready
        print(f"  both ready {time.monotonic() - started:.1f} s after start (IDENTIFYs spaced by the gate)")
        shares = [await app.scheduler.heartbeat() for app in apps]
        print(f"  each process's share of the {budget:g}/s budget: {', '.join(f'{s:g}/s' for s in shares)}")
        time_limit = 2 * dms / budget + LEAD_SECONDS + 120
        complete = True
        try:
            async with asyncio.timeout(time_limit):
                await _poll(lambda: drained(sim, apps[0], dms))
        except TimeoutError:
            complete = False
        report = await sim.report()
        delivery = await check_delivery(apps[0], report)
    finally:
        for app in apps:
            await app.stop()
        sim.close()

    floor = dms / budget
    first, last = report.sends[0], report.sends[-1]
    wall = last - first
    print(f"shards: {dms:,} report-back DMs, two processes × one shard of {SHARDS}, PostgreSQL; "
          f"global limit {GLOBAL_LIMIT}/s; budget {budget:g}/s in all")
    if not complete:
        print("  INCOMPLETE: the fan-out did not finish in time (the numbers below are partial)")
    print(f"  {len(report.sends):,} sends answered 200; sent by shard 0's process {tallies[0][0]:,}, "
          f"by shard 1's {tallies[1][0]:,}")
    print(f"  first → last send: {wall:.1f} s ({len(report.sends) / wall:.1f} requests/s); floor {floor:.1f} s "
          f"({dms:,} / {budget:g}/s): ratio {wall / floor:.3f} (target ≤ 1.10)")
    print(f"  429s: {report.limited_global.total()} global, {report.limited_route.total()} per-route")
    print(f"  outbox: {dict(delivery.statuses)}; lost {delivery.lost}, duplicated {delivery.duplicated}; "
          f"most per recipient {delivery.most_per_recipient}; simulator problems: {report.problems or 'none'}")
    print(f"machine after: {machine()}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.shards", description=__doc__.split("\n")[0])
    parser.add_argument("url", help="an empty PostgreSQL database")
    parser.add_argument("--dms", type=int, default=10_000)
    parser.add_argument("--budget", type=float, default=40.0, help="SEND_BUDGET_PER_SECOND, the bot's total (1 to 45)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(args.url, args.dms, budget=args.budget))


if __name__ == "__main__":
    main()
