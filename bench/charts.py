"""Chart benchmark: how long one chart takes to render, and how late the event loop runs while
20 charts render at once.

    /tmp/venv/bin/python -m bench.charts [--runs 100] [--rounds 10] [--burst 20] [--in-thread]

A benchmark, not a test: it prints numbers for docs/PERFORMANCE.md (targets from issue 14: p99
≤ 250 ms per image; event-loop lag p99 ≤ 10 ms while 20 render at once). No database or Discord:
the charts are rendered by ``bot.ui.charts`` exactly as the cogs call it, with the figures a full
year produces (twelve months or cycles, four KPIs on the year in review).

1. Per image: each kind rendered ``runs`` times in turn, in this thread (the time is the render's
   own: figure, layout, PNG encoding), as wall time and as this thread's CPU time (what the render
   costs whatever else the machine runs).
2. Under load: ``rounds`` times, ``burst`` charts (the four kinds in turn) started at once through
   the async helpers (``asyncio.to_thread``, one at a time behind the module's lock), while
   ``bench._harness.LagProbe`` samples the loop every 5 ms; each chart's time from request to PNG
   (queueing behind the others included) is reported too.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Awaitable, Callable

from bench._harness import LagProbe, machine, percentile
from bot.ui import charts
from bot.ui.charts import Chart, CycleBar, ReviewKpi

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
VALUES: list[float | None] = [12_500.0, 13_100.5, None, 14_900.0, 15_250.0, 14_000.0, 16_800.0, 17_250.25, 18_000.0,
                              None, 19_400.0, 21_000.0]
RATES: list[float | None] = [0.5, 0.75, 1.0, None, 0.6, 0.8, 0.9, 1.0, 0.45, 0.7, 0.85, 1.0]
CYCLES = [CycleBar(f"{d} {m}", r, "3 done, 1 partly of 5", a, "6 of 8")
          for d, m, r, a in zip(range(1, 13), MONTHS, RATES, [0.75, 0.875, 1.0, 0.5] * 3, strict=True)]
GOALS = [("on track", 9), ("at risk", 3), ("behind", 2), ("done", 12), ("dropped", 4)]
KPIS = [ReviewKpi(f"KPI {n}", "£", MONTHS, VALUES, [None, 5, None, None, 2, -8, 20, 3, 4, None, None, 8], 20_000.0)
        for n in range(3)] + [ReviewKpi("Clients", "n", MONTHS, [None] * 12, [None, 5, 3, -2, 0, 8, 1, 2, 9, -1, 4, 6], None)]
FACTS = [("commitments kept", "31 of 40"), ("wins", "9"), ("goals done", "4 of 6"), ("KPIs logged", "4")]
REVIEW_GOALS = [("Ten new clients by June, and a waiting list by the autumn", "done"), ("Hire an assistant", "on track"),
                ("Raise prices by 15 %", "at risk"), ("Write the book proposal", "behind"), ("Launch", "done")]
WINS = ["First big client", "Signed the lease", "Hired Sam"]

SYNC: dict[str, Callable[[], Chart]] = {
    "kpi": lambda: charts.kpi_chart("Revenue", "£", MONTHS, VALUES, 20_000),
    "completion": lambda: charts.completion_chart("Commitments completed per cycle", MONTHS, RATES),
    "group stats": lambda: charts.group_stats_chart("Makers: per meeting cycle", CYCLES, GOALS),
    "year in review": lambda: charts.review_card("Ana's year in Makers", FACTS, REVIEW_GOALS, KPIS, WINS),
}
ASYNC: dict[str, Callable[[], Awaitable[Chart]]] = {
    "kpi": lambda: charts.render_kpi_chart("Revenue", "£", MONTHS, VALUES, 20_000),
    "completion": lambda: charts.render_completion_chart("Commitments completed per cycle", MONTHS, RATES),
    "group stats": lambda: charts.render_group_stats_chart("Makers: per meeting cycle", CYCLES, GOALS),
    "year in review": lambda: charts.render_review_card("Ana's year in Makers", FACTS, REVIEW_GOALS, KPIS, WINS),
}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def per_image(runs: int) -> None:
    print(f"Per image ({runs} renders of each, in turn, one thread, prepared as the chart worker is):")
    charts.prepare_worker()  # what the worker process does at its start: warm up, freeze the heap
    for name, render in SYNC.items():
        render()  # warm: this kind's first figure
        times, cpu = [], []
        size = 0
        for _ in range(runs):
            started, started_cpu = time.perf_counter(), time.thread_time()
            size = len(render().png)
            times.append(time.perf_counter() - started)
            cpu.append(time.thread_time() - started_cpu)
        times.sort()
        cpu.sort()
        print(f"  {name:15} p50 {ms(percentile(times, 0.5))}  p99 {ms(percentile(times, 0.99))}  "
              f"max {ms(times[-1])}  (CPU p50 {ms(percentile(cpu, 0.5))}, p99 {ms(percentile(cpu, 0.99))}; "
              f"{size / 1024:.0f} KiB)")


async def timed(render: Callable[[], Awaitable[Chart]]) -> float:
    started = time.perf_counter()
    await render()
    return time.perf_counter() - started


async def under_load(rounds: int, burst: int) -> None:
    kinds = list(ASYNC.values())
    probe = LagProbe()
    probe.start()
    await asyncio.sleep(3.0)  # a quiet baseline (the machine alone), left out below
    quiet = len(probe.samples)
    windows: list[tuple[float, float]] = []
    latencies: list[float] = []
    walls: list[float] = []
    for _ in range(rounds):
        started = time.monotonic()
        latencies += await asyncio.gather(*(timed(kinds[i % len(kinds)]) for i in range(burst)))
        ended = time.monotonic()
        windows.append((started, ended))
        walls.append(ended - started)
        await asyncio.sleep(0.2)
    await probe.stop()
    during = sorted(lag for at, lag in probe.samples[quiet:] if any(a <= at <= b for a, b in windows))
    baseline = sorted(lag for _at, lag in probe.samples[:quiet])
    latencies.sort()
    walls.sort()
    print(f"Under load ({rounds} rounds of {burst} charts at once, the four kinds in turn):")
    print(f"  event-loop lag while rendering: p50 {ms(percentile(during, 0.5))}  p99 {ms(percentile(during, 0.99))}  "
          f"max {ms(during[-1])}  ({len(during)} samples; idle p99 {ms(percentile(baseline, 0.99))})")
    print(f"  one chart, request → PNG (queued behind the others): p50 {ms(percentile(latencies, 0.5))}  "
          f"p99 {ms(percentile(latencies, 0.99))}  max {ms(latencies[-1])}")
    print(f"  a burst of {burst}: p50 {percentile(walls, 0.5):.2f} s  max {walls[-1]:.2f} s")
    full = [seconds for _at, seconds in probe.full_collections]
    if full:
        print(f"  full GC collections: {len(full)}, longest {ms(max(full))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--in-thread", action="store_true",
                        help="render in a worker thread of this process (the earlier way), for comparison")
    args = parser.parse_args()
    if args.in_thread:
        async def in_thread(function: Callable[..., Chart], *call: object) -> Chart:
            return await asyncio.to_thread(function, *call)

        charts.off_loop = in_thread  # type: ignore[assignment]
    print(machine())
    gc.collect()
    per_image(args.runs)
    asyncio.run(under_load(args.rounds, args.burst))


if __name__ == "__main__":
    main()
