"""The report-back end to end (SQLite and PostgreSQL): answers change freely until the board is
posted, a later answer names the posted board to update until the meeting ends, a click after the
end is refused as closed with the carry-over offer, old buttons after leaving the group, and the
meeting-day nudge's rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.errors import NotAllowed
from bot.models import Commitment, Group, OutboxRow
from bot.services import Services
from bot.services.base import Actor
from bot.services.commitments import NOT_REPORTED, CommitmentRef, PostedBoard, ReportClosed
from bot.services.commitments_feature import NUDGE_LEAD_HOURS, REPORTBACK_NUDGE
from bot.services.outbox import REPORTBACK_BOARD, plan_group
from tests.unit.seeding import CHANNEL, GUILD, add_meeting, make_group

ANA, BOB, CAT = 4_000_000_000_000_000_001, 4_000_000_000_000_000_002, 4_000_000_000_000_000_003
DEC_3 = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
JAN_7 = datetime(2027, 1, 7, 18, 0, tzinfo=UTC)
BOARD_MESSAGE = 5_000_000_000_000_000_001


def actor(user_id: int) -> Actor:
    return Actor(guild_id=GUILD, user_id=user_id, channel_id=CHANNEL, can_manage_server=False)


@pytest.fixture
async def group_id(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> int:
    return await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BOB, CAT])


@pytest.fixture
async def meetings(sessions: async_sessionmaker[AsyncSession], group_id: int, clock: ManualClock) -> tuple[int, int]:
    ids = await add_meeting(sessions, group_id, DEC_3), await add_meeting(sessions, group_id, JAN_7)
    async with sessions.begin() as session:  # planned as scheduling them would
        await plan_group(session, group_id, clock.now())
    return ids


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> dict[int, tuple[str, str | None]]:
    async with sessions.begin() as session:
        return {r.number: (r.status, r.note) for r in await session.scalars(select(Commitment))}


async def post_board(services: Services, sessions: async_sessionmaker[AsyncSession], meeting_id: int) -> None:
    """The board row sent at the meeting's start, as the dispatcher records it."""
    async with sessions.begin() as session:
        row = await session.scalar(select(OutboxRow).where(OutboxRow.kind == REPORTBACK_BOARD,
                                                           OutboxRow.meeting_id == meeting_id))
        assert row is not None
    await services.outbox.mark_sent(row.id, message_id=BOARD_MESSAGE, channel_id=CHANNEL)


async def test_answers_change_freely_then_name_the_posted_board_until_the_meeting_ends(
    services: Services, sessions, clock: ManualClock, group_id: int, meetings: tuple[int, int]
) -> None:
    first, _second = meetings
    one = (await services.commitments.add(actor(ANA), text="Send 10 invoices")).commitment
    two = (await services.commitments.add(actor(ANA), text="Call the bank")).commitment
    three = (await services.commitments.add(actor(ANA), text="Hire help")).commitment

    # Before the board: free changes, in the list's order before and after each click.
    clock.set(DEC_3 - timedelta(hours=5))
    changed, report = await services.commitments.report_by_button(user_id=ANA, commitment_id=two.id, status="done")
    assert changed.changed and changed.board is None
    assert [c.number for c in report.commitments] == [one.number, two.number, three.number]
    changed, report = await services.commitments.report_by_button(user_id=ANA, commitment_id=two.id, status="partly")
    assert changed.changed and changed.board is None
    assert [c.number for c in report.commitments] == [one.number, two.number, three.number]

    # The board is posted at the start: a later answer names it, to edit in place.
    clock.set(DEC_3 + timedelta(minutes=5))
    await post_board(services, sessions, first)
    changed, _ = await services.commitments.report_by_button(user_id=ANA, commitment_id=one.id, status="done")
    expected = PostedBoard(guild_id=GUILD, group_id=group_id, meeting_id=first, channel_id=CHANNEL,
                           message_id=BOARD_MESSAGE)
    assert changed.board == expected
    again, _ = await services.commitments.report_by_button(user_id=ANA, commitment_id=one.id, status="done")
    assert not again.changed and again.board is None  # a double click: nothing to update
    by_command = await services.commitments.report(actor(ANA), commitment=CommitmentRef(id=two.id), status="not_done")
    assert by_command.board == expected
    board = await services.commitments.board(group_id=group_id, meeting_id=first)
    assert board is not None
    assert [c.status for m in board.members for c in m.commitments] == ["done", "not_done", "open"]
    # A note is private: adding one changes nothing on the board; showing it does.
    noted, _ = await services.commitments.note_by_button(user_id=ANA, commitment_id=one.id, note="All sent")
    assert noted.changed and noted.board is None
    shown, _ = await services.commitments.share_note(user_id=ANA, commitment_id=one.id, shared=True)
    assert shown.board == expected
    renoted, _ = await services.commitments.note_by_button(user_id=ANA, commitment_id=one.id, note="All 10 sent")
    assert renoted.board == expected  # the shown note goes private again: off the board

    # The meeting ends: the report is closed; nothing stored; the offer is what can be carried over.
    clock.set(DEC_3 + timedelta(hours=3))
    await services.groups.end_meeting(meeting_id=first, actor=None)
    before = await statuses(sessions)
    with pytest.raises(ReportClosed, match="closed") as closed:
        await services.commitments.report_by_button(user_id=ANA, commitment_id=three.id, status="done")
    with pytest.raises(ReportClosed):
        await services.commitments.report_by_button(user_id=ANA, commitment_id=one.id, status="partly")
    with pytest.raises(ReportClosed):
        await services.commitments.share_note(user_id=ANA, commitment_id=one.id, shared=True)
    assert await statuses(sessions) == before
    assert before[three.number] == (NOT_REPORTED, None)
    offer = closed.value.offer
    assert offer.meeting_id == first and offer.next_meeting_at == JAN_7
    assert [c.number for c in offer.commitments] == [two.number, three.number]
    # The offer's buttons work: carry over the one left unreported.
    carried = await services.commitments.carry_by_button(user_id=ANA, commitment_id=three.id, action="carry")
    assert carried.carried is not None and carried.carried.carried_from_number == three.number


async def test_old_report_back_buttons_after_leaving_the_group_store_nothing(
    services: Services, sessions, clock: ManualClock, group_id: int, meetings: tuple[int, int]
) -> None:
    bob = (await services.commitments.add(actor(BOB), text="Call the bank")).commitment
    await services.commitments.note_by_button(user_id=BOB, commitment_id=bob.id, note="Bank called back")
    await services.groups.leave(actor(BOB))
    before = await statuses(sessions)

    with pytest.raises(NotAllowed, match="no longer a member of \\*\\*Makers\\*\\*"):
        await services.commitments.report_by_button(user_id=BOB, commitment_id=bob.id, status="done")
    with pytest.raises(NotAllowed, match="no longer a member"):
        await services.commitments.note_by_button(user_id=BOB, commitment_id=bob.id, note="Changed")
    with pytest.raises(NotAllowed, match="no longer a member"):
        await services.commitments.share_note(user_id=BOB, commitment_id=bob.id, shared=True)
    with pytest.raises(NotAllowed, match="no longer a member"):
        await services.commitments.commitment_for_note(user_id=BOB, commitment_id=bob.id)
    # Someone else's buttons (a forwarded DM) are refused too.
    with pytest.raises(NotAllowed, match="member who made the commitment"):
        await services.commitments.report_by_button(user_id=ANA, commitment_id=bob.id, status="done")
    assert await statuses(sessions) == before


async def test_the_meeting_day_nudge_is_planned_for_every_member_inside_her_window(
    services: Services, sessions, clock: ManualClock, group_id: int, meetings: tuple[int, int]
) -> None:
    first, second = meetings
    # Cat in Sydney: 15:00 UTC on 3 Dec is 02:00 on 4 Dec there; the nudge goes at her window's close before.
    await services.guilds.set_member_timezone(actor(CAT), "Australia/Sydney", start="08:00", end="21:00")
    async with sessions.begin() as session:
        rows = list(await session.scalars(select(OutboxRow).where(OutboxRow.kind == REPORTBACK_NUDGE)
                                          .order_by(OutboxRow.meeting_id, OutboxRow.recipient_id)))
    assert [(r.meeting_id, r.recipient_id) for r in rows] == [(m, u) for m in (first, second) for u in (ANA, BOB, CAT)]
    by = {(r.meeting_id, r.recipient_id): r.due_at for r in rows}
    assert by[(first, ANA)] == DEC_3 - timedelta(hours=NUDGE_LEAD_HOURS)
    sydney = by[(first, CAT)].astimezone(ZoneInfo("Australia/Sydney"))
    assert sydney == datetime(2026, 12, 3, 21, 0, tzinfo=ZoneInfo("Australia/Sydney"))
    assert by[(first, CAT)] < DEC_3

    # Apologies are decided at send time: the report-back says so.
    await services.commitments.add(actor(BOB), text="Call the bank")
    await services.meetings.rsvp(guild_id=GUILD, user_id=BOB, meeting_id=first, answer="no")
    report = await services.commitments.reportback(group_id=group_id, meeting_id=first, user_id=BOB)
    assert report is not None and report.apologies and report.open
    report = await services.commitments.reportback(group_id=group_id, meeting_id=second, user_id=BOB)
    assert report is not None and not report.apologies

    # A group whose report-back DM itself comes that late gets no nudge.
    async with sessions.begin() as session:
        await session.execute(update(Group).where(Group.id == group_id).values(reportback_lead_hours=NUDGE_LEAD_HOURS))
        await plan_group(session, group_id, clock.now())
    async with sessions.begin() as session:
        pending = list(await session.scalars(select(OutboxRow).where(OutboxRow.kind == REPORTBACK_NUDGE,
                                                                     OutboxRow.status == "pending")))
    assert pending == []


async def test_a_batch_of_report_backs_reads_what_each_reads_alone(
    services: Services, sessions, clock: ManualClock, group_id: int, meetings: tuple[int, int]
) -> None:
    """The dispatcher renders a claimed batch of report-back DMs together: each member's DM must say
    exactly what it says rendered alone (her commitments due at that meeting, her zone, her
    apologies, her open goals), whatever meeting or member it is for."""
    first, second = meetings
    await services.guilds.set_member_timezone(actor(BOB), "Asia/Tokyo")
    await services.commitments.add(actor(ANA), text="Send 10 invoices")  # the next meeting's: 3 Dec
    await services.commitments.add(actor(ANA), text="Before Christmas", due="2026-12-20 10:00")  # 7 Jan's window
    await services.commitments.add(actor(BOB), text="Call the bank")
    await services.commitments.add(actor(BOB), text="Hire help", due="2027-01-05 09:00")
    await services.goals.add_goal(actor(ANA), text="Ten new clients")
    await services.meetings.rsvp(guild_id=GUILD, user_id=CAT, meeting_id=first, answer="no")  # apologies
    await services.commitments.add(actor(CAT), text="Write the brief")
    lone = await add_meeting(sessions, group_id, datetime(2026, 12, 17, 18, 0, tzinfo=UTC), status="cancelled")
    await services.commitments.add(actor(CAT), text="Fix the site", due="2026-12-16 10:00")  # a cancelled meeting's span

    wanted = [(group_id, meeting, user) for meeting in (first, second, lone, 999_999) for user in (ANA, BOB, CAT)]
    together = await services.commitments.reportbacks(wanted)
    for group, meeting, user in wanted:
        alone = await services.commitments.reportback(group_id=group, meeting_id=meeting, user_id=user)
        if alone is None:
            assert together[(group, meeting, user)] is None
            continue
        goals = await services.goals.open_goals(group_id=group, user_id=user)
        assert together[(group, meeting, user)] == (alone, goals), (meeting, user)
    assert [c.text for c in together[(group_id, second, ANA)][0].commitments] == ["Before Christmas"]  # type: ignore[index]
    assert together[(group_id, first, CAT)][0].apologies  # type: ignore[index]
    assert together[(group_id, first, BOB)][0].timezone == "Asia/Tokyo"  # type: ignore[index]
