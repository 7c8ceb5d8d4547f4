"""Meeting series: "first tuesday", "last friday", "every 4 weeks on monday", or a raw RRULE.

A series is stored as an RFC 5545 rule anchored at a *naive local* DTSTART (the wall-clock time in
the group's timezone), expanded by :mod:`dateutil.rrule` in local time and only then turned into
UTC — so a meeting at 18:00 stays at 18:00 local when the clocks change, in either hemisphere.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from dateutil import rrule as du

from bot.errors import InvalidInput
from bot.timezones import zone

MAX_RULE_LENGTH = 200
MIN_GAP = timedelta(days=7)  # at most one meeting a week
_HORIZON = timedelta(days=2 * 366)  # a rule must yield a date within two years
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
    r"(?:\s+(?:of|in)\s+(?:the|each|every)\s+month)?(?:\s+monthly)?$"
)
_WEEKLY_RE = re.compile(
    rf"^every\s+(?:(?P<n>\d{{1,2}}|other)\s+)?(?:weeks?\s+)?(?:on\s+)?(?P<day>{_WEEKDAY_RE})?$"
)
_EVERY_N_WEEKS_RE = re.compile(rf"^every\s+(?P<n>\d{{1,2}}|other)?\s*weeks?\s+on\s+(?P<day>{_WEEKDAY_RE})$")
_TIME_RE = re.compile(r"^(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>am|pm)?$")
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
    raise InvalidInput(f"`{text[:20]}` isn't a time I can read. Use 24-hour `18:00`, or `6pm`.")


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


def _raw_rule(text: str) -> Series:
    body = text.split(":", 1)[1] if text.lower().startswith("rrule:") else text
    body = body.strip().upper().rstrip(";")
    parts = dict(part.split("=", 1) for part in body.split(";") if "=" in part)
    for forbidden in ("DTSTART", "BYHOUR", "BYMINUTE", "BYSECOND"):
        if forbidden in parts:
            raise InvalidInput(f"Leave `{forbidden}` out of the rule: the time comes from the `time` option.")
    if "UNTIL" in parts:
        raise InvalidInput("Leave `UNTIL` out of the rule (use `COUNT`, or cancel the series later).")
    try:
        du.rrulestr(f"RRULE:{body}", dtstart=datetime(2026, 1, 1, 12, 0))  # noqa: DTZ001 - rules expand in naive local time
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidInput(f"That RRULE isn't valid ({str(exc)[:100]}). Example: `FREQ=MONTHLY;BYDAY=1TU`.") from exc
    return Series(body, f"`{body}`")


def _build(rule: str, anchor_local: datetime) -> du.rrule:
    return du.rrulestr(f"RRULE:{rule}", dtstart=anchor_local)


def local_instant(wall: datetime, tz: str) -> datetime:
    """UTC for a naive local wall time; a time the clocks skip moves forward by the gap."""
    return wall.replace(tzinfo=zone(tz), fold=0).astimezone(UTC)


def anchor_for(now: datetime, tz: str, at: time) -> datetime:
    """The naive local DTSTART a new series counts from: today, at its time, in the zone."""
    local_now = now.astimezone(zone(tz))
    return datetime.combine(local_now.date(), at)


def occurrences(rule: str, anchor_local: datetime, tz: str, *, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` meeting times (aware UTC) strictly after ``after``."""
    built = _build(rule, anchor_local)
    after_local = after.astimezone(zone(tz)).replace(tzinfo=None)
    result: list[datetime] = []
    for wall in built.xafter(after_local, count=count + 2, inc=True):
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
    built = _build(rule, anchor_local)
    after_local = now.astimezone(zone(tz)).replace(tzinfo=None)
    horizon = after_local + _HORIZON
    walls = [w for w in built.xafter(after_local, count=13, inc=False) if w <= horizon]
    if not walls:
        raise InvalidInput("That rule doesn't give any date in the next two years.")
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
