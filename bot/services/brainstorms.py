"""(being built — see the issue for this feature)."""

from __future__ import annotations

from bot.services.base import Service


class BrainstormService(Service):
    pass
