"""(being built — see the scheduler issue)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.base import Service


class OutboxService(Service):
    async def member_active(self, user_id: int) -> None:
        """The member used a command: their DMs may be open again (scheduler issue fills this in)."""


async def plan_group(session: AsyncSession, group_id: int, now: datetime) -> None:
    """Reconcile the group's pending outbox rows with its meetings, members and settings.

    Call it in the same transaction as any change that affects what the group will be sent
    (meeting scheduled/moved/cancelled, member joined/left, setting changed, group archived).
    The scheduler issue fills this in.
    """
