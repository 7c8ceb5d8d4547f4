"""Series rules: natural phrases and raw RRULEs, expanded in wall-clock local time."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from unittest import mock

import pytest
from dateutil import rrule as du
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot import recurrence
from bot.errors import InvalidInput
from bot.models import Meeting, MeetingSeries
from bot.services import Services
from tests.unit.test_groups import ADMIN, CHANNEL, actor, make_group

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


def _dates(rule_text: str, tz: str, *, at: time = time(18, 0), count: int = 3, now: datetime = NOW) -> list[datetime]:
    series = recurrence.parse_rule(rule_text)
    anchor = recurrence.anchor_for(now, tz, at)
    return recurrence.occurrences(series.rrule, anchor, tz, after=now, count=count)


@pytest.mark.parametrize(
    ("text", "rrule"),
    [
        ("first tuesday", "FREQ=MONTHLY;BYDAY=+1TU"),
        ("last friday", "FREQ=MONTHLY;BYDAY=-1FR"),
        ("the 2nd Wednesday of every month", "FREQ=MONTHLY;BYDAY=+2WE"),
        ("every 4 weeks on monday", "FREQ=WEEKLY;INTERVAL=4;BYDAY=MO"),
        ("every thursday", "FREQ=WEEKLY;INTERVAL=1;BYDAY=TH"),
        ("RRULE:FREQ=MONTHLY;BYDAY=1TU", "FREQ=MONTHLY;BYDAY=1TU"),
        ("freq=monthly;bymonthday=15", "FREQ=MONTHLY;BYMONTHDAY=15"),
    ],
)
def test_rules_are_read(text: str, rrule: str) -> None:
    assert recurrence.parse_rule(text).rrule == rrule


def test_first_tuesday_gives_the_first_tuesdays() -> None:
    assert [d.date().isoformat() for d in _dates("first tuesday", "UTC")] == ["2026-12-01", "2027-01-05", "2027-02-02"]


def test_last_friday_and_every_four_weeks() -> None:
    assert [d.day for d in _dates("last friday", "UTC")] == [27, 25, 29]
    assert [d.date().isoformat() for d in _dates("every 4 weeks on monday", "UTC")] == [
        "2026-11-23", "2026-12-21", "2027-01-18",
    ]


@pytest.mark.parametrize("tz", ["Europe/London", "America/New_York", "Australia/Sydney"])
def test_eighteen_hundred_stays_eighteen_hundred_across_daylight_saving(tz: str) -> None:
    dates = _dates("first tuesday", tz, count=13)
    local = [recurrence.to_local(d, tz) for d in dates]
    assert all((d.hour, d.minute) == (18, 0) for d in local)
    assert all(d.weekday() == 1 and d.day <= 7 for d in local)
    # The UTC offset really changes within the year, so the UTC hour does too.
    assert len({d.utcoffset() for d in local}) == 2
    assert len({d.hour for d in dates}) == 2


def test_southern_hemisphere_offsets_go_the_other_way() -> None:
    sydney = _dates("first tuesday", "Australia/Sydney", count=13)
    by_month = {recurrence.to_local(d, "Australia/Sydney").month: d for d in sydney}
    assert by_month[1].hour == 7  # 18:00 AEDT (+11) in January
    assert by_month[7].hour == 8  # 18:00 AEST (+10) in July
    london = _dates("first tuesday", "Europe/London", count=13)
    by_month = {d.month: d for d in london}
    assert by_month[1].hour == 18 and by_month[7].hour == 17


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Give a rule"),
        ("whenever we feel like it", "couldn't read"),
        ("FREQ=DAILY", "more than one meeting a week"),
        ("FREQ=WEEKLY;BYDAY=MO,TH", "more than one meeting a week"),
        ("FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2", "doesn't give any date"),
        ("FREQ=MONTHLY;BYDAY=1TU;BYHOUR=9", "time"),
        ("FREQ=SOMETIMES", "isn't valid"),
    ],
)
def test_bad_rules_are_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        series = recurrence.parse_rule(text)
        anchor = recurrence.anchor_for(NOW, "UTC", time(18))
        recurrence.validate(series.rrule, anchor, "UTC", now=NOW)


@pytest.mark.parametrize(("text", "expected"), [("18:00", time(18)), ("6pm", time(18)), ("6:30 am", time(6, 30)),
                                                ("12am", time(0)), ("09:05", time(9, 5))])
def test_times_are_read(text: str, expected: time) -> None:
    assert recurrence.parse_time(text) == expected


@pytest.mark.parametrize("text", ["25:00", "13pm", "noonish", "18:75"])
def test_bad_times_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        recurrence.parse_time(text)


def test_stored_rule_round_trips() -> None:
    anchor = recurrence.anchor_for(NOW, "Europe/London", time(18, 30))
    assert recurrence.load(recurrence.store("FREQ=MONTHLY;BYDAY=+1TU", anchor)) == ("FREQ=MONTHLY;BYDAY=+1TU", anchor)


# --- bounded rules ------------------------------------------------------------------------------


def _validate(text: str, *, now: datetime = NOW, tz: str = "UTC") -> list[datetime]:
    series = recurrence.parse_rule(text)
    return recurrence.validate(series.rrule, recurrence.anchor_for(now, tz, time(18)), tz, now=now)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # More often than weekly, whatever else the rule says.
        ("FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30", "more than one meeting a week"),
        ("FREQ=MINUTELY", "more than one meeting a week"),
        ("FREQ=SECONDLY;INTERVAL=1000000", "more than one meeting a week"),
        ("RRULE:FREQ=DAILY;INTERVAL=7", "more than one meeting a week"),
        # A weekday's position within its month is ±1 to ±5.
        ("FREQ=MONTHLY;BYDAY=+99TU", "position is 1 to 5"),
        ("FREQ=MONTHLY;BYDAY=6MO", "position is 1 to 5"),
        ("FREQ=MONTHLY;BYDAY=-6FR", "position is 1 to 5"),
        ("FREQ=MONTHLY;BYDAY=0TU", "position is 1 to 5"),
        ("FREQ=YEARLY;BYDAY=20MO", "position is 1 to 5"),
        ("FREQ=WEEKLY;BYDAY=1MO", "only goes with `FREQ=MONTHLY`"),
        ("FREQ=MONTHLY;BYDAY=TUESDAY", "isn't a day like"),
        ("FREQ=MONTHLY;BYDAY=1TU,", "isn't a day like"),
        # Each number within its range, in ASCII digits.
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY=0"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "from 1 to 31 or -1 to -31"),
        ("FREQ=MONTHLY;BYMONTHDAY=-32", "from 1 to 31 or -1 to -31"),
        ("FREQ=MONTHLY;BYMONTHDAY=١٥", "whole number"),
        ("FREQ=MONTHLY;BYMONTHDAY=²", "whole number"),
        ("FREQ=YEARLY;BYMONTH=13", "from 1 to 12"),
        ("FREQ=WEEKLY;INTERVAL=0;BYDAY=MO", "INTERVAL"),
        ("FREQ=WEEKLY;INTERVAL=99999999999999999999", "INTERVAL"),
        ("FREQ=WEEKLY;INTERVAL=10**30", "INTERVAL"),
        ("FREQ=WEEKLY;INTERVAL=1,2", "takes one number"),
        ("FREQ=MONTHLY;COUNT=0", "COUNT"),
        ("FREQ=MONTHLY;COUNT=-1", "COUNT"),
        ("FREQ=MONTHLY;BYSETPOS=0;BYDAY=MO", "BYSETPOS"),
        ("FREQ=MONTHLY;BYMONTHDAY=" + ",".join(["1"] * 40), "more than 31"),
        ("FREQ=MONTHLY;BYWEEKNO=1", "only goes with `FREQ=YEARLY`"),
        ("FREQ=WEEKLY;BYDAY=MO;WKST=XX", "WKST"),
        # Only the parts a series needs, once each.
        ("FREQ=MONTHLY;BYEASTER=0", "isn't a part I accept"),
        ("FREQ=MONTHLY;X-NAME=1", "isn't a part I accept"),
        ("FREQ=MONTHLY;FREQ=WEEKLY", "given twice"),
        ("FREQ=MONTHLY;BYDAY", "isn't NAME=VALUE"),
        ("FREQ=", "isn't NAME=VALUE"),
        ("RRULE:BYDAY=MO", "needs a `FREQ`"),
        ("FREQ=MONTHLY;UNTIL=20270101T000000Z", "UNTIL"),
        ("FREQ=MONTHLY;DTSTART=20270101T000000", "time"),
        # Rules that never happen (soon): refused, not expanded to the end of the calendar.
        ("FREQ=WEEKLY;BYMONTH=2;BYMONTHDAY=30", "doesn't give any date in the next two years"),
        ("FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30", "doesn't give any date in the next two years"),
        ("FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31", "doesn't give any date in the next two years"),
        ("FREQ=MONTHLY;BYMONTHDAY=-30;BYMONTH=2", "doesn't give any date in the next two years"),
        ("FREQ=MONTHLY;INTERVAL=12;BYMONTH=6", "doesn't give any date in the next two years"),
        ("FREQ=MONTHLY;BYSETPOS=6;BYDAY=MO", "doesn't give any date in the next two years"),
        ("FREQ=MONTHLY;BYDAY=+1MO;BYMONTHDAY=8,9,10", "doesn't give any date in the next two years"),
    ],
)
def test_hostile_rules_are_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        _validate(text)


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("FREQ=MONTHLY;BYDAY=+5TU", ["2026-12-29", "2027-03-30", "2027-06-29"]),
        ("FREQ=MONTHLY;BYDAY=-5SU", ["2027-01-03", "2027-05-02", "2027-08-01"]),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", ["2028-02-29"]),  # once in the next two years
        ("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", ["2027-08-13", "2028-10-13"]),
        ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", ["2026-11-30", "2026-12-31", "2027-01-29"]),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;WKST=SU", ["2026-11-25", "2026-12-09", "2026-12-23"]),
        ("FREQ=MONTHLY;BYDAY=-1FR;COUNT=2", ["2026-11-27", "2026-12-25"]),
        ("FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO", ["2027-05-17", "2028-05-15"]),
        ("rrule: freq=monthly; bymonthday=-1;", ["2026-11-30", "2026-12-31", "2027-01-31"]),
    ],
)
def test_rules_within_bounds_are_accepted(text: str, first: list[str]) -> None:
    assert [d.date().isoformat() for d in _validate(text)] == first


@contextlib.contextmanager
def _counting_periods() -> Iterator[list[int]]:
    """Count the periods (weeks, months, years) dateutil walks while the block runs."""
    walked = [0]

    def counting(original):
        def wrapper(self, *args):
            walked[0] += 1
            return original(self, *args)
        return wrapper

    with contextlib.ExitStack() as stack:
        for name in ("wdayset", "mdayset", "ydayset"):
            stack.enter_context(mock.patch.object(du._iterinfo, name, counting(getattr(du._iterinfo, name))))
        yield walked


# From 2026, dateutil would walk every week, month or year to 9999 looking for these.
NEVER = ["FREQ=WEEKLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30",
         "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=WEEKLY;BYSETPOS=2;BYDAY=MO"]


@pytest.mark.parametrize("text", NEVER)
def test_expanding_a_rule_that_never_happens_walks_a_bounded_number_of_periods(text: str) -> None:
    series = recurrence.parse_rule(text)
    anchor = recurrence.anchor_for(NOW, "UTC", time(18))
    with _counting_periods() as walked, pytest.raises(InvalidInput, match="doesn't give any date"):
        recurrence.validate(series.rrule, anchor, "UTC", now=NOW)
    # Two years ahead plus at most 28 years to the end of the shifted calendar: ~1,600 weeks,
    # where the unbounded walk from 2026 is ~416,000 weeks.
    assert 0 < walked[0] <= 31 * 53
    # A stored series whose rule has stopped happening is topped up with nothing, as boundedly.
    with _counting_periods() as walked:
        assert recurrence.occurrences(series.rrule, anchor, "UTC", after=NOW, count=3) == []
    assert 0 < walked[0] <= 34 * 53


def test_an_old_series_far_from_its_anchor_expands_boundedly() -> None:
    anchor = datetime(2001, 1, 2, 18, 0)
    later = datetime(2031, 6, 1, tzinfo=UTC)
    with _counting_periods() as walked:
        dates = recurrence.occurrences("FREQ=MONTHLY;BYDAY=+1TU", anchor, "UTC", after=later, count=3)
    assert [d.date().isoformat() for d in dates] == ["2031-06-03", "2031-07-01", "2031-08-05"]
    assert walked[0] <= 31 * 12 + 3  # the months since 2001, not to the end of the calendar


ORDINARY = ["FREQ=MONTHLY;BYDAY=+1TU", "FREQ=MONTHLY;BYDAY=-1FR", "FREQ=WEEKLY;INTERVAL=3;BYDAY=TH",
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=YEARLY;BYYEARDAY=-1", "FREQ=MONTHLY;INTERVAL=5"]


@pytest.mark.parametrize("rule", ORDINARY)
@pytest.mark.parametrize("year", [2001, 2026, 2043, 2096, 2099, 2150, 2399, 2400])
def test_bounded_expansion_gives_exactly_dateutils_dates(rule: str, year: int) -> None:
    # Around 2100 (not a leap year) and 2400 (a leap year) the calendar shift must respect them.
    anchor = datetime(year, 1, 31, 18, 0)
    after = datetime(year, 3, 1, tzinfo=UTC)
    bounded = recurrence.occurrences(rule, anchor, "UTC", after=after, count=8)
    plain = list(du.rrulestr(f"RRULE:{rule}", dtstart=anchor).xafter(after.replace(tzinfo=None), count=8))
    limit = after + timedelta(days=5 * 366)
    assert [d.replace(tzinfo=None) for d in bounded] == [d for d in plain if d <= limit.replace(tzinfo=None)]


# --- fuzz: no exception but the refusal, and bounded work ----------------------------------------

_PARTS = st.sampled_from([
    "FREQ=WEEKLY", "FREQ=MONTHLY", "FREQ=YEARLY", "FREQ=DAILY", "FREQ=HOURLY", "FREQ=", "FREQ=SOMETIMES",
    "INTERVAL=1", "INTERVAL=2", "INTERVAL=12", "INTERVAL=99", "INTERVAL=0", "INTERVAL=-1", "INTERVAL=10**30",
    "COUNT=1", "COUNT=3", "COUNT=999", "COUNT=0", "BYDAY=MO", "BYDAY=1TU", "BYDAY=-1FR", "BYDAY=+5SU",
    "BYDAY=+99TU", "BYDAY=MO,WE", "BYDAY=", "BYMONTHDAY=1", "BYMONTHDAY=29", "BYMONTHDAY=30", "BYMONTHDAY=31",
    "BYMONTHDAY=-1", "BYMONTHDAY=0", "BYMONTHDAY=99", "BYMONTH=2", "BYMONTH=4,6", "BYMONTH=13", "BYSETPOS=1",
    "BYSETPOS=-1", "BYSETPOS=6", "BYSETPOS=400", "WKST=SU", "WKST=XX", "BYWEEKNO=53", "BYWEEKNO=-1",
    "BYYEARDAY=366", "BYYEARDAY=60", "BYHOUR=9", "UNTIL=20270101", "BYEASTER=0", "", "=", "X", "²=1",
])


def _assert_refused_or_bounded(text: str) -> None:
    with _counting_periods() as walked:
        try:
            dates = _validate(text)
        except InvalidInput as refusal:
            assert refusal.message and len(refusal.message) < 2000
        else:
            assert 1 <= len(dates) <= 3 and dates == sorted(dates)
            assert all(NOW < d <= NOW + timedelta(days=2 * 366 + 1) for d in dates)
    assert walked[0] <= 31 * 53


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=120))
def test_fuzz_arbitrary_rule_text_is_read_or_refused(text: str) -> None:
    _assert_refused_or_bounded(text)


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(_PARTS, min_size=1, max_size=5), prefix=st.sampled_from(["", "RRULE:", "rrule: "]))
def test_fuzz_rrule_parts_are_read_or_refused_with_bounded_work(parts: list[str], prefix: str) -> None:
    _assert_refused_or_bounded(prefix + ";".join(parts))


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40))
def test_fuzz_times_are_read_or_refused(text: str) -> None:
    try:
        recurrence.parse_time(text)
    except InvalidInput as refusal:
        assert refusal.message


# --- through the service: refused privately, nothing stored (SQLite and PostgreSQL) --------------


@pytest.mark.parametrize("rule", ["FREQ=MONTHLY;BYDAY=+99TU", "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30",
                                  "FREQ=WEEKLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=MONTHLY;BYMONTHDAY=0"])
async def test_meeting_recurring_refuses_hostile_rules_and_stores_nothing(
    services: Services, sessions, rule: str
) -> None:
    gid = await make_group(services, timezone="Europe/London")
    with pytest.raises(InvalidInput):
        await services.meetings.recurring(actor(ADMIN, channel=CHANNEL), rule=rule, time="18:00", group_id=gid)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(MeetingSeries)) == 0
        assert await session.scalar(select(func.count()).select_from(Meeting)) == 0
