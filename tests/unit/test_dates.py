"""Dates members type, read in a timezone relative to the clock's now: only what a member plausibly
means is read; anything else (and anything out of range) is a clear refusal, never another error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.dates import EARLIEST, MAX_AHEAD, parse_when
from bot.errors import InvalidInput
from bot.models import Commitment, Meeting
from bot.services import Services
from tests.unit.test_groups import ADMIN, ALICE, CHANNEL, actor, make_group

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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A calendar date alone is the start of that day; without a year, the next one.
        ("2027-03-04", datetime(2027, 3, 4, 0, 0)),
        ("4 March", datetime(2027, 3, 4, 0, 0)),
        ("March 4th 2027 at 9:30am", datetime(2027, 3, 4, 9, 30)),
        ("december 3", datetime(2026, 12, 3, 0, 0)),
        ("Thu 3 Dec, 6 p.m.", datetime(2026, 12, 3, 18, 0)),
        ("3 dec 2026 at 18:00", datetime(2026, 12, 3, 18, 0)),
        # A weekday is the coming one (never today, a Monday).
        ("next Thursday", datetime(2026, 11, 26, 0, 0)),
        ("friday", datetime(2026, 11, 27, 0, 0)),
        ("monday 18:00", datetime(2026, 11, 30, 18, 0)),
        ("6pm on wednesday", datetime(2026, 11, 25, 18, 0)),
        # A day counted from today keeps the time of day unless one is given.
        ("in 2 weeks", datetime(2026, 12, 7, 10, 0)),
        ("2 weeks from now", datetime(2026, 12, 7, 10, 0)),
        ("in a month", datetime(2026, 12, 23, 10, 0)),
        ("in 3 hours", datetime(2026, 11, 23, 13, 0)),
        ("tomorrow 18:00", datetime(2026, 11, 24, 18, 0)),
        ("noon tomorrow", datetime(2026, 11, 24, 12, 0)),
        ("the day after tomorrow at 7am", datetime(2026, 11, 25, 7, 0)),
        ("at 6pm", datetime(2026, 11, 23, 18, 0)),
        ("12am tomorrow", datetime(2026, 11, 24, 0, 0)),
        ("18:00 UTC", datetime(2026, 11, 23, 18, 0)),
        ("2026-12-03T18:00Z", datetime(2026, 12, 3, 18, 0)),
    ],
)
def test_the_forms_members_use_are_read(text: str, expected: datetime) -> None:
    # In London in winter, local time is UTC.
    assert parse_when(text, "Europe/London", NOW) == expected.replace(tzinfo=UTC)


def test_relative_dates_count_from_now_in_the_zone() -> None:
    # 10:00 UTC Monday is 02:00 Monday in Los Angeles: tomorrow is Tuesday there.
    assert parse_when("tomorrow 18:00", "America/Los_Angeles", NOW) == datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    late = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # already Tuesday 01:00 in Sydney: tomorrow is Wednesday
    assert parse_when("tomorrow 18:00", "Australia/Sydney", late) == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Tell me when"),
        ("   ", "Tell me when"),
        ("x" * 101, "too long"),
        ("not a date at all", "couldn't read"),
        # Garbage that a lenient parser turned into some date.
        ("-1", "couldn't read"),
        ("10**30", "couldn't read"),
        ("1e9", "couldn't read"),
        ("42", "couldn't read"),
        ("1 jan 1", "couldn't read"),
        ("²", "couldn't read"),
        ("tomorrow ９am", "couldn't read"),  # fullwidth digit
        ("tomorrow ٩:٠٠", "couldn't read"),  # Arabic-Indic digits
        ("in 3 hours 18:00", "couldn't read"),
        ("18:00 +15:00", "couldn't read"),
        ("UTC", "couldn't read"),
        # Clock times that don't exist.
        ("tomorrow 25:00", "isn't a time on the clock"),
        ("tomorrow 24:61", "isn't a time on the clock"),
        ("3 Dec 18:60", "isn't a time on the clock"),
        ("friday 13pm", "isn't a time on the clock"),
        ("friday 0am", "isn't a time on the clock"),
        # Dates that don't exist, or could mean two.
        ("2027-02-30", "isn't a date on the calendar"),
        ("2027-13-01", "isn't a date on the calendar"),
        ("0000-01-01", "isn't a date on the calendar"),
        ("32 December", "isn't a date on the calendar"),
        ("29 Feb", "give the year"),
        ("3/12", "two ways"),
        ("12/03/2026", "two ways"),
        ("fri 3 dec", "is a Thursday, not a Friday"),
        # Out of range.
        ("9999-01-01", "too far ahead"),
        ("9999-12-31 23:59", "too far ahead"),
        ("in 3 years", "too far ahead"),
        ("in 999 months", "too far ahead"),
        ("2029-01-01 18:00", "too far ahead"),
        ("0001-01-01 00:00", "too long ago"),
        ("1999-12-31 18:00", "too long ago"),
    ],
)
def test_anything_else_is_a_clear_invalid_input(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        parse_when(text, "Europe/London", NOW)
    assert caught.value.message


def test_a_refusal_of_unreadable_text_gives_examples_in_the_zone() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_when("whenever", "America/New_York", NOW)
    assert "`3 Dec 6pm`" in caught.value.message and "America/New_York" in caught.value.message


def test_the_bounds_are_the_callers_to_choose() -> None:
    assert 2 * 365 <= MAX_AHEAD.days <= 2 * 366  # about two years
    assert parse_when("2028-11-20", "UTC", NOW) == datetime(2028, 11, 20, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="pick a date before 7 Dec 2026"):
        parse_when("in 3 weeks", "UTC", NOW, max_ahead=timedelta(days=14))
    assert parse_when("2040-01-01", "UTC", NOW, max_ahead=None) == datetime(2040, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="too far ahead"):
        parse_when("9999-12-31 23:59", "Pacific/Kiritimati", NOW, max_ahead=None)
    with pytest.raises(InvalidInput, match="from 1 Nov 2026 on"):
        parse_when("2026-10-31 18:00", "UTC", NOW, earliest=datetime(2026, 11, 1, tzinfo=UTC))
    # The past itself is the caller's rule (a meeting must be to come), not the parser's.
    assert parse_when("yesterday 9am", "UTC", NOW) == datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def test_a_time_skipped_by_the_clocks_going_forward_is_refused() -> None:
    with pytest.raises(InvalidInput, match="clocks go forward"):
        parse_when("2027-03-28 01:30", "Europe/London", NOW)


def test_hours_from_now_count_on_the_real_clock_across_a_change() -> None:
    # 00:30 in London on the night the clocks go forward: two hours on is 03:30 BST, 02:30 UTC.
    night = datetime(2027, 3, 28, 0, 30, tzinfo=UTC)
    assert parse_when("in 2 hours", "Europe/London", night) == datetime(2027, 3, 28, 2, 30, tzinfo=UTC)
    assert parse_when("90 minutes from now", "Europe/London", night) == datetime(2027, 3, 28, 2, 0, tzinfo=UTC)


def test_a_time_shown_twice_means_the_first() -> None:
    # 01:30 on 2027-10-31 happens twice in London: first in BST (00:30 UTC).
    assert parse_when("2027-10-31 01:30", "Europe/London", NOW) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


# --- fuzz: no exception but the refusal, and nothing out of range --------------------------------

_ZONES = st.sampled_from(["UTC", "Europe/London", "America/New_York", "Australia/Sydney", "Pacific/Kiritimati",
                          "Pacific/Pago_Pago"])
_TOKENS = st.sampled_from([
    "today", "tomorrow", "yesterday", "next", "this", "in", "from", "now", "at", "on", "of", "the", "a", "an",
    "friday", "thu", "mon", "dec", "march", "sept", "feb", "week", "weeks", "days", "month", "hours", "minutes",
    "years", "6pm", "12am", "13pm", "0am", "18:00", "25:00", "23:59", "24:00", "6:30", "p.m.", "noon", "midnight",
    "utc", "z", "+01:00", "-14:00", "+99:99", "2026-12-03", "9999-12-31", "0001-01-01", "2028-02-29", "2027-02-29",
    "3", "31", "0", "29th", "2027", "9999", "0000", "3/12", "-1", "10**30", "1e9", "²", "٣", ",", ".", "T",
])


def _assert_refused_or_in_range(text: str, tz: str) -> None:
    try:
        result = parse_when(text, tz, NOW)
    except InvalidInput as refusal:
        assert refusal.message and len(refusal.message) < 2000
    else:
        assert result.tzinfo is not None and result.utcoffset() == timedelta(0)
        assert EARLIEST <= result <= NOW + MAX_AHEAD


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=120), tz=_ZONES)
def test_fuzz_arbitrary_text_is_read_or_refused(text: str, tz: str) -> None:
    _assert_refused_or_in_range(text, tz)


@settings(max_examples=200, deadline=None)
@given(words=st.lists(_TOKENS, min_size=1, max_size=6), tz=_ZONES)
def test_fuzz_near_misses_are_read_or_refused(words: list[str], tz: str) -> None:
    _assert_refused_or_in_range(" ".join(words), tz)


# --- through the services: refused privately, nothing stored (SQLite and PostgreSQL) -------------

FAC = actor(ADMIN, channel=CHANNEL)
HOSTILE_WHEN = ["tomorrow 25:00", "-1", "10**30", "9999-12-31 18:00", "0001-01-01 00:00", "in 3 years"]


async def _count(sessions, model: type) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("when", HOSTILE_WHEN)
async def test_meeting_schedule_and_move_refuse_hostile_dates(services: Services, sessions, when: str) -> None:
    gid = await make_group(services, timezone="Europe/London")
    with pytest.raises(InvalidInput):
        await services.meetings.schedule(FAC, when=when, group_id=gid)
    assert await _count(sessions, Meeting) == 0
    meeting = await services.meetings.schedule(FAC, when="3 Dec 6pm", group_id=gid)
    with pytest.raises(InvalidInput):
        await services.meetings.move(FAC, meeting_id=meeting.id, when=when)
    assert (await services.meetings.next(FAC, group_id=gid)).starts_at == datetime(2026, 12, 3, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize("when", HOSTILE_WHEN)
async def test_commit_add_refuses_hostile_due_dates(services: Services, sessions, when: str) -> None:
    gid = await make_group(services, timezone="Europe/London")
    await services.groups.join(actor(ALICE), group_id=gid)
    with pytest.raises(InvalidInput):
        await services.commitments.add(actor(ALICE, channel=CHANNEL), text="Send invoices", due=when)
    assert await _count(sessions, Commitment) == 0
    added = await services.commitments.add(actor(ALICE, channel=CHANNEL), text="Send invoices", due="in 2 weeks")
    assert added.commitment.due_at == datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
