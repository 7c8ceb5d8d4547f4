"""A member's waking window: when a DM may reach them, in their own zone.

Pure arithmetic (no database, no discord): the planner asks :func:`deliver_at` when a DM due at a
given instant should go (:func:`deliver_after` for one that must not go early), ``/timezone set``
parses the window with :func:`parse_window`, and the meeting replies flag unsociable hours with
:func:`outside`.

A window runs from ``start`` to ``end`` in local wall-clock time. ``end`` at or before ``start``
wraps past midnight (22:00–06:00 for a night worker: from 22:00 to 06:00 the next morning);
``start == end`` is the whole day (what ``from:00:00 to:24:00`` stores). Around a daylight-saving
change a wall time may not exist or may happen twice: the window then opens at the later reading
and closes at the earlier one, so it only ever shrinks and a DM never lands outside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import InvalidInput

DEFAULT_START = time(8, 0)
DEFAULT_END = time(21, 0)
# The hours a meeting reply calls sociable (flagged for any member for whom a meeting falls outside).
SOCIABLE_START = time(7, 0)
SOCIABLE_END = time(22, 0)

DAY_MINUTES = 24 * 60
_TIME = re.compile(r"^\s*(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm)?\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Window:
    start: time
    end: time

    @property
    def all_day(self) -> bool:
        return self.start == self.end

    def label(self) -> str:
        return "all day" if self.all_day else f"{self.start:%H:%M}–{self.end:%H:%M}"


DEFAULT_WINDOW = Window(DEFAULT_START, DEFAULT_END)


def window_of(start: str | None, end: str | None) -> Window:
    """The stored window (``HH:MM`` strings, None for the default)."""
    if start is None or end is None:
        return DEFAULT_WINDOW
    return Window(time.fromisoformat(start), time.fromisoformat(end))


def _instant(day: date, at: time, zone: ZoneInfo, *, opening: bool) -> datetime:
    """``at`` on ``day`` in ``zone`` as a UTC instant; a skipped or repeated wall time is read so
    that the window shrinks (an opening at the later reading, a closing at the earlier one)."""
    readings = [datetime.combine(day, at, tzinfo=zone).replace(fold=fold).astimezone(UTC) for fold in (0, 1)]
    return max(readings) if opening else min(readings)


def _windows(local_day: date, window: Window, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The window's (open, close) instants for the windows opening on the days around ``local_day``."""
    spans = []
    for offset in (-2, -1, 0, 1):
        day = local_day + timedelta(days=offset)
        close_day = day if window.end > window.start else day + timedelta(days=1)
        spans.append((_instant(day, window.start, zone, opening=True),
                      _instant(close_day, window.end, zone, opening=False)))
    return spans


def _zone(zone: ZoneInfo | str) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)


def deliver_at(due_utc: datetime, zone: ZoneInfo | str, start: time = DEFAULT_START,
               end: time = DEFAULT_END) -> datetime:
    """When a DM due at ``due_utc`` should go: then, if it falls inside the window (edges included),
    else at the last moment of the latest window that closed before it. Never later than due."""
    window = Window(start, end)
    if window.all_day:
        return due_utc
    tz = _zone(zone)
    due = due_utc.astimezone(UTC)
    spans = _windows(due.astimezone(tz).date(), window, tz)
    if any(opens <= due <= closes for opens, closes in spans):
        return due_utc
    return max(closes for _, closes in spans if closes < due)


def deliver_after(due_utc: datetime, zone: ZoneInfo | str, start: time = DEFAULT_START,
                  end: time = DEFAULT_END) -> datetime:
    """The first moment at or after ``due_utc`` inside the window (for a DM that must not go early)."""
    window = Window(start, end)
    if window.all_day:
        return due_utc
    tz = _zone(zone)
    due = due_utc.astimezone(UTC)
    spans = _windows(due.astimezone(tz).date(), window, tz)
    if any(opens <= due <= closes for opens, closes in spans):
        return due_utc
    return min(opens for opens, _ in spans if opens > due)


def inside(at_utc: datetime, zone: ZoneInfo | str, start: time = DEFAULT_START, end: time = DEFAULT_END) -> bool:
    """Whether ``at_utc`` falls inside the window (edges included)."""
    return deliver_at(at_utc, zone, start, end) == at_utc


def outside(at_utc: datetime, zone: ZoneInfo | str) -> bool:
    """Whether a meeting at ``at_utc`` falls outside the sociable hours (07:00–22:00) in ``zone``."""
    return not inside(at_utc, zone, SOCIABLE_START, SOCIABLE_END)


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def unsociable_note(at_utc: datetime, zone: ZoneInfo | str | None, *, clause: bool = False) -> str:
    """``That's 05:00 on Wednesday your time.`` when a meeting at ``at_utc`` falls outside the
    sociable hours in ``zone`` (the zone the member set); "" when it doesn't, or no zone is known
    (the member's own Discord shows the time in the zone of their device then). ``clause``: the
    same words to go inside a sentence ("that's 05:00 on Wednesday your time", no full stop)."""
    if not zone:
        return ""
    try:
        tz = _zone(zone)
    except (ValueError, KeyError):
        return ""
    if not outside(at_utc, tz):
        return ""
    local = at_utc.astimezone(tz)
    words = f"that's {local:%H:%M} on {_WEEKDAYS[local.weekday()]} your time"
    return words if clause else f"T{words[1:]}."


# --- input ------------------------------------------------------------------------------------------


def _minutes(text: str, which: str) -> int:
    match = _TIME.match(text)
    if match is None:
        raise InvalidInput(f"`{text[:20]}` isn't a time for `{which}`. Use HH:MM on a 24-hour clock, like `08:00`.")
    hour, minute, meridiem = int(match[1]), int(match[2] or 0), (match[3] or "").lower()
    if minute >= 60:
        raise InvalidInput(f"`{text[:20]}` isn't a time for `{which}`: minutes run 00–59.")
    if meridiem:
        if not 1 <= hour <= 12:
            raise InvalidInput(f"`{text[:20]}` isn't a time for `{which}`: with am/pm, hours run 1–12.")
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    return hour * 60 + minute


def parse_window(start: str, end: str) -> Window:
    """A window from what a member typed (``from`` and ``to``), or a clear InvalidInput.

    ``to`` at or before ``from`` wraps past midnight (22:00 to 06:00); ``to`` may also be written
    past 24:00 (22:00 to 30:00). Refused: the same time twice (a window of no length) and anything
    longer than 24 hours; ``from:00:00 to:24:00`` is the whole day.
    """
    opens = _minutes(start, "from")
    closes = _minutes(end, "to")
    if opens >= DAY_MINUTES:
        raise InvalidInput(f"`from` must be a time of day, 00:00–23:59, not `{start[:20]}`.")
    if closes == opens:
        raise InvalidInput(
            f"Your window starts and ends at {_clock(opens)}: it would have no length. Pick two different "
            "times, e.g. `from:08:00 to:21:00` (or `from:22:00 to:06:00` across midnight)."
        )
    length = closes - opens if closes > opens else closes + DAY_MINUTES - opens
    if length > DAY_MINUTES:
        raise InvalidInput(
            f"A window from {_clock(opens)} to {end.strip()[:20]} is longer than 24 hours. "
            "Use `from:00:00 to:24:00` for the whole day."
        )
    if length < 60:
        raise InvalidInput("Your window must be at least an hour long, so your DMs have somewhere to go.")
    return Window(time(opens // 60, opens % 60), time((closes % DAY_MINUTES) // 60, closes % 60))


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
