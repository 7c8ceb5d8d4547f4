"""APScheduler as the clock over the outbox (the database holds the truth).

Two jobs in an in-memory job store, never one job per notification: an interval tick every
``SCHEDULER_TICK_SECONDS`` that sends whatever is due, and a one-off wake-up at the next pending
row's due time so nothing waits a whole tick. Both only call :meth:`OutboxScheduler.run_due`,
which the tests and the simulator also call directly; runs never overlap within a process, and
the claim keeps processes apart. Because every tick re-reads the clock, a jump (suspend, NTP
correction, an outage) is caught up within one tick; what fell due while the bot was down is sent
if still useful and expired with the reason otherwise (see ``OutboxService.claim_due``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.dispatch import Dispatcher
from bot.ui.errors import log_failure

if TYPE_CHECKING:
    from bot.client import RoundtableBot

log = logging.getLogger(__name__)

TICK_JOB = "outbox-tick"
WAKE_JOB = "outbox-wake"
STOP_WAIT_SECONDS = 3.0


class OutboxScheduler:
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot
        self.dispatcher = Dispatcher(bot)
        self._scheduler: AsyncIOScheduler | None = None
        self._lock = asyncio.Lock()
        self._wake_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    async def start(self) -> None:
        """Start the clock; the first run (the backlog after downtime) starts at once."""
        if self.running:
            return
        await self.bot.services.outbox.load_dms_closed()
        self.dispatcher.stopping = False
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        scheduler.add_job(
            self._tick, "interval", seconds=self.bot.settings.scheduler_tick_seconds, id=TICK_JOB
        )
        scheduler.add_job(self._tick, id="outbox-start")  # no trigger: once, now
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

    async def run_due(self) -> int:
        """Send everything due by the injected clock now; return how many were sent."""
        async with self._lock:
            try:
                return await self.dispatcher.run_due()
            finally:
                await self._schedule_wake()

    async def _tick(self) -> None:
        if self._scheduler is None:
            return  # shutting down: a job that fired just before shutdown() must not start a run
        if self._lock.locked():
            return  # a run is in progress; it drains everything due
        try:
            await self.run_due()
        except Exception as exc:  # the clock must keep ticking
            log_failure("outbox tick", exc)

    async def _schedule_wake(self) -> None:
        """A one-off run at the next pending due time, if it comes before the next tick."""
        scheduler = self._scheduler
        if scheduler is None or not scheduler.running:
            return
        try:
            due = await self.bot.services.outbox.next_due()
        except Exception as exc:
            log_failure("outbox next due", exc)
            return
        if due is None:
            return
        tick = scheduler.get_job(TICK_JOB)
        if tick is not None and tick.next_run_time is not None and due >= tick.next_run_time:
            return
        if self._wake_at == due and scheduler.get_job(WAKE_JOB) is not None:
            return
        self._wake_at = due
        scheduler.add_job(self._tick, DateTrigger(run_date=due), id=WAKE_JOB, replace_existing=True)

    def wake(self) -> None:
        """Ask for a run soon (e.g. after a commit that planned a row due now)."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.add_job(self._tick, id=WAKE_JOB, replace_existing=True)
