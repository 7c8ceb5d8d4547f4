"""The outbox planner and the claim/mark cycle, against real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.db import create_engine, create_sessionmaker
from bot.models import BuddyPair, DMChannel, Group, GroupMember, Meeting, OutboxRow
from bot.services import ServiceContext, Services
from bot.services.base import Actor
from bot.services.outbox import MAX_ATTEMPTS, plan_group
from tests.seeding import insert_group, insert_meeting

GUILD = 1000
CHANNEL = 2000
ALICE, BOB, CARA = 11, 12, 13


async def make_group(
    sessions: async_sessionmaker[AsyncSession], now: datetime, *, members=(ALICE, BOB), tz: str = "UTC"
) -> int:
    async with sessions.begin() as session:
        group = await insert_group(
            session, guild_id=GUILD, channel_id=CHANNEL, name="Founders", members=members, facilitators=set(members[:1]),
            timezone=tz, created_at=now, created_by=ALICE,
        )
        return group.id


async def add_meeting(sessions, group_id: int, starts_at: datetime, now: datetime) -> int:
    async with sessions.begin() as session:
        meeting = await insert_meeting(session, guild_id=GUILD, group_id=group_id, starts_at=starts_at, created_at=now)
        await plan_group(session, group_id, now)
        return meeting.id


async def rows(sessions, group_id: int) -> list[OutboxRow]:
    async with sessions.begin() as session:
        return list(
            await session.scalars(
                select(OutboxRow).where(OutboxRow.group_id == group_id).order_by(OutboxRow.due_at, OutboxRow.id)
            )
        )


def by_key(found: list[OutboxRow]) -> dict[tuple[str, str, int], OutboxRow]:
    return {(r.kind, r.occurrence, r.recipient_id): r for r in found}


async def test_a_meeting_plans_the_whole_cycle(sessions, clock: ManualClock) -> None:
    now = clock.now()
    group_id = await make_group(sessions, now)
    t = now + timedelta(days=10)
    meeting_id = await add_meeting(sessions, group_id, t, now)
    found = by_key(await rows(sessions, group_id))
    occ = f"meeting:{meeting_id}"
    assert found[("meeting_reminder", f"{occ}:168h", 0)].due_at == t - timedelta(days=7)
    # The meeting pack replaces the 1-day reminder.
    assert ("meeting_reminder", f"{occ}:24h", 0) not in found
    assert found[("meeting_pack", occ, 0)].due_at == t - timedelta(days=1)
    assert found[("module_prompt", occ, 0)].due_at == now  # no previous meeting: when first planned
    for user in (ALICE, BOB):
        assert found[("checkin_nudge", occ, user)].due_at == t - timedelta(hours=72)
        assert found[("reportback_dm", occ, user)].due_at == t - timedelta(hours=48)
        # Meeting day: 07:00 is outside the default 08:00-21:00 window, so when it opens.
        assert found[("reportback_nudge", occ, user)].due_at == t - timedelta(hours=2)
        assert ("buddy_summary", occ, user) not in found  # no buddies
    assert found[("reportback_board", occ, 0)].due_at == t
    assert found[("checkin_digest", occ, 0)].due_at == t
    assert found[("post_meeting", occ, 0)].due_at == t + timedelta(hours=3)
    assert found[("attendance_prompt", occ, 0)].due_at == t  # Take attendance, in the channel
    assert len(found) == 2 + 1 + 6 + 4
    assert {r.status for r in found.values()} == {"pending"}


async def test_planning_twice_changes_nothing(sessions, clock: ManualClock) -> None:
    now = clock.now()
    group_id = await make_group(sessions, now)
    await add_meeting(sessions, group_id, now + timedelta(days=10), now)
    before = [(r.id, r.due_at, r.status) for r in await rows(sessions, group_id)]
    clock.advance(hours=1)
    async with sessions.begin() as session:
        result = await plan_group(session, group_id, clock.now())
    assert (result.inserted, result.retimed, result.cancelled) == (0, 0, 0)
    assert [(r.id, r.due_at, r.status) for r in await rows(sessions, group_id)] == before


async def test_second_meeting_prompt_follows_the_first(sessions, clock: ManualClock) -> None:
    now = clock.now()
    group_id = await make_group(sessions, now)
    first = now + timedelta(days=10)
    await add_meeting(sessions, group_id, first, now)
    second_id = await add_meeting(sessions, group_id, first + timedelta(days=28), now)
    found = by_key(await rows(sessions, group_id))
    assert found[("module_prompt", f"meeting:{second_id}", 0)].due_at == first + timedelta(hours=3, minutes=1)


async def test_moving_a_meeting_retimes_and_late_reminders_are_not_created(sessions, clock: ManualClock) -> None:
    now = clock.now()
    group_id = await make_group(sessions, now)
    meeting_id = await add_meeting(sessions, group_id, now + timedelta(days=10), now)
    ids = {k: r.id for k, r in by_key(await rows(sessions, group_id)).items()}
    new_t = now + timedelta(days=3)  # the 7-day reminder's time has passed
    async with sessions.begin() as session:
        meeting = await session.get(Meeting, meeting_id)
        meeting.starts_at = new_t
        await plan_group(session, group_id, now)
    found = by_key(await rows(sessions, group_id))
    occ = f"meeting:{meeting_id}"
    assert found[("meeting_pack", occ, 0)].due_at == new_t - timedelta(days=1)
    assert found[("meeting_pack", occ, 0)].id == ids[("meeting_pack", occ, 0)]  # the same row, retimed
    week = found[("meeting_reminder", f"{occ}:168h", 0)]
    assert week.status == "cancelled" and "lead time" in week.reason
    assert found[("post_meeting", occ, 0)].due_at == new_t + timedelta(hours=3)


async def test_meeting_soon_gets_dms_now_but_no_stale_channel_reminder(sessions, clock: ManualClock) -> None:
    now = clock.now()
    group_id = await make_group(sessions, now)
    meeting_id = await add_meeting(sessions, group_id, now + timedelta(hours=30), now)
    found = by_key(await rows(sessions, group_id))
    occ = f"meeting:{meeting_id}"
    assert ("meeting_reminder", f"{occ}:168h", 0) not in found
    assert found[("meeting_pack", occ, 0)].due_at == now + timedelta(hours=6)
    assert found[("reportback_dm", occ, ALICE)].due_at == now  # 48 h before has passed: now
    assert found[("checkin_nudge", occ, BOB)].due_at == now


async def test_cancel_leave_and_archive_cancel_with_reasons(sessions, clock: ManualClock) -> None:
    now = clock.now()
    group_id = await make_group(sessions, now, members=(ALICE, BOB, CARA))
    first = await add_meeting(sessions, group_id, now + timedelta(days=10), now)
    second = await add_meeting(sessions, group_id, now + timedelta(days=40), now)
    async with sessions.begin() as session:
        await session.delete(await session.get(GroupMember, (group_id, CARA)))
        (await session.get(Meeting, first)).status = "cancelled"
        await plan_group(session, group_id, now)
    found = by_key(await rows(sessions, group_id))
    assert found[("reportback_dm", f"meeting:{first}", ALICE)].reason == "meeting cancelled"
    assert found[("reportback_dm", f"meeting:{second}", CARA)].reason == "member left the group"
    assert found[("reportback_dm", f"meeting:{second}", BOB)].status == "pending"
    # The second meeting is now the first of the series: its prompt is due when planned.
    assert found[("module_prompt", f"meeting:{second}", 0)].due_at == now

    async with sessions.begin() as session:
        session.add(GroupMember(group_id=group_id, user_id=CARA, guild_id=GUILD, joined_at=now))
        await plan_group(session, group_id, now)
    assert by_key(await rows(sessions, group_id))[("reportback_dm", f"meeting:{second}", CARA)].status == "pending"

    async with sessions.begin() as session:
        (await session.get(Group, group_id)).archived_at = now
        await plan_group(session, group_id, now)
    statuses = {(r.status, r.reason) for r in await rows(sessions, group_id) if r.meeting_id == second}
    assert statuses == {("cancelled", "group archived")}


async def test_buddies_and_reminder_settings(sessions, clock: ManualClock) -> None:
    now = clock.now()
    group_id = await make_group(sessions, now, members=(ALICE, BOB, CARA))
    async with sessions.begin() as session:
        session.add(
            BuddyPair(guild_id=GUILD, group_id=group_id, requester_id=ALICE, partner_id=BOB, status="active", created_at=now)
        )
    meeting_id = await add_meeting(sessions, group_id, now + timedelta(days=10), now)
    occ = f"meeting:{meeting_id}"
    found = by_key(await rows(sessions, group_id))
    assert found[("buddy_summary", occ, ALICE)].due_at == now + timedelta(days=10, minutes=1)
    assert ("buddy_summary", occ, CARA) not in found
    async with sessions.begin() as session:
        (await session.get(Group, group_id)).meeting_reminder_hours = [2]
        await plan_group(session, group_id, now)
    found = by_key(await rows(sessions, group_id))
    assert found[("meeting_reminder", f"{occ}:168h", 0)].reason == "reminder setting changed"
    assert found[("meeting_reminder", f"{occ}:2h", 0)].due_at == now + timedelta(days=10) - timedelta(hours=2)


async def test_a_pair_of_buddies_gets_the_board_alone_and_a_third_member_brings_the_summaries_back(
    sessions, clock: ManualClock
) -> None:
    """A group of two who are each other's buddies: the board in the channel shows both of them, so
    no buddy summary DM repeats it. A third member joining makes them two buddies among three again."""
    now = clock.now()
    group_id = await make_group(sessions, now, members=(ALICE, BOB))
    async with sessions.begin() as session:
        session.add(
            BuddyPair(guild_id=GUILD, group_id=group_id, requester_id=ALICE, partner_id=BOB, status="active", created_at=now)
        )
    meeting_id = await add_meeting(sessions, group_id, now + timedelta(days=10), now)
    occ = f"meeting:{meeting_id}"
    found = by_key(await rows(sessions, group_id))
    assert found[("reportback_board", occ, 0)].status == "pending"
    assert not [key for key in found if key[0] == "buddy_summary"]

    async with sessions.begin() as session:
        session.add(GroupMember(group_id=group_id, user_id=CARA, guild_id=GUILD, joined_at=now))
        await plan_group(session, group_id, now)
    found = by_key(await rows(sessions, group_id))
    assert {key for key in found if key[0] == "buddy_summary"} == {("buddy_summary", occ, ALICE), ("buddy_summary", occ, BOB)}
    assert found[("reportback_board", occ, 0)].status == "pending"

    async with sessions.begin() as session:  # Cara leaves: a pair again, the summaries go
        await session.delete(await session.get(GroupMember, (group_id, CARA)))
        await plan_group(session, group_id, now)
    found = by_key(await rows(sessions, group_id))
    assert {found[("buddy_summary", occ, user)].status for user in (ALICE, BOB)} == {"cancelled"}


async def test_reminders_keep_local_wall_time_across_daylight_saving(sessions) -> None:
    # Northern hemisphere: New York leaves DST on 1 Nov 2026; southern: Sydney enters DST on 4 Oct 2026.
    for tz, local_meeting in (("America/New_York", "2026-11-03T19:00-05:00"), ("Australia/Sydney", "2026-10-06T19:00+11:00")):
        t = datetime.fromisoformat(local_meeting).astimezone(UTC)
        now = t - timedelta(days=20)
        async with sessions.begin() as session:
            group = Group(
                guild_id=GUILD, channel_id=hash(tz) & 0xFFFFFF, name=tz, name_key=tz.casefold(), timezone=tz,
                created_by=ALICE, created_at=now,
            )
            session.add(group)
            await session.flush()
            group_id = group.id
        meeting_id = await add_meeting(sessions, group_id, t, now)
        week = by_key(await rows(sessions, group_id))[("meeting_reminder", f"meeting:{meeting_id}:168h", 0)]
        local = week.due_at.astimezone(__import__("zoneinfo").ZoneInfo(tz))
        assert (local.hour, local.minute) == (19, 0)
        assert week.due_at - t != timedelta(days=-7)  # an hour off in absolute time, on purpose


async def test_claim_mark_and_expire_after_downtime(services: Services, sessions, clock: ManualClock) -> None:
    now = clock.now()
    group_id = await make_group(sessions, now)
    t = now + timedelta(days=10)
    meeting_id = await add_meeting(sessions, group_id, t, now)
    outbox = services.outbox

    first = await outbox.claim_due()
    assert [c.kind for c in first.claimed] == ["module_prompt"]
    assert (await outbox.claim_due()).claimed == []  # claimed rows are leased
    await outbox.mark_sent(first.claimed[0].id, message_id=555, channel_id=CHANNEL)

    # The bot is down from 4 days before until 2 hours after the start.
    clock.set(t + timedelta(hours=2))
    result = await outbox.claim_due()
    kinds = sorted(c.kind for c in result.claimed)
    assert kinds == ["attendance_prompt", "checkin_digest", "reportback_board"]  # still useful within the meeting
    assert result.expired == 8  # two reminders, 2 check-in nudges, 2 report-back DMs, 2 meeting-day nudges
    expired = [r for r in await rows(sessions, group_id) if r.status == "expired"]
    assert all("meeting had already started" in r.reason for r in expired)
    sent = next(r for r in await rows(sessions, group_id) if r.kind == "module_prompt")
    assert (sent.status, sent.message_id, sent.sent_at) == ("sent", 555, now)
    assert meeting_id


async def test_retry_with_backoff_then_fail(services: Services, sessions, clock: ManualClock) -> None:
    now = clock.now()
    group_id = await make_group(sessions, now, members=())
    await add_meeting(sessions, group_id, now + timedelta(days=10), now)
    outbox = services.outbox
    for attempt in range(1, MAX_ATTEMPTS + 1):
        claimed = (await outbox.claim_due()).claimed
        assert [c.attempts for c in claimed] == [attempt]
        will_retry = await outbox.retry_later(claimed[0].id, "503 Service Unavailable")
        assert will_retry is (attempt < MAX_ATTEMPTS)
        assert (await outbox.claim_due()).claimed == []  # backing off
        clock.advance(hours=1)
    row = next(r for r in await rows(sessions, group_id) if r.kind == "module_prompt")
    assert row.status == "failed" and row.reason.startswith("gave up after 5 attempts")


async def test_dms_closed_flag_and_member_active(services: Services, sessions, clock: ManualClock) -> None:
    outbox = services.outbox
    await outbox.store_dm_channel(ALICE, 777)
    await outbox.mark_dms_closed(ALICE)
    assert await outbox.load_dms_closed() == {ALICE}
    await outbox.member_active(BOB)  # not closed: nothing to do
    await outbox.member_active(ALICE)
    async with sessions.begin() as session:
        row = await session.get(DMChannel, ALICE)
        assert (row.channel_id, row.dms_closed_at) == (777, None)
    assert await outbox.load_dms_closed() == set()


async def test_channel_broken_cancels_and_names_facilitators(services: Services, sessions, clock: ManualClock) -> None:
    now = clock.now()
    group_id = await make_group(sessions, now, members=(ALICE, BOB, CARA))
    await add_meeting(sessions, group_id, now + timedelta(days=10), now)
    broken = await services.outbox.mark_channel_broken(group_id, "the channel was deleted")
    assert broken is not None and broken.facilitator_ids == [ALICE]
    assert await services.outbox.mark_channel_broken(group_id, "again") is None  # told once
    assert {r.status for r in await rows(sessions, group_id)} == {"cancelled"}
    assert all("channel was deleted" in r.reason for r in await rows(sessions, group_id))


async def test_channel_broken_names_both_members_of_a_pair(services: Services, sessions, clock: ManualClock) -> None:
    group_id = await make_group(sessions, clock.now())  # Alice and Bob: a pair runs itself
    broken = await services.outbox.mark_channel_broken(group_id, "the channel was deleted")
    assert broken is not None and broken.facilitator_ids == [ALICE, BOB]


async def test_admin_listing_is_for_facilitators_and_paginates(services: Services, sessions, clock: ManualClock) -> None:
    now = clock.now()
    group_id = await make_group(sessions, now, members=(ALICE, BOB, CARA))
    await add_meeting(sessions, group_id, now + timedelta(days=10), now)
    await add_meeting(sessions, group_id, now + timedelta(days=40), now)
    alice = Actor(guild_id=GUILD, user_id=ALICE, channel_id=CHANNEL)
    page = await services.outbox.list_for_admin(alice)
    assert page.total == 2 * (2 + 1 + 9 + 4) and page.pages == 4 and len(page.entries) == 10
    last = await services.outbox.list_for_admin(alice, page=99)
    assert last.page == 3 and len(last.entries) == page.total - 30
    import pytest

    from bot.errors import NotAllowed

    with pytest.raises(NotAllowed):
        await services.outbox.list_for_admin(Actor(guild_id=GUILD, user_id=BOB, channel_id=CHANNEL))


async def test_two_processes_never_claim_the_same_row(database_url: str, sessions, clock: ManualClock) -> None:
    now = clock.now()
    for n in range(20):
        async with sessions.begin() as session:
            group = Group(
                guild_id=GUILD, channel_id=CHANNEL + n, name=f"g{n}", name_key=f"g{n}", timezone="UTC",
                created_by=ALICE, created_at=now,
            )
            session.add(group)
            await session.flush()
            for user in range(5):
                session.add(GroupMember(group_id=group.id, user_id=100 + user, guild_id=GUILD, joined_at=now))
            session.add(Meeting(guild_id=GUILD, group_id=group.id, starts_at=now + timedelta(hours=20), created_at=now))
            await session.flush()
            await plan_group(session, group.id, now)
    # Two "processes": their own engines and services over one database.
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        outboxes = [
            Services.build(ServiceContext(sessions=create_sessionmaker(e), clock=clock)).outbox for e in engines
        ]

        async def drain(outbox) -> list[int]:
            got: list[int] = []
            while claimed := (await outbox.claim_due(limit=7)).claimed:
                got += [c.id for c in claimed]
                await asyncio.sleep(0)
            return got

        a, b = await asyncio.gather(drain(outboxes[0]), drain(outboxes[1]))
    finally:
        for e in engines:
            await e.dispose()
    assert not set(a) & set(b)
    due = [r for r in await _all(sessions) if r.due_at <= now]
    assert sorted(a + b) == sorted(r.id for r in due) and len(due) == 20 * (1 + 10)


async def _all(sessions) -> list[OutboxRow]:
    async with sessions.begin() as session:
        return list(await session.scalars(select(OutboxRow)))
