"""What every service shares: the session factory, the clock, the acting member, group access.

Each public service method is one use case and one transaction (``async with self.begin()``, or
``async with self.read()`` for one that only reads); nothing else commits. Helpers here take an open session and never commit.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db import READ_ONLY_OPTIONS
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.models import Group, GroupMember, Meeting

log = logging.getLogger(__name__)

# Row ids and Discord snowflakes are signed 64-bit integers on both databases.
MAX_ID = 2**63 - 1

# What a member is told when a value they gave reached the database and it could not take it.
UNSTORABLE = (
    "I can't use that value: a number is too large, or the text has a character that isn't allowed. "
    "Check what you typed and try again."
)


def require_id(value: int, what: str) -> int:
    """An id a member (or a button, or a client) handed us, checked before it reaches SQL.

    Anything outside 1…2⁶³−1 can't name a row: SQLite raises ``OverflowError`` binding it and
    asyncpg its own overflow error, so it is refused here with ``InvalidInput``. ``what`` names the
    thing ("commitment", "meeting", "group") for the message.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidInput(f"That isn't a {what} I know: pick one from the list.")
    return value


def _input_fault(exc: BaseException) -> bool:
    """Whether the database refused a *value* (too large, a NUL byte…) rather than failed."""
    if isinstance(exc, (OverflowError, DataError)):  # SQLite: an integer beyond 64 bits; a driver's DataError
        return True
    if not isinstance(exc, DBAPIError) or exc.orig is None:
        return False
    cause = exc.orig.__cause__
    sqlstate = str(getattr(exc.orig, "sqlstate", None) or getattr(cause, "sqlstate", None) or "")
    # PostgreSQL's class 22 is "data exception"; asyncpg's own argument errors are ValueErrors.
    return sqlstate.startswith("22") or isinstance(cause, ValueError)


@dataclass(frozen=True, slots=True)
class Actor:
    """The member acting, as the adapter saw them: plain ids and flags, no discord objects."""

    guild_id: int
    user_id: int
    display_name: str = ""
    can_manage_server: bool = False
    role_ids: frozenset[int] = field(default_factory=frozenset)
    # The channel the command was used in, and its parent when that channel is a thread.
    channel_id: int | None = None
    parent_channel_id: int | None = None


@dataclass(frozen=True, slots=True)
class ServiceContext:
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock


class Service:
    def __init__(self, context: ServiceContext) -> None:
        self._sessions = context.sessions
        self._clock = context.clock
        self.context = context

    def now(self) -> datetime:
        return self._clock.now()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises.

        The rollback happens here, before the error travels on (a failed statement's cursor is
        already closed by the driver layer, see ``bot.db``). A value the database refused is the
        member's input, not a fault: it becomes ``InvalidInput`` (logged, in case it's a bug).
        """
        with self._refusals_as_input():
            async with self._sessions.begin() as session:
                yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """One read-only transaction: for a use case that only reads (lists, info cards, autocomplete).

        It never takes SQLite's write lock (a deferred ``BEGIN`` under ``PRAGMA query_only``, in WAL
        mode a snapshot that neither waits for a writer nor holds one up) and runs ``BEGIN READ
        ONLY`` on PostgreSQL; a write in it fails at once on both (see ``bot.db``). Nothing is
        committed: the transaction ends (rolled back) with the block. Errors as ``begin``.
        """
        with self._refusals_as_input():
            async with self._sessions() as session:
                await session.connection(execution_options=READ_ONLY_OPTIONS)
                yield session

    @contextmanager
    def _refusals_as_input(self) -> Iterator[None]:
        """A value the database refused (``_input_fault``) becomes ``InvalidInput``, logged; any other
        error travels on unchanged."""
        try:
            yield
        except Exception as exc:
            if not _input_fault(exc):
                raise
            log.warning("a value was refused by the database in %s", type(self).__name__, exc_info=True)
            raise InvalidInput(UNSTORABLE) from None


# --- group access, shared by every feature -------------------------------------------------------


async def resolve_group(session: AsyncSession, actor: Actor, group_id: int | None) -> Group:
    """The group a command acts on.

    An explicit ``group_id`` (from autocomplete) must be a group of this server the member is in
    — or one a server manager manages. Otherwise: the group bound to the current channel (or the
    thread's parent), else the member's only group, else the member is asked to choose.
    Archived groups are never implied.
    """
    if group_id is not None:
        group = await session.get(Group, require_id(group_id, "group"))
        if group is None or group.guild_id != actor.guild_id:
            raise NotFound("That group doesn't exist in this server.")
        if not actor.can_manage_server and await membership(session, group.id, actor.user_id) is None:
            raise NotFound("You're not in that group.")
        return group

    for channel_id in (actor.channel_id, actor.parent_channel_id):
        if channel_id is None:
            continue
        group = await session.scalar(
            select(Group).where(
                Group.guild_id == actor.guild_id,
                Group.channel_id == channel_id,
                Group.archived_at.is_(None),
            )
        )
        if group is not None:
            return group

    groups = list(
        await session.scalars(
            select(Group)
            .join(GroupMember, GroupMember.group_id == Group.id)
            .where(
                Group.guild_id == actor.guild_id,
                GroupMember.user_id == actor.user_id,
                Group.archived_at.is_(None),
            )
            .order_by(Group.name_key)
        )
    )
    if len(groups) == 1:
        return groups[0]
    if not groups:
        raise NotFound("You're not in a group in this server yet. Use `/group join` to join one.")
    raise InvalidInput("You're in several groups: pick one with the `group` option.")


async def membership(session: AsyncSession, group_id: int, user_id: int) -> GroupMember | None:
    return await session.get(GroupMember, (group_id, user_id))


async def require_member(session: AsyncSession, group: Group, actor: Actor) -> GroupMember:
    member = await membership(session, group.id, actor.user_id)
    if member is None:
        raise NotAllowed(f"You're not a member of **{group.name}**.")
    return member


# A group of exactly this many members is a pair (two accountability buddies): it runs itself.
PAIR_SIZE = 2


async def is_pair(session: AsyncSession, group_id: int) -> bool:
    count = await session.scalar(select(func.count()).where(GroupMember.group_id == group_id))
    return count == PAIR_SIZE


async def may_facilitate(session: AsyncSession, group: Group, member: GroupMember | None) -> bool:
    """The one rule for who may do what a facilitator does, as a member of the group.

    A facilitator may; and in a pair (exactly two members) either member may, facilitator or not.
    A third member joining ends that: the group then needs a facilitator again (``GroupService``
    makes its longest-standing member one if neither of the pair was). This is about *doing*:
    what is shared "with the facilitators" is still read by the facilitators only.
    """
    if member is None:
        return False
    return member.is_facilitator or await is_pair(session, group.id)


async def require_facilitator(session: AsyncSession, group: Group, actor: Actor) -> None:
    """Facilitators of the group may manage it (either member of a pair: ``may_facilitate``); so may
    members with Manage Server."""
    if actor.can_manage_server:
        return
    if not await may_facilitate(session, group, await membership(session, group.id, actor.user_id)):
        raise NotAllowed(f"Only a facilitator of **{group.name}** can do that.")


async def require_facilitator_for(session: AsyncSession, group: Group, actor: Actor, meeting: Meeting) -> None:
    """``require_facilitator``, or the member a facilitator asked to facilitate ``meeting`` only
    (``/meeting substitute``; while they are in the group). For what is done *at* one meeting:
    attendance, ending it, its agenda's order, its place and time. Nothing else."""
    if (meeting.substitute_id is not None and meeting.substitute_id == actor.user_id and meeting.group_id == group.id
            and await membership(session, group.id, actor.user_id) is not None):
        return
    await require_facilitator(session, group, actor)


# --- who sees what (docs/PRIVACY.md) ------------------------------------------------------------


class Viewer(StrEnum):
    """How the member acting stands to a group, for what they may read of it.

    A server admin (Manage Server) who isn't in the group may *run* it (``require_facilitator``)
    but reads only the group-level facts: that it exists, its channel, size and facilitators.
    """

    FACILITATOR = "facilitator"
    MEMBER = "member"
    SERVER_ADMIN = "server_admin"
    OUTSIDER = "outsider"

    @property
    def reads_members_data(self) -> bool:
        return self in (Viewer.FACILITATOR, Viewer.MEMBER)


def private_to_members(group: Group) -> str:
    """What a server admin who isn't a member is told when they ask for members' data."""
    return (
        f"What members share in **{group.name}** stays in the group: Manage Server lets you run it (settings, "
        "members, archive), not read its commitments, notes, check-ins, KPIs or votes. `/group info` shows its "
        "channel, size and facilitators."
    )


async def viewer_of(session: AsyncSession, group: Group, actor: Actor) -> Viewer:
    if group.guild_id != actor.guild_id:
        return Viewer.OUTSIDER
    member = await membership(session, group.id, actor.user_id)
    if member is not None:
        return Viewer.FACILITATOR if member.is_facilitator else Viewer.MEMBER
    return Viewer.SERVER_ADMIN if actor.can_manage_server else Viewer.OUTSIDER


async def require_reader(session: AsyncSession, group: Group, actor: Actor) -> GroupMember:
    """Members' data is for the group's members: anyone else, a server admin included, is refused."""
    member = await membership(session, group.id, actor.user_id)
    if member is None:
        if actor.can_manage_server and group.guild_id == actor.guild_id:
            raise NotAllowed(private_to_members(group))
        raise NotAllowed(f"You're not a member of **{group.name}**.")
    return member


def require_active(group: Group) -> None:
    if group.archived_at is not None:
        raise InvalidInput(f"**{group.name}** is archived.")


async def groups_of_member(
    session: AsyncSession, guild_id: int, user_id: int, *, include_archived: bool = False
) -> list[Group]:
    query = (
        select(Group)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(Group.guild_id == guild_id, GroupMember.user_id == user_id)
        .order_by(Group.name_key)
    )
    if not include_archived:
        query = query.where(Group.archived_at.is_(None))
    return list(await session.scalars(query))
