"""An interaction answered after Discord's 3 s: logged as expired, never as an unexpected error.

Discord answers a late initial response with 10062 "Unknown interaction"; the member has already
seen "The application did not respond", and nothing more can reach them through that interaction.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.app import App
from tests.e2e.seeding import seed_group
from tests.sim import Channel, Guild, NoResponse, Sim
from tests.sim.rest import ACK_DEADLINE_SECONDS


def expired_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "expired before it was answered" in r.getMessage()]


async def test_a_late_answer_is_logged_as_expired_without_a_traceback(
    sim: Sim, guild: Guild, channel: Channel, app: App, caplog: pytest.LogCaptureFixture
) -> None:
    ana = sim.member(guild, "Ana")
    await seed_group(app, guild, channel, [ana], facilitators=(ana,))
    caplog.set_level(logging.WARNING)
    sim.rest.ack_deadline = -1.0  # every answer arrives too late
    try:
        # A reply (through the one reply helper), and a modal (its refusal reaches the error renderer).
        for command, options in (("commit add", {"text": "Send the Q1 price list"}), ("checkin", {})):
            with pytest.raises(NoResponse):
                await sim.command(ana, channel, command, **options)
            for _ in range(300):  # the bot's handling ends after the simulator stopped waiting
                if any(f"/{command} " in r.getMessage() for r in expired_records(caplog)):
                    break
                await asyncio.sleep(0.01)
    finally:
        sim.rest.ack_deadline = ACK_DEADLINE_SECONDS
    expired = expired_records(caplog)
    assert [r.levelno for r in expired] == [logging.WARNING, logging.WARNING]
    assert "/commit add" in expired[0].getMessage() and "/checkin" in expired[1].getMessage()
    assert all(r.exc_info is None for r in expired)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert app.bot.metrics is not None
    assert app.bot.metrics.interaction_errors.labels(kind="late")._value.get() == 1  # the modal's
    assert app.bot.metrics.interaction_errors.labels(kind="unexpected")._value.get() == 0
    assert len([p for p in sim.forget_problems() if "acknowledged after" in p]) == 2
    # The bot is fine: the next command, in time, is answered.
    reply = await sim.command(ana, channel, "commit list")
    assert reply.ephemeral
