"""Attendance, the minutes for who missed the meeting, and the one-question feedback (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.errors import InvalidInput, NotAllowed
from bot.models import OutboxRow, Rsvp
from bot.models.attendance import Attendance, AttendanceStatus, MeetingFeedback
from bot.services import Services
from bot.services.attendance import AttendanceService, attendance_rates
from bot.services.base import Actor
from cogs.meetings import minutes_markdown
from tests.conftest import START
from tests.seeding import insert_group, insert_meeting

GUILD, CHANNEL = 1, 10
FAC, ANA, BOB, CAT = 100, 101, 102, 103
P, A, X = AttendanceStatus.PRESENT, AttendanceStatus.APOLOGIES, AttendanceStatus.ABSENT


def actor(user_id: int) -> Actor:
    return Actor(guild_id=GUILD, user_id=user_id, channel_id=CHANNEL)


async def seed(services: Services, *, meetings: int = 1) -> tuple[int, list[int]]:
    """Makers (FAC facilitates; ANA, BOB, CAT), meetings a month apart from 3 days ahead; RSVPs to the first."""
    async with services.groups._sessions.begin() as session:
        group = await insert_group(session, guild_id=GUILD, channel_id=CHANNEL, name="Makers",
                                   members=[FAC, ANA, BOB, CAT], facilitators=[FAC], created_at=START)
        ids = []
        for n in range(meetings):
            meeting = await insert_meeting(session, guild_id=GUILD, group_id=group.id,
                                           starts_at=START + timedelta(days=3 + 30 * n), created_at=START)
            ids.append(meeting.id)
        session.add_all([
            Rsvp(meeting_id=ids[0], user_id=ANA, guild_id=GUILD, answer="going", updated_at=START),
            Rsvp(meeting_id=ids[0], user_id=BOB, guild_id=GUILD, answer="no", updated_at=START),
            Rsvp(meeting_id=ids[0], user_id=CAT, guild_id=GUILD, answer="maybe", updated_at=START),
        ])
        return group.id, ids


async def stored(services: Services, meeting_id: int) -> dict[int, str]:
    async with services.groups._sessions.begin() as session:
        return {r.user_id: r.status for r in await session.scalars(select(Attendance).where(Attendance.meeting_id == meeting_id))}


async def test_the_sheet_is_prefilled_from_the_rsvps_and_the_first_mark_stores_it_whole(services: Services, clock) -> None:
    _, (meeting_id,) = await seed(services)
    clock.advance(timedelta(days=3, minutes=5))  # the meeting has started
    sheet = await services.get(AttendanceService).sheet(actor(FAC))
    assert not sheet.taken and sheet.label == "1st meeting of Makers"
    assert [(e.user_id, e.status) for e in sheet.entries] == [(FAC, X), (ANA, P), (BOB, A), (CAT, P)]
    assert await stored(services, meeting_id) == {}  # looking stores nothing

    sheet = await services.get(AttendanceService).mark(actor(FAC), meeting_id=meeting_id, user_id=FAC, status="present")
    assert sheet.taken and sheet.count(P) == 3
    assert await stored(services, meeting_id) == {FAC: "present", ANA: "present", BOB: "apologies", CAT: "present"}
    await services.get(AttendanceService).mark(actor(FAC), meeting_id=meeting_id, user_id=CAT, status="absent")
    assert (await stored(services, meeting_id))[CAT] == "absent"


async def test_bad_attendance_is_refused_and_stores_nothing(services: Services, clock) -> None:
    _group_id, (meeting_id,) = await seed(services)
    # Before the meeting has started: refused, by the command's default and by the meeting named.
    with pytest.raises(InvalidInput, match="started"):
        await services.get(AttendanceService).sheet(actor(FAC))
    with pytest.raises(InvalidInput, match="hasn't started"):
        await services.get(AttendanceService).mark(actor(FAC), meeting_id=meeting_id, user_id=ANA, status="present")
    clock.advance(timedelta(days=3, minutes=5))
    # By a member who isn't a facilitator.
    with pytest.raises(NotAllowed, match="facilitator"):
        await services.get(AttendanceService).sheet(actor(ANA), meeting_id=meeting_id)
    with pytest.raises(NotAllowed, match="facilitator"):
        await services.get(AttendanceService).mark(actor(ANA), meeting_id=meeting_id, user_id=ANA, status="present")
    with pytest.raises(NotAllowed, match="stays in the group"):  # a server admin who isn't a member
        await services.get(AttendanceService).sheet(Actor(guild_id=GUILD, user_id=999, can_manage_server=True), meeting_id=meeting_id)
    with pytest.raises(InvalidInput, match="present, apologies or absent"):
        await services.get(AttendanceService).mark(actor(FAC), meeting_id=meeting_id, user_id=ANA, status="late")
    assert await stored(services, meeting_id) == {}
    # A day after the meeting's end (T + 3 h), the sheet is closed.
    await services.get(AttendanceService).mark(actor(FAC), meeting_id=meeting_id)
    clock.advance(timedelta(hours=3, days=1, minutes=1))
    with pytest.raises(InvalidInput, match="closed"):
        await services.get(AttendanceService).mark(actor(FAC), meeting_id=meeting_id, user_id=ANA, status="absent")
    assert (await stored(services, meeting_id))[ANA] == "present"


async def test_attendance_rates_over_several_meetings(services: Services, clock) -> None:
    group_id, ids = await seed(services, meetings=4)
    marks = [  # FAC, ANA, BOB, CAT per meeting; the fourth meeting's attendance is never taken
        {FAC: "present", ANA: "present", BOB: "apologies", CAT: "absent"},
        {FAC: "present", ANA: "absent", BOB: "present", CAT: "present"},
        {FAC: "present", ANA: "present", BOB: "apologies", CAT: "present"},
    ]
    for meeting_id, sheet in zip(ids, marks, strict=False):
        clock.set(START + timedelta(days=3 + 30 * ids.index(meeting_id), minutes=10))
        for user_id, status in sheet.items():
            await services.get(AttendanceService).mark(actor(FAC), meeting_id=meeting_id, user_id=user_id, status=status)
        await services.groups.end_meeting(meeting_id=meeting_id, actor=None)
    async with services.groups._sessions.begin() as session:
        rates = await attendance_rates(session, group_id)
        later = await attendance_rates(session, group_id, since=START + timedelta(days=30))
    assert rates.meetings == 3
    assert [m.user_id for m in rates.members] == [FAC, ANA, BOB, CAT]
    assert rates.of(FAC).rate == 1.0  # type: ignore[union-attr]
    ana = rates.of(ANA)
    assert ana is not None and (ana.present, ana.absent, ana.apologies) == (2, 1, 0) and ana.rate == pytest.approx(2 / 3)
    bob = rates.of(BOB)
    assert bob is not None and (bob.present, bob.apologies) == (1, 2) and bob.rate == pytest.approx(1 / 3)
    assert rates.rate == pytest.approx(8 / 12)
    assert later.meetings == 2 and later.of(CAT).rate == 1.0  # type: ignore[union-attr]
    # A facilitator reads every member's rate and the group's; a member the group's and her own.
    shown = await services.get(AttendanceService).rates(actor(FAC))
    assert shown.group_name == "Makers" and shown.everyone and shown.meetings == 3
    assert shown.rate == rates.rate and shown.members == rates.members
    shown = await services.get(AttendanceService).rates(actor(BOB))
    assert not shown.everyone and shown.rate == rates.rate and shown.members == (rates.of(BOB),)
    # An outsider, even with Manage Server, reads neither.
    with pytest.raises(NotAllowed):
        await services.get(AttendanceService).rates(Actor(guild_id=GUILD, user_id=999, can_manage_server=True), group_id=group_id)


async def test_the_minutes_show_attendance_and_who_missed_gets_them_by_dm(services: Services, clock) -> None:
    _group_id, (meeting_id,) = await seed(services)
    clock.advance(timedelta(days=3, minutes=5))
    await services.get(AttendanceService).mark(actor(FAC), meeting_id=meeting_id, user_id=CAT, status="absent")
    await services.get(AttendanceService).mark(actor(FAC), meeting_id=meeting_id, user_id=FAC, status="present")
    clock.advance(timedelta(hours=1))
    await services.groups.end_meeting(meeting_id=meeting_id, actor=actor(FAC))
    minutes = await services.minutes.minutes(meeting_id=meeting_id)
    assert minutes is not None and minutes.attendance is not None
    assert minutes.attendance.present == (FAC, ANA) and minutes.attendance.apologies == (BOB,)
    assert minutes.attendance.absent == (CAT,)
    assert "## Attendance" in minutes_markdown(minutes)

    async with services.groups._sessions.begin() as session:
        rows = {(r.kind, r.recipient_id): r for r in await session.scalars(
            select(OutboxRow).where(OutboxRow.kind.in_(["minutes_dm", "feedback_dm"])))}
    # Who missed it (apologies, absent) gets the minutes; who came, the feedback question; never both.
    assert set(rows) == {("minutes_dm", BOB), ("minutes_dm", CAT), ("feedback_dm", FAC), ("feedback_dm", ANA)}
    assert await services.get(AttendanceService).missed(meeting_id=meeting_id, user_id=CAT)
    assert not await services.get(AttendanceService).missed(meeting_id=meeting_id, user_id=ANA)
    # A correction afterwards moves the DM still to come.
    await services.get(AttendanceService).mark(actor(FAC), meeting_id=meeting_id, user_id=CAT, status="present")
    async with services.groups._sessions.begin() as session:
        pending = {(r.kind, r.recipient_id) for r in await session.scalars(
            select(OutboxRow).where(OutboxRow.kind.in_(["minutes_dm", "feedback_dm"]), OutboxRow.status == "pending"))}
    assert ("minutes_dm", CAT) not in pending and ("feedback_dm", CAT) in pending


async def test_without_attendance_who_missed_is_who_said_they_could_not_come(services: Services, clock) -> None:
    _, (meeting_id,) = await seed(services)
    clock.advance(timedelta(days=3, hours=3, minutes=1))
    await services.groups.end_meeting(meeting_id=meeting_id, actor=None)
    minutes = await services.minutes.minutes(meeting_id=meeting_id)
    assert minutes is not None and minutes.attendance is None
    missed = {uid for uid in (FAC, ANA, BOB, CAT) if await services.get(AttendanceService).missed(meeting_id=meeting_id, user_id=uid)}
    assert missed == {BOB}  # BOB can't make it; ANA going, CAT maybe, FAC didn't answer (may have come)


async def test_feedback_once_per_member_replaced_checked_and_closed_with_the_next_meeting(services: Services, clock) -> None:
    _group_id, ids = await seed(services, meetings=3)
    # Before the meeting ended: not open yet.
    with pytest.raises(InvalidInput, match="ended"):
        await services.get(AttendanceService).give_feedback(user_id=ANA, meeting_id=ids[0], score=4)
    clock.set(START + timedelta(days=3, hours=2))
    await services.groups.end_meeting(meeting_id=ids[0], actor=actor(FAC))
    prompt = await services.get(AttendanceService).feedback_prompt(meeting_id=ids[0], user_id=ANA)
    assert prompt is not None and prompt.score is None and prompt.closes_at == START + timedelta(days=33)
    assert await services.get(AttendanceService).feedback_prompt(meeting_id=ids[0], user_id=BOB) is None  # missed it

    for bad in ("0", "6", "five", "", "4.5"):
        with pytest.raises(InvalidInput, match="1 to 5"):
            await services.get(AttendanceService).give_feedback(user_id=ANA, meeting_id=ids[0], score=bad, line="x")
    with pytest.raises(InvalidInput, match="300"):
        await services.get(AttendanceService).give_feedback(user_id=ANA, meeting_id=ids[0], score=3, line="x" * 301)
    async with services.groups._sessions.begin() as session:
        assert list(await session.scalars(select(MeetingFeedback))) == []

    first = await services.get(AttendanceService).give_feedback(user_id=ANA, meeting_id=ids[0], score=" 3 ", line="More time for hot seats")
    assert first.previous is None and first.score == 3
    again = await services.get(AttendanceService).give_feedback(user_id=ANA, meeting_id=ids[0], score=5, keep_line=True)
    assert again.previous == 3 and again.line == "More time for hot seats"  # a button keeps the line
    await services.get(AttendanceService).give_feedback(user_id=CAT, meeting_id=ids[0], score="2", line="Start on time")
    await services.get(AttendanceService).give_feedback(user_id=FAC, meeting_id=ids[0], score=4)

    # The next meeting starts: feedback on this one has closed.
    clock.set(START + timedelta(days=33, minutes=1))
    with pytest.raises(InvalidInput, match="closed"):
        await services.get(AttendanceService).give_feedback(user_id=ANA, meeting_id=ids[0], score=1)
    await services.groups.end_meeting(meeting_id=ids[1], actor=actor(FAC))
    await services.get(AttendanceService).give_feedback(user_id=ANA, meeting_id=ids[1], score=4, line="Good")

    trend = await services.get(AttendanceService).trend(actor(FAC))
    assert [(m.label, m.answers, m.average) for m in trend.meetings] == [
        ("1st meeting", 3, pytest.approx(11 / 3)), ("2nd meeting", 1, 4.0)]
    assert trend.meetings[0].lines == ("More time for hot seats", "Start on time")  # no names, sorted
    with pytest.raises(NotAllowed, match="facilitator"):
        await services.get(AttendanceService).trend(actor(ANA))  # members never see each other's answers
