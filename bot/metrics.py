"""``GET /metrics`` (Prometheus text format) and ``GET /healthz`` on ``METRICS_PORT``.

The composition root builds one :class:`Metrics` per process (its own ``CollectorRegistry``, so
several Apps in one test session never share a series) and, when ``METRICS_PORT`` is set, a
:class:`MetricsServer` serving it. What the process measures as it runs (interaction latency and
errors, event-loop lag) is recorded into :class:`Metrics` as it happens; what the database holds
(outbox rows by kind and status) is read at scrape time with one ``GROUP BY``.

``/healthz`` answers 200 with a JSON body, or 503 when the scheduler hasn't ticked for
:data:`STALE_TICKS` ticks or the database doesn't answer ``SELECT 1`` within
:data:`HEALTH_DB_TIMEOUT_SECONDS`. Being connected to Discord is reported (``ready``) but is not
a condition: discord.py reconnects on its own, and a restart would not help it.

No discord import here: the bot's side comes in as plain callables (:class:`MetricsSources`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from sqlalchemy import case, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from bot.clock import Clock
from bot.models.outbox import OutboxRow, OutboxStatus

log = logging.getLogger(__name__)

STALE_TICKS = 3  # /healthz fails when the scheduler hasn't ticked for this many tick intervals
HEALTH_DB_TIMEOUT_SECONDS = 2.0
SCRAPE_DB_TIMEOUT_SECONDS = 5.0
LOOP_LAG_SAMPLE_SECONDS = 0.5
INTERACTION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)
LOOP_LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)


@dataclass(frozen=True)
class MetricsSources:
    """What the metrics read from the running process, as plain callables."""

    engine: AsyncEngine
    clock: Clock  # the injected clock: outbox due times are compared with it
    tick_seconds: float
    is_ready: Callable[[], bool] = lambda: False
    # (shard id, seconds) for each connected shard; NaN / infinite latencies are left out.
    latencies: Callable[[], Iterable[tuple[int, float]]] = lambda: ()
    # ``time.monotonic()`` when the scheduler last ticked, or None before its first tick.
    last_tick: Callable[[], float | None] = lambda: None


@dataclass
class OutboxSnapshot:
    rows: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, status) -> rows
    due: dict[str, int] = field(default_factory=dict)  # kind -> pending rows due now
    overdue: dict[str, int] = field(default_factory=dict)  # kind -> pending rows due STALE_TICKS ticks ago


async def outbox_snapshot(engine: AsyncEngine, *, now: Any, overdue_after: timedelta) -> OutboxSnapshot:
    """Outbox rows by kind and status, and the pending ones due / overdue, in one query."""
    pending = OutboxRow.status == OutboxStatus.PENDING
    statement = select(
        OutboxRow.kind,
        OutboxRow.status,
        func.count(),
        func.sum(case((pending & (OutboxRow.due_at <= now), 1), else_=0)),
        func.sum(case((pending & (OutboxRow.due_at <= now - overdue_after), 1), else_=0)),
    ).group_by(OutboxRow.kind, OutboxRow.status)
    snapshot = OutboxSnapshot()
    async with engine.connect() as connection:
        for kind, status, rows, due, overdue in await connection.execute(statement):
            snapshot.rows[(kind, status)] = int(rows)
            if status == OutboxStatus.PENDING:
                snapshot.due[kind] = int(due or 0)
                snapshot.overdue[kind] = int(overdue or 0)
    return snapshot


def _sqlite_file_missing(engine: AsyncEngine) -> bool:
    """A SQLite file that was deleted under a pooled connection still answers; look at the path too."""
    url = engine.url
    database = url.database
    return url.get_backend_name() == "sqlite" and bool(database) and database != ":memory:" and not Path(
        str(database)
    ).exists()


async def database_problem(engine: AsyncEngine, *, within: float = HEALTH_DB_TIMEOUT_SECONDS) -> str | None:
    """None when the database answers ``SELECT 1`` in time; otherwise what is wrong, in a few words."""
    if _sqlite_file_missing(engine):
        return "the database file is missing"
    try:
        async with asyncio.timeout(within):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except TimeoutError:
        return f"no answer within {within:g} s"
    except Exception as exc:
        return f"{exc.__class__.__name__}"
    return None


class Metrics:
    """Every series of one process, in its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.sources: MetricsSources | None = None
        self._attached_at = time.monotonic()
        self.interaction_seconds = Histogram(
            "roundtable_interaction_seconds",
            "Time from receiving a slash command to the end of its handler, by command and outcome.",
            ["command", "outcome"],
            buckets=INTERACTION_BUCKETS,
            registry=self.registry,
        )
        self.interaction_errors = Counter(
            "roundtable_interaction_errors",
            "Slash commands that ended in an error: kind=user (a refusal the member was shown), "
            "kind=late (answered after Discord's 3 s) or kind=unexpected (logged with a reference).",
            ["kind"],
            registry=self.registry,
        )
        self.loop_lag = Histogram(
            "roundtable_event_loop_lag_seconds",
            f"How late a {LOOP_LAG_SAMPLE_SECONDS:g} s sleep on the event loop wakes up.",
            buckets=LOOP_LAG_BUCKETS,
            registry=self.registry,
        )
        self.last_loop_lag: float | None = None
        self._snapshot: OutboxSnapshot | None = None
        self._database_up = False
        self.registry.register(_ScrapeCollector(self))
        ProcessCollector(registry=self.registry)

    def attach(self, sources: MetricsSources) -> None:
        """Read the process through ``sources`` from now on (the composition root, once built)."""
        self.sources = sources
        self._attached_at = time.monotonic()

    # --- recorded as it happens --------------------------------------------------------------------

    def observe_interaction(self, command: str, outcome: str, seconds: float) -> None:
        self.interaction_seconds.labels(command=command, outcome=outcome).observe(max(seconds, 0.0))

    def count_interaction_error(self, kind: str) -> None:
        self.interaction_errors.labels(kind=kind).inc()

    def observe_loop_lag(self, seconds: float) -> None:
        self.last_loop_lag = seconds
        self.loop_lag.observe(seconds)

    # --- read at scrape time -----------------------------------------------------------------------

    async def refresh(self) -> None:
        """Read the outbox for the next :meth:`render` (a failure shows as ``roundtable_database_up 0``)."""
        sources = self.sources
        if sources is None:
            return
        if _sqlite_file_missing(sources.engine):  # reading would create an empty database in its place
            self._snapshot, self._database_up = None, False
            return
        try:
            async with asyncio.timeout(SCRAPE_DB_TIMEOUT_SECONDS):
                self._snapshot = await outbox_snapshot(
                    sources.engine,
                    now=sources.clock.now(),
                    overdue_after=timedelta(seconds=STALE_TICKS * sources.tick_seconds),
                )
            self._database_up = True
        except Exception as exc:
            log.warning("Metrics: cannot read the outbox: %s", exc.__class__.__name__)
            self._snapshot = None
            self._database_up = False

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def _scrape_families(self) -> Iterator[Metric]:
        sources = self.sources
        if sources is None:
            return
        ready = GaugeMetricFamily("roundtable_ready", "1 once connected to Discord and ready, else 0.")
        ready.add_metric([], 1.0 if sources.is_ready() else 0.0)
        yield ready
        latency = GaugeMetricFamily(
            "roundtable_gateway_latency_seconds", "Gateway heartbeat latency by shard.", labels=["shard"]
        )
        for shard, seconds in sources.latencies():
            if math.isfinite(seconds):
                latency.add_metric([str(shard)], seconds)
        yield latency
        age = tick_age(sources)
        last_tick = GaugeMetricFamily(
            "roundtable_scheduler_last_tick_age_seconds", "Seconds since the outbox scheduler last ticked."
        )
        if age is not None:
            last_tick.add_metric([], age)
        yield last_tick
        if self.last_loop_lag is not None:
            lag = GaugeMetricFamily(
                "roundtable_event_loop_lag_last_seconds", "The latest event-loop lag sample."
            )
            lag.add_metric([], self.last_loop_lag)
            yield lag
        database_up = GaugeMetricFamily(
            "roundtable_database_up", "1 when the last scrape could read the outbox, else 0."
        )
        database_up.add_metric([], 1.0 if self._database_up else 0.0)
        yield database_up
        yield from self._outbox_families()
        yield from _pool_families(sources.engine)

    def _outbox_families(self) -> Iterator[Metric]:
        snapshot = self._snapshot
        if snapshot is None:
            return
        rows = GaugeMetricFamily(
            "roundtable_outbox_rows", "Outbox rows by kind and status.", labels=["kind", "status"]
        )
        for (kind, status), count in sorted(snapshot.rows.items()):
            rows.add_metric([kind, status], count)
        yield rows
        due = GaugeMetricFamily(
            "roundtable_outbox_due", "Pending outbox rows already due, by kind.", labels=["kind"]
        )
        for kind, count in sorted(snapshot.due.items()):
            due.add_metric([kind], count)
        yield due
        overdue = GaugeMetricFamily(
            "roundtable_outbox_overdue",
            f"Pending outbox rows due more than {STALE_TICKS} scheduler ticks ago, by kind.",
            labels=["kind"],
        )
        for kind, count in sorted(snapshot.overdue.items()):
            overdue.add_metric([kind], count)
        yield overdue

    # --- health ------------------------------------------------------------------------------------

    async def health(self) -> tuple[bool, dict[str, object]]:
        sources = self.sources
        if sources is None:
            return False, {"ok": False, "problems": ["not started"]}
        problems: list[str] = []
        database = await database_problem(sources.engine)
        if database is not None:
            problems.append(f"database: {database}")
        age = tick_age(sources)
        limit = STALE_TICKS * sources.tick_seconds
        if age is not None and age > limit:
            problems.append(f"scheduler: no tick for {age:.0f} s (more than {STALE_TICKS} ticks)")
        elif age is None and time.monotonic() - self._attached_at > limit:
            problems.append(f"scheduler: not ticked once in {STALE_TICKS} ticks since start")
        body: dict[str, object] = {
            "ok": not problems,
            "ready": sources.is_ready(),
            "database": "ok" if database is None else database,
            "scheduler_last_tick_age_seconds": None if age is None else round(age, 3),
        }
        if problems:
            body["problems"] = problems
        return not problems, body


def tick_age(sources: MetricsSources) -> float | None:
    last = sources.last_tick()
    return None if last is None else max(time.monotonic() - last, 0.0)


def _pool_families(engine: AsyncEngine) -> Iterator[Metric]:
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return  # e.g. NullPool / StaticPool: nothing to report
    size = GaugeMetricFamily("roundtable_db_pool_size", "Database connections the pool keeps.")
    size.add_metric([], pool.size())
    yield size
    checked_out = GaugeMetricFamily("roundtable_db_pool_checked_out", "Database connections in use now.")
    checked_out.add_metric([], pool.checkedout())
    yield checked_out
    overflow = GaugeMetricFamily(
        "roundtable_db_pool_overflow", "Connections open beyond the pool size (negative: room left)."
    )
    overflow.add_metric([], pool.overflow())
    yield overflow


class _ScrapeCollector:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return list(self._metrics._scrape_families())

    def describe(self) -> Iterable[Metric]:
        return []  # families vary with the data: collected at every scrape, never cached


class MetricsServer:
    """The aiohttp server for ``/metrics`` and ``/healthz``, and the event-loop lag sampler."""

    def __init__(self, metrics: Metrics, *, host: str, port: int) -> None:
        self.metrics = metrics
        self.host = host
        self.requested_port = port
        self.port: int | None = None  # the bound port once started (port 0 picks a free one)
        self._runner: web.AppRunner | None = None
        self._sampler: asyncio.Task[None] | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics_endpoint)
        app.router.add_get("/healthz", self._health_endpoint)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.requested_port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self._sampler = asyncio.create_task(self._sample_loop_lag(), name="roundtable-loop-lag")
        self._sampler.add_done_callback(_log_sampler_end)
        log.info("Serving /metrics and /healthz on http://%s:%d", self.host, self.port)

    async def stop(self) -> None:
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _metrics_endpoint(self, _request: web.Request) -> web.Response:
        await self.metrics.refresh()
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _health_endpoint(self, _request: web.Request) -> web.Response:
        ok, body = await self.metrics.health()
        return web.Response(
            text=json.dumps(body), status=200 if ok else 503, content_type="application/json"
        )

    async def _sample_loop_lag(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(LOOP_LAG_SAMPLE_SECONDS)
            self.metrics.observe_loop_lag(max(time.monotonic() - started - LOOP_LAG_SAMPLE_SECONDS, 0.0))


def _log_sampler_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("The event-loop lag sampler stopped", exc_info=task.exception())
