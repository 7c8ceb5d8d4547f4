"""Due-scan benchmark: find the due rows among many outbox rows, and show the plan uses the index.

    /work/venv/bin/python -m bench.due_scan sqlite+aiosqlite:////tmp/bench.db [rows] [groups]
    /work/venv/bin/python -m bench.due_scan postgresql://postgres@127.0.0.1:5432/bench_scan [rows] [groups]

A benchmark, not a test: it prints numbers for docs/PERFORMANCE.md. The database must be empty
(it is migrated here). It runs the dispatcher's own claim query (OutboxService.claim_due's SELECT).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, or_, select, text

from bot import migrate
from bot.db import create_engine
from bot.models import Group, OutboxRow
from bot.settings import normalise_database_url

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
DUE = 500


def claim_query(limit: int = DUE):
    return (
        select(OutboxRow.id)
        .where(
            OutboxRow.status == "pending",
            OutboxRow.due_at <= NOW,
            or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until <= NOW),
        )
        .order_by(OutboxRow.due_at, OutboxRow.id)
        .limit(limit)
    )


async def main(url: str, rows: int, groups: int) -> None:
    engine = create_engine(normalise_database_url(url))  # postgresql:// → asyncpg, as DATABASE_URL is read
    await migrate.upgrade(engine)
    async with engine.begin() as conn:
        for start in range(0, groups, 10_000):
            await conn.execute(insert(Group), [
                dict(id=g + 1, guild_id=1, channel_id=10_000_000 + g, name=f"g{g}", name_key=f"g{g}", timezone="UTC",
                     max_members=8, announce_commitments=True, meeting_reminder_hours=[168, 24],
                     reportback_lead_hours=48, checkin_nudge_lead_hours=72, current_module_number=1,
                     created_by=1, created_at=NOW)
                for g in range(start, min(start + 10_000, groups))
            ])
        batch = 20_000
        for start in range(0, rows, batch):
            chunk = []
            for i in range(start, min(start + batch, rows)):
                due = NOW - timedelta(minutes=1 + i % 60) if i < DUE else NOW + timedelta(minutes=1 + i % 50_000)
                status = "pending" if i < DUE or i % 3 else "sent"
                chunk.append(dict(kind="reportback_dm", guild_id=1, group_id=1 + i % groups, occurrence=f"o:{i}",
                                  recipient_id=i, due_at=due, status=status, attempts=0, payload={},
                                  created_at=NOW, updated_at=NOW))
            await conn.execute(insert(OutboxRow), chunk)
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("ANALYZE outbox"))
            compiled = claim_query().compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
            plan = (await conn.execute(text(f"EXPLAIN {compiled}"))).scalars().all()
        else:
            await conn.execute(text("ANALYZE"))
            compiled = claim_query().compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
            plan = [r[-1] for r in (await conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))).all()]
        timings = []
        for _ in range(200):
            started = time.perf_counter()
            found = (await conn.execute(claim_query())).all()
            timings.append((time.perf_counter() - started) * 1000)
        assert len(found) == DUE, len(found)
    await engine.dispose()
    timings.sort()
    print(f"{engine.dialect.name}: {rows:,} rows / {groups:,} groups, {DUE} due")
    print(f"  p50 {statistics.median(timings):.2f} ms  p99 {timings[int(len(timings) * 0.99) - 1]:.2f} ms  max {timings[-1]:.2f} ms")
    print("  plan:", *plan, sep="\n    ")


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(args[0], int(args[1]) if len(args) > 1 else 1_000_000, int(args[2]) if len(args) > 2 else 100_000))
