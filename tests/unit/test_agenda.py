"""AgendaService: tabling issues, the hot-seat order and its fair rotation, reordering — on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.models import AgendaItem
from bot.services import Services
from tests.unit.test_groups import ADMIN, ALICE, BOB, CAROL, CHANNEL, DAVE, OTHER_GUILD, actor, make_group

FAC = actor(ADMIN, channel=CHANNEL)
A, B, C = actor(ALICE), actor(BOB), actor(CAROL)


async def _group(services: Services, *members: int) -> int:
    gid = await make_group(services)
    for user_id in members or (ALICE, BOB, CAROL):
        await services.groups.join(actor(user_id), group_id=gid)
    return gid


async def _stored(sessions) -> list[tuple[int, str]]:
    async with sessions() as session:
        rows = await session.execute(select(AgendaItem.user_id, AgendaItem.issue).order_by(AgendaItem.id))
        return [tuple(row) for row in rows]


def _order(agenda) -> list[int]:
    return [entry.user_id for entry in agenda.entries]


async def test_members_table_issues_and_see_the_agenda_with_the_rsvps(services: Services) -> None:
    await _group(services)
    meeting = await services.meetings.schedule(FAC, when="2026-12-03 18:00")
    await services.meetings.rsvp(guild_id=1000, user_id=ALICE, meeting_id=meeting.id, answer="going")
    await services.meetings.rsvp(guild_id=1000, user_id=BOB, meeting_id=meeting.id, answer="no")
    tabled = await services.agenda.table(A, issue="  Hiring my\nfirst   employee \u200b")
    assert tabled.meeting_id == meeting.id and tabled.position_of(ALICE) == 1
    assert tabled.entries[0].issue == "Hiring my first employee"  # cleaned: one line, no invisible characters
    await services.agenda.table(C, issue="Pricing the new service")
    shown = await services.agenda.show(B)
    assert [(e.position, e.user_id, e.issue) for e in shown.entries] == [
        (1, ALICE, "Hiring my first employee"), (2, CAROL, "Pricing the new service")]
    assert shown.going == (ALICE,) and shown.apologies == (BOB,) and shown.maybe == ()
    assert set(shown.no_answer) == {ADMIN, CAROL}
    assert shown.label == "1st meeting of Tuesday Founders" and not shown.reordered


@pytest.mark.parametrize(("issue", "match"), [("x" * 201, "201 characters"), ("   \u200b ", "can't be empty")])
async def test_a_bad_issue_is_refused_and_nothing_stored(services: Services, sessions, issue: str, match: str) -> None:
    await _group(services)
    await services.meetings.schedule(FAC, when="2026-12-03 18:00")
    with pytest.raises(InvalidInput, match=match):
        await services.agenda.table(A, issue=issue)
    assert await _stored(sessions) == []
    assert (await services.agenda.table(A, issue="y" * 200)).entries[0].issue == "y" * 200  # the limit itself is fine


async def test_tabling_twice_for_the_same_meeting_is_refused(services: Services, sessions) -> None:
    await _group(services)
    await services.meetings.schedule(FAC, when="2026-12-03 18:00")
    second = await services.meetings.schedule(FAC, when="2027-01-07 18:00")
    await services.agenda.table(A, issue="Hiring")
    with pytest.raises(Conflict, match="already tabled `Hiring`") as refused:
        await services.agenda.table(A, issue="Something else")
    assert "Thu 03 Dec 2026 18:00 (UTC)" in str(refused.value)  # the meeting by its date, never an id
    assert await _stored(sessions) == [(ALICE, "Hiring")]
    # Another meeting is another agenda.
    await services.agenda.table(A, issue="Something else", meeting_id=second.id)
    assert await _stored(sessions) == [(ALICE, "Hiring"), (ALICE, "Something else")]
    # Withdrawn, it can be tabled again.
    withdrawn = await services.agenda.withdraw(A)
    assert withdrawn.entries == ()
    await services.agenda.table(A, issue="Something else")
    assert len(await _stored(sessions)) == 2


async def test_tabling_for_a_past_or_cancelled_meeting_is_refused(services: Services, sessions, clock) -> None:
    await _group(services)
    past = await services.meetings.schedule(FAC, when="2026-11-24 18:00")
    cancelled = await services.meetings.schedule(FAC, when="2026-12-10 18:00")
    await services.meetings.cancel(FAC, meeting_id=cancelled.id)
    clock.set(past.starts_at + timedelta(minutes=5))
    with pytest.raises(InvalidInput, match="already started"):
        await services.agenda.table(A, issue="Too late", meeting_id=past.id)
    with pytest.raises(InvalidInput, match="cancelled"):
        await services.agenda.table(A, issue="Too late", meeting_id=cancelled.id)
    with pytest.raises(NotFound, match="no meeting planned"):
        await services.agenda.table(A, issue="Nothing ahead")  # the past one isn't "next"
    assert await _stored(sessions) == []


async def test_only_members_of_the_group_table_and_see_it(services: Services, sessions) -> None:
    await _group(services, ALICE)
    meeting = await services.meetings.schedule(FAC, when="2026-12-03 18:00")
    with pytest.raises(NotFound):
        await services.agenda.table(actor(DAVE), issue="Outsider", meeting_id=meeting.id)
    with pytest.raises(NotFound):
        await services.agenda.show(actor(DAVE), meeting_id=meeting.id)
    with pytest.raises(NotFound):
        await services.agenda.table(actor(ALICE, guild=OTHER_GUILD), issue="Elsewhere", meeting_id=meeting.id)
    assert await _stored(sessions) == []


async def test_a_facilitator_reorders_and_others_may_not(services: Services, sessions) -> None:
    await _group(services)
    await services.meetings.schedule(FAC, when="2026-12-03 18:00")
    for who, issue in ((A, "one"), (B, "two"), (C, "three")):
        await services.agenda.table(who, issue=issue)
    with pytest.raises(NotAllowed, match="Only a facilitator"):
        await services.agenda.move(A, user_id=CAROL, position=1)
    assert _order(await services.agenda.show(A)) == [ALICE, BOB, CAROL]  # unchanged
    with pytest.raises(InvalidInput, match="from 1 to 3"):
        await services.agenda.move(FAC, user_id=CAROL, position=4)
    with pytest.raises(NotFound, match="hasn't tabled"):
        await services.agenda.move(FAC, user_id=ADMIN, position=1)
    moved = await services.agenda.move(FAC, user_id=CAROL, position=1)
    assert _order(moved) == [CAROL, ALICE, BOB] and moved.reordered
    # After a reorder, a newly tabled issue joins at the end, the set order kept.
    later = await services.agenda.table(FAC, issue="four")
    assert _order(later) == [CAROL, ALICE, BOB, ADMIN]


async def test_hot_seat_order_rotates_fairly_over_several_meetings(services: Services, clock) -> None:
    await _group(services, ALICE, BOB, CAROL, DAVE)
    meetings = [await services.meetings.schedule(FAC, when=f"{day} 18:00")
                for day in ("2026-12-03", "2027-01-07", "2027-02-04", "2027-03-04", "2027-04-01")]
    orders: list[list[int]] = []
    tabling = [(A, B, C), (C, B, A), (B, A, C), (A, C, B)]  # who tables first changes nothing
    for meeting, who in zip(meetings, tabling, strict=False):
        for member in who:
            await services.agenda.table(member, issue=f"issue of {member.user_id}")
        orders.append(_order(await services.agenda.show(A)))
        clock.set(meeting.starts_at + timedelta(hours=3, minutes=1))  # the meeting is over
    assert orders == [
        [ALICE, BOB, CAROL],  # nobody had a hot seat yet: in the order they tabled
        [BOB, CAROL, ALICE],  # Alice went first: she goes last now
        [CAROL, ALICE, BOB],
        [ALICE, BOB, CAROL],
    ]
    assert {order[0] for order in orders[:3]} == {ALICE, BOB, CAROL}  # each went first once in three
    # Someone who never had a hot seat goes first; whoever sat out longest comes before the rest.
    last = meetings[4]
    await services.agenda.table(B, issue="again")
    await services.agenda.table(actor(DAVE), issue="my first")
    assert _order(await services.agenda.show(A, meeting_id=last.id)) == [DAVE, BOB]


async def test_a_brainstorm_opened_before_the_meeting_is_tabled(services: Services, sessions, clock) -> None:
    await _group(services)
    meeting = await services.meetings.schedule(FAC, when="2026-12-03 18:00")
    opened = await services.brainstorms.open(A, issue="Which CRM should I use?")
    await services.brainstorms.attach_thread(brainstorm_id=opened.id, thread_id=777, message_id=778)
    await services.brainstorms.open(B, issue="A secret worry", anonymous=True)  # anonymous: not named on the agenda
    await services.agenda.table(C, issue="My own")
    await services.brainstorms.open(C, issue="A second one of mine")  # already tabled: left as it was
    agenda = await services.agenda.show(A)
    assert [(e.user_id, e.issue, e.from_brainstorm, e.thread_id) for e in agenda.entries] == [
        (ALICE, "Which CRM should I use?", True, 777), (CAROL, "My own", False, None)]
    # A brainstorm whose thread never opened leaves the agenda with it.
    failed = await services.brainstorms.open(FAC, issue="Never posted")
    assert len((await services.agenda.show(A)).entries) == 3
    await services.brainstorms.abandon(brainstorm_id=failed.id)
    assert len((await services.agenda.show(A)).entries) == 2
    # During the meeting a brainstorm is for this meeting, not tabled for the next one.
    await services.meetings.schedule(FAC, when="2027-01-07 18:00")
    clock.set(meeting.starts_at + timedelta(minutes=30))
    await services.brainstorms.open(B, issue="Live one")
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AgendaItem)) == 2
