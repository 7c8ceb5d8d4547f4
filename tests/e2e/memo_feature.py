"""A test-only feature with a table, a command and a reminder, plugged in through ONE registration:
``FeatureRegistry((*FEATURES.features, MEMOS))`` (tests/e2e/test_features.py).

The domain half (this module): the ``memo`` table, ``MemoService`` and the ``memo_reminder`` kind with
its planner, declared by ``MEMOS``; the cog half is ``tests.e2e.memo_cog``, named by the declaration
(``extension``) and loaded by the App from it. Nothing else is edited: no model import in
``bot.models``, no field in ``Services``, no line in ``cogs.EXTENSIONS``.

The table is on a metadata of its own (``MemoBase``) so it stays out of the real schema the migration
tests compare against; ``create_memo_table`` stands for the one migration a real feature adds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import MetaData, String, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.db import NAMING_CONVENTION, Snowflake, UTCDateTime
from bot.features import Feature, GroupPlan, NotificationKind, PlannedRow
from bot.services.base import Actor, Service, require_member, resolve_group
from bot.services.outbox import plan_group
from bot.text import clean

MEMO_REMINDER = "test_memo_reminder"  # the kind's name: its planner plans it, the cog renders it
REMIND_AFTER = timedelta(days=1)


class MemoBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Memo(MemoBase):
    __tablename__ = "test_memo"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(index=True)
    user_id: Mapped[int] = mapped_column(Snowflake)
    text: Mapped[str] = mapped_column(String(200))
    remind_at: Mapped[datetime] = mapped_column(UTCDateTime)


async def create_memo_table(engine: AsyncEngine) -> None:
    """The feature's migration, for the test."""
    async with engine.begin() as connection:
        await connection.run_sync(MemoBase.metadata.create_all)


@dataclass(frozen=True, slots=True)
class MemoAdded:
    group_name: str
    remind_at: datetime


class MemoService(Service):
    async def add(self, actor: Actor, *, text: str) -> MemoAdded:
        async with self.begin() as session:
            group = await resolve_group(session, actor, None)
            await require_member(session, group, actor)
            memo = Memo(group_id=group.id, user_id=actor.user_id, text=clean(text), remind_at=self.now() + REMIND_AFTER)
            session.add(memo)
            await session.flush()
            await plan_group(session, group.id, self.now())
            return MemoAdded(group.name, memo.remind_at)

    async def text_of(self, memo_id: int) -> str | None:
        async with self.begin() as session:
            return await session.scalar(select(Memo.text).where(Memo.id == memo_id))


async def plan_memo_reminders(session: AsyncSession, plan: GroupPlan) -> Iterable[PlannedRow]:
    """A DM to the member a day after each memo, tied to no meeting."""
    memos = await session.scalars(
        select(Memo).where(Memo.group_id == plan.group.id, Memo.user_id.in_(list(plan.members))).order_by(Memo.id)
    )
    return [
        PlannedRow(MEMO_REMINDER, None, f"memo:{memo.id}", memo.user_id, memo.remind_at, {"memo_id": memo.id})
        for memo in memos
    ]


MEMOS = Feature(
    name="test_memos",
    kinds=(NotificationKind(MEMO_REMINDER, "Memo reminder", plan_memo_reminders, useful_after=timedelta(days=1)),),
    services=(MemoService,),
    extension="tests.e2e.memo_cog",
)
