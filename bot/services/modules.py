"""(being built — see the issue for this feature)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Group, Meeting
from bot.services.base import Service


class ModuleService(Service):
    pass


async def advance_module(session: AsyncSession, group: Group, meeting: Meeting, now: datetime) -> None:
    """At a meeting's end: the group's current module moves to the next cycle's (modules issue)."""
