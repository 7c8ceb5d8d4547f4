"""What the scheduler benchmarks (``bench.fanout``, ``bench.outage``) share: a simulator in its own
process, the seeded world, the real App, an event-loop lag probe, and the delivery check.

The Discord simulator (``tests.sim``, driven by ``bench/_sim.py``) runs in a child process started
with ``spawn``, and only there is it imported: its HTTP server, contract checks and bookkeeping
burn the child's CPU and fill the child's heap, so ``time.process_time()`` of this process (the
event loop, discord.py, SQLAlchemy, the aiosqlite thread: the bot) and the loop lag measured here
are the bot's own. The child builds the world, sends its ids over a pipe,
answers "how many messages so far" while the bot runs and, at the end, what it recorded. Both
processes stamp times with ``time.monotonic()`` (CLOCK_MONOTONIC: one clock for the machine), so
a request's arrival at the simulator and the bot's ready moment lie on one time line.

The world: groups of 8 members, 250 groups (each with its own channel) per server, as Discord
allows 500 channels per server. With ``open_dms`` every member's DM channel with the bot exists
in the simulator and is stored in the bot's ``dm_channel`` table (steady state: one request per
DM); without it the bot opens each DM channel first (cold: two requests per DM).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import multiprocessing
import os
import platform
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy import func, insert, select

from bot.app import App, freeze_startup_heap
from bot.clock import SystemClock
from bot.models import Commitment, DMChannel, Group, GroupMember, Meeting, OutboxRow
from bot.models.outbox import PENDING
from bot.services.outbox import EXPIRED, REPORTBACK_DM, SENT
from bot.settings import Settings

GROUP_SIZE = 8
GROUPS_PER_SERVER = 250
COMMITMENTS_PER_MEMBER = 2
# The simulator's limits with --limits on: Discord's global 50 requests/s, and 5 per second per
# route and major id (channel or guild; none for POST /users/@me/channels: one bucket for all opens).
GLOBAL_LIMIT = 50
BUCKET_LIMIT = 5
BUCKET_WINDOW = 1.0
IDLE_SECONDS = 3.0  # after a run: how much CPU the idle bot (and the probe) uses
MESSAGE_ROUTE = "POST /channels/{channel_id}/messages"
OPEN_DM_ROUTE = "POST /users/@me/channels"
SEND_ROUTES = (MESSAGE_ROUTE, OPEN_DM_ROUTE)


# --- the simulator's process -------------------------------------------------------------------------


@dataclass(frozen=True)
class SimGroup:
    guild_id: int
    channel_id: int
    members: tuple[tuple[int, int | None], ...]  # (user id, DM channel id if already open)


@dataclass(frozen=True)
class SimWorld:
    token: str
    api_base: str
    groups: tuple[SimGroup, ...]


@dataclass(frozen=True)
class SimReport:
    """What the simulator recorded: requests, 429s, every message the bot created."""

    sends: list[float]  # arrival (monotonic) of every POST answered 200 on SEND_ROUTES, in order
    requests: Counter[str]  # "METHOD template status" → count
    limited_global: Counter[str]  # "METHOD template" → global 429s
    limited_route: Counter[str]  # "METHOD template" → per-route (bucket) 429s
    messages: list[tuple[int, int, str | None]]  # (message id, channel id, nonce)
    problems: list[str]  # contract violations, unknown routes: must be empty
    cpu_seconds: float


def _child(
    conn: Connection, members: int, rate_limits: bool, open_dms: bool, shape: tuple[int, int],
    latency: tuple[float, float],
) -> None:
    from bench._sim import serve  # here, in the child: the bot's process never imports the simulator

    serve(conn, members, rate_limits, open_dms, shape, latency)


class SimProcess:
    """The simulator in a child process; ``world`` is what it built."""

    def __init__(self, conn: Connection, process: multiprocessing.process.BaseProcess, world: SimWorld) -> None:
        self._conn = conn
        self._process = process
        self.world = world

    @classmethod
    async def start(
        cls, *, members: int, rate_limits: bool, open_dms: bool, group_size: int = GROUP_SIZE,
        groups_per_server: int = GROUPS_PER_SERVER, latency: tuple[float, float] = (0.0, 0.0),
    ) -> SimProcess:
        """``members`` in groups of ``group_size``, ``groups_per_server`` groups (channels) a server;
        ``latency``: (fixed, jitter) seconds the simulator holds every REST answer (``Sim.set_latency``)."""
        context = multiprocessing.get_context("spawn")
        conn, child_conn = context.Pipe()
        process = context.Process(
            target=_child, args=(child_conn, members, rate_limits, open_dms, (group_size, groups_per_server), latency),
            name="discord-sim", daemon=True,
        )
        process.start()
        child_conn.close()
        return cls(conn, process, await asyncio.to_thread(conn.recv))

    def _ask(self, command: str) -> Any:
        self._conn.send(command)
        return self._conn.recv()

    async def messages(self) -> int:
        return await asyncio.to_thread(self._ask, "messages")

    async def report(self) -> SimReport:
        return await asyncio.to_thread(self._ask, "report")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
        self._conn.close()


# --- the bot -----------------------------------------------------------------------------------------


def build_app(url: str, world: SimWorld, *, budget: float) -> App:
    """The real App (every cog, the real renderers) on the system clock, pointed at the simulator."""
    settings = Settings(
        discord_token=world.token,
        database_url=url,
        discord_api_base=world.api_base,
        send_budget_per_second=budget,
        _env_file=None,  # type: ignore[call-arg]
    )
    return App(settings, clock=SystemClock())


async def seed(
    app: App,
    world: SimWorld,
    *,
    starts_at: Callable[[int], datetime],
    due_at: Callable[[int], datetime],
    store_dm_channels: bool,
) -> None:
    """Groups, members, one meeting per group (``starts_at(group index)``), two open commitments per
    member due at it, and one pending report-back DM per member (``due_at(member index)``), as
    ``plan_group`` writes them. The database must be freshly migrated."""
    now = datetime.now(UTC)
    joined = now - timedelta(days=30)
    async with app.sessions() as session:
        if await session.scalar(select(func.count()).select_from(OutboxRow)):
            raise SystemExit("The database is not empty: give the benchmark a fresh one.")
    groups, members, meetings, commitments, dm_channels, rows = [], [], [], [], [], []
    member_index = 0
    for group_id, group in enumerate(world.groups, start=1):
        start = starts_at(group_id - 1)
        guild_id = group.guild_id
        groups.append(
            dict(id=group_id, guild_id=guild_id, channel_id=group.channel_id, name=f"Group {group_id}",
                 name_key=f"group {group_id}", timezone="UTC", created_by=group.members[0][0], created_at=joined)
        )
        meetings.append(dict(id=group_id, guild_id=guild_id, group_id=group_id, starts_at=start, created_at=joined))
        for position, (user_id, dm_channel_id) in enumerate(group.members):
            members.append(
                dict(group_id=group_id, user_id=user_id, guild_id=guild_id, is_facilitator=position == 0,
                     joined_at=joined + timedelta(seconds=position))
            )
            for n in range(COMMITMENTS_PER_MEMBER):
                commitments.append(
                    dict(guild_id=guild_id, group_id=group_id, number=position * COMMITMENTS_PER_MEMBER + n + 1,
                         user_id=user_id, text=f"Commitment {n + 1} of member {member_index + 1}",
                         due_at=start - timedelta(hours=1), meeting_id=group_id, created_at=joined, updated_at=joined)
                )
            if store_dm_channels:
                dm_channels.append(dict(user_id=user_id, channel_id=dm_channel_id, updated_at=joined))
            rows.append(
                dict(kind=REPORTBACK_DM, guild_id=guild_id, group_id=group_id, meeting_id=group_id,
                     occurrence=f"meeting:{group_id}", recipient_id=user_id, due_at=due_at(member_index),
                     status=PENDING, attempts=0, payload={"starts_at": start.isoformat()},
                     created_at=joined, updated_at=joined)
            )
            member_index += 1
    async with app.engine.begin() as conn:
        for model, values in (
            (Group, groups), (Meeting, meetings), (GroupMember, members), (Commitment, commitments),
            (DMChannel, dm_channels), (OutboxRow, rows),
        ):
            if values:
                await conn.execute(insert(model), values)


def _on_ready_time(app: App) -> asyncio.Future[float]:
    """Resolves with ``time.monotonic()`` when the bot dispatches ``on_ready``."""
    ready: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    async def mark() -> None:
        if not ready.done():
            ready.set_result(time.monotonic())

    app.bot.add_listener(mark, "on_ready")
    return ready


async def _poll(done: Callable[[], Awaitable[bool]], *, every: float = 0.5) -> None:
    """Return once ``done()`` is true (callers bound it with ``asyncio.timeout``).

    Polling, not an event: the answer is in another process (the simulator) or the database.
    """
    while True:
        if await done():
            return
        await asyncio.sleep(every)


@dataclass(frozen=True)
class Measured:
    """One run of the bot against the simulator: App.start() until no outbox row is pending."""

    dialect: str
    report: SimReport
    delivery: Delivery
    probe: LagProbe
    started: float  # monotonic: App.start() called
    ready: float  # on_ready dispatched
    drained: float  # no pending row left (or the time limit)
    complete: bool
    cpu: float  # this process's CPU seconds from App.start()'s return to drained
    cpu_window: float  # seconds of that window
    idle: float  # CPU seconds per second of the idle bot (heartbeats, the probe) just after

    @property
    def net_cpu(self) -> float:
        """``cpu`` less what the bot would have used idle over the same window."""
        return self.cpu - self.idle * self.cpu_window


async def run_bot(
    url: str,
    sim: SimProcess,
    *,
    budget: float,
    prepare: Callable[[App], Awaitable[None]],
    messages: int,
    time_limit: float,
    freeze_heap: bool = True,
) -> Measured:
    """Build the App, migrate, ``prepare`` it (seed), start it with the lag probe running, wait
    until the simulator has ``messages`` messages and no outbox row is pending, then measure.

    ``freeze_heap``: ``bot.app.freeze_startup_heap()`` once the bot is ready, as ``python -m bot``
    does (False measures the bot without it: docs/PERFORMANCE.md, "Event-loop lag").
    """
    app = build_app(url, sim.world, budget=budget)
    try:
        await app.migrate()
        await prepare(app)
        probe = LagProbe()
        ready = _on_ready_time(app)
        probe.start()
        started = time.monotonic()
        await app.start()
        if freeze_heap:
            freeze_startup_heap()
        cpu_start, cpu_from = cpu_seconds(), time.monotonic()
        complete = True
        try:
            async with asyncio.timeout(time_limit):
                await _poll(lambda: _has_messages(sim, messages))
                await _poll(lambda: _none_pending(app), every=0.1)
        except TimeoutError:
            complete = False
        drained = time.monotonic()
        cpu = cpu_seconds() - cpu_start
        await asyncio.sleep(IDLE_SECONDS)
        idle = (cpu_seconds() - cpu_start - cpu) / IDLE_SECONDS
        await probe.stop()
        report = await sim.report()
        return Measured(
            dialect=app.engine.dialect.name,
            report=report,
            delivery=await check_delivery(app, report),
            probe=probe,
            started=started,
            ready=await ready,
            drained=drained,
            complete=complete,
            cpu=cpu,
            cpu_window=drained - cpu_from,
            idle=idle,
        )
    finally:
        await app.stop()


async def _has_messages(sim: SimProcess, messages: int) -> bool:
    return await sim.messages() >= messages


async def _none_pending(app: App) -> bool:
    async with app.sessions() as session:
        return not await session.scalar(select(func.count()).where(OutboxRow.status == PENDING))


# --- measuring ---------------------------------------------------------------------------------------


@dataclass
class LagProbe:
    """The event loop's lag: how late a task that sleeps ``interval`` wakes, sampled continuously.

    It also times the cyclic garbage collector's full (generation 2) collections, which stop the
    loop for as long as they take.
    """

    interval: float = 0.005
    samples: list[tuple[float, float]] = field(default_factory=list)  # (monotonic time, lag in s)
    full_collections: list[tuple[float, float]] = field(default_factory=list)  # (monotonic end, seconds)
    _task: asyncio.Task[None] | None = None
    _collecting_since: float = 0.0

    def start(self) -> None:
        gc.callbacks.append(self._on_gc)
        self._task = asyncio.create_task(self._run(), name="lag-probe")

    async def stop(self) -> None:
        gc.callbacks.remove(self._on_gc)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._collecting_since = time.monotonic()
        else:
            now = time.monotonic()
            self.full_collections.append((now, now - self._collecting_since))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()  # loop.time() is time.monotonic()
        while True:
            started = loop.time()
            await asyncio.sleep(self.interval)
            woke = loop.time()
            self.samples.append((woke, woke - started - self.interval))

    def between(self, start: float, end: float) -> str:
        lags = distribution([lag for at, lag in self.samples if start <= at <= end])
        pauses = [seconds for at, seconds in self.full_collections if start <= at <= end]
        longest = f", longest {max(pauses) * 1000:.0f} ms" if pauses else ""
        return f"{lags}; {len(pauses)} full GC collection(s){longest}"


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def distribution(seconds: Iterable[float]) -> str:
    ordered = sorted(seconds)
    if not ordered:
        return "no samples"
    ms = [value * 1000 for value in ordered]
    return (
        f"p50 {percentile(ms, 0.5):.2f} ms  p99 {percentile(ms, 0.99):.2f} ms  max {ms[-1]:.2f} ms"
        f"  ({len(ms):,} samples)"
    )


@dataclass(frozen=True)
class Delivery:
    """The outbox against what the simulator recorded."""

    statuses: Counter[str]
    lost: int  # rows neither sent nor expired, or marked sent without the row's message in the simulator
    duplicated: int  # messages beyond the first per nonce
    recipients: int  # DM channels that got a message
    most_per_recipient: int
    expired_groups: set[int]


async def check_delivery(app: App, report: SimReport) -> Delivery:
    async with app.sessions() as session:
        rows = (await session.execute(select(OutboxRow.id, OutboxRow.status, OutboxRow.message_id, OutboxRow.group_id))).all()
    by_id = {message_id: nonce for message_id, _channel, nonce in report.messages}
    nonces = Counter(nonce for _id, _channel, nonce in report.messages)
    per_channel = Counter(channel for _id, channel, _nonce in report.messages)
    lost = sum(
        1
        for row_id, status, message_id, _group in rows
        # The nonce the dispatcher sends with a row (Claimed.nonce in bot/services/outbox.py).
        if status != EXPIRED and (status != SENT or by_id.get(message_id) != f"rt-outbox-{row_id}")
    )
    return Delivery(
        statuses=Counter(status for _id, status, _message, _group in rows),
        lost=lost,
        duplicated=sum(count - 1 for count in nonces.values()),
        recipients=len(per_channel),
        most_per_recipient=max(per_channel.values(), default=0),
        expired_groups={group for _id, status, _message, group in rows if status == EXPIRED},
    )


def cpu_seconds() -> float:
    """CPU time of this process, every thread (the bot: loop, drivers, the aiosqlite thread)."""
    return time.process_time()


def machine() -> str:
    model = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} CPU {model!r}, {memory:.1f} GiB RAM, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}; load average {load}"
    )
