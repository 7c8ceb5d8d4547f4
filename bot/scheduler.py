"""APScheduler as the clock over the outbox (the database holds the truth).

Two jobs in an in-memory job store, never one job per notification: an interval tick every
``SCHEDULER_TICK_SECONDS`` that sends whatever is due, and a one-off wake-up at the next pending
row's due time so nothing waits a whole tick. The wake-up is set after every run, and when a
commit plans a row due before it (:meth:`OutboxScheduler.poke`, called by the composition root),
so a command that plans a row due now has it sent at once. Both jobs only call
:meth:`OutboxScheduler.run_due`, which the tests also call directly; runs never overlap within a
process, and the claim keeps processes apart.

Due times come from the injected clock; APScheduler runs on the wall clock. A wake-up is set at
"now on the wall clock + how long until due by the injected clock", which is the due time itself
in production and keeps a test's manual clock meaningful.

Because every tick re-reads the clock, a jump (suspend, NTP correction, an outage) is caught up
within one tick; what fell due while the bot was down is sent if still useful and expired with
the reason otherwise (see ``OutboxService.claim_due``).

A third job, hourly and once at start, keeps house: it purges the servers that removed the bot
more than ``DATA_RETENTION_DAYS`` ago (``RetentionService.purge_due``) and prunes outbox rows
finished more than ``OUTBOX_RETENTION_DAYS`` ago (``OutboxService.prune``), by the injected clock.

On PostgreSQL a fourth, every ``HEARTBEAT_SECONDS``, keeps this process's row in ``bot_processes``
and sets the dispatcher's pace to this process's share of ``SEND_BUDGET_PER_SECOND`` (the budget
divided by the live processes, ``bot.processes``); a run also heartbeats first when the last one
is older than that, and a clean shutdown removes the row.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.clock import SystemClock
from bot.dispatch import Dispatcher
from bot.processes import HEARTBEAT_SECONDS, ProcessRegistry, share
from bot.services.outbox import PRUNE_BATCH
from bot.ui.errors import log_failure

if TYPE_CHECKING:
    from bot.client import RoundtableBot

log = logging.getLogger(__name__)

TICK_JOB = "outbox-tick"
WAKE_JOB = "outbox-wake"
HOUSEKEEPING_JOB = "housekeeping"
HEARTBEAT_JOB = "process-heartbeat"
HOUSEKEEPING_EVERY_MINUTES = 60  # how often removed servers are purged and old outbox rows pruned
STOP_WAIT_SECONDS = 3.0
PRUNE_ROUNDS = 10  # batches per housekeeping run, so one run stays short
RUN_TASK_NAME = "roundtable-outbox-run"  # the asyncio task of a scheduled run (the simulator waits for it)


class OutboxScheduler:
    def __init__(self, bot: RoundtableBot, *, processes: ProcessRegistry | None = None) -> None:
        self.bot = bot
        self.dispatcher = Dispatcher(bot)
        self.processes = processes  # None: one process (SQLite), at the whole budget
        self._last_heartbeat: float | None = None  # time.monotonic() of the last heartbeat
        self._scheduler: AsyncIOScheduler | None = None
        self._lock = asyncio.Lock()
        self._wall = SystemClock()
        self._wake_at: datetime | None = None  # wall-clock time of the pending wake-up job
        self._queued = False  # a scheduled run is waiting for the one in progress
        self._beating: asyncio.Task[None] | None = None  # a heartbeat job in progress
        self.last_tick: float | None = None  # time.monotonic() of the last tick (read by /healthz)

    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    async def start(self) -> None:
        """Start the clock; the first run (the backlog after downtime) starts at once."""
        if self.running:
            return
        await self.bot.services.outbox.load_dms_closed()
        if self.processes is not None:
            await self.heartbeat()  # the share is right from the first send
            if self.processes.live > 1:
                # The others pace at their old share until their next heartbeat counts this process:
                # sending before then would put the processes together over the budget.
                self.dispatcher.pacer.hold_for(HEARTBEAT_SECONDS + 1)
        self.dispatcher.stopping = False
        self._queued = False
        # Runs coalesce in _tick (one in progress, at most one queued behind it), so a job that fires
        # during a long run returns at once instead of APScheduler logging it as skipped.
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 3, "misfire_grace_time": None},
        )
        scheduler.add_job(
            self._tick, "interval", seconds=self.bot.settings.scheduler_tick_seconds, id=TICK_JOB
        )
        scheduler.add_job(self._tick, id="outbox-start")  # no trigger: once, now
        scheduler.add_job(self._housekeeping, "interval", minutes=HOUSEKEEPING_EVERY_MINUTES, id=HOUSEKEEPING_JOB,
                          next_run_time=self._wall.now())
        if self.processes is not None:
            scheduler.add_job(self._heartbeat_job, "interval", seconds=HEARTBEAT_SECONDS, id=HEARTBEAT_JOB)
        scheduler.start()
        self._scheduler = scheduler

    async def shutdown(self) -> None:
        """Stop the clock; let a run in progress finish its current send (claims not tried are released).

        APScheduler's executor cancels running coroutine jobs when it shuts down, so no new run may
        start (``_scheduler`` is cleared first), the run in progress is awaited, and only then is
        APScheduler stopped.
        """
        scheduler, self._scheduler = self._scheduler, None
        self.dispatcher.stopping = True
        try:
            async with asyncio.timeout(STOP_WAIT_SECONDS):
                async with self._lock:
                    pass
        except TimeoutError:
            log.warning("An outbox run was still sending at shutdown; its leases will expire")
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
        beating = self._beating
        if beating is not None and not beating.done():  # not left mid-query when the engine is disposed
            _done, late = await asyncio.wait({beating}, timeout=STOP_WAIT_SECONDS)
            for task in late:
                task.cancel()
        if self.processes is not None and self._last_heartbeat is not None:
            self._last_heartbeat = None
            try:
                await self.processes.leave()
            except Exception as exc:  # the row stops counting on its own after LIVE_SECONDS
                log_failure("leave bot_processes", exc)

    async def heartbeat(self) -> float:
        """Refresh this process's heartbeat, count the live processes, pace at this process's share;
        return the share (requests per second)."""
        budget = self.bot.settings.send_budget_per_second
        if self.processes is None:
            return budget
        rate = share(budget, await self.processes.heartbeat())
        self._last_heartbeat = time.monotonic()
        self.dispatcher.pacer.set_rate(rate)
        return rate

    async def _heartbeat_job(self) -> None:
        if self._scheduler is None:
            return
        # Not under the run lock (a long fan-out must not stop the heartbeats, or the others would
        # count this process dead and take its share), so shutdown() waits for this one by itself.
        self._beating = asyncio.current_task()
        try:
            await self.heartbeat()
        except Exception as exc:  # keep the last share; the next heartbeat tries again
            log_failure("process heartbeat", exc)
        finally:
            self._beating = None

    async def run_due(self) -> int:
        """Send everything due by the injected clock now; return how many were sent."""
        async with self._lock:
            self._queued = False  # this run sees every row committed before it started
            if self.processes is not None and (
                self._last_heartbeat is None or time.monotonic() - self._last_heartbeat > HEARTBEAT_SECONDS
            ):
                try:
                    await self.heartbeat()  # after a quiet spell: the share for this run
                except Exception as exc:
                    log_failure("process heartbeat", exc)
            try:
                return await self.dispatcher.run_due()
            finally:
                await self._schedule_wake()

    async def purge_removed_servers(self) -> int:
        """Purge the data of servers that removed the bot ``DATA_RETENTION_DAYS`` ago (injected clock)."""
        retention = timedelta(days=self.bot.settings.data_retention_days)
        return len(await self.bot.services.retention.purge_due(retention))

    async def _housekeeping(self) -> None:
        if self._scheduler is None:
            return
        async with self._lock:  # like a run: shutdown() waits for it instead of cancelling it mid-purge
            for name, step in (("retention purge", self.purge_removed_servers), ("outbox pruning", self.prune_outbox)):
                if self._scheduler is None:
                    return
                try:
                    await step()
                except Exception as exc:  # the job must keep running, and one step failing skips no other
                    log_failure(name, exc)

    async def _tick(self) -> None:
        if self._scheduler is None:
            return  # shutting down: a job that fired just before shutdown() must not start a run
        self.last_tick = time.monotonic()
        if self._queued:
            return  # a run is already waiting to start; it will see everything this one would
        task = asyncio.current_task()
        if task is not None:
            task.set_name(RUN_TASK_NAME)
        self._queued = True
        try:
            await self.run_due()  # waits for a run in progress, then sends what that run did not see
        except Exception as exc:  # the clock must keep ticking
            log_failure("outbox tick", exc)

    async def prune_outbox(self) -> int:
        """Delete outbox rows finished more than ``OUTBOX_RETENTION_DAYS`` ago, in batches (see ``prune``)."""
        retention = timedelta(days=self.bot.settings.outbox_retention_days)
        pruned = 0
        for _ in range(PRUNE_ROUNDS):
            if self.dispatcher.stopping:
                break
            deleted = await self.bot.services.outbox.prune(retention)
            pruned += deleted
            if deleted < PRUNE_BATCH:
                break
        if pruned:
            log.info("Pruned %d outbox rows finished more than %d days ago", pruned, retention.days)
        return pruned

    async def _schedule_wake(self) -> None:
        """After a run: a one-off run at the next pending due time, if it comes before the next tick."""
        if not self.running:
            return
        try:
            due = await self.bot.services.outbox.next_due()
        except Exception as exc:
            log_failure("outbox next due", exc)
            return
        if due is not None:
            self.poke(due)

    def poke(self, due: datetime) -> None:
        """A row falls due at ``due`` (injected clock): make sure a run starts by then.

        Synchronous and cheap (no I/O), so the composition root can call it from a commit hook.
        """
        scheduler = self._scheduler
        if scheduler is None or not scheduler.running:
            return
        wall_now = self._wall.now()
        run_at = wall_now + max(due - self.bot.clock.now(), timedelta(0))
        tick = scheduler.get_job(TICK_JOB)
        if tick is not None and tick.next_run_time is not None and run_at >= tick.next_run_time:
            return
        wake = scheduler.get_job(WAKE_JOB)
        if wake is not None and self._wake_at is not None and wall_now <= self._wake_at <= run_at:
            return  # an earlier wake-up is already set
        self._wake_at = run_at
        scheduler.add_job(self._tick, DateTrigger(run_date=run_at), id=WAKE_JOB, replace_existing=True)
