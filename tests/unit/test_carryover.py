"""Carry-over after a meeting (SQLite and PostgreSQL): the carry-over DM rows, Carry over / Done late /
Drop and their refusals, and apologies (RSVP "Can't make it") skipping the check-in nudge and showing
on the board."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.errors import InvalidInput, NotAllowed
from bot.models import Commitment, OutboxRow
from bot.services import Services
from bot.services.base import Actor
from bot.services.commitments import NOT_REPORTED, CommitmentRef
from bot.services.commitments_feature import CARRYOVER_DM
from bot.services.outbox import CHECKIN_NUDGE, plan_group
from tests.unit.seeding import CHANNEL, GUILD, add_meeting, make_group

ANA, BOB, CAT, FAC = (
    4_000_000_000_000_000_001,
    4_000_000_000_000_000_002,
    4_000_000_000_000_000_003,
    4_000_000_000_000_000_004,
)
DEC_3 = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
JAN_7 = datetime(2027, 1, 7, 18, 0, tzinfo=UTC)
ENDS = DEC_3 + timedelta(hours=3)


def actor(user_id: int) -> Actor:
    return Actor(guild_id=GUILD, user_id=user_id, channel_id=CHANNEL, can_manage_server=False)


async def count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions.begin() as session:
        return await session.scalar(select(func.count()).select_from(Commitment)) or 0


async def rows_of(sessions: async_sessionmaker[AsyncSession], kind: str, status: str = "pending") -> list[OutboxRow]:
    async with sessions.begin() as session:
        return list(
            await session.scalars(
                select(OutboxRow).where(OutboxRow.kind == kind, OutboxRow.status == status).order_by(OutboxRow.id)
            )
        )


@pytest.fixture
async def group_id(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> int:
    return await make_group(sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BOB, CAT, FAC],
                            facilitators=(FAC,))


@pytest.fixture
async def meetings(sessions: async_sessionmaker[AsyncSession], group_id: int) -> tuple[int, int]:
    return await add_meeting(sessions, group_id, DEC_3), await add_meeting(sessions, group_id, JAN_7)


async def end_first(services: Services, clock: ManualClock, meeting_id: int) -> None:
    clock.set(ENDS)
    await services.groups.end_meeting(meeting_id=meeting_id, actor=None)


async def test_carryover_dm_is_planned_only_for_members_with_unfinished_commitments(
    services: Services, sessions, clock: ManualClock, meetings: tuple[int, int]
) -> None:
    first, _second = meetings
    await services.guilds.set_member_timezone(actor(CAT), "Australia/Sydney", start="09:00", end="21:00")
    ana = (await services.commitments.add(actor(ANA), text="Send 10 invoices")).commitment
    bob = (await services.commitments.add(actor(BOB), text="Call the bank")).commitment
    cat = (await services.commitments.add(actor(CAT), text="Hire help")).commitment
    await services.commitments.report(actor(BOB), commitment=CommitmentRef(id=bob.id), status="done")
    await services.commitments.report(actor(CAT), commitment=CommitmentRef(id=cat.id), status="partly")
    assert await rows_of(sessions, CARRYOVER_DM) == []  # nothing before the meeting ends

    await end_first(services, clock, first)

    rows = await rows_of(sessions, CARRYOVER_DM)
    assert [r.recipient_id for r in rows] == [ANA, CAT]  # Bob finished; FAC had nothing due
    assert all(row.meeting_id == first for row in rows)
    # Due at the meeting's end (21:00 UTC, inside Ana's 08:00-21:00 window); Cat, in Sydney (08:00
    # there on 4 Dec), gets hers when her window opens, not at 08:00 (her local time at the end).
    assert rows[0].due_at == ENDS
    assert rows[1].due_at.astimezone(ZoneInfo("Australia/Sydney")) == datetime(2026, 12, 4, 9, 0,
                                                                               tzinfo=ZoneInfo("Australia/Sydney"))
    offer = await services.commitments.carryover(group_id=rows[0].group_id, meeting_id=first, user_id=ANA)
    assert offer is not None
    assert [c.number for c in offer.commitments] == [ana.number]
    assert offer.commitments[0].status == NOT_REPORTED
    assert offer.next_meeting_at == JAN_7


async def test_carry_over_creates_a_linked_commitment_at_the_next_meeting(
    services: Services, sessions, clock: ManualClock, group_id: int, meetings: tuple[int, int]
) -> None:
    first, second = meetings
    ana = (await services.commitments.add(actor(ANA), text="Send 10 invoices")).commitment
    await end_first(services, clock, first)

    result = await services.commitments.carry_by_button(user_id=ANA, commitment_id=ana.id, action="carry")

    assert result.carried is not None
    assert result.carried.carried_from_number == ana.number
    assert result.carried.meeting_id == second and result.carried.due_at == JAN_7
    assert result.carried.text == "Send 10 invoices" and result.carried.is_open
    assert result.offer is not None and result.offer.commitments == []  # nothing left to offer
    listing = await services.commitments.list_commitments(actor(ANA))
    [entry] = [c for m in listing.members for c in m.commitments]
    assert (entry.number, entry.carried_from_number) == (result.carried.number, ana.number)
    board = await services.commitments.board(group_id=group_id, meeting_id=second)
    assert board is not None
    assert [c.carried_from_number for m in board.members for c in m.commitments] == [ana.number]
    stats = await services.commitments.stats(actor(ANA))
    assert stats.carried_over == 1
    # The pending carry-over DM stays (it is skipped when rendered: nothing left to offer).
    assert [r.recipient_id for r in await rows_of(sessions, CARRYOVER_DM)] == [ANA]
    offer = await services.commitments.carryover(group_id=group_id, meeting_id=first, user_id=ANA)
    assert offer is not None and offer.commitments == []

    # A second click (or an old DM) is refused privately and stores nothing.
    before = await count(sessions)
    with pytest.raises(InvalidInput, match="already carried over"):
        await services.commitments.carry_by_button(user_id=ANA, commitment_id=ana.id, action="carry")
    with pytest.raises(InvalidInput, match="already carried over"):
        await services.commitments.carry_by_button(user_id=ANA, commitment_id=ana.id, action="late")
    assert await count(sessions) == before


async def test_done_late_and_drop(services: Services, sessions, clock: ManualClock, meetings: tuple[int, int]) -> None:
    first, _second = meetings
    one = (await services.commitments.add(actor(ANA), text="Send 10 invoices")).commitment
    two = (await services.commitments.add(actor(ANA), text="Call the bank")).commitment
    await services.commitments.report(actor(ANA), commitment=CommitmentRef(id=two.id), status="not_done")
    await end_first(services, clock, first)
    clock.advance(hours=12)

    late = await services.commitments.carry_by_button(user_id=ANA, commitment_id=one.id, action="late")
    assert late.changed and late.commitment.status == "done" and late.commitment.late
    assert late.commitment.status_label == "done late"
    again = await services.commitments.carry_by_button(user_id=ANA, commitment_id=one.id, action="late")
    assert not again.changed  # idempotent
    assert late.offer is not None and [c.id for c in late.offer.commitments] == [two.id]

    dropped = await services.commitments.carry_by_button(user_id=ANA, commitment_id=two.id, action="drop")
    assert dropped.changed and dropped.commitment.status == "dropped"
    assert dropped.offer is not None and dropped.offer.commitments == []

    before = await count(sessions)
    with pytest.raises(InvalidInput, match="nothing to carry over"):
        await services.commitments.carry_by_button(user_id=ANA, commitment_id=one.id, action="carry")
    with pytest.raises(InvalidInput, match="already dropped"):
        await services.commitments.carry_by_button(user_id=ANA, commitment_id=two.id, action="late")
    assert await count(sessions) == before


async def test_refusals_store_nothing(
    services: Services, sessions, clock: ManualClock, group_id: int, meetings: tuple[int, int]
) -> None:
    first, _second = meetings
    ana = (await services.commitments.add(actor(ANA), text="Send 10 invoices")).commitment
    with pytest.raises(InvalidInput, match="still open"):  # the meeting hasn't ended
        await services.commitments.carry_by_button(user_id=ANA, commitment_id=ana.id, action="carry")
    bob = (await services.commitments.add(actor(BOB), text="Call the bank")).commitment
    await end_first(services, clock, first)
    before = await count(sessions)

    with pytest.raises(NotAllowed, match="member who made the commitment"):
        await services.commitments.carry_by_button(user_id=ANA, commitment_id=bob.id, action="carry")
    with pytest.raises(InvalidInput):
        await services.commitments.carry_by_button(user_id=ANA, commitment_id=ana.id, action="steal")
    await services.groups.leave(actor(BOB))
    with pytest.raises(NotAllowed, match="no longer a member"):
        await services.commitments.carry_by_button(user_id=BOB, commitment_id=bob.id, action="carry")
    with pytest.raises(NotAllowed, match="no longer a member"):
        await services.commitments.carry_by_button(user_id=BOB, commitment_id=bob.id, action="drop")
    assert await count(sessions) == before
    async with sessions.begin() as session:
        row = await session.get(Commitment, bob.id)
        assert row is not None and row.status == NOT_REPORTED


async def test_carry_over_without_a_next_meeting_is_refused(
    services: Services, sessions, clock: ManualClock, group_id: int
) -> None:
    only = await add_meeting(sessions, group_id, DEC_3)
    ana = (await services.commitments.add(actor(ANA), text="Send 10 invoices")).commitment
    await end_first(services, clock, only)
    before = await count(sessions)
    with pytest.raises(InvalidInput, match="no meeting scheduled"):
        await services.commitments.carry_by_button(user_id=ANA, commitment_id=ana.id, action="carry")
    assert await count(sessions) == before


async def test_apologies_skip_the_nudge_and_show_on_the_board(
    services: Services, sessions, clock: ManualClock, group_id: int, meetings: tuple[int, int]
) -> None:
    first, _second = meetings
    await services.commitments.add(actor(ANA), text="Send 10 invoices")
    await services.commitments.add(actor(BOB), text="Call the bank")
    async with sessions.begin() as session:  # the seeded meetings, planned as scheduling them would
        await plan_group(session, group_id, clock.now())
    nudged = {(r.meeting_id, r.recipient_id) for r in await rows_of(sessions, CHECKIN_NUDGE)}
    assert (first, ANA) in nudged

    await services.meetings.rsvp(guild_id=GUILD, user_id=ANA, meeting_id=first, answer="no")

    nudged = {(r.meeting_id, r.recipient_id) for r in await rows_of(sessions, CHECKIN_NUDGE)}
    assert (first, ANA) not in nudged and (first, BOB) in nudged
    board = await services.commitments.board(group_id=group_id, meeting_id=first)
    assert board is not None
    assert board.apologies == [ANA]
    assert board.not_reported == [BOB]

    # Changing the answer brings the nudge back.
    await services.meetings.rsvp(guild_id=GUILD, user_id=ANA, meeting_id=first, answer="going")
    nudged = {(r.meeting_id, r.recipient_id) for r in await rows_of(sessions, CHECKIN_NUDGE)}
    assert (first, ANA) in nudged
    await services.meetings.rsvp(guild_id=GUILD, user_id=ANA, meeting_id=first, answer="no")

    # After the meeting her open commitments are offered for carry-over.
    await end_first(services, clock, first)
    assert ANA in {r.recipient_id for r in await rows_of(sessions, CARRYOVER_DM)}
    board = await services.commitments.board(group_id=group_id, meeting_id=first)
    assert board is not None and board.apologies == [ANA] and board.not_reported == [BOB]
