"""Dates members type ("3 Dec 6pm", "next tuesday 18:00", "2026-12-03 18:00"), read in a timezone.

The grammar is small and strict on purpose — a date a member plausibly means, nothing else:

- a calendar date: ``2027-03-04``, ``4 March``, ``March 4th 2027``, ``thu 3 dec`` (a weekday given
  with a date must agree with it); a date without a year is the next one from today;
- a day named from today: ``today``, ``tomorrow``, ``friday``, ``next thursday`` (a weekday is the
  coming one, never today), ``in 2 weeks``, ``3 days from now``, ``next week``;
- optionally a clock time before or after it: ``18:00``, ``6pm``, ``6:30 pm``, ``noon``, ``at 9am``,
  and an explicit ``UTC``/``Z``/``+01:00`` after the time, which wins over the zone.

A date alone is midnight at its start; a day counted from today ("tomorrow", "in 2 weeks") keeps
the current time of day, as it always has. Anything else — numbers (``-1``, ``10**30``), impossible
times (``25:00``), ambiguous ``3/12`` — is refused with a :class:`~bot.errors.InvalidInput` giving
examples; so is a date before :data:`EARLIEST` or more than ``max_ahead`` (:data:`MAX_AHEAD` by
default) from now. No other exception leaves :func:`parse_when` for any text.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta

from bot.errors import InvalidInput
from bot.timezones import zone

MAX_WHEN_LENGTH = 100
# How far ahead a commitment may be due or a meeting be planned: about two years.
MAX_AHEAD = timedelta(days=2 * 366)
# No date before this is ever meant (callers may pass a later floor, like the group's creation).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)

_EXAMPLES = "`2026-12-03 18:00`, `3 Dec 6pm`, `next thursday 18:00`, `tomorrow 9am` or `in 2 weeks`"

_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
}
_MONTH_ALIASES = {**_MONTHS, **{name[:3]: n for name, n in _MONTHS.items()}, "sept": 9}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_ALIASES = {
    **{name: i for i, name in enumerate(_WEEKDAYS)},
    **{name[:3]: i for i, name in enumerate(_WEEKDAYS)},
    "tues": 1, "weds": 2, "thur": 3, "thurs": 3,
}
_UNITS = {
    "minute": "minutes", "minutes": "minutes", "min": "minutes", "mins": "minutes",
    "hour": "hours", "hours": "hours", "hr": "hours", "hrs": "hours",
    "day": "days", "days": "days", "week": "weeks", "weeks": "weeks",
    "month": "months", "months": "months", "year": "years", "years": "years",
}

_F = re.ASCII
_MONTH_RE = "|".join(sorted(_MONTH_ALIASES, key=len, reverse=True))
_WEEKDAY_RE = "|".join(sorted(_WEEKDAY_ALIASES, key=len, reverse=True))
_UNIT_RE = "|".join(sorted(_UNITS, key=len, reverse=True))
_DAY_RE = r"(?P<d>[0-9]{1,2})(?:st|nd|rd|th)?"
_YEAR_RE = r"(?:\s+(?P<y>[0-9]{4}))?"
_WD_PREFIX = rf"(?:(?P<wd>{_WEEKDAY_RE})\s+)?"
# A clock time, loosely (values are checked after): "18:00", "18:00:00", "6pm", "6:30 p.m.", "noon".
_CLOCK = (
    r"(?:(?P<h>[0-9]{1,2})(?::(?P<m>[0-9]{2})(?::(?P<s>[0-9]{2}))?)?\s*(?P<ampm>am|pm|a\.m\.?|p\.m\.?)"
    r"|(?P<h24>[0-9]{1,2}):(?P<m24>[0-9]{2})(?::(?P<s24>[0-9]{2}))?"
    r"|(?P<word>noon|midday|midnight))"
)
_ZONE = r"(?:\s*(?P<zone>z|utc|gmt|[+-][0-9]{2}(?::?[0-9]{2})?))?"
_TIME_AT_END = re.compile(rf"(?:^|\s)(?:at\s+)?{_CLOCK}{_ZONE}$", _F)
_TIME_AT_START = re.compile(rf"^(?:at\s+)?{_CLOCK}{_ZONE}(?:\s+|$)", _F)

_ISO = re.compile(r"(?P<y>[0-9]{4})[-/](?P<mo>[0-9]{1,2})[-/](?P<d>[0-9]{1,2})", _F)
_DAY_MONTH = re.compile(rf"{_WD_PREFIX}{_DAY_RE}\s+(?:of\s+)?(?P<mo>{_MONTH_RE}){_YEAR_RE}", _F)
_MONTH_DAY = re.compile(rf"{_WD_PREFIX}(?P<mo>{_MONTH_RE})\s+{_DAY_RE}{_YEAR_RE}", _F)
_WEEKDAY = re.compile(rf"(?:(?P<rel>next|this|coming)\s+)?(?P<wd>{_WEEKDAY_RE})", _F)
_IN = re.compile(rf"in\s+(?P<n>[0-9]{{1,3}}|an?)\s+(?P<unit>{_UNIT_RE})", _F)
_FROM_NOW = re.compile(rf"(?P<n>[0-9]{{1,3}}|an?)\s+(?P<unit>{_UNIT_RE})\s+from\s+(?:now|today)", _F)
_NEXT_UNIT = re.compile(r"next\s+(?P<unit>week|month|year)", _F)
_SLASHED = re.compile(r"[0-9]{1,2}[/.][0-9]{1,2}(?:[/.][0-9]{2,4})?", _F)
UTC_OFFSET = timedelta(0)
_DAY_WORDS = {"today": 0, "tonight": 0, "tomorrow": 1, "tmrw": 1, "yesterday": -1,
              "day after tomorrow": 2, "the day after tomorrow": 2}


class _Unreadable(Exception):
    """The text is outside the grammar (answered with the examples)."""


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


def parse_when(
    text: str,
    tz: str,
    now: datetime,
    *,
    max_ahead: timedelta | None = MAX_AHEAD,
    earliest: datetime | None = None,
) -> datetime:
    """The moment ``text`` names, read as wall-clock time in the IANA zone ``tz``, as aware UTC.

    Relative phrases ("tomorrow 9am", "next tuesday 18:00") count from ``now`` as seen in ``tz``.
    The result is refused when it is before ``earliest`` (never before :data:`EARLIEST`) or more
    than ``max_ahead`` after ``now`` (``None``: no upper bound but the year 9998). Whether a
    past moment is acceptable is the caller's rule.
    """
    cleaned = " ".join(str(text).split())
    if not cleaned:
        raise InvalidInput(f"Tell me when, like {_EXAMPLES}.")
    if len(cleaned) > MAX_WHEN_LENGTH:
        raise InvalidInput(f"That date is too long to read ({len(cleaned)} characters; at most {MAX_WHEN_LENGTH}).")
    shown = cleaned.replace("`", "")
    local_now = now.astimezone(zone(tz)).replace(tzinfo=None)
    try:
        wall, offset = _read(cleaned.lower(), now, local_now, shown)
    except _Unreadable:
        raise InvalidInput(
            f"I couldn't read `{shown}` as a date and time. Try {_EXAMPLES} (times are in {tz})."
        ) from None
    floor = max(EARLIEST, earliest) if earliest is not None else EARLIEST
    ceiling = now + max_ahead if max_ahead is not None else datetime(9998, 1, 1, tzinfo=UTC)
    # Compare on the wall clock first (a day of slack for any offset), so that an absurd year never
    # reaches the timezone arithmetic, which overflows near the ends of the calendar.
    if wall < floor.replace(tzinfo=None) - timedelta(days=1):
        raise InvalidInput(f"`{shown}` is too long ago: pick a date from {_day(floor, tz)} on.")
    if wall > ceiling.replace(tzinfo=None) + timedelta(days=1):
        raise InvalidInput(_too_far(shown, ceiling, tz))
    result = (wall - offset).replace(tzinfo=UTC) if offset is not None else localize(wall, tz)
    if result < floor:
        raise InvalidInput(f"`{shown}` is too long ago: pick a date from {_day(floor, tz)} on.")
    if result > ceiling:
        raise InvalidInput(_too_far(shown, ceiling, tz))
    return result


def _day(when: datetime, tz: str) -> str:
    local = to_local(when, tz)
    return f"{local.day} {local:%b %Y}"


def _too_far(shown: str, ceiling: datetime, tz: str) -> str:
    return f"`{shown}` is too far ahead: pick a date before {_day(ceiling, tz)}."


# --- the grammar ---------------------------------------------------------------------------------


def _read(text: str, now: datetime, local_now: datetime, shown: str) -> tuple[datetime, timedelta | None]:
    """The naive wall-clock datetime and its UTC offset, if the text fixes one (else: the zone's)."""
    text = re.sub(r"(?<=[0-9])t(?=[0-9])", " ", text.replace(",", " "), flags=_F)  # ISO "T"
    text = " ".join(text.split()).removesuffix(".")
    clock, offset, rest = _split_time(text, shown)
    rest = rest.removeprefix("on ").strip()
    day, keeps_time = _read_day(rest, local_now, shown)
    if clock is not None:
        if keeps_time is None:  # "in 3 hours 18:00"
            raise _Unreadable
        return datetime.combine(day.date(), clock), offset
    if keeps_time is None:  # a span of hours or minutes from now: on the real clock, not the wall's
        return now.astimezone(UTC).replace(tzinfo=None, second=0, microsecond=0) + (day - local_now), UTC_OFFSET
    if not keeps_time:
        return datetime.combine(day.date(), time()), None
    return day, None


def _split_time(text: str, shown: str) -> tuple[time | None, timedelta | None, str]:
    """The clock time at the end (or start) of ``text``, its explicit offset, and the rest."""
    for pattern in (_TIME_AT_END, _TIME_AT_START):
        match = pattern.search(text)
        if match is not None:
            rest = (text[: match.start()] + " " + text[match.end():]).strip()
            return _clock(match, shown), _offset(match["zone"]), rest
    return None, None, text


def _clock(match: re.Match[str], shown: str) -> time:
    if match["word"]:
        return time(12) if match["word"] in ("noon", "midday") else time(0)
    if match["h"] is not None:
        hour, minute, second = int(match["h"]), int(match["m"] or 0), int(match["s"] or 0)
        if not 1 <= hour <= 12 or minute > 59 or second > 59:
            raise _bad_time(match.group(0), shown)
        return time(hour % 12 + (12 if match["ampm"].startswith("p") else 0), minute, second)
    hour, minute, second = int(match["h24"]), int(match["m24"]), int(match["s24"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise _bad_time(match.group(0), shown)
    return time(hour, minute, second)


def _bad_time(token: str, shown: str) -> InvalidInput:
    token = " ".join(token.split()).removeprefix("at ")
    return InvalidInput(
        f"`{token}` in `{shown}` isn't a time on the clock: use 00:00 to 23:59, or 12am to 11:59pm."
    )


def _offset(raw: str | None) -> timedelta | None:
    if raw is None:
        return None
    if raw in ("z", "utc", "gmt"):
        return UTC_OFFSET
    digits = raw[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 14 or minutes > 59:
        raise _Unreadable
    delta = timedelta(hours=hours, minutes=minutes)
    return -delta if raw[0] == "-" else delta


def _read_day(text: str, local_now: datetime, shown: str) -> tuple[datetime, bool | None]:
    """The day ``text`` names (as a datetime) and how its time of day is meant.

    True: a day counted from now, which keeps now's time unless a time is given; False: a
    calendar day (midnight unless a time is given); None: an exact moment ("in 3 hours").
    """
    today = local_now.date()
    now_minute = local_now.replace(second=0, microsecond=0)
    if not text:
        return now_minute, True
    if text in _DAY_WORDS:
        return now_minute + timedelta(days=_DAY_WORDS[text]), True
    if (m := _ISO.fullmatch(text)) is not None:
        return _at(_calendar_day(int(m["y"]), int(m["mo"]), int(m["d"]), shown)), False
    if (m := _DAY_MONTH.fullmatch(text) or _MONTH_DAY.fullmatch(text)) is not None:
        month, day = _MONTH_ALIASES[m["mo"]], int(m["d"])
        if m["y"] is not None:
            found = _calendar_day(int(m["y"]), month, day, shown)
        else:
            found = _next_calendar_day(today, month, day, shown)
        if m["wd"] is not None and found.weekday() != _WEEKDAY_ALIASES[m["wd"]]:
            raise InvalidInput(
                f"{found.day} {found:%B %Y} is a {_WEEKDAYS[found.weekday()].capitalize()}, not a "
                f"{_WEEKDAYS[_WEEKDAY_ALIASES[m['wd']]].capitalize()}. Check the date in `{shown}`."
            )
        return _at(found), False
    if (m := _WEEKDAY.fullmatch(text)) is not None:
        ahead = (_WEEKDAY_ALIASES[m["wd"]] - today.weekday() - 1) % 7 + 1  # the coming one, never today
        return _at(today + timedelta(days=ahead)), False
    if (m := _IN.fullmatch(text) or _FROM_NOW.fullmatch(text)) is not None:
        n = 1 if m["n"] in ("a", "an") else int(m["n"])
        unit = _UNITS[m["unit"]]
        if unit in ("minutes", "hours"):
            return local_now + timedelta(**{unit: n}), None
        return _add(now_minute, unit, n), True
    if (m := _NEXT_UNIT.fullmatch(text)) is not None:
        return _add(now_minute, _UNITS[m["unit"]], 1), True
    if _SLASHED.fullmatch(text) is not None:
        raise InvalidInput(
            f"`{shown}` could be read two ways (day/month or month/day). Write the month as a word "
            "(`3 Dec`) or use `2026-12-03`."
        )
    raise _Unreadable


def _at(day: date) -> datetime:
    return datetime.combine(day, time())


def _calendar_day(year: int, month: int, day: int, shown: str) -> date:
    if not (year >= 1 and 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]):
        raise InvalidInput(f"`{shown}` isn't a date on the calendar.")
    return date(year, month, day)


def _next_calendar_day(today: date, month: int, day: int, shown: str) -> date:
    """The first ``day month`` on or after today, within the next year."""
    if not 1 <= day <= 31:
        raise InvalidInput(f"`{shown}` isn't a date on the calendar.")
    for year in (today.year, today.year + 1):
        if day <= calendar.monthrange(year, month)[1] and date(year, month, day) >= today:
            return date(year, month, day)
    raise InvalidInput(f"`{shown}` isn't a date in the coming year: give the year, like `29 Feb 2028`.")


def _add(start: datetime, unit: str, n: int) -> datetime:
    if unit in ("days", "weeks"):
        return start + timedelta(**{unit: n})
    months = n * (12 if unit == "years" else 1)
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))
