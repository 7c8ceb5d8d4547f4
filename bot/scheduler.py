"""(being built — see the scheduler issue): APScheduler as the clock over the outbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.client import RoundtableBot


class OutboxScheduler:
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    async def start(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def run_due(self) -> int:
        return 0
