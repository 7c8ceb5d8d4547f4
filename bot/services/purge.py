"""Deleting a whole group or a whole server's data, and the retention of removed servers (issue 16).

The rows to delete are found from the models' metadata, not from a hand-written list: every table
has a ``guild_id`` (but :data:`GLOBAL_TABLES`, which hold no server's data), and a group's rows are
those with its ``group_id`` or hanging from one of them by a cascading foreign key (an RSVP from a
meeting, a KPI value from a KPI, a vote from a brainstorm). So a new feature's tables are covered
without touching this module; ``tests/unit/test_retention.py`` scans every table afterwards, and
fails for a new table that has no ``guild_id`` and isn't listed here.

The features' ``delete_member`` hooks don't fit here: they anonymise what a group keeps after one
member goes (ideas, commitment numbers), and here nothing of the group or server is kept.

Logged with ids and counts only, never content.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Base, CommandSyncState, Group, GuildRemoval, GuildSettings, OutboxRow, OutboxStatus
from bot.services import outbox
from bot.services.base import Service
from bot.services.mydata import affected
from bot.services.outbox import R_SERVER_REMOVED

log = logging.getLogger(__name__)

# Tables with no server's data in them: a user's DM channel (shared by every server), command sync
# state (keyed by scope: "global" or a server id, handled by :func:`delete_guild_rows`), the bot's
# live processes (bot.processes).
GLOBAL_TABLES = frozenset({"dm_channel", "command_sync_state", "bot_processes"})
GROUP_TABLE = Group.__tablename__


def _group_predicate(table: Table, group_id: int, seen: frozenset[str] = frozenset()) -> ColumnElement[bool] | None:
    """The rows of ``table`` that belong to the group, or None when the table holds no group's rows."""
    if table.name == GROUP_TABLE:
        return table.c.id == group_id
    if "group_id" in table.c:
        return table.c.group_id == group_id
    for fk in sorted(table.foreign_keys, key=lambda fk: fk.parent.name):
        parent = fk.column.table
        if fk.ondelete != "CASCADE" or parent.name in seen or not isinstance(parent, Table):
            continue
        owned = _group_predicate(parent, group_id, seen | {table.name})
        if owned is not None:
            return fk.parent.in_(select(fk.column).where(owned))
    return None


async def delete_group_rows(session: AsyncSession, group_id: int) -> dict[str, int]:
    """Delete every row of the group in every table (children first); rows deleted by table."""
    deleted: dict[str, int] = {}
    await session.flush()
    for table in reversed(Base.metadata.sorted_tables):
        predicate = _group_predicate(table, group_id)
        if predicate is None:
            continue
        count = await affected(session, delete(table).where(predicate))
        if count:
            deleted[table.name] = count
    session.expire_all()
    return deleted


async def delete_guild_rows(session: AsyncSession, guild_id: int) -> dict[str, int]:
    """Delete every row of the server in every table (children first); rows deleted by table."""
    deleted: dict[str, int] = {}
    await session.flush()
    for table in reversed(Base.metadata.sorted_tables):
        if "guild_id" not in table.c:
            continue
        count = await affected(session, delete(table).where(table.c.guild_id == guild_id))
        if count:
            deleted[table.name] = count
    count = await affected(session, delete(CommandSyncState).where(CommandSyncState.scope == str(guild_id)))
    if count:
        deleted[CommandSyncState.__tablename__] = count
    session.expire_all()
    return deleted


async def cancel_guild_outbox(session: AsyncSession, guild_id: int, now: Any, reason: str) -> int:
    """Cancel the server's pending notifications (planning brings them back if the reason is revivable)."""
    return await affected(
        session,
        update(OutboxRow)
        .where(OutboxRow.guild_id == guild_id, OutboxRow.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.CANCELLED, reason=reason, claimed_until=None, updated_at=now),
    )


@dataclass(frozen=True, slots=True)
class Purged:
    """A purge, without content: the server and how many rows went from each table."""

    guild_id: int
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


class RetentionService(Service):
    """Removed servers: marked on removal, unmarked on re-add, purged once the retention has passed."""

    async def server_removed(self, guild_id: int) -> bool:
        """The bot was removed from the server (not an outage). False if it was already marked.

        Nothing is sent for the server meanwhile: its pending notifications are cancelled (a re-add
        plans them again).
        """
        async with self.begin() as session:
            now = self.now()
            if await session.get(GuildRemoval, guild_id, with_for_update=True) is not None:
                return False
            session.add(GuildRemoval(guild_id=guild_id, removed_at=now))
            await session.flush()
            cancelled = await cancel_guild_outbox(session, guild_id, now, R_SERVER_REMOVED)
        log.info("Removed from server %s: its data is kept for the retention period (%d notifications held)",
                 guild_id, cancelled)
        return True

    async def server_added(self, guild_id: int) -> bool:
        """The bot is in the server (again): its removal mark goes, its groups are planned again.
        False if it wasn't marked."""
        async with self.begin() as session:
            mark = await session.get(GuildRemoval, guild_id, with_for_update=True)
            if mark is None:
                return False
            await session.delete(mark)
            await session.flush()
            now = self.now()
            groups = await session.scalars(select(Group.id).where(Group.guild_id == guild_id))
            for group_id in list(groups):
                await outbox.plan_group(session, group_id, now)
        log.info("Re-added to server %s: its data is kept", guild_id)
        return True

    async def reconcile(
        self, present: set[int], *, owned: Callable[[int], bool] | None = None
    ) -> tuple[list[int], list[int]]:
        """At connect: the servers the bot is in are ``present`` (every one Discord listed, available
        or not). A server with data that isn't there removed the bot while it was offline: marked
        now. A marked one that is there was re-added meanwhile: unmarked. Returns (marked, unmarked).

        ``owned``: the servers this process can see (its shards'); the others are left to their
        process. None: every server."""
        async with self.begin() as session:
            known: set[int] = set()
            for table in (Group.__table__, GuildSettings.__table__):
                known.update(await session.scalars(select(table.c.guild_id).distinct()))
            marked = set(await session.scalars(select(GuildRemoval.guild_id)))
        if owned is not None:
            known = {guild_id for guild_id in known if owned(guild_id)}
            marked = {guild_id for guild_id in marked if owned(guild_id)}
        gone = sorted(known - present - marked)
        back = sorted(marked & present)
        for guild_id in gone:
            await self.server_removed(guild_id)
        for guild_id in back:
            await self.server_added(guild_id)
        return gone, back

    async def removed_at(self, guild_id: int) -> Any:
        async with self.begin() as session:
            mark = await session.get(GuildRemoval, guild_id)
            return mark.removed_at if mark is not None else None

    async def due(self, retention: timedelta) -> list[int]:
        """The servers removed at least ``retention`` ago, oldest removal first."""
        async with self.begin() as session:
            rows = await session.scalars(
                select(GuildRemoval.guild_id).where(GuildRemoval.removed_at <= self.now() - retention)
                .order_by(GuildRemoval.removed_at, GuildRemoval.guild_id)
            )
            return list(rows)

    async def purge(self, guild_id: int, retention: timedelta) -> Purged | None:
        """Delete all of the server's data, if it is still marked removed ``retention`` ago.

        The mark is read again (and locked, on PostgreSQL) inside the purge's own transaction, so a
        server re-added after :meth:`due` listed it is left alone (None).
        """
        async with self.begin() as session:
            mark = await session.get(GuildRemoval, guild_id, with_for_update=True, populate_existing=True)
            if mark is None or mark.removed_at > self.now() - retention:
                return None
            rows = await delete_guild_rows(session, guild_id)
        purged = Purged(guild_id, rows)
        log.info("Purged server %s after the retention period: %d rows (%s)", guild_id, purged.total,
                 ", ".join(f"{table} {count}" for table, count in sorted(rows.items())))
        return purged

    async def purge_due(self, retention: timedelta) -> list[Purged]:
        """Purge every server whose retention has passed (the scheduler's retention job)."""
        done = []
        for guild_id in await self.due(retention):
            purged = await self.purge(guild_id, retention)
            if purged is not None:
                done.append(purged)
        return done


async def guild_removed(session: AsyncSession, guild_id: int) -> bool:
    """In-session: whether the bot was removed from the server (its data awaits the purge)."""
    return await session.get(GuildRemoval, guild_id) is not None

