"""``/meeting substitute``: a member facilitates one meeting only — on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.models import Meeting
from bot.services import Services
from bot.services.attendance import AttendanceService
from tests.unit.test_groups import ADMIN, ALICE, BOB, CAROL, CHANNEL, DAVE, actor, make_group

FAC = actor(ADMIN, channel=CHANNEL)
A, B = actor(ALICE, channel=CHANNEL), actor(BOB, channel=CHANNEL)


async def _group(services: Services) -> int:
    gid = await make_group(services)
    for user_id in (ALICE, BOB, CAROL):
        await services.groups.join(actor(user_id), group_id=gid)
    return gid


async def _two_meetings(services: Services) -> tuple[int, int]:
    first = await services.meetings.schedule(FAC, when="2026-12-03 18:00")
    second = await services.meetings.schedule(FAC, when="2027-01-07 18:00")
    return first.id, second.id


async def _substitutes(sessions) -> dict[int, int | None]:
    async with sessions() as session:
        return {m.id: m.substitute_id for m in await session.scalars(select(Meeting).order_by(Meeting.id))}


async def test_a_substitute_runs_that_meeting_and_nothing_else(services: Services, sessions, clock) -> None:
    await _group(services)
    first, second = await _two_meetings(services)
    done = await services.meetings.substitute(FAC, member_id=ALICE)  # the next meeting by default
    assert (done.meeting_id, done.substitute_id, done.previous_id) == (first, ALICE, None)
    assert done.label == "1st meeting of Tuesday Founders"
    assert (await services.meetings.next(B)).substitute_id == ALICE  # /meeting next shows it
    assert (await services.groups.info(B)).next_meeting.substitute_id == ALICE  # so does /group info

    # Her meeting: its place and time.
    await services.meetings.set_place(A, meeting_id=first, venue="The Hub")
    await services.meetings.move(A, meeting_id=first, when="2026-12-03 19:00")
    # Not the other meeting, nor the group.
    with pytest.raises(NotAllowed, match="facilitator"):
        await services.meetings.move(A, meeting_id=second, when="2027-01-08 18:00")
    with pytest.raises(NotAllowed, match="facilitator"):
        await services.meetings.cancel(A, meeting_id=first)
    with pytest.raises(NotAllowed, match="facilitator"):
        await services.meetings.schedule(A, when="2027-02-04 18:00")
    with pytest.raises(NotAllowed, match="facilitator"):
        await services.groups.add_member(A, member_id=DAVE)
    with pytest.raises(NotAllowed, match="facilitator"):
        await services.meetings.substitute(A, member_id=BOB, meeting_id=second)  # she can't hand it on
    with pytest.raises(NotAllowed, match="facilitator"):
        await services.meetings.set_place(A, series=True, venue="Elsewhere")

    # At the meeting: the agenda's order, attendance, ending it.
    await services.agenda.table(B, issue="Hiring")
    await services.agenda.table(actor(CAROL, channel=CHANNEL), issue="Pricing")
    clock.set((await services.meetings.next(A)).starts_at + timedelta(minutes=5))
    agenda = await services.agenda.move(A, user_id=CAROL, position=1)
    assert [e.user_id for e in agenda.entries] == [CAROL, BOB]
    attendance = services.get(AttendanceService)
    sheet = await attendance.sheet(A)
    assert sheet.meeting_id == first
    await attendance.mark(A, meeting_id=first, user_id=BOB, status="present")
    with pytest.raises(NotAllowed, match="facilitator"):
        await attendance.sheet(B, meeting_id=first)  # another member may not
    with pytest.raises(NotAllowed, match="facilitator"):
        await attendance.trend(A)  # the group's feedback is the facilitators'
    ended = await services.groups.end_meeting(meeting_id=None, actor=A)
    assert ended.id == first and ended.status == "ended"


async def test_replacing_and_clearing_a_substitute(services: Services, sessions) -> None:
    await _group(services)
    first, second = await _two_meetings(services)
    await services.meetings.substitute(FAC, member_id=ALICE, meeting_id=second)
    done = await services.meetings.substitute(FAC, member_id=BOB, meeting_id=second)
    assert (done.substitute_id, done.previous_id) == (BOB, ALICE)
    with pytest.raises(InvalidInput, match="isn't facilitating"):
        await services.meetings.substitute(FAC, member_id=ALICE, meeting_id=second, clear=True)
    assert await _substitutes(sessions) == {first: None, second: BOB}
    cleared = await services.meetings.substitute(FAC, member_id=None, meeting_id=second, clear=True)
    assert (cleared.substitute_id, cleared.previous_id) == (None, BOB)
    assert await _substitutes(sessions) == {first: None, second: None}
    with pytest.raises(NotAllowed, match="facilitator"):
        await services.meetings.move(B, meeting_id=second, when="2027-01-08 18:00")


async def test_bad_substitutes_are_refused_and_nothing_stored(services: Services, sessions, clock) -> None:
    gid = await _group(services)
    await services.groups.create(actor(ADMIN, manager=True, channel=5002), name="Other", channel_id=5002)
    await services.groups.join(actor(DAVE), group_id=(await services.groups.info(actor(ADMIN, channel=5002))).id)
    first, second = await _two_meetings(services)
    with pytest.raises(NotFound, match="isn't in"):  # a member of another group
        await services.meetings.substitute(FAC, member_id=DAVE)
    with pytest.raises(NotAllowed, match="facilitator"):  # a member who isn't a facilitator
        await services.meetings.substitute(B, member_id=ALICE)
    with pytest.raises(InvalidInput, match="nothing to clear"):
        await services.meetings.substitute(FAC, member_id=None, clear=True)
    with pytest.raises(InvalidInput, match="Name the member"):
        await services.meetings.substitute(FAC, member_id=None)
    with pytest.raises(InvalidInput, match="already facilitates"):  # a facilitator needs no substitute's rights
        await services.meetings.substitute(FAC, member_id=ADMIN)
    with pytest.raises(NotFound):
        await services.meetings.substitute(FAC, member_id=ALICE, meeting_id=10**9)
    await services.meetings.substitute(FAC, member_id=ALICE, meeting_id=second)
    with pytest.raises(Conflict, match="already facilitating"):
        await services.meetings.substitute(FAC, member_id=ALICE, meeting_id=second)
    await services.meetings.substitute(FAC, member_id=None, meeting_id=second, clear=True)
    # An ended meeting, and one long past.
    clock.set((await services.meetings.next(A)).starts_at + timedelta(minutes=5))
    await services.groups.end_meeting(meeting_id=first, actor=FAC)
    with pytest.raises(InvalidInput, match="over"):
        await services.meetings.substitute(FAC, member_id=ALICE, meeting_id=first)
    clock.set(clock.now() + timedelta(days=60))
    with pytest.raises(InvalidInput, match="over"):
        await services.meetings.substitute(FAC, member_id=ALICE, meeting_id=second)
    assert await _substitutes(sessions) == {first: None, second: None}
    assert gid


async def test_a_pair_needs_no_substitute_and_one_who_leaves_stops_facilitating(services: Services, sessions) -> None:
    gid = await make_group(services)
    await services.groups.join(actor(ALICE), group_id=gid)
    meeting = await services.meetings.schedule(FAC, when="2026-12-03 18:00")
    with pytest.raises(InvalidInput, match="already facilitates"):  # in a pair both run every meeting
        await services.meetings.substitute(FAC, member_id=ALICE)
    await services.groups.join(actor(BOB), group_id=gid)
    await services.meetings.substitute(FAC, member_id=BOB)
    await services.groups.leave(actor(BOB))
    assert await _substitutes(sessions) == {meeting.id: None}
    assert (await services.meetings.next(A)).substitute_id is None
