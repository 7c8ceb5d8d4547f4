"""(being built — see the scheduler issue)."""

from __future__ import annotations

from bot.services.base import Service


class OutboxService(Service):
    async def member_active(self, user_id: int) -> None:
        """The member used a command: their DMs may be open again (scheduler issue fills this in)."""
