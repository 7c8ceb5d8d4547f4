"""Dates members type, read in a timezone relative to the clock's now."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.dates import parse_when
from bot.errors import InvalidInput

# A Monday, 10:00 UTC.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("2026-12-03 18:00", "Europe/London", datetime(2026, 12, 3, 18, 0, tzinfo=UTC)),
        ("3 Dec 6pm", "America/New_York", datetime(2026, 12, 3, 23, 0, tzinfo=UTC)),
        ("next tuesday 18:00", "Europe/London", datetime(2026, 11, 24, 18, 0, tzinfo=UTC)),
        # 10:00 UTC Monday is 21:00 Monday in Sydney: tomorrow 9am there is 22:00 UTC Monday.
        ("tomorrow 9am", "Australia/Sydney", datetime(2026, 11, 23, 22, 0, tzinfo=UTC)),
        # Summer in London: 18:00 BST is 17:00 UTC.
        ("2027-07-01 18:00", "Europe/London", datetime(2027, 7, 1, 17, 0, tzinfo=UTC)),
        # An explicit offset in the text wins over the zone.
        ("2026-12-03T18:00+01:00", "America/New_York", datetime(2026, 12, 3, 17, 0, tzinfo=UTC)),
    ],
)
def test_parse_when_reads_wall_clock_time_in_the_zone(text: str, tz: str, expected: datetime) -> None:
    result = parse_when(text, tz, NOW)
    assert result == expected
    assert result.tzinfo is not None and result.utcoffset().total_seconds() == 0


def test_relative_dates_count_from_now_in_the_zone() -> None:
    # 10:00 UTC Monday is 02:00 Monday in Los Angeles: tomorrow is Tuesday there.
    assert parse_when("tomorrow 18:00", "America/Los_Angeles", NOW) == datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    late = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # already Tuesday 01:00 in Sydney: tomorrow is Wednesday
    assert parse_when("tomorrow 18:00", "Australia/Sydney", late) == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "   ", "not a date at all", "x" * 101])
def test_unreadable_text_is_a_clear_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_when(text, "Europe/London", NOW)
    assert caught.value.message


def test_a_time_skipped_by_the_clocks_going_forward_is_refused() -> None:
    with pytest.raises(InvalidInput, match="clocks go forward"):
        parse_when("2027-03-28 01:30", "Europe/London", NOW)


def test_a_time_shown_twice_means_the_first() -> None:
    # 01:30 on 2027-10-31 happens twice in London: first in BST (00:30 UTC).
    assert parse_when("2027-10-31 01:30", "Europe/London", NOW) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
