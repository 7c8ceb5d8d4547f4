"""Outage benchmark: an hour of due rows missed while the bot was down, then the bot starts.

    /work/venv/bin/python -m bench.outage [url] [--dms 3600] [--stale-groups 6] [--budget 25]

A benchmark, not a test: it prints numbers for docs/PERFORMANCE.md. ``url`` is an empty database
(default: a fresh SQLite file in a temporary directory), as for ``bench.fanout``.

Seeded as in ``bench.fanout`` (groups of 8, the real report-back DM, DM channels stored): ``dms``
rows whose due times are spread evenly over the hour before the start, for meetings in 47 hours
(still worth sending), and the rows of ``stale-groups`` groups, due in the same hour, whose meeting
started 30 minutes ago (too late: they must be expired, not sent). Then the real App starts on the
system clock against the simulator with Discord's rate limits on.

Measured: ready → the first overdue send (target ≤ 5 s); the drain (first → last send) against the
pace floor (sends / budget); lost = rows neither sent nor expired, or marked sent without their
message at Discord (target 0); duplicated = messages beyond the first per nonce (target 0);
expired = exactly the stale rows; the event loop's lag (target p99 ≤ 10 ms, max ≤ 100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import tempfile
from datetime import UTC, datetime, timedelta

from bench._harness import GLOBAL_LIMIT, GROUP_SIZE, SimProcess, machine, run_bot, seed
from bot.app import App
from bot.services.outbox import EXPIRED

OUTAGE = timedelta(hours=1)
STALE_SINCE = timedelta(minutes=30)  # the stale groups' meeting started this long before the start


async def run(url: str, dms: int, *, stale_groups: int, budget: float) -> None:
    print(f"machine: {machine()}")
    groups = math.ceil(dms / GROUP_SIZE) + stale_groups
    members = dms + stale_groups * GROUP_SIZE
    stale = {int((k + 0.5) * groups / stale_groups) for k in range(stale_groups)}  # spread among the others

    async def prepare(app: App) -> None:
        now = datetime.now(UTC)
        await seed(
            app, sim.world,
            starts_at=lambda group: now - STALE_SINCE if group in stale else now + timedelta(hours=47),
            due_at=lambda member: now - OUTAGE + OUTAGE * (member + 0.5) / members,
            store_dm_channels=True,
        )

    sim = await SimProcess.start(members=members, rate_limits=True, open_dms=True)
    stale_rows = sum(len(sim.world.groups[group].members) for group in stale)
    useful = members - stale_rows
    try:
        run = await run_bot(
            url, sim, budget=budget, prepare=prepare, messages=useful, time_limit=2 * useful / budget + 120
        )
    finally:
        sim.close()

    report, delivery = run.report, run.delivery
    print(
        f"outage: {useful:,} report-back DMs due over the hour before the start + {stale_rows} stale "
        f"(meeting started {STALE_SINCE.seconds // 60} min ago); {run.dialect}; rate limits on "
        f"(global {GLOBAL_LIMIT}/s); budget {budget:g}/s"
    )
    if not run.complete:
        print("  INCOMPLETE: the backlog was not drained in time (the numbers below are partial)")
    first, last = report.sends[0], report.sends[-1]
    floor = len(report.sends) / budget
    print(f"  ready {run.ready - run.started:.2f} s after App.start()")
    print(f"  first overdue send {first - run.ready:.2f} s after ready (target ≤ 5 s)")
    print(
        f"  drained {last - run.ready:.1f} s after ready; first → last send {last - first:.1f} s; pace floor "
        f"{floor:.1f} s ({len(report.sends):,} sends / {budget:g}/s): ratio {(last - first) / floor:.3f}"
    )
    expired = delivery.statuses[EXPIRED]
    only_stale = delivery.expired_groups <= {group + 1 for group in stale}  # group ids start at 1
    print(
        f"  outbox: {dict(delivery.statuses)}; lost {delivery.lost}, duplicated {delivery.duplicated}; "
        f"expired {expired} of {stale_rows} stale ({'all' if only_stale else 'NOT all'} in the stale groups)"
    )
    print(
        f"  DMs received by {delivery.recipients:,} members, at most {delivery.most_per_recipient} each; "
        f"429s: {report.limited_global.total()} global, {report.limited_route.total()} per-route; "
        f"simulator problems: {report.problems or 'none'}"
    )
    print(f"  loop lag, ready → drained: {run.probe.between(run.ready, run.drained)}")
    print(f"  loop lag, App.start() → ready: {run.probe.between(run.started, run.ready)}")
    print(f"  bot CPU from ready to drained: {run.cpu:.1f} s = {run.cpu / useful * 1000:.2f} ms per DM")
    print(f"  requests: {dict(report.requests)}")
    print(f"machine after: {machine()}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.outage", description=__doc__.split("\n")[0])
    parser.add_argument("url", nargs="?", help="an empty database (default: a fresh SQLite file)")
    parser.add_argument("--dms", type=int, default=3_600, help="rows still worth sending")
    parser.add_argument("--stale-groups", type=int, default=6, help="groups of 8 whose meeting already started")
    parser.add_argument("--budget", type=float, default=25.0, help="SEND_BUDGET_PER_SECOND (1 to 45)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-outage-") as directory:
        url = args.url or f"sqlite+aiosqlite:///{directory}/outage.db"
        asyncio.run(run(url, args.dms, stale_groups=args.stale_groups, budget=args.budget))


if __name__ == "__main__":
    main()
