"""CommitmentService on SQLite and PostgreSQL: commit, list, report, edit, drop, stats, wins, the
report-back data the renderers read, and closing a meeting's commitments."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.models import BuddyPair, Commitment, Meeting, Win
from bot.services import Services
from bot.services.base import Actor
from bot.services.commitments import CommitmentRef, close_meeting_commitments, count_open
from tests.unit.seeding import CHANNEL, GUILD, add_meeting, make_group

OTHER_GUILD = 1_000_000_000_000_000_002
OTHER_CHANNEL = 2_000_000_000_000_000_002
FAR_CHANNEL = 2_000_000_000_000_000_003
ANA, BOB, CAT, FAC, OUTSIDER = (
    4_000_000_000_000_000_001,
    4_000_000_000_000_000_002,
    4_000_000_000_000_000_003,
    4_000_000_000_000_000_004,
    4_000_000_000_000_000_005,
)


def actor(user_id: int, *, channel_id: int | None = CHANNEL, guild_id: int = GUILD, manage: bool = False) -> Actor:
    return Actor(guild_id=guild_id, user_id=user_id, channel_id=channel_id, can_manage_server=manage)


async def count(sessions: async_sessionmaker[AsyncSession], model: type = Commitment) -> int:
    async with sessions.begin() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def get(sessions: async_sessionmaker[AsyncSession], commitment_id: int) -> Commitment:
    async with sessions.begin() as session:
        row = await session.get(Commitment, commitment_id)
        assert row is not None
        return row


DEC_3 = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
JAN_7 = datetime(2027, 1, 7, 18, 0, tzinfo=UTC)


@pytest.fixture
async def group_id(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> int:
    return await make_group(
        sessions, clock, name="Makers", channel_id=CHANNEL, members=[ANA, BOB, CAT, FAC], facilitators=(FAC,)
    )


@pytest.fixture
async def meeting_id(sessions: async_sessionmaker[AsyncSession], group_id: int) -> int:
    return await add_meeting(sessions, group_id, DEC_3)


# --- /commit add ---------------------------------------------------------------------------------


async def test_add_is_due_at_the_next_meeting_and_numbered_per_group(
    services: Services, sessions, clock, group_id: int, meeting_id: int
) -> None:
    await add_meeting(sessions, group_id, JAN_7)
    await add_meeting(sessions, group_id, datetime(2026, 11, 30, tzinfo=UTC), status="cancelled")
    first = await services.commitments.add(actor(ANA), text="  Send 10   invoices ")
    second = await services.commitments.add(actor(BOB), text="Call the bank")
    other = await make_group(sessions, clock, name="Others", channel_id=OTHER_CHANNEL, members=[CAT])
    await add_meeting(sessions, other, DEC_3)
    third = await services.commitments.add(actor(CAT, channel_id=OTHER_CHANNEL), text="Hire an assistant")

    assert (first.commitment.number, second.commitment.number, third.commitment.number) == (1, 2, 1)
    assert first.commitment.text == "Send 10 invoices"
    assert first.commitment.meeting_id == meeting_id and first.commitment.due_at == DEC_3
    assert first.commitment.status == "open"
    assert first.announce_channel_id == CHANNEL and first.group_name == "Makers"


async def test_add_without_announcements_has_no_channel(services: Services, sessions, clock) -> None:
    quiet = await make_group(sessions, clock, name="Quiet", channel_id=CHANNEL, members=[ANA], announce=False)
    await add_meeting(sessions, quiet, DEC_3)
    added = await services.commitments.add(actor(ANA), text="Write the newsletter")
    assert added.announce_channel_id is None


@pytest.mark.parametrize("text", ["", "   ", "x" * 301])
async def test_add_refuses_empty_or_long_text(services: Services, sessions, group_id, meeting_id, text) -> None:
    with pytest.raises(InvalidInput):
        await services.commitments.add(actor(ANA), text=text)
    assert await count(sessions) == 0


async def test_add_needs_a_due_date_when_no_meeting_is_scheduled(services: Services, sessions, group_id) -> None:
    await add_meeting(sessions, group_id, datetime(2026, 11, 1, tzinfo=UTC))  # past
    with pytest.raises(InvalidInput, match="no meeting scheduled"):
        await services.commitments.add(actor(ANA), text="Send invoices")
    assert await count(sessions) == 0


async def test_add_with_a_due_date_in_the_members_timezone(services: Services, sessions, group_id) -> None:
    added = await services.commitments.add(actor(ANA), text="Send invoices", due="2026-12-18 17:00")
    assert added.commitment.due_at == datetime(2026, 12, 18, 17, 0, tzinfo=UTC)
    assert added.commitment.meeting_id is None


@pytest.mark.parametrize("due", ["2026-11-01 09:00", "the day after never"])
async def test_add_refuses_a_past_or_unparseable_due_date(services: Services, sessions, group_id, due) -> None:
    with pytest.raises(InvalidInput):
        await services.commitments.add(actor(ANA), text="Send invoices", due=due)
    assert await count(sessions) == 0


async def test_add_by_a_non_member_is_refused(services: Services, sessions, group_id, meeting_id) -> None:
    with pytest.raises(NotAllowed):
        await services.commitments.add(actor(OUTSIDER), text="Sneak in")
    with pytest.raises(NotFound):
        await services.commitments.add(actor(OUTSIDER, channel_id=None), text="Sneak in", group_id=group_id)
    with pytest.raises(NotFound):  # a group of another server, by id
        await services.commitments.add(actor(ANA, guild_id=OTHER_GUILD, channel_id=None), text="x", group_id=group_id)
    assert await count(sessions) == 0


async def test_concurrent_adds_get_distinct_numbers(services: Services, sessions, group_id, meeting_id) -> None:
    users = [ANA, BOB, CAT, FAC] * 3
    results = await asyncio.gather(
        *(services.commitments.add(actor(user), text=f"Commitment {i}") for i, user in enumerate(users))
    )
    assert sorted(r.commitment.number for r in results) == list(range(1, len(users) + 1))
    assert await count(sessions) == len(users)


# --- /commit report, done, edit, drop -------------------------------------------------------------


async def test_report_later_status_wins_and_repeats_change_nothing(
    services: Services, sessions, clock, group_id, meeting_id
) -> None:
    added = await services.commitments.add(actor(ANA), text="Send invoices")
    ref = CommitmentRef(id=added.commitment.id)
    clock.advance(hours=1)
    first = await services.commitments.report(actor(ANA), commitment=ref, status="partly", note="7 of 10")
    assert first.changed and first.commitment.status == "partly" and first.commitment.note == "7 of 10"
    first_at = first.commitment.reported_at
    clock.advance(hours=1)
    again = await services.commitments.report(actor(ANA), commitment=ref, status="partly")
    assert not again.changed and again.commitment.reported_at == first_at
    clock.advance(hours=1)
    later = await services.commitments.report(actor(ANA), commitment=CommitmentRef(number=1), status="done")
    row = await get(sessions, added.commitment.id)
    assert later.changed and row.status == "done" and row.reported_at == clock.now() and row.note == "7 of 10"


async def test_report_refuses_others_and_other_groups(services: Services, sessions, clock, group_id, meeting_id) -> None:
    added = await services.commitments.add(actor(ANA), text="Send invoices")
    ref = CommitmentRef(id=added.commitment.id)
    with pytest.raises(NotAllowed):
        await services.commitments.report(actor(BOB), commitment=ref, status="done")
    await make_group(sessions, clock, name="Others", channel_id=OTHER_CHANNEL, members=[OUTSIDER])
    with pytest.raises(NotFound):  # not in Ana's group: don't reveal it exists
        await services.commitments.report(actor(OUTSIDER, channel_id=OTHER_CHANNEL), commitment=ref, status="done")
    with pytest.raises(NotFound):  # another server
        await services.commitments.report(actor(ANA, guild_id=OTHER_GUILD), commitment=ref, status="done")
    with pytest.raises(NotFound):
        await services.commitments.report(actor(ANA), commitment=CommitmentRef(number=99), status="done")
    with pytest.raises(InvalidInput):
        await services.commitments.report(actor(ANA), commitment=ref, status="open")
    assert (await get(sessions, added.commitment.id)).status == "open"


def test_commitment_refs_parse_ids_and_numbers() -> None:
    assert CommitmentRef.parse("id:42") == CommitmentRef(id=42)
    assert CommitmentRef.parse("#12") == CommitmentRef(number=12)
    assert CommitmentRef.parse(" 7 ") == CommitmentRef(number=7)
    with pytest.raises(InvalidInput):
        CommitmentRef.parse("send invoices")


async def test_edit_is_for_the_owner_and_open_commitments(services: Services, sessions, group_id, meeting_id) -> None:
    added = await services.commitments.add(actor(ANA), text="Send invoices")
    ref = CommitmentRef(id=added.commitment.id)
    with pytest.raises(NotAllowed):
        await services.commitments.edit(actor(BOB), commitment=ref, text="Mine now")
    with pytest.raises(InvalidInput):
        await services.commitments.edit(actor(ANA), commitment=ref)
    edited = await services.commitments.edit(actor(ANA), commitment=ref, text="Send 12 invoices")
    assert edited.changed and (await get(sessions, ref.id)).text == "Send 12 invoices"
    await services.commitments.report(actor(ANA), commitment=ref, status="done")
    with pytest.raises(InvalidInput, match="already reported"):
        await services.commitments.edit(actor(ANA), commitment=ref, text="Too late")


async def test_drop_by_owner_or_facilitator_who_tells_the_owner(services: Services, sessions, group_id, meeting_id) -> None:
    ana = await services.commitments.add(actor(ANA), text="Send invoices")
    bob = await services.commitments.add(actor(BOB), text="Call the bank")
    with pytest.raises(NotAllowed):
        await services.commitments.drop(actor(CAT), commitment=CommitmentRef(id=ana.commitment.id))
    own = await services.commitments.drop(actor(BOB), commitment=CommitmentRef(id=bob.commitment.id))
    assert own.commitment.status == "dropped" and own.tell_owner_id is None
    by_facilitator = await services.commitments.drop(actor(FAC), commitment=CommitmentRef(id=ana.commitment.id))
    assert by_facilitator.tell_owner_id == ANA and (await get(sessions, ana.commitment.id)).status == "dropped"


# --- /commit list and autocomplete ---------------------------------------------------------------


async def test_list_groups_open_commitments_by_member_and_stays_in_the_group(
    services: Services, sessions, clock, group_id, meeting_id
) -> None:
    other = await make_group(sessions, clock, name="Others", channel_id=OTHER_CHANNEL, members=[ANA, OUTSIDER])
    await add_meeting(sessions, other, DEC_3)
    await services.commitments.add(actor(BOB), text="Bob one")
    a1 = await services.commitments.add(actor(ANA), text="Ana one")
    await services.commitments.add(actor(ANA), text="Ana two")
    await services.commitments.add(actor(OUTSIDER, channel_id=OTHER_CHANNEL), text="Elsewhere")
    await services.commitments.report(actor(ANA), commitment=CommitmentRef(id=a1.commitment.id), status="done")

    listed = await services.commitments.list_commitments(actor(CAT))
    assert [(m.user_id, [c.text for c in m.commitments]) for m in listed.members] == [
        (ANA, ["Ana two"]), (BOB, ["Bob one"]),
    ]
    done = await services.commitments.list_commitments(actor(CAT), member_id=ANA, status="done")
    assert [c.text for m in done.members for c in m.commitments] == ["Ana one"]
    everything = await services.commitments.list_commitments(actor(CAT), status=None)
    assert sum(len(m.commitments) for m in everything.members) == 3
    with pytest.raises(NotFound):
        await services.commitments.list_commitments(actor(CAT), member_id=OUTSIDER)
    with pytest.raises(NotAllowed):
        await services.commitments.list_commitments(actor(OUTSIDER))


async def test_choices_are_the_members_own_open_commitments_in_this_server(
    services: Services, sessions, clock, group_id, meeting_id
) -> None:
    far = await make_group(sessions, clock, name="Far", channel_id=FAR_CHANNEL, members=[ANA], guild_id=OTHER_GUILD)
    await add_meeting(sessions, far, DEC_3, guild_id=OTHER_GUILD)
    await services.commitments.add(actor(ANA, guild_id=OTHER_GUILD, channel_id=FAR_CHANNEL), text="Far away")
    mine = await services.commitments.add(actor(ANA), text="Send invoices")
    await services.commitments.add(actor(BOB), text="Call the bank")
    done = await services.commitments.add(actor(ANA), text="Already done")
    await services.commitments.report(actor(ANA), commitment=CommitmentRef(id=done.commitment.id), status="done")

    assert [c.id for c in await services.commitments.choices(actor(ANA), "")] == [mine.commitment.id]
    assert await services.commitments.choices(actor(ANA), "bank") == []
    managed = await services.commitments.choices(actor(FAC), "", include_managed=True)
    assert {c.text for c in managed} == {"Send invoices", "Call the bank"}
    many = [services.commitments.add(actor(CAT), text=f"Task {i}") for i in range(30)]
    await asyncio.gather(*many)
    assert len(await services.commitments.choices(actor(CAT), "")) == 25


# --- report-back: DM buttons, board, buddies, closing ----------------------------------------------


async def test_buttons_record_once_for_the_owner_and_redraw_the_report_back(
    services: Services, sessions, clock, group_id, meeting_id
) -> None:
    one = await services.commitments.add(actor(ANA), text="Send invoices")
    two = await services.commitments.add(actor(ANA), text="Call the bank")
    clock.set(DEC_3 - timedelta(days=2))
    changed, report = await services.commitments.report_by_button(
        user_id=ANA, commitment_id=one.commitment.id, status="done"
    )
    assert changed.changed and report.meeting_id == meeting_id
    assert [(c.text, c.status) for c in report.commitments] == [("Send invoices", "done"), ("Call the bank", "open")]
    again, _ = await services.commitments.report_by_button(user_id=ANA, commitment_id=one.commitment.id, status="done")
    assert not again.changed
    with pytest.raises(NotAllowed):
        await services.commitments.report_by_button(user_id=BOB, commitment_id=two.commitment.id, status="done")
    with pytest.raises(NotFound):
        await services.commitments.report_by_button(user_id=ANA, commitment_id=9999, status="done")
    noted, report = await services.commitments.note_by_button(user_id=ANA, commitment_id=two.commitment.id, note="Booked")
    assert noted.commitment.note == "Booked" and noted.commitment.status == "open"
    assert (await get(sessions, two.commitment.id)).status == "open"


async def test_board_lists_what_is_due_at_the_meeting_with_statuses_and_rate(
    services: Services, sessions, clock, group_id, meeting_id
) -> None:
    # Made at an earlier cycle (due before the previous meeting): not on this board.
    await add_meeting(sessions, group_id, datetime(2026, 11, 20, tzinfo=UTC), status="ended")
    async with sessions.begin() as session:
        session.add(Commitment(
            guild_id=GUILD, group_id=group_id, number=100, user_id=ANA, text="Old one",
            due_at=datetime(2026, 11, 19, tzinfo=UTC), meeting_id=None, status="open",
            created_at=clock.now(), updated_at=clock.now(),
        ))
    a = await services.commitments.add(actor(ANA), text="Ana one")
    b1 = await services.commitments.add(actor(BOB), text="Bob one")
    b2 = await services.commitments.add(actor(BOB), text="Bob two")
    c = await services.commitments.add(actor(CAT), text="Cat one")
    dated = await services.commitments.add(actor(CAT), text="Cat dated", due="2026-12-01 12:00")
    await services.commitments.add(actor(FAC), text="Next cycle", due="2026-12-20 12:00")
    for item, status in ((a, "done"), (b1, "partly"), (b2, "not_done"), (dated, "dropped")):
        await services.commitments.report(actor(item.commitment.user_id), commitment=CommitmentRef(id=item.commitment.id), status=status)

    board = await services.commitments.board(group_id=group_id, meeting_id=meeting_id)
    assert board is not None
    assert [(m.user_id, [(x.text, x.status) for x in m.commitments]) for m in board.members] == [
        (ANA, [("Ana one", "done")]),
        (BOB, [("Bob one", "partly"), ("Bob two", "not_done")]),
        (CAT, [("Cat one", "open"), ("Cat dated", "dropped")]),
    ]
    assert board.not_reported == [CAT]
    assert (board.rate.done, board.rate.partly, board.rate.counted) == (1, 1, 4)
    assert board.rate.rate == pytest.approx(1.5 / 4)

    report = await services.commitments.reportback(group_id=group_id, meeting_id=meeting_id, user_id=CAT)
    assert report is not None and [x.id for x in report.open] == [c.commitment.id]
    nothing = await services.commitments.reportback(group_id=group_id, meeting_id=meeting_id, user_id=FAC)
    assert nothing is not None and nothing.commitments == []
    # A meeting of another group is not this group's.
    assert await services.commitments.board(group_id=group_id + 1, meeting_id=meeting_id) is None


async def test_close_meeting_commitments_marks_open_ones_not_reported(
    services: Services, sessions, clock, group_id, meeting_id
) -> None:
    open_one = await services.commitments.add(actor(ANA), text="Open")
    done_one = await services.commitments.add(actor(BOB), text="Done")
    await services.commitments.report(actor(BOB), commitment=CommitmentRef(id=done_one.commitment.id), status="done")
    later = await services.commitments.add(actor(CAT), text="Later", due="2027-01-05 12:00")
    clock.set(DEC_3 + timedelta(hours=3))
    for _ in range(2):  # idempotent
        async with sessions.begin() as session:
            meeting = await session.get(Meeting, meeting_id)
            await close_meeting_commitments(session, meeting, clock.now())
    assert (await get(sessions, open_one.commitment.id)).status == "not_reported"
    assert (await get(sessions, done_one.commitment.id)).status == "done"
    assert (await get(sessions, later.commitment.id)).status == "open"
    async with sessions.begin() as session:
        assert await count_open(session, group_id) == 1


async def test_buddy_summary_is_the_buddys_report_back(services: Services, sessions, clock, group_id, meeting_id) -> None:
    async with sessions.begin() as session:
        session.add(BuddyPair(guild_id=GUILD, group_id=group_id, requester_id=ANA, partner_id=BOB, status="active",
                              created_at=clock.now()))
        session.add(BuddyPair(guild_id=GUILD, group_id=group_id, requester_id=CAT, partner_id=FAC, status="ended",
                              created_at=clock.now()))
    await services.commitments.add(actor(BOB), text="Call the bank")
    summary = await services.commitments.buddy_summary(group_id=group_id, meeting_id=meeting_id, user_id=ANA)
    assert summary is not None and summary.buddy_id == BOB
    assert [c.text for c in summary.report.commitments] == ["Call the bank"]
    # Bob's buddy (Ana) has nothing due; Cat's pair has ended.
    assert await services.commitments.buddy_summary(group_id=group_id, meeting_id=meeting_id, user_id=BOB) is None
    assert await services.commitments.buddy_summary(group_id=group_id, meeting_id=meeting_id, user_id=CAT) is None


# --- stats and wins ----------------------------------------------------------------------------------


async def test_stats_count_every_figure_over_the_same_ended_cycles(services: Services, sessions, clock, group_id) -> None:
    """One definition: a cycle is an ended meeting's commitments; completion counts partly half;
    the streak needs every commitment done; kept this year sums the done ones of this year's cycles."""
    starts = [datetime(2026, 9, 3, 18, tzinfo=UTC), datetime(2026, 10, 1, 18, tzinfo=UTC),
              datetime(2026, 11, 5, 18, tzinfo=UTC), DEC_3]
    clock.set(datetime(2026, 8, 20, tzinfo=UTC))
    meetings = [await add_meeting(sessions, group_id, at) for at in starts]
    plan = [["not_done"], ["done", "partly"], ["done", "dropped"], ["done", "open"]]
    for index, statuses in enumerate(plan):
        clock.set(starts[index] - timedelta(days=20) if index else datetime(2026, 8, 20, tzinfo=UTC))
        for status in statuses:
            added = await services.commitments.add(actor(ANA), text=f"Cycle {index}")
            assert added.commitment.meeting_id == meetings[index]
            if status != "open":
                await services.commitments.report(actor(ANA), commitment=CommitmentRef(id=added.commitment.id), status=status)
        if index == 2:  # Bob's only commitment of a cycle, partly: the old card said "Streak: 1", "kept: 0"
            bob = await services.commitments.add(actor(BOB), text="Call the bank")
            await services.commitments.report(actor(BOB), commitment=CommitmentRef(id=bob.commitment.id), status="partly")
        if index < 3:
            clock.set(starts[index] + timedelta(hours=3))
            await services.groups.end_meeting(meeting_id=meetings[index], actor=None)
    clock.set(DEC_3 + timedelta(hours=1))
    await services.commitments.win(actor(ANA), text="Landed a big client")

    # The December meeting is under way: its cycle isn't counted yet.
    stats = await services.commitments.stats(actor(BOB), member_id=ANA)
    assert [c.meeting_id for c in stats.cycles] == list(reversed(meetings[:3]))
    assert [c.rate.rate for c in stats.cycles] == [1.0, 0.75, 0.0]
    assert stats.streak == 1  # November all done (dropped aside); October had a partly one
    assert stats.kept_this_year == 2 == sum(c.rate.done for c in stats.cycles)
    assert stats.wins_this_year == 1 and stats.open_now == 1

    bob_stats = await services.commitments.stats(actor(BOB))
    assert [c.rate.rate for c in bob_stats.cycles] == [0.5]
    assert (bob_stats.streak, bob_stats.kept_this_year) == (0, 0)

    # December ends (its open one becomes not reported): the streak breaks; reported done late, it holds.
    clock.set(DEC_3 + timedelta(hours=3))
    await services.groups.end_meeting(meeting_id=meetings[3], actor=None)
    stats = await services.commitments.stats(actor(ANA))
    assert [c.rate.rate for c in stats.cycles] == [0.5, 1.0, 0.75, 0.0]
    assert (stats.streak, stats.kept_this_year) == (0, 3)
    await services.commitments.carry_by_button(user_id=ANA, commitment_id=(await _number(sessions, group_id, 8)),
                                               action="late")
    stats = await services.commitments.stats(actor(ANA))
    assert [c.rate.rate for c in stats.cycles] == [1.0, 1.0, 0.75, 0.0]
    assert (stats.streak, stats.kept_this_year) == (2, 4) and stats.kept_this_year == sum(c.rate.done for c in stats.cycles)

    # A new year: the streak goes on across it; kept this year counts this year's cycles only.
    await add_meeting(sessions, group_id, JAN_7)
    clock.set(JAN_7 - timedelta(days=20))
    added = await services.commitments.add(actor(ANA), text="Cycle 4")
    await services.commitments.report(actor(ANA), commitment=CommitmentRef(id=added.commitment.id), status="done")
    clock.set(JAN_7 + timedelta(hours=3))
    await services.groups.end_meeting(meeting_id=added.commitment.meeting_id, actor=None)
    stats = await services.commitments.stats(actor(ANA))
    assert (stats.streak, stats.kept_this_year, stats.wins_this_year) == (3, 1, 0)


async def _number(sessions: async_sessionmaker[AsyncSession], group_id: int, number: int) -> int:
    async with sessions.begin() as session:
        found = await session.scalar(select(Commitment.id).where(Commitment.group_id == group_id, Commitment.number == number))
        assert found is not None
        return found


async def test_win_is_stored_for_members_only(services: Services, sessions, group_id) -> None:
    won = await services.commitments.win(actor(ANA), text="First sale!  @everyone")
    assert won.channel_id == CHANNEL and won.text == "First sale! @everyone"
    await services.commitments.record_win_message(win_id=won.id, message_id=123)
    with pytest.raises(NotAllowed):
        await services.commitments.win(actor(OUTSIDER), text="Not mine")
    with pytest.raises(InvalidInput):
        await services.commitments.win(actor(ANA), text=" ")
    assert await count(sessions, Win) == 1


async def test_add_and_edit_are_one_transaction_each(
    services: Services, engine, group_id: int, meeting_id: int
) -> None:
    """One public service method, one transaction: the member's timezone is read inside it."""
    begun: list[object] = []

    def on_begin(connection: object) -> None:
        begun.append(connection)

    event.listen(engine.sync_engine, "begin", on_begin)
    try:
        added = await services.commitments.add(actor(ANA), text="Send invoices", due="2026-12-20 17:00")
        assert len(begun) == 1
        await services.commitments.edit(actor(ANA), commitment=CommitmentRef(id=added.commitment.id), due="2026-12-21")
        assert len(begun) == 2
        await services.commitments.add(actor(ANA), text="Call the bank")  # due at the next meeting
        assert len(begun) == 3
    finally:
        event.remove(engine.sync_engine, "begin", on_begin)
