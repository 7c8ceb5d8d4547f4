"""Fan-out benchmark: N report-back DMs due at once, sent by the real bot through the simulator.

    /work/venv/bin/python -m bench.fanout [url] [--dms 10000] [--limits on|off] [--cold] [--budget 25] [--latency 0] [--jitter 0] [--no-gc-freeze]

A benchmark, not a test: it prints numbers for docs/PERFORMANCE.md. ``url`` is an empty database
(default: a fresh SQLite file in a temporary directory; PostgreSQL: a database made for it, e.g.
``postgresql://postgres@127.0.0.1:5432/bench`` after ``CREATE DATABASE bench``).

The real App (every cog: the DM is rendered by ``cogs/commitments.py`` from the member's
commitments) on the system clock; N members in groups of 8, each with two open commitments due at
the group's meeting in 47 hours and one pending report-back DM row due now. Steady state by
default: every member's DM channel is stored, so a DM is one request. ``--cold``: none is stored,
so the bot opens each DM channel first (two requests per DM).

``--limits on`` (default): the simulator enforces Discord's global limit (50 requests/s) and its
per-route buckets, and the bot paces at its budget (SEND_BUDGET_PER_SECOND, default 25/s).
Measured: first to last send against the pace floor (requests / budget; target within 10 %), the
429s (target: no global one), every recipient getting exactly one message carrying its row's nonce.
``--limits off``: no limits in the simulator and the dispatcher's Pacer replaced by an unlimited
one: the bot's own CPU seconds per DM (this process: loop, discord.py, SQLAlchemy, driver threads;
the simulator runs in another process, see ``bench/_harness.py``; a database server's CPU is not
counted). Both: the event loop's lag, from a task sleeping 5 ms (target p99 ≤ 10 ms, max ≤ 100 ms),
and the garbage collector's full collections. The start-up heap is frozen once the bot is ready, as
``python -m bot`` does (``bot.app.freeze_startup_heap``); ``--no-gc-freeze`` measures the bot without it.
``--latency 100 --jitter 50``: the simulator holds every REST answer 100 ± 50 ms (uniform), as
Discord's real round trips take; the pace then depends on the dispatcher keeping several requests
in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
from datetime import UTC, datetime, timedelta

from bench._harness import BUCKET_LIMIT, BUCKET_WINDOW, GLOBAL_LIMIT, SimProcess, machine, run_bot, seed
from bot.app import App
from bot.dispatch import Pacer

UNLIMITED = 1e9  # requests per second: the Pacer never waits


async def run(
    url: str, dms: int, *, limits: bool, cold: bool, budget: float, freeze_heap: bool,
    latency: tuple[float, float] = (0.0, 0.0),
) -> None:
    print(f"machine: {machine()}")
    requests = dms * (2 if cold else 1)
    pace_floor = requests / budget
    opens_floor = dms * BUCKET_WINDOW / BUCKET_LIMIT if cold else 0.0  # one bucket for every DM open

    async def prepare(app: App) -> None:
        due = datetime.now(UTC) - timedelta(seconds=1)
        await seed(
            app, sim.world, starts_at=lambda _group: due + timedelta(hours=47), due_at=lambda _member: due,
            store_dm_channels=not cold,
        )
        if not limits:
            app.scheduler.dispatcher.pacer = Pacer(UNLIMITED, hold=app.scheduler.dispatcher.pacer.hold)

    sim = await SimProcess.start(members=dms, rate_limits=limits, open_dms=not cold, latency=latency)
    try:
        run = await run_bot(
            url, sim, budget=budget, prepare=prepare, messages=dms, time_limit=2 * max(pace_floor, opens_floor) + 120,
            freeze_heap=freeze_heap,
        )
    finally:
        sim.close()

    report, delivery = run.report, run.delivery
    state = "cold: DM channels opened first" if cold else "steady state: DM channels stored"
    mode = f"rate limits on (global {GLOBAL_LIMIT}/s)" if limits else "rate limits off, pacer unlimited"
    frozen = "" if freeze_heap else "; start-up heap NOT frozen"
    rtt = f"; REST answers held {latency[0] * 1000:g} ± {latency[1] * 1000:g} ms" if any(latency) else ""
    print(f"fan-out: {dms:,} report-back DMs, {state}; {run.dialect}; {mode}; budget {budget:g}/s{frozen}{rtt}")
    if not run.complete:
        print("  INCOMPLETE: the fan-out did not finish in time (the numbers below are partial)")
    first, last = report.sends[0], report.sends[-1]
    wall = last - first
    print(f"  ready {run.ready - run.started:.2f} s after App.start(); first send {first - run.ready:.2f} s after ready")
    print(
        f"  {len(report.sends):,} requests answered 200 ({requests:,} expected); DMs received by "
        f"{delivery.recipients:,} members, at most {delivery.most_per_recipient} each"
    )
    print(f"  first → last send: {wall:.1f} s ({len(report.sends) / wall:.1f} requests/s)")
    if limits:
        floor = max(pace_floor, opens_floor)
        bound = (
            f"the pace ({requests:,} requests / {budget:g}/s)" if pace_floor >= opens_floor
            else f"the simulator's one bucket for DM opens ({dms:,} opens, {BUCKET_LIMIT} per {BUCKET_WINDOW:g} s)"
        )
        print(f"  floor {floor:.1f} s, set by {bound}: ratio {wall / floor:.3f} (target ≤ 1.10)")
    limited = report.limited_route + report.limited_global
    print(
        f"  429s: {report.limited_global.total()} global, {report.limited_route.total()} per-route"
        + (f" {dict(limited)}" if limited else "")
    )
    print(
        f"  outbox: {dict(delivery.statuses)}; lost {delivery.lost}, duplicated {delivery.duplicated}; "
        f"simulator problems: {report.problems or 'none'}"
    )
    print(
        f"  bot CPU from ready to drained: {run.cpu:.1f} s = {run.cpu / dms * 1000:.2f} ms per DM; net of the "
        f"idle rate (probe, heartbeats: {run.idle * 1000:.1f} ms per s) {run.net_cpu / dms * 1000:.2f} ms per DM"
    )
    print(f"  simulator CPU (its own process, not counted above): {report.cpu_seconds:.1f} s")
    print(f"  loop lag, first → last send: {run.probe.between(first, last)}")
    print(f"  loop lag, App.start() → drained: {run.probe.between(run.started, run.drained)}")
    print(f"  requests: {dict(report.requests)}")
    print(f"machine after: {machine()}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__.split("\n")[0])
    parser.add_argument("url", nargs="?", help="an empty database (default: a fresh SQLite file)")
    parser.add_argument("--dms", type=int, default=10_000)
    parser.add_argument("--limits", choices=("on", "off"), default="on")
    parser.add_argument("--cold", action="store_true", help="no DM channel stored: the bot opens each first")
    parser.add_argument("--budget", type=float, default=25.0, help="SEND_BUDGET_PER_SECOND (1 to 45)")
    parser.add_argument("--latency", type=float, default=0.0, help="ms the simulator holds every REST answer")
    parser.add_argument("--jitter", type=float, default=0.0, help="± ms around --latency (uniform)")
    parser.add_argument(
        "--no-gc-freeze", action="store_true", help="don't freeze the start-up heap once ready (python -m bot does)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as directory:
        url = args.url or f"sqlite+aiosqlite:///{directory}/fanout.db"
        limits = args.limits == "on"
        asyncio.run(run(
            url, args.dms, limits=limits, cold=args.cold, budget=args.budget, freeze_heap=not args.no_gc_freeze,
            latency=(args.latency / 1000, args.jitter / 1000),
        ))


if __name__ == "__main__":
    main()
