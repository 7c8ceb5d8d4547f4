"""Meeting series: "first tuesday", "last friday", "every 4 weeks on monday", or a raw RRULE.

A series is stored as an RFC 5545 rule anchored at a *naive local* DTSTART (the wall-clock time in
the group's timezone), expanded by :mod:`dateutil.rrule` in local time and only then turned into
UTC — so a meeting at 18:00 stays at 18:00 local when the clocks change, in either hemisphere.

Rules are bounded before they reach dateutil: a frequency of at most once a week (``WEEKLY``,
``MONTHLY``, ``YEARLY``), only the rule parts a series needs, each value within its range (a
position like ``1TU`` is ±1 to ±5). Expansion is bounded too: dateutil walks period after period
until it finds a date, up to the year 9999, so a rule that never happens (``BYMONTH=2;BYMONTHDAY=30``)
would hold the event loop for seconds. Every expansion therefore runs on the same calendar moved
close to the year 9999 (see :func:`_calendar_shift`): the Gregorian calendar repeats, so the dates
are the same, and dateutil stops at the end of the calendar after a few decades of periods at most.
"""

from __future__ import annotations

import calendar
import itertools
import re
from dataclasses import dataclass
from datetime import MAXYEAR, UTC, datetime, time, timedelta
from functools import cache

from dateutil import rrule as du

from bot.errors import InvalidInput
from bot.timezones import zone

MAX_RULE_LENGTH = 200
MIN_GAP = timedelta(days=7)  # at most one meeting a week
_HORIZON = timedelta(days=2 * 366)  # a rule must yield a date within two years
_LOOKAHEAD = timedelta(days=5 * 366)  # how far ahead a series is expanded at most
_WEEKDAYS = {
    "monday": "MO", "tuesday": "TU", "wednesday": "WE", "thursday": "TH", "friday": "FR",
    "saturday": "SA", "sunday": "SU",
}
_WEEKDAY_NAMES = {v: k.capitalize() for k, v in _WEEKDAYS.items()}
_ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    "last": -1,
}
_WEEKDAY_RE = r"(mon|tues|tue|wednes|wed|thurs|thu|fri|satur|sat|sun)(day)?s?"
_ORDINAL_RE = re.compile(
    rf"^(?:(?:on\s+)?(?:the\s+)?)(?P<ord>{'|'.join(_ORDINALS)})\s+(?P<day>{_WEEKDAY_RE})"
    r"(?:\s+(?:of|in)\s+(?:the|each|every)\s+month)?(?:\s+monthly)?$",
    re.ASCII,
)
_WEEKLY_RE = re.compile(
    rf"^every\s+(?:(?P<n>\d{{1,2}}|other)\s+)?(?:weeks?\s+)?(?:on\s+)?(?P<day>{_WEEKDAY_RE})?$", re.ASCII
)
_EVERY_N_WEEKS_RE = re.compile(
    rf"^every\s+(?P<n>\d{{1,2}}|other)?\s*weeks?\s+on\s+(?P<day>{_WEEKDAY_RE})$", re.ASCII
)
_TIME_RE = re.compile(r"^(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>am|pm)?$", re.ASCII)
_EXAMPLES = '"first tuesday", "last friday", "every 4 weeks on monday" or an RRULE like `FREQ=MONTHLY;BYDAY=1TU`'


def _weekday_code(word: str) -> str:
    for name, code in _WEEKDAYS.items():
        if name.startswith(word[:3]):
            return code
    raise InvalidInput(f"`{word}` isn't a day of the week.")  # pragma: no cover - the regex only lets days through


def parse_time(text: str) -> time:
    """A wall-clock time: "18:00", "6pm", "6:30 pm"."""
    match = _TIME_RE.match(text.strip().lower())
    if match is not None:
        hour, minute = int(match["h"]), int(match["m"] or 0)
        if match["ampm"]:
            if not 1 <= hour <= 12:
                match = None
            else:
                hour = hour % 12 + (12 if match["ampm"] == "pm" else 0)
        if match is not None and hour < 24 and minute < 60:
            return time(hour, minute)
    raise InvalidInput(f"`{text[:20].replace('`', '')}` isn't a time I can read. Use 24-hour `18:00`, or `6pm`.")


@dataclass(frozen=True, slots=True)
class Series:
    """A normalised rule (``RRULE:...`` body without DTSTART) and how to say it."""

    rrule: str
    description: str


def parse_rule(text: str) -> Series:
    """Read what a facilitator typed into a normalised RRULE body, or a clear InvalidInput."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InvalidInput(f"Give a rule, like {_EXAMPLES}.")
    if len(cleaned) > MAX_RULE_LENGTH:
        raise InvalidInput(f"That rule is too long ({len(cleaned)} characters; at most {MAX_RULE_LENGTH}).")
    lowered = cleaned.lower()
    if lowered.startswith(("freq=", "rrule:")):
        return _raw_rule(cleaned)
    if (m := _ORDINAL_RE.match(lowered)) is not None:
        n, code = _ORDINALS[m["ord"]], _weekday_code(m["day"])
        word = next(k for k, v in _ORDINALS.items() if v == n and not k[0].isdigit())
        return Series(f"FREQ=MONTHLY;BYDAY={n:+d}{code}", f"the {word} {_WEEKDAY_NAMES[code]} of each month")
    if (m := _EVERY_N_WEEKS_RE.match(lowered) or _WEEKLY_RE.match(lowered)) is not None and m["day"]:
        raw_n = m["n"]
        interval = 2 if raw_n == "other" else int(raw_n or 1)
        if interval < 1:
            raise InvalidInput("The number of weeks must be at least 1.")
        code = _weekday_code(m["day"])
        every = "every" if interval == 1 else f"every {interval} weeks on"
        return Series(f"FREQ=WEEKLY;INTERVAL={interval};BYDAY={code}", f"{every} {_WEEKDAY_NAMES[code]}")
    raise InvalidInput(f"I couldn't read that rule. Try {_EXAMPLES}.")


_RAW_EXAMPLE = "Example: `FREQ=MONTHLY;BYDAY=1TU`."
_FREQUENCIES = ("WEEKLY", "MONTHLY", "YEARLY")
_TOO_OFTEN = ("DAILY", "HOURLY", "MINUTELY", "SECONDLY")
_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_INT = re.compile(r"[+-]?[0-9]{1,3}", re.ASCII)
_BYDAY = re.compile(r"(?P<n>[+-]?[0-9]{1,2})?(?P<code>MO|TU|WE|TH|FR|SA|SU)", re.ASCII)
_MAX_LIST = 31
# The numbers a rule part may hold, never 0 (a negative one counts from the end).
_RANGES = {
    "INTERVAL": (1, 99), "COUNT": (1, 999), "BYMONTH": (1, 12), "BYMONTHDAY": (-31, 31),
    "BYSETPOS": (-366, 366), "BYWEEKNO": (-53, 53), "BYYEARDAY": (-366, 366),
}
_LISTS = ("BYMONTH", "BYMONTHDAY", "BYSETPOS", "BYWEEKNO", "BYYEARDAY")
_YEARLY_ONLY = ("BYWEEKNO", "BYYEARDAY")
_ALLOWED = ("FREQ", "INTERVAL", "COUNT", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST", *_YEARLY_ONLY)
MAX_POSITION = 5  # "1TU" to "5TU", "-1TU" to "-5TU": a weekday's place in its month


def _shown(part: str) -> str:
    """A piece of the member's rule, short and without backticks, to quote back."""
    return part.replace("`", "")[:30]


def _invalid(reason: str) -> InvalidInput:
    return InvalidInput(f"That RRULE isn't valid ({reason}). {_RAW_EXAMPLE}")


def _raw_rule(text: str) -> Series:
    body = text.split(":", 1)[1] if text.lower().startswith("rrule:") else text
    body = "".join(body.split()).upper().rstrip(";")
    parts: dict[str, str] = {}
    for part in filter(None, body.split(";")):
        key, eq, value = part.partition("=")
        if not eq or not key or not value:
            raise _invalid(f"`{_shown(part)}` isn't NAME=VALUE")
        if key in parts:
            raise _invalid(f"`{_shown(key)}` is given twice")
        parts[key] = value
    for forbidden in ("DTSTART", "BYHOUR", "BYMINUTE", "BYSECOND"):
        if forbidden in parts:
            raise InvalidInput(f"Leave `{forbidden}` out of the rule: the time comes from the `time` option.")
    if "UNTIL" in parts:
        raise InvalidInput("Leave `UNTIL` out of the rule (use `COUNT`, or cancel the series later).")
    for key in parts:
        if key not in _ALLOWED:
            raise _invalid(f"`{_shown(key)}` isn't a part I accept; use {', '.join(_ALLOWED[:8])}")
    freq = parts.get("FREQ")
    if freq is None:
        raise _invalid("it needs a `FREQ`, like `FREQ=MONTHLY`")
    if freq in _TOO_OFTEN:
        raise InvalidInput(
            f"`FREQ={freq}` gives more than one meeting a week. Groups meet at most weekly: "
            "use `WEEKLY`, `MONTHLY` or `YEARLY`."
        )
    if freq not in _FREQUENCIES:
        raise _invalid(f"`FREQ={_shown(freq)}`: use `WEEKLY`, `MONTHLY` or `YEARLY`")
    for key, value in parts.items():
        if key in _RANGES:
            _check_numbers(key, value, freq)
    if "WKST" in parts and parts["WKST"] not in _CODES:
        raise _invalid(f"`WKST` must be a day code like `MO`, not `{_shown(parts['WKST'])}`")
    if "BYDAY" in parts:
        _check_byday(parts["BYDAY"], freq)
    try:
        du.rrulestr(f"RRULE:{body}", dtstart=datetime(2026, 1, 1, 12, 0))  # noqa: DTZ001 - rules expand in naive local time
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:  # pragma: no cover - checked above
        raise _invalid(str(exc)[:100]) from exc
    return Series(body, f"`{body}`")


def _check_numbers(key: str, value: str, freq: str) -> None:
    if key in _YEARLY_ONLY and freq != "YEARLY":
        raise _invalid(f"`{key}` only goes with `FREQ=YEARLY`")
    items = value.split(",")
    if len(items) > 1 and key not in _LISTS:
        raise _invalid(f"`{key}` takes one number")
    if len(items) > _MAX_LIST:
        raise _invalid(f"`{key}` lists more than {_MAX_LIST} values")
    low, high = _RANGES[key]
    for item in items:
        number = int(item) if _INT.fullmatch(item) else None
        if number is None or number == 0 or not low <= number <= high:
            span = f"{low} to {high}" if low > 0 else f"1 to {high} or -1 to {low}"
            raise _invalid(f"`{key}={_shown(value)}`: each value is a whole number from {span}")


def _check_byday(value: str, freq: str) -> None:
    items = value.split(",")
    if len(items) > _MAX_LIST:
        raise _invalid(f"`BYDAY` lists more than {_MAX_LIST} days")
    for item in items:
        match = _BYDAY.fullmatch(item)
        if match is None:
            raise _invalid(f"`{_shown(item)}` in `BYDAY` isn't a day like `TU`, `1TU` or `-1FR`")
        if match["n"] is None:
            continue
        if freq == "WEEKLY":
            raise _invalid(f"a position like `{item}` only goes with `FREQ=MONTHLY` or `FREQ=YEARLY`")
        n = int(match["n"])
        if n == 0 or abs(n) > MAX_POSITION:
            raise _invalid(
                f"`{item}`: a weekday's position is 1 to {MAX_POSITION} from the start of the month, "
                f"or -1 to -{MAX_POSITION} from its end"
            )


def _build(rule: str, anchor_local: datetime) -> du.rrule:
    return du.rrulestr(f"RRULE:{rule}", dtstart=anchor_local)


@cache
def _calendar_shift(first_year: int, last_year: int) -> int:
    """Years to add so that ``first_year..last_year`` (and a year either side) end near the year 9999.

    A shift is only taken if the calendar is the same there: every year keeps its leap-ness and
    every date its weekday, so dateutil gives the same dates, shifted. The Gregorian calendar
    repeats every 400 years, so a shift always exists; between century years it repeats every 28
    years, so for this century's dates the shifted range ends within 28 years of 9999 and an
    expansion walks at most a few decades of periods (weeks, months or years) past its end.
    """
    top = MAXYEAR - 1 - last_year  # the year after last_year must still exist
    for shift in range(top, max(top - 400, 0), -1):
        if (calendar.leapdays(first_year, first_year + shift) % 7 + shift * 365) % 7:
            continue  # 1 January would fall on another weekday
        if all(calendar.isleap(y) == calendar.isleap(y + shift) for y in range(first_year - 1, last_year + 2)):
            return shift
    return 0  # pragma: no cover - dates past the year ~9600: the end of the calendar is near anyway


def _shifted(wall: datetime, years: int) -> datetime:
    return wall.replace(year=wall.year + years)


def _walls(rule: str, anchor_local: datetime, after_local: datetime, until_local: datetime, *, limit: int,
           inc: bool) -> list[datetime]:
    """At most ``limit`` naive local dates of the rule after ``after_local``, up to ``until_local``.

    Bounded however rare the rule: see :func:`_calendar_shift`. A rule dateutil can't expand
    gives no dates.
    """
    start_year = min(anchor_local.year, after_local.year)
    shift = _calendar_shift(start_year, until_local.year)
    result: list[datetime] = []
    try:
        built = _build(rule, _shifted(anchor_local, shift))
        for wall in built.xafter(_shifted(after_local, shift), count=limit, inc=inc):
            back = _shifted(wall, -shift)
            if back > until_local:
                break
            result.append(back)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError):
        return result
    return result


def local_instant(wall: datetime, tz: str) -> datetime:
    """UTC for a naive local wall time; a time the clocks skip moves forward by the gap."""
    return wall.replace(tzinfo=zone(tz), fold=0).astimezone(UTC)


def anchor_for(now: datetime, tz: str, at: time) -> datetime:
    """The naive local DTSTART a new series counts from: today, at its time, in the zone."""
    local_now = now.astimezone(zone(tz))
    return datetime.combine(local_now.date(), at)


def occurrences(rule: str, anchor_local: datetime, tz: str, *, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` meeting times (aware UTC) strictly after ``after``, within five years."""
    after_local = after.astimezone(zone(tz)).replace(tzinfo=None)
    walls = _walls(rule, anchor_local, after_local, after_local + _LOOKAHEAD, limit=count + 2, inc=True)
    result: list[datetime] = []
    for wall in walls:
        instant = local_instant(wall, tz)
        if instant > after:
            result.append(instant)
        if len(result) == count:
            break
    return result


def validate(rule: str, anchor_local: datetime, tz: str, *, now: datetime) -> list[datetime]:
    """Check a rule yields a date within two years and never two meetings within a week.

    Returns its first three dates (aware UTC) to show.
    """
    after_local = now.astimezone(zone(tz)).replace(tzinfo=None)
    walls = _walls(rule, anchor_local, after_local, after_local + _HORIZON, limit=13, inc=False)
    if not walls:
        raise InvalidInput(
            "That rule doesn't give any date in the next two years. "
            f"Try {_EXAMPLES}."
        )
    for earlier, later in itertools.pairwise(walls):
        if later - earlier < MIN_GAP:
            raise InvalidInput(
                "That rule gives more than one meeting a week "
                f"({earlier:%a %d %b} and {later:%a %d %b}). Groups meet at most weekly."
            )
    return [local_instant(w, tz) for w in walls[:3]]


def store(rule: str, anchor_local: datetime) -> str:
    """The text kept in ``meeting_series.rrule``: the naive local DTSTART and the rule."""
    return f"DTSTART:{anchor_local:%Y%m%dT%H%M%S}\nRRULE:{rule}"


def load(stored: str) -> tuple[str, datetime]:
    """The rule and naive local anchor back from :func:`store`'s text."""
    head, _, body = stored.partition("\n")
    anchor = datetime.strptime(head.removeprefix("DTSTART:"), "%Y%m%dT%H%M%S")  # noqa: DTZ007 - naive local by design
    return body.removeprefix("RRULE:"), anchor


def to_local(when: datetime, tz: str) -> datetime:
    """An aware instant as wall-clock time in ``tz``."""
    return when.astimezone(zone(tz))
