"""MeetingService: one-off meetings, series, moving, cancelling, RSVPs — on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot import recurrence
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.models import Meeting, MeetingSeries
from bot.services import Services
from tests.unit.test_groups import ADMIN, ALICE, BOB, CAROL, CHANNEL, GUILD, OTHER_GUILD, actor, make_group

FAC = actor(ADMIN, channel=CHANNEL)


async def _group(services: Services, tz: str = "Europe/London") -> int:
    gid = await make_group(services, timezone=tz)
    await services.groups.join(actor(ALICE), group_id=gid)
    return gid


async def test_schedule_reads_when_in_the_groups_timezone(services: Services) -> None:
    await _group(services, "America/New_York")
    meeting = await services.meetings.schedule(FAC, when="3 Dec 6pm", location="Zoom")
    assert meeting.starts_at == datetime(2026, 12, 3, 23, 0, tzinfo=UTC)
    assert meeting.location == "Zoom" and meeting.status == "scheduled"
    assert (await services.meetings.next(actor(ALICE))).id == meeting.id


@pytest.mark.parametrize(("when", "match"), [("2026-11-01 18:00", "past"), ("yesterday 9am", "past"),
                                             ("when pigs fly", "couldn't read")])
async def test_past_and_unreadable_dates_are_refused(services: Services, sessions, when: str, match: str) -> None:
    await _group(services)
    with pytest.raises(InvalidInput, match=match):
        await services.meetings.schedule(FAC, when=when)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Meeting)) == 0


async def test_members_cannot_schedule(services: Services) -> None:
    gid = await _group(services)
    await services.groups.join(actor(CAROL), group_id=gid)  # three: in a pair either member may
    with pytest.raises(NotAllowed):
        await services.meetings.schedule(actor(ALICE), when="3 Dec 6pm")
    with pytest.raises(NotFound):
        await services.meetings.schedule(actor(BOB), when="3 Dec 6pm")  # not in any group


async def test_recurring_creates_the_series_and_shows_three_dates(services: Services) -> None:
    await _group(services)
    series = await services.meetings.recurring(FAC, rule="first tuesday", time="18:00", location="The Hub")
    assert [d.date().isoformat() for d in series.next_dates] == ["2026-12-01", "2027-01-05", "2027-02-02"]
    name, upcoming = await services.meetings.upcoming(actor(ALICE))
    assert name == "Tuesday Founders"
    assert [m.starts_at for m in upcoming] == series.next_dates
    assert all(m.location == "The Hub" for m in upcoming)


async def test_a_series_keeps_local_time_across_dst_and_tops_up_after_each_meeting(services: Services, clock) -> None:
    await _group(services, "Europe/London")
    await services.meetings.recurring(FAC, rule="last friday", time="18:00")
    for _ in range(8):
        meeting = await services.meetings.next(actor(ALICE))
        local = recurrence.to_local(meeting.starts_at, "Europe/London")
        assert (local.hour, local.minute, local.weekday()) == (18, 0, 4)
        clock.set(meeting.starts_at + timedelta(hours=3))
        await services.groups.end_meeting(meeting_id=meeting.id, actor=None)
    _, upcoming = await services.meetings.upcoming(actor(ALICE))
    assert len(upcoming) == 3
    # By now (summer) the UTC hour has moved while the local hour did not.
    assert upcoming[0].starts_at.hour == 17


async def test_recurring_replaces_the_future_part_of_the_old_series(services: Services, sessions) -> None:
    await _group(services)
    await services.meetings.recurring(FAC, rule="first tuesday")
    replaced = await services.meetings.recurring(FAC, rule="last friday", time="19:30")
    assert replaced.replaced == 3
    _, upcoming = await services.meetings.upcoming(actor(ALICE))
    assert [recurrence.to_local(m.starts_at, "Europe/London").strftime("%a %H:%M") for m in upcoming] == ["Fri 19:30"] * 3
    async with sessions() as session:
        assert await session.scalar(select(func.count()).where(MeetingSeries.ended_at.is_(None))) == 1


@pytest.mark.parametrize(("rule", "match"), [("every day", "couldn't read"), ("FREQ=DAILY", "more than one"),
                                             ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "any date")])
async def test_bad_rules_store_nothing(services: Services, sessions, rule: str, match: str) -> None:
    await _group(services)
    with pytest.raises(InvalidInput, match=match):
        await services.meetings.recurring(FAC, rule=rule)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(MeetingSeries)) == 0


async def test_move_and_cancel(services: Services) -> None:
    gid = await _group(services)
    await services.groups.join(actor(CAROL), group_id=gid)  # three: in a pair either member may
    meeting = await services.meetings.schedule(FAC, when="2026-12-03 18:00")
    with pytest.raises(NotAllowed):
        await services.meetings.move(actor(ALICE), meeting_id=meeting.id, when="2026-12-04 18:00")
    with pytest.raises(InvalidInput, match="past"):
        await services.meetings.move(FAC, meeting_id=meeting.id, when="2026-01-01 18:00")
    moved = await services.meetings.move(FAC, meeting_id=meeting.id, when="2026-12-04 18:00")
    assert moved.previous_starts_at == datetime(2026, 12, 3, 18, tzinfo=UTC)
    assert moved.meeting.starts_at == datetime(2026, 12, 4, 18, tzinfo=UTC)
    cancelled = await services.meetings.cancel(FAC)  # the group's next meeting
    assert cancelled.status == "cancelled"
    with pytest.raises(NotFound):
        await services.meetings.next(actor(ALICE))
    with pytest.raises(InvalidInput, match="already cancelled"):
        await services.meetings.cancel(FAC, meeting_id=meeting.id)


async def test_meetings_of_another_server_are_not_found(services: Services) -> None:
    await _group(services)
    meeting = await services.meetings.schedule(FAC, when="2026-12-03 18:00")
    with pytest.raises(NotFound):
        await services.meetings.cancel(actor(ADMIN, guild=OTHER_GUILD, manager=True), meeting_id=meeting.id)
    with pytest.raises(NotFound):
        await services.meetings.rsvp(guild_id=OTHER_GUILD, user_id=ALICE, meeting_id=meeting.id, answer="going")


async def test_rsvp_once_per_member_and_refuses_non_members(services: Services) -> None:
    await _group(services)
    meeting = await services.meetings.schedule(FAC, when="2026-12-03 18:00")
    info = await services.meetings.rsvp(guild_id=GUILD, user_id=ALICE, meeting_id=meeting.id, answer="going")
    assert info.counts == {"going": 1, "maybe": 0, "no": 0}
    info = await services.meetings.rsvp(guild_id=GUILD, user_id=ALICE, meeting_id=meeting.id, answer="no")
    assert info.counts == {"going": 0, "maybe": 0, "no": 1}
    info = await services.meetings.rsvp(guild_id=GUILD, user_id=ADMIN, meeting_id=meeting.id, answer="maybe")
    assert info.answers == {"going": [], "maybe": [ADMIN], "no": [ALICE]}
    with pytest.raises(NotAllowed):
        await services.meetings.rsvp(guild_id=GUILD, user_id=BOB, meeting_id=meeting.id, answer="going")


async def test_rsvp_to_a_cancelled_or_finished_meeting_is_refused(services: Services, clock) -> None:
    await _group(services)
    a = await services.meetings.schedule(FAC, when="2026-12-03 18:00")
    b = await services.meetings.schedule(FAC, when="2026-12-10 18:00")
    await services.meetings.cancel(FAC, meeting_id=b.id)
    with pytest.raises(InvalidInput, match="cancelled"):
        await services.meetings.rsvp(guild_id=GUILD, user_id=ALICE, meeting_id=b.id, answer="going")
    clock.set(a.starts_at + timedelta(hours=4))
    with pytest.raises(InvalidInput, match="over"):
        await services.meetings.rsvp(guild_id=GUILD, user_id=ALICE, meeting_id=a.id, answer="going")


async def test_meeting_choices_list_only_the_members_groups(services: Services) -> None:
    await _group(services)
    meeting = await services.meetings.schedule(FAC, when="2026-12-03 18:00")
    choices = await services.meetings.choices(actor(ALICE), "")
    assert [c.id for c in choices] == [meeting.id]
    assert "Thu 03 Dec 2026 18:00" in choices[0].label
    assert await services.meetings.choices(actor(BOB), "") == []


def test_meetings_are_named_by_their_place_in_the_group_not_an_id() -> None:
    from bot.services.meetings import ordinal

    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111, 112)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th", "112th",
    ]
