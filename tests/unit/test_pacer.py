"""The dispatcher's pacer: request starts spaced at the budget, the budget changed at runtime."""

from __future__ import annotations

import asyncio

import pytest

from bot.dispatch import Pacer


@pytest.fixture
async def starts(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A clock the pacer's sleeps advance (no real waiting); the start times it allowed, in order."""
    loop = asyncio.get_running_loop()
    now = [100.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    monkeypatch.setattr(loop, "time", lambda: now[0])
    monkeypatch.setattr("bot.dispatch.asyncio.sleep", sleep)
    return now


async def test_starts_are_spaced_at_the_budget_and_a_new_rate_applies_from_the_next(starts: list[float]) -> None:
    pacer = Pacer(10)
    seen = []
    for _ in range(3):
        await pacer.wait()
        seen.append(round(starts[0], 3))
    pacer.set_rate(20)  # e.g. this process's share of a budget grew
    for _ in range(2):
        await pacer.wait()
        seen.append(round(starts[0], 3))
    assert seen == [100.0, 100.1, 100.2, 100.25, 100.3]
    assert pacer.per_second == 20


async def test_time_without_sends_saves_no_credit_for_a_burst(starts: list[float]) -> None:
    pacer = Pacer(4)
    await pacer.wait()
    starts[0] += 10  # nothing to send for a while: no credit is saved up
    await pacer.wait()
    await pacer.wait()
    assert round(starts[0], 3) == 110.25


async def test_a_budget_is_a_positive_rate() -> None:
    with pytest.raises(ValueError):
        Pacer(0)
    with pytest.raises(ValueError):
        Pacer(5).set_rate(-1)


async def test_the_hold_is_awaited_before_each_start(starts: list[float]) -> None:
    held = []

    async def hold() -> None:
        held.append(starts[0])

    pacer = Pacer(10, hold=hold)
    await pacer.wait()
    await pacer.wait()
    assert len(held) == 2


async def test_a_hold_for_a_while_delays_the_next_start_and_keeps_the_spacing_after(starts: list[float]) -> None:
    pacer = Pacer(10)
    pacer.hold_for(6)  # a process joining others: nothing until they have counted it
    await pacer.wait()
    first = round(starts[0], 3)
    await pacer.wait()
    assert (first, round(starts[0], 3)) == (106.0, 106.1)
