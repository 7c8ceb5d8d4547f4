"""Warm what is slow on first use, before the bot reports ready (issue 20, cold start).

Discord allows 3 s to acknowledge an interaction. Left cold, the first command after a start pays
for everything that is built on first use: SQLAlchemy compiling each statement (and configuring the
ORM mappers on the first ORM query), the sorted list of time zones behind every time-zone
autocomplete, the shipped curriculum (YAML parsed and validated by pydantic), the date and
recurrence readers. On a busy machine that added up to more than 3 s (docs/PERFORMANCE.md,
"Interaction latency and cold start"). ``warm_caches`` does it once, in ``setup_hook``.

Nothing here writes: the database part runs the hot *read* use cases (``Service.read``) as one real
member of one real group, so the statements they compile are the ones members' commands run.
"""

from __future__ import annotations

import contextlib
import logging
import time as clock
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time

from bot import curriculum, dates, recurrence, timezones
from bot.errors import UserError
from bot.services import Services
from bot.services.base import Actor

log = logging.getLogger(__name__)

_SOME_MONDAY = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)


def warm_pure_caches() -> None:
    """The caches that need no database: time zones, the curriculum, the date readers."""
    timezones.search_timezones("")
    timezones.search_timezones("europe/lon")
    timezones.validate_timezone("Europe/London")
    curriculum.load_default()
    now = _SOME_MONDAY  # any instant warms the same code; the wall clock is the Clock's to read
    with contextlib.suppress(UserError):
        dates.parse_when("next tuesday 18:00", "Europe/Berlin", now)
    with contextlib.suppress(UserError):
        series = recurrence.parse_rule("every 2 weeks on monday")
        anchor = recurrence.anchor_for(now, "Europe/Berlin", time(18, 0))
        recurrence.occurrences(series.rrule, anchor, "Europe/Berlin", after=now, count=3)


async def warm_statements(services: Services) -> int:
    """Run the hot read use cases once as a real member (compiling their statements); how many ran.

    An empty database has no member: then only the ORM's mappers are configured, by the lookup.
    """
    sample = await services.groups.sample_member()
    await services.outbox.load_dms_closed()
    if sample is None:
        return 0
    guild_id, user_id, channel_id = sample
    actor = Actor(guild_id=guild_id, user_id=user_id, channel_id=channel_id)
    reads: list[Callable[[], Awaitable[object]]] = [
        lambda: services.groups.info(actor),
        lambda: services.commitments.list_commitments(actor),
        lambda: services.meetings.next(actor),
        lambda: services.meetings.upcoming(actor),
        lambda: services.agenda.show(actor),
        lambda: services.commitments.stats(actor),
        lambda: services.groups.choices(actor, ""),
        lambda: services.commitments.choices(actor, ""),
        lambda: services.meetings.choices(actor, ""),
        lambda: services.guilds.member_timezone(guild_id, user_id),
    ]
    for read in reads:
        with contextlib.suppress(UserError):  # e.g. no meeting planned: its statements ran all the same
            await read()
    return len(reads)


async def warm_caches(services: Services) -> float:
    """Everything above; the seconds it took (logged)."""
    started = clock.monotonic()
    warm_pure_caches()
    ran = await warm_statements(services)
    took = clock.monotonic() - started
    log.info("Warmed caches in %.0f ms (%d read use cases)", took * 1000, ran)
    return took
