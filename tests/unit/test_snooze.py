"""Remind me later and /away (SQLite and PostgreSQL): the snooze times offered and stored as outbox
rows (across a daylight-saving change), their refusals, and away windows pausing DMs in every group."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.errors import InvalidInput, NotAllowed
from bot.models import MemberProfile, OutboxRow
from bot.services import Services
from bot.services.base import Actor
from bot.services.commitments_feature import CARRYOVER_DM
from bot.services.outbox import R_MEMBER_AWAY, REPORTBACK_BOARD, REPORTBACK_DM, plan_group
from bot.services.snooze import DAY_BEFORE, HOUR, MORNING, R_SNOOZED_AGAIN, SNOOZE, AwayService, SnoozeService
from tests.unit.seeding import CHANNEL, add_meeting, make_group

ANA, BOB = 4_000_000_000_000_000_001, 4_000_000_000_000_000_002
OTHER_CHANNEL = 2_000_000_000_000_000_002
LONDON = ZoneInfo("Europe/London")
# Clocks go forward in London on Sunday 28 March 2027 at 01:00 UTC.
SAT_BEFORE_DST = datetime(2027, 3, 27, 9, 0, tzinfo=UTC)  # 09:00 GMT
SUN_MEETING = datetime(2027, 3, 28, 17, 0, tzinfo=UTC)  # 18:00 BST
DEC_3 = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
JAN_7 = datetime(2027, 1, 7, 18, 0, tzinfo=UTC)


def actor(user_id: int) -> Actor:
    return Actor(guild_id=1_000_000_000_000_000_001, user_id=user_id, channel_id=CHANNEL)


async def rows(sessions: async_sessionmaker[AsyncSession], kind: str, status: str | None = "pending") -> list[OutboxRow]:
    async with sessions.begin() as session:
        query = select(OutboxRow).where(OutboxRow.kind == kind).order_by(OutboxRow.id)
        if status is not None:
            query = query.where(OutboxRow.status == status)
        return list(await session.scalars(query))


async def replan(sessions: async_sessionmaker[AsyncSession], group_id: int, now: datetime) -> None:
    async with sessions.begin() as session:
        await plan_group(session, group_id, now)


@pytest.fixture
async def group_id(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> int:
    return await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BOB])


# --- snooze -------------------------------------------------------------------------------------------


async def test_snooze_times_keep_the_members_wall_clock_across_a_dst_change(
    services: Services, sessions, clock: ManualClock, group_id: int
) -> None:
    await services.guilds.set_member_timezone(actor(ANA), "Europe/London")
    meeting = await add_meeting(sessions, group_id, SUN_MEETING)
    clock.set(SAT_BEFORE_DST)

    choices = await services.get(SnoozeService).options(user_id=ANA, group_id=group_id, kind=REPORTBACK_DM, meeting_id=meeting)

    assert [(o.key, o.at) for o in choices.options] == [
        (HOUR, SAT_BEFORE_DST + timedelta(hours=1)),
        # The day before the meeting at its wall-clock time: Saturday 18:00 GMT, not 24 hours (17:00 UTC).
        (DAY_BEFORE, datetime(2027, 3, 27, 18, 0, tzinfo=UTC)),
        # Tomorrow morning is 08:00 in London, now BST: 07:00 UTC.
        (MORNING, datetime(2027, 3, 28, 7, 0, tzinfo=UTC)),
    ]
    assert choices.limit == SUN_MEETING
    assert datetime(2027, 3, 28, 7, 0, tzinfo=UTC).astimezone(LONDON).hour == 8

    snoozed = await services.get(SnoozeService).snooze(user_id=ANA, group_id=group_id, kind=REPORTBACK_DM, meeting_id=meeting,
                                           option=MORNING)
    assert snoozed.option.at == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)
    [row] = await rows(sessions, SNOOZE)
    assert (row.recipient_id, row.meeting_id, row.due_at) == (ANA, None, datetime(2027, 3, 28, 7, 0, tzinfo=UTC))
    assert row.payload["kind"] == REPORTBACK_DM and row.payload["meeting_id"] == meeting
    assert row.payload["useful_until"] == SUN_MEETING.isoformat()  # never sent after the meeting starts

    # A re-plan (any change to the group) keeps it as it is.
    await replan(sessions, group_id, clock.now())
    [kept] = await rows(sessions, SNOOZE)
    assert (kept.id, kept.due_at) == (row.id, row.due_at)

    # Snoozing the same reminder again replaces it; the same choice twice is one row.
    await services.get(SnoozeService).snooze(user_id=ANA, group_id=group_id, kind=REPORTBACK_DM, meeting_id=meeting,
                                 option=HOUR)
    await services.get(SnoozeService).snooze(user_id=ANA, group_id=group_id, kind=REPORTBACK_DM, meeting_id=meeting,
                                 option=HOUR)
    [again] = await rows(sessions, SNOOZE)
    assert again.due_at == SAT_BEFORE_DST + timedelta(hours=1)
    [old] = await rows(sessions, SNOOZE, "cancelled")
    assert old.id == row.id and old.reason == R_SNOOZED_AGAIN


async def test_snooze_offers_nothing_past_the_meeting_or_outside_the_window(
    services: Services, sessions, clock: ManualClock, group_id: int
) -> None:
    meeting = await add_meeting(sessions, group_id, DEC_3)
    clock.set(DEC_3 - timedelta(hours=20))  # 22:00 UTC: outside Ana's 08:00-21:00 (the group's UTC)
    choices = await services.get(SnoozeService).options(user_id=ANA, group_id=group_id, kind=REPORTBACK_DM, meeting_id=meeting)
    # Not "in 1 hour" (23:00 is outside her window); the day before (18:00 yesterday) has passed.
    assert [(o.key, o.at) for o in choices.options] == [(MORNING, datetime(2026, 12, 3, 8, 0, tzinfo=UTC))]

    clock.set(DEC_3 - timedelta(minutes=30))
    with pytest.raises(InvalidInput, match="too close"):
        await services.get(SnoozeService).options(user_id=ANA, group_id=group_id, kind=REPORTBACK_DM, meeting_id=meeting)
    with pytest.raises(InvalidInput, match="too late now"):  # an old choice, clicked now
        await services.get(SnoozeService).snooze(user_id=ANA, group_id=group_id, kind=REPORTBACK_DM, meeting_id=meeting,
                                     option=MORNING)
    assert await rows(sessions, SNOOZE, None) == []


async def test_snoozing_is_refused_after_the_meeting_started_or_for_others(
    services: Services, sessions, clock: ManualClock, group_id: int
) -> None:
    meeting = await add_meeting(sessions, group_id, DEC_3)
    outsider = 4_000_000_000_000_000_009
    with pytest.raises(NotAllowed, match="no longer in"):
        await services.get(SnoozeService).options(user_id=outsider, group_id=group_id, kind=REPORTBACK_DM, meeting_id=meeting)
    with pytest.raises(InvalidInput, match="can't be snoozed"):
        await services.get(SnoozeService).options(user_id=ANA, group_id=group_id, kind=REPORTBACK_BOARD, meeting_id=meeting)
    with pytest.raises(InvalidInput, match="Pick one"):
        await services.get(SnoozeService).snooze(user_id=ANA, group_id=group_id, kind=REPORTBACK_DM, meeting_id=meeting,
                                     option="next_year")
    clock.set(DEC_3 + timedelta(minutes=1))
    with pytest.raises(InvalidInput, match="has already started"):
        await services.get(SnoozeService).options(user_id=ANA, group_id=group_id, kind=REPORTBACK_DM, meeting_id=meeting)
    with pytest.raises(InvalidInput, match="has already started"):
        await services.get(SnoozeService).snooze(user_id=ANA, group_id=group_id, kind=REPORTBACK_DM, meeting_id=meeting,
                                     option=MORNING)
    assert await rows(sessions, SNOOZE, None) == []


async def test_a_carry_over_snooze_may_not_pass_the_next_meeting(
    services: Services, sessions, clock: ManualClock, group_id: int
) -> None:
    first = await add_meeting(sessions, group_id, DEC_3)
    clock.set(DEC_3 + timedelta(hours=4))  # 22:00 after the meeting
    # No next meeting: tomorrow morning only, worth a day.
    choices = await services.get(SnoozeService).options(user_id=ANA, group_id=group_id, kind=CARRYOVER_DM, meeting_id=first)
    assert [o.key for o in choices.options] == [MORNING] and choices.limit is None
    await services.get(SnoozeService).snooze(user_id=ANA, group_id=group_id, kind=CARRYOVER_DM, meeting_id=first, option=MORNING)
    [row] = await rows(sessions, SNOOZE)
    assert row.payload["useful_until"] == (row.due_at + timedelta(days=1)).isoformat()

    second = await add_meeting(sessions, group_id, JAN_7)
    choices = await services.get(SnoozeService).options(user_id=ANA, group_id=group_id, kind=CARRYOVER_DM, meeting_id=first)
    assert choices.limit == JAN_7
    assert [o.key for o in choices.options] == [MORNING, DAY_BEFORE]
    await services.get(SnoozeService).snooze(user_id=ANA, group_id=group_id, kind=CARRYOVER_DM, meeting_id=first,
                                 option=DAY_BEFORE)
    [row] = await rows(sessions, SNOOZE)
    assert row.due_at == JAN_7 - timedelta(days=1) and row.payload["limit_meeting_id"] == second

    # The next meeting cancelled: the snooze goes with it.
    async with sessions.begin() as session:
        from bot.models import Meeting, MeetingStatus
        found = await session.get(Meeting, second)
        assert found is not None
        found.status = MeetingStatus.CANCELLED
    await replan(sessions, group_id, clock.now())
    assert await rows(sessions, SNOOZE) == []


async def test_a_snooze_of_a_member_who_left_is_cancelled(
    services: Services, sessions, clock: ManualClock, group_id: int
) -> None:
    meeting = await add_meeting(sessions, group_id, DEC_3)
    await services.get(SnoozeService).snooze(user_id=BOB, group_id=group_id, kind=REPORTBACK_DM, meeting_id=meeting, option=MORNING)
    await services.groups.leave(actor(BOB), group_id=group_id)
    [row] = await rows(sessions, SNOOZE, "cancelled")
    assert row.reason == "member left the group"


# --- away ---------------------------------------------------------------------------------------------


async def test_away_pauses_dms_in_every_group_until_the_day_after(
    services: Services, sessions, clock: ManualClock, group_id: int
) -> None:
    other = await make_group(sessions, clock, name="Writers", channel_id=OTHER_CHANNEL, members=[ANA])
    await add_meeting(sessions, group_id, DEC_3)
    await add_meeting(sessions, group_id, JAN_7)
    await add_meeting(sessions, other, DEC_3 + timedelta(days=1))
    await replan(sessions, group_id, clock.now())
    await replan(sessions, other, clock.now())
    ana_dms = [r for r in await rows(sessions, REPORTBACK_DM) if r.recipient_id == ANA]
    assert len(ana_dms) == 3

    status = await services.get(AwayService).set(actor(ANA), until="10 December", note="Holiday <@1>")

    assert status.until == datetime(2026, 12, 11, 0, 0, tzinfo=UTC)  # through 10 Dec (her zone: the server's UTC)
    assert status.last_day.isoformat() == "2026-12-10" and status.note == "Holiday <@1>"
    # the report-back DMs, check-in nudges and meeting-day nudges of both December meetings
    assert status.changed == 2 + 2 + 2
    pending = {(r.recipient_id, r.due_at) for r in await rows(sessions, REPORTBACK_DM)}
    assert (ANA, JAN_7 - timedelta(hours=48)) in pending  # after her away: still coming
    assert (BOB, DEC_3 - timedelta(hours=48)) in pending  # Bob isn't away
    assert not [d for u, d in pending if u == ANA and d < status.until]
    cancelled = [r for r in await rows(sessions, REPORTBACK_DM, "cancelled")]
    assert {r.reason for r in cancelled} == {R_MEMBER_AWAY} and len(cancelled) == 2

    # Shown as away: the board and /group info (Bob isn't).
    board = await services.commitments.board(group_id=group_id, meeting_id=ana_dms[0].meeting_id)  # type: ignore[arg-type]
    assert board is not None and board.away == {ANA: status.until}
    info = await services.groups.info(actor(BOB), group_id=group_id)
    assert {m.user_id: m.away_until for m in info.members} == {ANA: status.until, BOB: None}
    assert (await services.get(AwayService).status(actor(ANA))).until == status.until

    # A re-plan while she's away keeps them paused; /away end brings back those still ahead.
    await replan(sessions, group_id, clock.now())
    assert len(await rows(sessions, REPORTBACK_DM, "cancelled")) == 2
    ended = await services.get(AwayService).end(actor(ANA))
    assert ended.changed == 6 and not (await services.get(AwayService).status(actor(ANA))).away
    assert len([r for r in await rows(sessions, REPORTBACK_DM) if r.recipient_id == ANA]) == 3
    with pytest.raises(InvalidInput, match="not away"):
        await services.get(AwayService).end(actor(ANA))


async def test_a_dm_due_while_away_is_not_sent_after_the_away_ends(
    services: Services, sessions, clock: ManualClock, group_id: int
) -> None:
    meeting = await add_meeting(sessions, group_id, DEC_3)
    await replan(sessions, group_id, clock.now())
    await services.get(AwayService).set(actor(ANA), until="2026-12-01")  # the report-back DM is due on 1 Dec 18:00
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))  # back, before the meeting
    await replan(sessions, group_id, clock.now())
    assert not [r for r in await rows(sessions, REPORTBACK_DM) if r.recipient_id == ANA]
    assert (await services.get(AwayService).status(actor(ANA))).until is None
    board = await services.commitments.board(group_id=group_id, meeting_id=meeting)
    assert board is not None and board.away == {}


async def test_away_follows_the_members_zone_across_dst(services: Services, sessions, clock: ManualClock) -> None:
    await services.guilds.set_member_timezone(actor(ANA), "Europe/London")
    clock.set(SAT_BEFORE_DST)
    status = await services.get(AwayService).set(actor(ANA), until="2027-03-28")
    assert status.until == datetime(2027, 3, 28, 23, 0, tzinfo=UTC)  # Monday 00:00 BST
    status = await services.get(AwayService).set(actor(ANA), until="today")  # replaces: through today
    assert status.until == datetime(2027, 3, 28, 0, 0, tzinfo=UTC)  # Sunday 00:00 GMT


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("2026-11-20", "in the past"),
        ("yesterday", "in the past"),
        ("2027-11-24", "more than a year ahead"),
        ("in 2 years", "more than a year ahead"),
        ("whenever", "couldn't read"),
        ("1999-01-01", "too long ago"),
    ],
)
async def test_bad_away_dates_are_refused_and_store_nothing(
    services: Services, sessions, clock: ManualClock, group_id: int, typed: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await services.get(AwayService).set(actor(ANA), until=typed)
    async with sessions.begin() as session:
        assert await session.scalar(select(func.count()).select_from(MemberProfile)) == 0
    assert not (await services.get(AwayService).status(actor(ANA))).away


async def test_a_year_ahead_is_the_limit(services: Services, sessions, clock: ManualClock, group_id: int) -> None:
    status = await services.get(AwayService).set(actor(ANA), until="2027-11-23")  # today is 23 Nov 2026
    assert status.last_day is not None and status.last_day.isoformat() == "2027-11-23"


async def test_a_snooze_never_lands_in_an_away(services: Services, sessions, clock: ManualClock, group_id: int) -> None:
    meeting = await add_meeting(sessions, group_id, DEC_3)
    await services.get(AwayService).set(actor(ANA), until="2026-11-30")
    choices = await services.get(SnoozeService).options(user_id=ANA, group_id=group_id, kind=REPORTBACK_DM, meeting_id=meeting)
    assert [o.key for o in choices.options] == [DAY_BEFORE]  # 2 Dec 18:00; not today or tomorrow
