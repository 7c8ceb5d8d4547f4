"""Typed statuses store the same strings as before (no migration), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.models import (
    Brainstorm,
    BrainstormStatus,
    BuddyPair,
    BuddyStatus,
    Commitment,
    CommitmentStatus,
    Meeting,
    MeetingSeries,
    MeetingStatus,
    OutboxRow,
    OutboxStatus,
    SeriesStatus,
)
from tests.unit.seeding import GUILD, make_group

ANA, BOB = 101, 102


async def _raw(sessions: async_sessionmaker[AsyncSession], table: str) -> list[str]:
    async with sessions.begin() as session:
        return list(await session.scalars(text(f"SELECT status FROM {table} ORDER BY id")))


async def test_statuses_are_stored_as_their_plain_strings(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    group_id = await make_group(sessions, clock, name="Makers", channel_id=5, members=[ANA, BOB])
    now = clock.now()
    async with sessions.begin() as session:
        # No status given: each table's default; then one of every other status.
        session.add(Meeting(guild_id=GUILD, group_id=group_id, starts_at=now, created_at=now))
        session.add(Meeting(guild_id=GUILD, group_id=group_id, starts_at=now, status=MeetingStatus.CANCELLED,
                            created_at=now))
        session.add(BuddyPair(guild_id=GUILD, group_id=group_id, requester_id=ANA, partner_id=BOB, created_at=now))
        session.add(BuddyPair(guild_id=GUILD, group_id=group_id, requester_id=BOB, partner_id=ANA,
                              status=BuddyStatus.ACTIVE, created_at=now))
        for number, status in enumerate((None, CommitmentStatus.NOT_DONE), start=1):
            session.add(Commitment(guild_id=GUILD, group_id=group_id, number=number, user_id=ANA, text="x",
                                   due_at=now, created_at=now, updated_at=now,
                                   **({"status": status} if status else {})))
        session.add(Brainstorm(guild_id=GUILD, group_id=group_id, owner_id=ANA, number=1, issue="x", created_at=now))
        session.add(OutboxRow(kind="k", guild_id=GUILD, group_id=group_id, occurrence="a", due_at=now,
                              created_at=now, updated_at=now))
        session.add(OutboxRow(kind="k", guild_id=GUILD, group_id=group_id, occurrence="b", due_at=now,
                              status=OutboxStatus.EXPIRED, created_at=now, updated_at=now))

    assert await _raw(sessions, "meeting") == ["scheduled", "cancelled"]
    assert await _raw(sessions, "buddy_pair") == ["pending", "active"]
    assert await _raw(sessions, "commitment") == ["open", "not_done"]
    assert await _raw(sessions, "brainstorm") == ["open"]
    assert await _raw(sessions, "outbox") == ["pending", "expired"]
    async with sessions.begin() as session:
        # Rows written before the enums (plain strings) compare equal to them.
        await session.execute(text("UPDATE brainstorm SET status = 'closed'"))
    async with sessions.begin() as session:
        [brainstorm] = await session.scalars(text("SELECT status FROM brainstorm"))
    assert brainstorm == BrainstormStatus.CLOSED


def test_labels_and_the_derived_series_status() -> None:
    assert [status.label for status in CommitmentStatus] == [
        "open", "done", "partly", "not done", "dropped", "not reported"
    ]
    series = MeetingSeries(rule_text="first tuesday", rrule="FREQ=MONTHLY", local_time="18:00")
    assert series.status == SeriesStatus.ACTIVE
    series.ended_at = datetime(2026, 12, 3, tzinfo=UTC)
    assert series.status == SeriesStatus.ENDED
