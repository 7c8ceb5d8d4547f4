"""Export and forget (issue 16): a member's own data, built from the feature registry's hooks.

``export_rows`` / ``row_data`` are the helpers each feature's ``export_member`` hook uses. The
service loops over the registry (``features_of(session).export_member`` / ``delete_member``) and
never imports a feature. Forgetting is irreversible and logged without content.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import InvalidInput, NotAllowed
from bot.features import features_of
from bot.models import Base, DMChannel, Group, GroupMember, MemberProfile, OutboxRow
from bot.services import outbox
from bot.services.base import Service

log = logging.getLogger(__name__)

FORMER_MEMBER = "a former member"
FORMER_MEMBER_ID = 0  # the user id rows kept for the group's sake carry after a forget
REMOVED_TEXT = "(removed)"
CONFIRM_WINDOW = timedelta(minutes=10)
FILE_LIMIT = 25 * 1024 * 1024  # Discord: 25 MiB a message
FILES_PER_MESSAGE = 10
# Columns naming a member: a server's rows about the member are found through them.
USER_COLUMNS = ("user_id", "owner_id", "author_id", "requester_id", "partner_id", "created_by", "recipient_id")


# --- helpers for the features' hooks ------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def row_data(obj: Any, *, leave_out: Sequence[str] = ()) -> dict[str, Any]:
    """One model row as JSON-safe plain data (every column but ``leave_out``)."""
    return {
        column.key: _plain(getattr(obj, column.key))
        for column in obj.__table__.columns
        if column.key not in leave_out
    }


async def affected(session: AsyncSession, statement: Any) -> int:
    """Run an UPDATE or DELETE; how many rows it changed."""
    result = cast("CursorResult[Any]", await session.execute(statement))
    return result.rowcount or 0


async def export_rows(session: AsyncSession, statement: Any, *, leave_out: Sequence[str] = ()) -> list[dict[str, Any]]:
    return [row_data(obj, leave_out=leave_out) for obj in await session.scalars(statement)]


# --- results ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberExport:
    """``servers``: guild id → feature → table → rows."""

    user_id: int
    exported_at: datetime
    servers: dict[int, dict[str, dict[str, list[dict[str, Any]]]]]

    def document(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "exported_at": self.exported_at.isoformat(),
            "servers": {str(guild): features for guild, features in self.servers.items()},
        }

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """Every table's rows across servers (each row tagged with its server)."""
        found: dict[str, list[dict[str, Any]]] = {}
        for guild_id, features in self.servers.items():
            for tables in features.values():
                for table, rows in tables.items():
                    found.setdefault(table, []).extend({"server_id": guild_id, **row} for row in rows)
        return found

    def files(self, limit: int = FILE_LIMIT) -> list[list[tuple[str, bytes]]]:
        """The JSON file and a CSV per table, in batches within Discord's limits (10 files, ``limit`` bytes)."""
        files = _split_json(self.document(), limit)
        for table, rows in sorted(self.tables().items()):
            files.extend(_csv_files(table, rows, limit))
        return batch_files(files, limit)


def batch_files(files: Sequence[tuple[str, bytes]], limit: int) -> list[list[tuple[str, bytes]]]:
    """Files grouped into messages: at most :data:`FILES_PER_MESSAGE` and ``limit`` bytes each."""
    batches: list[list[tuple[str, bytes]]] = []
    size = 0
    for name, data in files:
        if not batches or len(batches[-1]) >= FILES_PER_MESSAGE or size + len(data) > limit:
            batches.append([])
            size = 0
        batches[-1].append((name, data))
        size += len(data)
    return batches


def _split_json(document: dict[str, Any], limit: int) -> list[tuple[str, bytes]]:
    whole = json.dumps(document, indent=2, ensure_ascii=False).encode()
    if len(whole) <= limit:
        return [("mydata.json", whole)]
    parts: list[tuple[str, bytes]] = []
    for guild, features in document["servers"].items():
        for feature, tables in features.items():
            for table, rows in tables.items():
                chunk: list[dict[str, Any]] = []
                for row in [*rows, None]:
                    piece = {**document, "servers": {guild: {feature: {table: chunk}}}}
                    encoded = json.dumps(piece, ensure_ascii=False).encode()
                    if row is None or (len(encoded) > limit // 2 and chunk):
                        parts.append((f"mydata-{len(parts) + 1}.json", encoded))
                        chunk = []
                    if row is not None:
                        chunk.append(row)
    return parts


def _csv_files(table: str, rows: list[dict[str, Any]], limit: int) -> list[tuple[str, bytes]]:
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    head = io.StringIO()
    csv.writer(head).writerow(columns)
    header = head.getvalue()
    parts: list[str] = []
    current = header
    for row in rows:
        line = io.StringIO()
        csv.writer(line).writerow(
            [json.dumps(v) if isinstance(v, dict | list) else ("" if v is None else v) for v in
             (row.get(c) for c in columns)]
        )
        if len((current + line.getvalue()).encode()) > limit and current != header:
            parts.append(current)
            current = header
        current += line.getvalue()
    parts.append(current)
    if len(parts) == 1:
        return [(f"{table}.csv", parts[0].encode())]
    return [(f"{table}-{i}.csv", part.encode()) for i, part in enumerate(parts, 1)]


@dataclass(frozen=True, slots=True)
class ForgetSummary:
    """What a forget did, without content: counts only."""

    servers: int
    groups_left: int
    rows: int


# --- the service -----------------------------------------------------------------------------------------


async def _servers_of(session: AsyncSession, user_id: int) -> list[int]:
    """Every server with a row naming the member (any table with a guild id and a member column)."""
    found: set[int] = set()
    for table in Base.metadata.sorted_tables:
        if "guild_id" not in table.c:
            continue
        for name in USER_COLUMNS:
            if name in table.c:
                found.update(await session.scalars(select(table.c.guild_id).where(table.c[name] == user_id).distinct()))
    return sorted(found)


class MyDataService(Service):
    async def export(self, *, user_id: int, guild_id: int | None) -> MemberExport:
        """The member's data in ``guild_id``, or in every server (None: asked in a DM)."""
        async with self.begin() as session:
            guilds = [guild_id] if guild_id is not None else await _servers_of(session, user_id)
            features = features_of(session)
            servers: dict[int, dict[str, dict[str, list[dict[str, Any]]]]] = {}
            for guild in guilds:
                found = await features.export_member(session, guild, user_id)
                profile = await session.get(MemberProfile, (guild, user_id))
                if profile is not None:
                    found["profile"] = {"member_profile": [row_data(profile)]}
                # Tables without a row of theirs are left out, and a server with none at all.
                kept = {name: {table: rows for table, rows in tables.items() if rows} for name, tables in found.items()}
                if kept := {name: tables for name, tables in kept.items() if tables}:
                    servers[guild] = kept
            return MemberExport(user_id, self.now(), servers)

    async def forget(
        self, *, user_id: int, guild_id: int | None, confirmed_by: int, requested_at: datetime
    ) -> ForgetSummary:
        """Delete or anonymise the member's data in ``guild_id`` (None: every server), one transaction each.

        ``confirmed_by`` clicked the confirmation asked for at ``requested_at``: only the member, within
        10 minutes. Refused (nothing changed) while they are the only facilitator of an active group.
        """
        if confirmed_by != user_id:
            raise NotAllowed("Only the member who asked can confirm this.")
        if self.now() - requested_at > CONFIRM_WINDOW:
            raise InvalidInput("This confirmation has expired (10 minutes). Run `/mydata forget` again.")
        if guild_id is None:
            async with self.begin() as session:
                guilds = await _servers_of(session, user_id)
        else:
            guilds = [guild_id]
        await self._refuse_sole_facilitator(user_id, guilds)
        groups_left = rows = 0
        for guild in guilds:
            async with self.begin() as session:
                left, count = await self._forget_in(session, guild, user_id)
            groups_left += left
            rows += count
        async with self.begin() as session:
            rows += await affected(session, delete(DMChannel).where(DMChannel.user_id == user_id))
        log.info("Forgot a member: %d servers, %d groups left, %d rows", len(guilds), groups_left, rows)
        return ForgetSummary(len(guilds), groups_left, rows)

    async def _refuse_sole_facilitator(self, user_id: int, guilds: list[int]) -> None:
        async with self.begin() as session:
            for guild in guilds:
                mine = await session.scalars(
                    select(GroupMember).where(GroupMember.guild_id == guild, GroupMember.user_id == user_id,
                                              GroupMember.is_facilitator.is_(True))
                )
                for member in mine:
                    group = await session.get(Group, member.group_id)
                    if group is None or group.archived_at is not None:
                        continue
                    others = await session.scalar(
                        select(GroupMember.user_id).where(GroupMember.group_id == group.id,
                                                          GroupMember.user_id != user_id,
                                                          GroupMember.is_facilitator.is_(True)).limit(1)
                    )
                    if others is None:
                        raise InvalidInput(
                            f"You're the only facilitator of **{group.name}**. Make someone else a facilitator "
                            "with `/group facilitator` (or archive the group) first; nothing was deleted."
                        )

    async def _forget_in(self, session: AsyncSession, guild_id: int, user_id: int) -> tuple[int, int]:
        now = self.now()
        features = features_of(session)
        memberships = list(await session.scalars(
            select(GroupMember).where(GroupMember.guild_id == guild_id, GroupMember.user_id == user_id)
        ))
        groups: list[Group] = []
        for member in memberships:
            group = await session.get(Group, member.group_id)
            if group is not None:
                groups.append(group)
                await features.member_left(session, group, user_id, now)
            await session.delete(member)
        await session.flush()
        rows = len(memberships) + await features.delete_member(session, guild_id, user_id, now)
        rows += await affected(
            session, delete(MemberProfile).where(MemberProfile.guild_id == guild_id, MemberProfile.user_id == user_id)
        )
        rows += await affected(
            session, update(Group).where(Group.guild_id == guild_id, Group.created_by == user_id)
            .values(created_by=FORMER_MEMBER_ID)
        )
        for group in groups:
            await outbox.plan_group(session, group.id, now)  # their pending rows are cancelled
        # Then no row keeps their id: the DMs planned for them (cancelled above) or sent go too.
        rows += await affected(
            session, delete(OutboxRow).where(OutboxRow.guild_id == guild_id, OutboxRow.recipient_id == user_id)
        )
        return len(groups), rows
