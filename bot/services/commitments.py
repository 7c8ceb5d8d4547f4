"""(being built — see the issue for this feature)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Meeting
from bot.services.base import Service


class CommitmentService(Service):
    pass


async def close_meeting_commitments(session: AsyncSession, meeting: Meeting, now: datetime) -> None:
    """At a meeting's end: its still-open commitments become "not reported" (commitments issue)."""
