"""Pruning finished outbox rows: what goes, what stays whatever its age, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.models import Meeting, MeetingStatus, OutboxRow
from bot.models.outbox import OutboxStatus
from bot.services import Services
from bot.services.outbox import MIN_OUTBOX_RETENTION
from bot.settings import Settings
from tests.seeding import insert_group, insert_meeting

GUILD, CHANNEL, ANA, BOB = 1000, 2000, 11, 12
RETENTION = timedelta(days=90)


def row(group_id: int, kind: str, occurrence: str, *, status: str, at: datetime, recipient: int = 0,
        meeting_id: int | None = None) -> OutboxRow:
    return OutboxRow(
        kind=kind, guild_id=GUILD, group_id=group_id, meeting_id=meeting_id, occurrence=occurrence,
        recipient_id=recipient, due_at=at, status=status, attempts=0, payload={}, created_at=at, updated_at=at,
        sent_at=at if status == OutboxStatus.SENT else None,
    )


async def occurrences(sessions: async_sessionmaker[AsyncSession]) -> set[tuple[str, str, int]]:
    async with sessions.begin() as session:
        found = await session.execute(select(OutboxRow.kind, OutboxRow.occurrence, OutboxRow.recipient_id))
        return {(kind, occurrence, recipient) for kind, occurrence, recipient in found}


async def test_old_finished_rows_go_and_history_the_planners_read_stays(
    services: Services, sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    now = clock.now()
    long_ago = now - RETENTION - timedelta(days=1)
    recent = now - RETENTION + timedelta(days=1)
    async with sessions.begin() as session:
        group = await insert_group(session, guild_id=GUILD, channel_id=CHANNEL, name="Makers", members=[ANA, BOB],
                                   facilitators={ANA}, created_at=long_ago)
        ended = await insert_meeting(session, guild_id=GUILD, group_id=group.id, starts_at=long_ago,
                                     created_at=long_ago, status=MeetingStatus.ENDED)
        ended.ended_at = long_ago
        planned = await insert_meeting(session, guild_id=GUILD, group_id=group.id, starts_at=now + timedelta(days=400),
                                       created_at=long_ago)
        session.add_all([
            # Old and superseded by a later row of its kind for the same recipient: pruned.
            row(group.id, "meeting_reminder", "old:1", status=OutboxStatus.SENT, at=long_ago, meeting_id=ended.id),
            row(group.id, "reportback_dm", "old:2", status=OutboxStatus.EXPIRED, at=long_ago, recipient=ANA,
                meeting_id=ended.id),
            row(group.id, "reportback_dm", "old:3", status=OutboxStatus.CANCELLED, at=long_ago, recipient=BOB),
            # The newest of its kind for its recipient: kept however old ("already sent").
            row(group.id, "module_prompt", "newest", status=OutboxStatus.SENT, at=long_ago),
            row(group.id, "reportback_dm", "newest", status=OutboxStatus.SENT, at=long_ago, recipient=ANA),
            # Superseded but within the retention: kept.
            row(group.id, "reportback_dm", "recent", status=OutboxStatus.SENT, at=recent, recipient=BOB),
            row(group.id, "reportback_dm", "newest", status=OutboxStatus.SENT, at=recent, recipient=BOB),
            # Of a meeting still scheduled: kept however old.
            row(group.id, "meeting_reminder", "planned", status=OutboxStatus.SENT, at=long_ago, meeting_id=planned.id),
            # Pending: never pruned.
            row(group.id, "meeting_reminder", "pending", status=OutboxStatus.PENDING, at=long_ago),
            row(group.id, "meeting_reminder", "later", status=OutboxStatus.SENT, at=recent),
        ])

    assert await services.outbox.prune(RETENTION) == 3
    left = await occurrences(sessions)
    assert not left & {("meeting_reminder", "old:1", 0), ("reportback_dm", "old:2", ANA), ("reportback_dm", "old:3", BOB)}
    assert left == {
        ("module_prompt", "newest", 0), ("reportback_dm", "newest", ANA), ("reportback_dm", "recent", BOB),
        ("reportback_dm", "newest", BOB), ("meeting_reminder", "planned", 0), ("meeting_reminder", "pending", 0),
        ("meeting_reminder", "later", 0),
    }
    assert await services.outbox.prune(RETENTION) == 0  # idempotent
    async with sessions.begin() as session:
        assert len(list(await session.scalars(select(Meeting)))) == 2  # only outbox rows go


async def test_prune_works_in_batches(
    services: Services, sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    long_ago = clock.now() - RETENTION - timedelta(days=1)
    async with sessions.begin() as session:
        group = await insert_group(session, guild_id=GUILD, channel_id=CHANNEL, name="Makers", members=[ANA],
                                   facilitators={ANA}, created_at=long_ago)
        session.add_all(row(group.id, "checkin_nudge", f"n:{i}", status=OutboxStatus.SENT, at=long_ago, recipient=ANA)
                        for i in range(7))
    assert await services.outbox.prune(RETENTION, limit=4) == 4
    assert await services.outbox.prune(RETENTION, limit=4) == 2  # the newest stays
    assert await occurrences(sessions) == {("checkin_nudge", "n:6", ANA)}


async def test_a_retention_shorter_than_the_planners_read_back_is_refused(services: Services) -> None:
    with pytest.raises(ValueError, match="at least 62 days"):
        await services.outbox.prune(timedelta(days=30))
    fields = Settings.model_fields["outbox_retention_days"].metadata
    assert any(getattr(item, "ge", None) == MIN_OUTBOX_RETENTION.days for item in fields)
    with pytest.raises(ValidationError):
        Settings(discord_token="x", outbox_retention_days=30, _env_file=None)  # type: ignore[call-arg]
