"""The bot's processes count themselves in PostgreSQL, so that they share one send budget.

``SEND_BUDGET_PER_SECOND`` is the bot's total: Discord's global limit (50 requests/s) is per token,
across every process. Each process keeps a row in ``bot_processes`` (its shards, its last
heartbeat), refreshes it every :data:`HEARTBEAT_SECONDS`, and counts the processes whose heartbeat
is at most :data:`LIVE_SECONDS` old; it then paces its sends at ``budget / live`` (the scheduler
applies it: ``bot.scheduler``). A process that stops cleanly deletes its row (the others take its
share at their next heartbeat); one that dies stops counting after :data:`LIVE_SECONDS`.

Heartbeats and ages are the database's clock (``now()``), not each host's: processes on several
hosts agree on who is live whatever their clocks say, and a test's manual clock doesn't make a
process look dead.

SQLite is one process (several need PostgreSQL: ``bot.settings``), so :class:`ProcessRegistry`
isn't used there and the process paces at the whole budget.

Start-ups: Discord accepts ``max_concurrency`` IDENTIFYs per 5 s, one per rate-limit bucket
(``shard_id % max_concurrency``). :class:`IdentifyGate` spaces them across processes with a
PostgreSQL advisory lock per bucket, held for :data:`IDENTIFY_WINDOW_SECONDS` by whoever
identifies (in a transaction: it ends, and the lock with it, even if the process dies).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.models import BotProcess

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
LIVE_SECONDS = 15.0
FORGET_AFTER = timedelta(hours=1)  # rows of processes dead this long are deleted by the live ones
IDENTIFY_WINDOW_SECONDS = 5.0  # Discord: max_concurrency IDENTIFYs per 5 s
IDENTIFY_LOCK_KEY = 0x52540000  # advisory lock keys IDENTIFY_LOCK_KEY + bucket ("RT" and zeros)


def share(budget: float, live: int) -> float:
    """One process's share of the bot's send budget when ``live`` processes are running."""
    return budget / max(live, 1)


class ProcessRegistry:
    """This process's row in ``bot_processes``: heartbeat, count the live processes, leave."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], shard_ids: Sequence[int] | None) -> None:
        self._sessions = sessions
        self.id = uuid.uuid4().hex
        self.shard_ids = ",".join(str(shard) for shard in shard_ids) if shard_ids is not None else ""
        self.live = 1  # the last count (this process included)

    async def heartbeat(self) -> int:
        """Mark this process live now (the database's now) and return how many processes are live."""
        now = func.now()
        statement = insert(BotProcess).values(
            id=self.id, host=socket.gethostname()[:255], pid=os.getpid(), shard_ids=self.shard_ids,
            started_at=now, heartbeat_at=now,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[BotProcess.id], set_={"heartbeat_at": statement.excluded.heartbeat_at}
        )
        async with self._sessions.begin() as session:
            await session.execute(statement)
            await session.execute(delete(BotProcess).where(BotProcess.heartbeat_at < now - FORGET_AFTER))
            live = await session.scalar(
                select(func.count()).select_from(BotProcess)
                .where(BotProcess.heartbeat_at >= now - timedelta(seconds=LIVE_SECONDS))
            )
        live = max(int(live or 0), 1)
        if live != self.live:
            log.info("%d bot process(es) live: this one sends at its share of the budget", live)
        self.live = live
        return live

    async def leave(self) -> None:
        """A clean stop: the others take this process's share at their next heartbeat."""
        async with self._sessions.begin() as session:
            await session.execute(delete(BotProcess).where(BotProcess.id == self.id))


class IdentifyGate:
    """At most one IDENTIFY per rate-limit bucket every :data:`IDENTIFY_WINDOW_SECONDS`, across every
    process on the database (PostgreSQL advisory locks)."""

    def __init__(self, engine: AsyncEngine, *, window: float = IDENTIFY_WINDOW_SECONDS) -> None:
        self._engine = engine
        self._window = window
        self._holders: set[asyncio.Task[None]] = set()

    async def wait_turn(self, bucket: int) -> None:
        """Return once this process may IDENTIFY in ``bucket``; the bucket stays taken for the window."""
        acquired: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        holder = asyncio.create_task(self._hold(bucket, acquired), name=f"identify-gate-{bucket}")
        self._holders.add(holder)
        holder.add_done_callback(self._holders.discard)
        try:
            await acquired
        except BaseException:
            holder.cancel()
            raise

    async def _hold(self, bucket: int, acquired: asyncio.Future[None]) -> None:
        try:
            async with self._engine.connect() as connection, connection.begin():
                await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IDENTIFY_LOCK_KEY + bucket})
                acquired.set_result(None)
                await asyncio.sleep(self._window)  # the transaction's end releases the lock
        except asyncio.CancelledError:
            if not acquired.done():
                acquired.cancel()
            raise
        except Exception as exc:
            if not acquired.done():
                acquired.set_exception(exc)  # the IDENTIFY fails with it; discord.py retries
            else:  # lost the connection while holding: the lock went with it
                log.warning("The IDENTIFY gate's connection failed: %s", exc)

    async def close(self) -> None:
        """Let go of every bucket now (before the engine is disposed)."""
        for holder in list(self._holders):
            holder.cancel()
        for holder in list(self._holders):
            with contextlib.suppress(BaseException):
                await holder
