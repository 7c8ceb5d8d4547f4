"""Interaction latency benchmark: members using the bot at a steady rate, the real App answering.

    python -m bench.interactions [url] [--groups 1000] [--rate 20] [--seconds 60] [--fanout N --budget 45]
                                 [--no-warm] [--reads-lock]

A benchmark, not a test: it prints numbers for docs/PERFORMANCE.md (issue 20). ``url`` is an empty
database (default: a fresh SQLite file in a temporary directory).

The real App (every cog) on the system clock against the simulator in a child process
(``bench/_harness.py``), seeded by the harness: ``--groups`` groups of 8 members, each member with
two open commitments due at the group's meeting in 47 hours and their DM channel stored. The
simulator then sends interactions as Discord does (INTERACTION_CREATE over the gateway), without
waiting for answers, at ``--rate`` per second for ``--seconds``: in turn ``/commit add``,
``/commit list``, ``/group info``, an RSVP click on the group's meeting card and a Done click on a
member's report-back DM, each from a random member of a random group. Measured per interaction:
dispatch → the bot's first callback (the acknowledgement Discord times), p50 / p99 / max; expired
(answered after 3 s: Discord's 10062); unanswered (no callback at all).

Cold start: right after ``on_ready`` (and ``freeze_startup_heap``, as ``python -m bot`` does), one
interaction of each kind in turn, the first of them the first the bot ever sees (target ≤ 1 s).

``--fanout N``: N of the members also have a report-back DM due at the start, so the dispatcher
sends N DMs at ``--budget`` while the interactions arrive (the fan-out's pace in the same window is
printed). ``--no-warm`` skips ``bot.warm`` before ready; ``--reads-lock`` makes ``Service.read``
take SQLite's write lock like every other transaction (both: the bot as it was, to compare).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import multiprocessing
import pstats
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from bench._harness import (
    GROUP_SIZE,
    LagProbe,
    SimProcess,
    _on_ready_time,
    build_app,
    cpu_seconds,
    distribution,
    machine,
    percentile,
    seed,
)
from bot.app import freeze_startup_heap

KINDS = ("commit add", "commit list", "group info", "rsvp", "done")
TARGET_P50_MS, TARGET_P99_MS, TARGET_FIRST_MS = 20.0, 150.0, 1000.0


def _child(conn: Connection, members: int, rate_limits: bool) -> None:
    from bench._sim_interactions import serve  # only the child imports the simulator

    serve(conn, members, rate_limits)


async def start_sim(members: int) -> SimProcess:
    context = multiprocessing.get_context("spawn")
    conn, child_conn = context.Pipe()
    process = context.Process(target=_child, args=(child_conn, members, True), name="discord-sim", daemon=True)
    process.start()
    child_conn.close()
    return SimProcess(conn, process, await asyncio.to_thread(conn.recv))


async def ask(sim: SimProcess, name: str, **args: Any) -> Any:
    return await asyncio.to_thread(sim._ask, (name, args))  # type: ignore[arg-type]


def latencies(timed: list[Any]) -> list[float]:
    return [t.callback - t.dispatched for t in timed if t.callback is not None]


def summary(timed: list[Any]) -> str:
    answered = latencies(timed)
    expired = sum(1 for t in timed if t.late)
    unanswered = sum(1 for t in timed if t.callback is None)
    return f"{distribution(answered)}; expired {expired}, unanswered {unanswered}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


async def run(url: str, *, groups: int, rate: float, seconds: float, fanout: int, budget: float, warm: bool,
              reads_lock: bool, profile: bool = False) -> None:
    print(f"machine: {machine()}")
    members = max(groups * GROUP_SIZE, fanout)
    if reads_lock:
        import bot.services.base

        bot.services.base.READ_ONLY_OPTIONS = {}  # type: ignore[misc]  # read() becomes BEGIN IMMEDIATE
    sim = await start_sim(members)
    app = build_app(url, sim.world, budget=budget)
    app.bot.warm_on_start = warm
    try:
        await app.migrate()
        now = datetime.now(UTC)
        await seed(
            app, sim.world, starts_at=lambda _g: now + timedelta(hours=47),
            due_at=lambda m: now - timedelta(seconds=1) if m < fanout else now + timedelta(hours=40),
            store_dm_channels=True,
        )
        probe = LagProbe()
        ready = _on_ready_time(app)
        probe.start()
        started = time.monotonic()
        await app.start()
        freeze_startup_heap()
        ready_at = await ready
        first = await ask(sim, "first", kinds=list(KINDS))
        profiler = cProfile.Profile() if profile else None
        cpu_from, load_from = cpu_seconds(), time.monotonic()
        if profiler is not None:
            profiler.enable()
        timed = await ask(sim, "load", rate=rate, seconds=seconds, seed=20)
        if profiler is not None:
            profiler.disable()
        load_to = time.monotonic()
        cpu = cpu_seconds() - cpu_from
        report = await sim.report()
        await probe.stop()
    finally:
        await app.stop()
        sim.close()

    label = ", ".join(x for x in ("bot.warm OFF" if not warm else "", "reads take the write lock" if reads_lock else "") if x)
    print(f"interactions: {groups:,} groups of {GROUP_SIZE}, {app.engine.dialect.name}, rate limits on"
          f"{'; ' + label if label else '; as shipped'}")
    warmed = f" (bot.warm: {app.bot.warm_seconds * 1000:.0f} ms of it)" if app.bot.warm_seconds is not None else ""
    print(f"  ready {ready_at - started:.2f} s after App.start(){warmed}")
    print("  cold start (one of each kind in turn after ready; the first is the bot's first interaction):")
    for t in first:
        shown = f"{(t.callback - t.dispatched) * 1000:.1f} ms" if t.callback is not None else "no answer"
        print(f"    {t.kind:12} {shown}{' (expired)' if t.late else ''}")
    cold = first[0]
    cold_ms = (cold.callback - cold.dispatched) * 1000 if cold.callback is not None else float("inf")
    print(f"  steady {rate:g}/s for {seconds:g} s ({len(timed):,} interactions), dispatch → first callback:")
    for kind in KINDS:
        print(f"    {kind:12} {summary([t for t in timed if t.kind == kind])}")
    print(f"    {'all':12} {summary(timed)}")
    answered = sorted(latencies(timed))
    expired = sum(1 for t in timed if t.late)
    unanswered = sum(1 for t in timed if t.callback is None)
    if fanout:
        sends = [at for at in report.sends if load_from <= at <= load_to]
        print(f"  fan-out: {len(report.sends):,} of {fanout:,} DMs sent by the end; {len(sends):,} during the "
              f"interactions ({len(sends) / (load_to - load_from):.1f}/s for a {budget:g}/s budget)")
    limited = report.limited_route + report.limited_global
    print(f"  429s: {report.limited_global.total()} global, {report.limited_route.total()} per-route"
          + (f" {dict(limited)}" if limited else ""))
    print(f"  bot CPU during the interactions: {cpu:.1f} s ({cpu / (load_to - load_from):.2f} of a core)")
    print(f"  loop lag during the interactions: {probe.between(load_from, load_to)}")
    problems = [p for p in report.problems if "acknowledged after" not in p]
    print(f"  simulator problems (late acknowledgements counted above): {problems[:5] or 'none'}")
    requests = Counter({k: v for k, v in report.requests.items() if "interactions" in k or "webhooks" in k})
    print(f"  interaction requests: {dict(requests)}")
    if answered:
        p50, p99 = percentile(answered, 0.5) * 1000, percentile(answered, 0.99) * 1000
        print(f"  {verdict(p50 <= TARGET_P50_MS)} p50 {p50:.1f} ms (≤ {TARGET_P50_MS:g})  "
              f"{verdict(p99 <= TARGET_P99_MS)} p99 {p99:.1f} ms (≤ {TARGET_P99_MS:g})  "
              f"{verdict(expired == 0)} expired {expired}  {verdict(unanswered == 0)} unanswered {unanswered}  "
              f"{verdict(cold_ms <= TARGET_FIRST_MS)} first interaction {cold_ms:.0f} ms (≤ {TARGET_FIRST_MS:g})")
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue())
    print(f"machine after: {machine()}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.interactions", description=__doc__.split("\n")[0])
    parser.add_argument("url", nargs="?", help="an empty database (default: a fresh SQLite file)")
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="interactions per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--fanout", type=int, default=0, help="report-back DMs due at the start (0: none)")
    parser.add_argument("--budget", type=float, default=25.0, help="SEND_BUDGET_PER_SECOND (1 to 45)")
    parser.add_argument("--no-warm", action="store_true", help="skip bot.warm before ready")
    parser.add_argument("--profile", action="store_true", help="cProfile the bot during the interactions")
    parser.add_argument("--reads-lock", action="store_true", help="reads take SQLite's write lock (as before)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="bench-interactions-") as directory:
        url = args.url or f"sqlite+aiosqlite:///{directory}/interactions.db"
        asyncio.run(run(url, groups=args.groups, rate=args.rate, seconds=args.seconds, fanout=args.fanout,
                        budget=args.budget, warm=not args.no_warm, reads_lock=args.reads_lock,
                        profile=args.profile))


if __name__ == "__main__":
    main()
