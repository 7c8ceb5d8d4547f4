"""The waking window: arithmetic across daylight saving in both hemispheres, and the input rules."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.errors import InvalidInput
from bot.models import MemberProfile, OutboxRow
from bot.services import Services
from bot.services.guilds import MemberSettings
from bot.waking import (
    DEFAULT_WINDOW,
    Window,
    deliver_after,
    deliver_at,
    inside,
    outside,
    parse_window,
    unsociable_note,
    window_of,
)
from tests.unit.test_groups import ALICE, GUILD, actor, make_group
from tests.unit.test_meetings import FAC

LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")
NEW_YORK = ZoneInfo("America/New_York")


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone).astimezone(UTC)  # type: ignore[misc]


def at(zone: ZoneInfo, when: datetime) -> str:
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


# --- inside the window: unchanged -------------------------------------------------------------------


@pytest.mark.parametrize("hour, minute", [(8, 0), (12, 30), (21, 0)])
def test_a_dm_due_inside_the_window_keeps_its_time(hour: int, minute: int) -> None:
    due = local(LONDON, 2026, 11, 29, hour, minute)
    assert deliver_at(due, LONDON) == due
    assert inside(due, LONDON)


def test_a_dm_due_a_minute_after_the_window_closes_goes_at_the_close() -> None:
    due = local(LONDON, 2026, 11, 29, 21, 1)
    assert at(LONDON, deliver_at(due, LONDON)) == "2026-11-29 21:00 GMT"


def test_a_dm_due_a_minute_before_the_window_opens_goes_the_evening_before() -> None:
    due = local(LONDON, 2026, 11, 29, 7, 59)
    assert at(LONDON, deliver_at(due, LONDON)) == "2026-11-28 21:00 GMT"


def test_the_sydney_member_of_a_london_group_gets_the_report_back_the_evening_before() -> None:
    # Meeting Tue 1 Dec 18:00 London; report-back 48 h before: Sun 29 Nov 18:00 UTC = Mon 05:00 Sydney.
    due = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)
    assert at(SYDNEY, due) == "2026-11-30 05:00 AEDT"
    assert at(SYDNEY, deliver_at(due, SYDNEY)) == "2026-11-29 21:00 AEDT"
    # The New York member's 13:00 is inside her window.
    assert deliver_at(due, NEW_YORK) == due


def test_the_zone_may_be_given_by_name() -> None:
    due = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)
    assert deliver_at(due, "Australia/Sydney") == deliver_at(due, SYDNEY)


def test_every_hour_of_a_fortnight_across_a_change_lands_inside_and_never_later() -> None:
    start = datetime(2026, 3, 22, 0, 0, tzinfo=UTC)  # spans London's spring change
    windows = (DEFAULT_WINDOW, Window(time(22), time(6)), Window(time(6, 30), time(7, 30)))
    for hour in range(24 * 14):
        moment = start + timedelta(hours=hour)
        for zone in (LONDON, SYDNEY, NEW_YORK):
            for window in windows:
                sent = deliver_at(moment, zone, window.start, window.end)
                assert sent <= moment
                assert moment - sent < timedelta(hours=24)
                assert inside(sent, zone, window.start, window.end), (moment, zone, window)


def test_a_dm_that_must_not_go_early_waits_for_the_next_opening() -> None:
    after_meeting = datetime(2026, 12, 1, 18, 1, tzinfo=UTC)  # Wed 05:01 Sydney
    assert at(SYDNEY, deliver_after(after_meeting, SYDNEY)) == "2026-12-02 08:00 AEDT"
    assert deliver_after(after_meeting, NEW_YORK) == after_meeting
    assert at(LONDON, deliver_after(local(LONDON, 2026, 11, 30, 21, 1), LONDON)) == "2026-12-01 08:00 GMT"
    assert at(LONDON, deliver_after(local(LONDON, 2026, 11, 30, 14, 0), LONDON, time(22), time(6))) == (
        "2026-11-30 22:00 GMT"
    )


# --- daylight saving, both hemispheres --------------------------------------------------------------


def test_london_spring_forward_the_evening_before_is_read_in_the_old_offset() -> None:
    # Clocks go forward Sun 29 Mar 2026 01:00 GMT -> 02:00 BST.
    due = local(LONDON, 2026, 3, 29, 6, 0)  # 05:00 UTC, BST
    sent = deliver_at(due, LONDON)
    assert at(LONDON, sent) == "2026-03-28 21:00 GMT"
    assert sent == datetime(2026, 3, 28, 21, 0, tzinfo=UTC)


def test_london_fall_back_keeps_the_wall_clock_close() -> None:
    # Clocks go back Sun 25 Oct 2026 02:00 BST -> 01:00 GMT.
    due = local(LONDON, 2026, 10, 25, 7, 0)
    sent = deliver_at(due, LONDON)
    assert at(LONDON, sent) == "2026-10-24 21:00 BST"
    assert sent == datetime(2026, 10, 24, 20, 0, tzinfo=UTC)
    # After the change the same wall-clock close is an hour later in UTC.
    assert deliver_at(local(LONDON, 2026, 10, 26, 7, 0), LONDON) == datetime(2026, 10, 25, 21, 0, tzinfo=UTC)


def test_sydney_clocks_go_back_in_april() -> None:
    # Sun 5 Apr 2026 03:00 AEDT -> 02:00 AEST.
    due = local(SYDNEY, 2026, 4, 5, 5, 0)
    sent = deliver_at(due, SYDNEY)
    assert at(SYDNEY, sent) == "2026-04-04 21:00 AEDT"
    assert sent == datetime(2026, 4, 4, 10, 0, tzinfo=UTC)
    assert deliver_at(local(SYDNEY, 2026, 4, 6, 5, 0), SYDNEY) == datetime(2026, 4, 5, 11, 0, tzinfo=UTC)


def test_sydney_clocks_go_forward_in_october() -> None:
    # Sun 4 Oct 2026 02:00 AEST -> 03:00 AEDT.
    due = local(SYDNEY, 2026, 10, 4, 5, 0)
    sent = deliver_at(due, SYDNEY)
    assert at(SYDNEY, sent) == "2026-10-03 21:00 AEST"
    assert sent == datetime(2026, 10, 3, 11, 0, tzinfo=UTC)
    assert deliver_at(local(SYDNEY, 2026, 10, 5, 5, 0), SYDNEY) == datetime(2026, 10, 4, 10, 0, tzinfo=UTC)


def test_a_window_edge_in_the_skipped_hour_shrinks_the_window() -> None:
    # A window closing at 01:30 (wrapping midnight); on 29 Mar 2026 London has no 01:00-02:00.
    # The close is read at the earlier instant (01:30 GMT), never later.
    window = Window(time(18), time(1, 30))
    due = local(LONDON, 2026, 3, 29, 4, 0)
    sent = deliver_at(due, LONDON, window.start, window.end)
    assert sent == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert sent.astimezone(LONDON).strftime("%H:%M") == "00:30"


def test_a_window_edge_in_the_repeated_hour_is_read_at_the_first_pass() -> None:
    # 01:30 happens twice in London on 25 Oct 2026: the close is the first (BST) one.
    window = Window(time(18), time(1, 30))
    due = local(LONDON, 2026, 10, 25, 4, 0)
    assert deliver_at(due, LONDON, window.start, window.end) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


# --- a window that wraps midnight ------------------------------------------------------------------


NIGHT = Window(time(22), time(6))


@pytest.mark.parametrize("hour", [22, 23, 0, 3, 6])
def test_a_night_window_keeps_times_across_midnight(hour: int) -> None:
    day = 29 if hour >= 22 else 30
    due = local(LONDON, 2026, 11, day, hour, 0)
    assert deliver_at(due, LONDON, NIGHT.start, NIGHT.end) == due


def test_a_night_window_sends_a_daytime_dm_at_six_that_morning() -> None:
    due = local(LONDON, 2026, 11, 30, 14, 0)
    assert at(LONDON, deliver_at(due, LONDON, NIGHT.start, NIGHT.end)) == "2026-11-30 06:00 GMT"
    due = local(LONDON, 2026, 11, 30, 21, 59)
    assert at(LONDON, deliver_at(due, LONDON, NIGHT.start, NIGHT.end)) == "2026-11-30 06:00 GMT"


def test_a_whole_day_window_never_moves_a_dm() -> None:
    whole = parse_window("00:00", "24:00")
    assert whole.all_day
    due = local(SYDNEY, 2026, 11, 30, 3, 0)
    assert deliver_at(due, SYDNEY, whole.start, whole.end) == due


# --- sociable hours for meeting replies -------------------------------------------------------------


def test_a_meeting_outside_seven_to_ten_is_flagged() -> None:
    meeting = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    assert outside(meeting, SYDNEY)  # Wed 05:00
    assert not outside(meeting, NEW_YORK)  # 13:00
    assert not outside(local(LONDON, 2026, 12, 1, 22, 0), LONDON)  # the edge counts as inside
    assert outside(local(LONDON, 2026, 12, 1, 22, 1), LONDON)
    assert not outside(local(LONDON, 2026, 12, 1, 7, 0), LONDON)


def test_the_unsociable_note_names_the_local_time_and_day() -> None:
    meeting = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # Tue 18:00 London
    assert unsociable_note(meeting, SYDNEY) == "That's 05:00 on Wednesday your time."
    assert unsociable_note(meeting, "Australia/Sydney", clause=True) == "that's 05:00 on Wednesday your time"
    assert unsociable_note(meeting, NEW_YORK) == ""  # 13:00: nothing to say
    assert unsociable_note(meeting, None) == ""  # no zone set: nothing guessed
    assert unsociable_note(meeting, "Not/AZone") == ""
    assert unsociable_note(local(LONDON, 2026, 12, 1, 22, 0), LONDON) == ""  # the edges are sociable
    assert unsociable_note(local(LONDON, 2026, 12, 1, 7, 0), LONDON) == ""
    assert unsociable_note(local(LONDON, 2026, 12, 1, 22, 30), LONDON) == "That's 22:30 on Tuesday your time."
    assert unsociable_note(local(LONDON, 2026, 12, 6, 6, 59), LONDON) == "That's 06:59 on Sunday your time."


# --- input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, end, expected",
    [
        ("08:00", "21:00", Window(time(8), time(21))),
        ("7", "22", Window(time(7), time(22))),
        ("7am", "9:30pm", Window(time(7), time(21, 30))),
        ("22:00", "06:00", Window(time(22), time(6))),
        ("22:00", "30:00", Window(time(22), time(6))),
        ("00:00", "24:00", Window(time(0), time(0))),
    ],
)
def test_windows_are_read_from_what_a_member_types(start: str, end: str, expected: Window) -> None:
    assert parse_window(start, end) == expected


@pytest.mark.parametrize(
    "start, end, words",
    [
        ("08:00", "08:00", "no length"),
        ("00:00", "00:00", "no length"),
        ("08:00", "32:30", "longer than 24 hours"),
        ("08:00", "99:00", "longer than 24 hours"),
        ("24:00", "08:00", "00:00–23:59"),
        ("08:00", "08:20", "at least an hour"),
        ("eight", "21:00", "isn't a time"),
        ("08:75", "21:00", "minutes run"),
        ("13pm", "21:00", "hours run 1–12"),
    ],
)
def test_bad_windows_are_refused_with_a_reason(start: str, end: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        parse_window(start, end)


def test_the_stored_window_defaults_to_eight_to_nine() -> None:
    assert window_of(None, None) == DEFAULT_WINDOW == Window(time(8), time(21))
    assert window_of("22:00", "06:00") == NIGHT
    assert DEFAULT_WINDOW.label() == "08:00–21:00"
    assert parse_window("0", "24").label() == "all day"


# --- the service: stored windows, re-planned DMs, refusals (both databases) -----------------------

SIA, NED = 31, 32  # Sydney and New York members of a London group
MEETING = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # Tue 18:00 London = Wed 05:00 Sydney


async def _london_group(services: Services, *members: int) -> int:
    gid = await make_group(services, timezone="Europe/London")
    for member in members:
        await services.groups.join(actor(member), group_id=gid)
    return gid


async def _due(sessions, kind: str, user_id: int) -> datetime:
    async with sessions() as session:
        row = await session.scalar(
            select(OutboxRow).where(OutboxRow.kind == kind, OutboxRow.recipient_id == user_id,
                                    OutboxRow.status == "pending")
        )
    assert row is not None, f"no pending {kind} for {user_id}"
    return row.due_at


async def test_the_sydney_members_report_back_is_due_the_evening_before(services: Services, sessions) -> None:
    await _london_group(services, SIA, ALICE)
    await services.guilds.set_member_timezone(actor(SIA), "Australia/Sydney")
    await services.meetings.schedule(FAC, when="2026-12-01 18:00")
    reportback = await _due(sessions, "reportback_dm", SIA)
    assert at(SYDNEY, reportback) == "2026-11-29 21:00 AEDT"  # not Mon 05:00
    assert at(SYDNEY, await _due(sessions, "checkin_nudge", SIA)) == "2026-11-28 21:00 AEDT"
    # A member without a zone is read in the group's (London 18:00: inside her window).
    assert await _due(sessions, "reportback_dm", ALICE) == MEETING - timedelta(hours=48)


async def test_the_dms_naming_the_meeting_carry_the_zone_the_member_set(services: Services, sessions) -> None:
    gid = await _london_group(services, SIA, ALICE)
    await services.guilds.set_member_timezone(actor(SIA), "Australia/Sydney")
    meeting = await services.meetings.schedule(FAC, when="2026-12-01 18:00")
    for user_id, zone in ((SIA, "Australia/Sydney"), (ALICE, None)):
        report = await services.commitments.reportback(group_id=gid, meeting_id=meeting.id, user_id=user_id)
        nudge = await services.modules.nudge(group_id=gid, meeting_id=meeting.id, user_id=user_id)
        welcome = await services.help.welcome(actor(user_id), group_id=gid)
        offer = await services.commitments.carryover(group_id=gid, meeting_id=meeting.id, user_id=user_id)
        assert report is not None and nudge is not None and offer is not None
        assert (report.own_zone, nudge.own_zone, welcome.own_zone, offer.own_zone) == (zone,) * 4
    assert unsociable_note(report.meeting_starts_at, "Australia/Sydney") == "That's 05:00 on Wednesday your time."


async def test_setting_a_zone_or_a_window_re_times_the_pending_dm(services: Services, sessions) -> None:
    await _london_group(services, SIA)
    await services.meetings.schedule(FAC, when="2026-12-01 18:00")
    assert await _due(sessions, "reportback_dm", SIA) == MEETING - timedelta(hours=48)
    settings = await services.guilds.set_member_timezone(actor(SIA), "Australia/Sydney")
    assert settings.retimed == 3  # her check-in nudge, report-back and meeting-day nudge
    assert at(SYDNEY, await _due(sessions, "reportback_dm", SIA)) == "2026-11-29 21:00 AEDT"
    # An early riser: 05:00 is inside 04:30–12:00, so the DM goes back to the planned lead.
    settings = await services.guilds.set_member_timezone(actor(SIA), start="04:30", end="12:00")
    assert settings.window == Window(time(4, 30), time(12)) and settings.timezone == "Australia/Sydney"
    assert await _due(sessions, "reportback_dm", SIA) == MEETING - timedelta(hours=48)
    # Only one side given keeps the other: until 11:00 still starts at 04:30.
    settings = await services.guilds.set_member_timezone(actor(SIA), end="11:00")
    assert settings.window == Window(time(4, 30), time(11))


async def test_a_night_workers_window_wraps_midnight(services: Services, sessions) -> None:
    await _london_group(services, SIA)
    settings = await services.guilds.set_member_timezone(actor(SIA), "Australia/Sydney", start="22:00", end="06:00")
    assert settings.window == Window(time(22), time(6))
    await services.meetings.schedule(FAC, when="2026-12-01 18:00")
    assert await _due(sessions, "reportback_dm", SIA) == MEETING - timedelta(hours=48)  # Mon 05:00: awake
    async with sessions() as session:
        profile = await session.get(MemberProfile, (GUILD, SIA))
    assert profile is not None and (profile.waking_start, profile.waking_end) == ("22:00", "06:00")


async def test_a_window_only_member_uses_the_groups_zone(services: Services, sessions) -> None:
    await _london_group(services, ALICE)
    settings = await services.guilds.set_member_timezone(actor(ALICE), start="09:00", end="17:00")
    assert settings.timezone is None
    await services.meetings.schedule(FAC, when="2026-12-01 18:00")
    assert at(LONDON, await _due(sessions, "reportback_dm", ALICE)) == "2026-11-29 17:00 GMT"


async def test_a_late_planned_dm_waits_for_her_morning_not_the_middle_of_her_night(
    services: Services, sessions, clock: ManualClock
) -> None:
    await _london_group(services, SIA)
    await services.guilds.set_member_timezone(actor(SIA), "Australia/Sydney")
    clock.set(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))  # Mon 23:00 Sydney; the 48 h lead has passed
    await services.meetings.schedule(FAC, when="2026-12-01 18:00")
    assert at(SYDNEY, await _due(sessions, "reportback_dm", SIA)) == "2026-12-01 08:00 AEDT"
    assert await _due(sessions, "reportback_dm", SIA) < MEETING


@pytest.mark.parametrize(
    "start, end, words",
    [("08:00", "08:00", "no length"), ("21:00", "21:00", "no length"), ("08:00", "33:00", "longer than 24 hours"),
     ("nine", "21:00", "isn't a time")],
)
async def test_bad_windows_are_refused_and_nothing_is_stored(
    services: Services, sessions, start: str, end: str, words: str
) -> None:
    await _london_group(services, SIA)
    await services.meetings.schedule(FAC, when="2026-12-01 18:00")
    before = await _due(sessions, "reportback_dm", SIA)
    with pytest.raises(InvalidInput, match=words):
        await services.guilds.set_member_timezone(actor(SIA), "Australia/Sydney", start=start, end=end)
    async with sessions() as session:
        assert await session.get(MemberProfile, (GUILD, SIA)) is None  # not even the zone
    assert await _due(sessions, "reportback_dm", SIA) == before


async def test_a_bad_window_leaves_the_stored_one_as_it_was(services: Services, sessions) -> None:
    await _london_group(services, SIA)
    await services.guilds.set_member_timezone(actor(SIA), "Australia/Sydney", start="07:00", end="22:00")
    with pytest.raises(InvalidInput, match="no length"):
        await services.guilds.set_member_timezone(actor(SIA), "Europe/London", end="07:00")
    async with sessions() as session:
        profile = await session.get(MemberProfile, (GUILD, SIA))
    assert profile is not None
    assert (profile.timezone, profile.waking_start, profile.waking_end) == ("Australia/Sydney", "07:00", "22:00")


async def test_the_facilitators_reply_shows_members_local_times_and_flags_unsociable_hours(
    services: Services,
) -> None:
    await _london_group(services, SIA, NED, ALICE)
    await services.guilds.set_member_timezone(actor(SIA), "Australia/Sydney")
    await services.guilds.set_member_timezone(actor(NED), "America/New_York")
    meeting = await services.meetings.schedule(FAC, when="2026-12-01 18:00")
    shown = {item.user_id: item for item in meeting.local_times}
    assert set(shown) == {SIA, NED}  # Alice set no zone
    assert shown[SIA].local.strftime("%a %H:%M") == "Wed 05:00" and shown[SIA].unsociable
    assert shown[NED].local.strftime("%a %H:%M") == "Tue 13:00" and not shown[NED].unsociable

    moved = await services.meetings.move(FAC, meeting_id=meeting.id, when="2026-12-01 09:00")
    shown = {item.user_id: item for item in moved.meeting.local_times}
    assert shown[SIA].local.strftime("%H:%M") == "20:00" and not shown[SIA].unsociable
    assert shown[NED].local.strftime("%H:%M") == "04:00" and shown[NED].unsociable

    series = await services.meetings.recurring(FAC, rule="first tuesday", time="18:00")
    shown = {item.user_id: item for item in series.local_times}
    assert shown[SIA].local == series.next_dates[0].astimezone(SYDNEY) and shown[SIA].unsociable
    assert not shown[NED].unsociable


async def test_a_re_plan_just_after_the_window_closed_does_not_hold_the_dm_a_day(
    services: Services, sessions, clock: ManualClock
) -> None:
    await _london_group(services, SIA)
    await services.guilds.set_member_timezone(actor(SIA), "Australia/Sydney")
    await services.meetings.schedule(FAC, when="2026-12-01 18:00")
    due = await _due(sessions, "reportback_dm", SIA)  # Sun 21:00 Sydney
    clock.set(due + timedelta(minutes=1))  # the dispatcher hasn't claimed it yet; someone joins
    await services.groups.join(actor(NED), group_id=(await services.meetings.next(actor(SIA))).group_id)
    assert await _due(sessions, "reportback_dm", SIA) == due  # still due: sent at once, not tomorrow 08:00


async def test_timezone_set_with_nothing_given_shows_the_settings_and_stores_nothing(
    services: Services, sessions
) -> None:
    await _london_group(services, SIA)
    settings = await services.guilds.set_member_timezone(actor(SIA))
    assert settings == MemberSettings(None, DEFAULT_WINDOW, 0)
    async with sessions() as session:
        assert await session.get(MemberProfile, (GUILD, SIA)) is None
