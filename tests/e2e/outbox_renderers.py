"""A test-only extension: plain renderers for every planned outbox kind, so scheduler tests
see exactly one recognisable message per row whatever the feature cogs render."""

from __future__ import annotations

import discord
from discord.ext import commands

from bot.client import RoundtableBot
from bot.services import FEATURES
from bot.ui.notify import Notification, OutgoingMessage, Rendered


def label(notification: Notification) -> str:
    return f"{notification.kind} {notification.occurrence}"


async def render(notification: Notification) -> Rendered:
    message = OutgoingMessage(content=label(notification))
    if notification.recipient_id == 0:
        return Rendered(message)
    fallback = OutgoingMessage(
        content=f"<@{notification.recipient_id}> (DMs closed) {label(notification)}",
        allowed_mentions=discord.AllowedMentions(users=[discord.Object(notification.recipient_id)]),
    )
    return Rendered(message, fallback)


class OutboxRenderers(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        for kind in sorted(FEATURES.kind_names):
            self.bot.notifications.unregister(kind)
            self.bot.notifications.register(kind, render)


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(OutboxRenderers(bot))
