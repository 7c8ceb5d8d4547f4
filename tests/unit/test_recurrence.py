"""Series rules: natural phrases and raw RRULEs, expanded in wall-clock local time."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from bot import recurrence
from bot.errors import InvalidInput

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
