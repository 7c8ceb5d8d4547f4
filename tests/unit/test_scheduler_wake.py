"""The scheduler's wake-up arithmetic: when a commit (or a run) says a row falls due, a one-off run
is set then (wall clock), unless the tick or an earlier wake-up comes first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from bot.clock import ManualClock
from bot.scheduler import TICK_JOB, WAKE_JOB, OutboxScheduler
from bot.services import Services
from bot.settings import Settings


@pytest.fixture
async def scheduler(services: Services, clock: ManualClock) -> AsyncIterator[OutboxScheduler]:
    settings = Settings(discord_token="x", scheduler_tick_seconds=30, _env_file=None)  # type: ignore[call-arg]
    bot = SimpleNamespace(clock=clock, settings=settings, services=services, http=SimpleNamespace())
    outbox_scheduler = OutboxScheduler(bot)  # type: ignore[arg-type]
    await outbox_scheduler.start()
    yield outbox_scheduler
    await outbox_scheduler.shutdown()


def wake_in(scheduler: OutboxScheduler) -> float | None:
    """Seconds (wall clock) until the pending wake-up, or None."""
    assert scheduler._scheduler is not None
    job = scheduler._scheduler.get_job(WAKE_JOB)
    return None if job is None else (job.next_run_time - datetime.now(UTC)).total_seconds()


async def test_a_row_due_before_the_tick_sets_a_wake_up_at_its_time(scheduler: OutboxScheduler, clock: ManualClock) -> None:
    scheduler.poke(clock.now() + timedelta(seconds=10))
    assert wake_in(scheduler) == pytest.approx(10, abs=1)


async def test_a_row_due_after_the_tick_is_left_to_the_tick(scheduler: OutboxScheduler, clock: ManualClock) -> None:
    scheduler.poke(clock.now() + timedelta(minutes=5))
    assert wake_in(scheduler) is None
    assert scheduler._scheduler is not None and scheduler._scheduler.get_job(TICK_JOB) is not None


async def test_only_an_earlier_row_moves_the_wake_up(scheduler: OutboxScheduler, clock: ManualClock) -> None:
    scheduler.poke(clock.now() + timedelta(seconds=10))
    scheduler.poke(clock.now() + timedelta(seconds=20))
    assert wake_in(scheduler) == pytest.approx(10, abs=1)
    scheduler.poke(clock.now() + timedelta(seconds=3))
    assert wake_in(scheduler) == pytest.approx(3, abs=1)


async def test_a_row_already_due_wakes_at_once_and_a_stopped_scheduler_ignores_pokes(
    scheduler: OutboxScheduler, clock: ManualClock
) -> None:
    scheduler.poke(clock.now() - timedelta(hours=1))
    assert wake_in(scheduler) == pytest.approx(0, abs=1)
    await scheduler.shutdown()
    scheduler.poke(clock.now())  # no error, nothing scheduled
    assert not scheduler.running
