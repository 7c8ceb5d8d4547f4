"""Dates members type ("3 Dec 6pm", "next tuesday 18:00", "2026-12-03 18:00"), read in a timezone.

Parsing is dateparser's; this module only fixes the reference point (the clock's now, seen in the
member's or group's zone), turns the wall-clock result into an aware UTC datetime, and answers
text it can't read with a clear :class:`~bot.errors.InvalidInput`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dateparser

from bot.errors import InvalidInput
from bot.timezones import zone

MAX_WHEN_LENGTH = 100

_EXAMPLES = "`2026-12-03 18:00`, `3 Dec 6pm` or `next tuesday 18:00`"


def localize(wall: datetime, tz: str) -> datetime:
    """The aware UTC instant at which clocks in ``tz`` show the naive ``wall`` time.

    A time in a daylight-saving gap (clocks jump over it) doesn't exist there: that is refused.
    A time shown twice (clocks go back) means the first of the two.
    """
    if wall.tzinfo is not None:
        return wall.astimezone(UTC)
    zi = zone(tz)
    local = wall.replace(tzinfo=zi, fold=0)
    if local.astimezone(UTC).astimezone(zi).replace(tzinfo=None) != wall:
        raise InvalidInput(
            f"{wall:%Y-%m-%d %H:%M} doesn't exist in {tz}: the clocks go forward then. Pick another time."
        )
    return local.astimezone(UTC)


def to_local(when: datetime, tz: str) -> datetime:
    """An aware instant as the wall-clock time in ``tz`` (aware, in that zone)."""
    return when.astimezone(zone(tz))


def parse_when(text: str, tz: str, now: datetime) -> datetime:
    """The moment ``text`` names, read as wall-clock time in the IANA zone ``tz``, as aware UTC.

    Relative phrases ("tomorrow 9am", "next tuesday 18:00") count from ``now`` as seen in ``tz``;
    a phrase that could mean a past or a future day ("tuesday") means the coming one. An explicit
    offset or zone in the text ("18:00 UTC", "+01:00") wins over ``tz``.
    """
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InvalidInput(f"Tell me when, like {_EXAMPLES}.")
    if len(cleaned) > MAX_WHEN_LENGTH:
        raise InvalidInput(f"That date is too long to read ({len(cleaned)} characters; at most {MAX_WHEN_LENGTH}).")
    base = now.astimezone(zone(tz)).replace(tzinfo=None)
    parsed = dateparser.parse(
        cleaned,
        languages=["en"],
        settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "future"},
    )
    if parsed is None:
        raise InvalidInput(
            f"I couldn't read `{cleaned.replace('`', '')}` as a date and time. Try {_EXAMPLES} "
            f"(times are in {tz})."
        )
    return localize(parsed, tz)
