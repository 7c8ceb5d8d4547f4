"""The cog half of the test-only memo feature (``tests.e2e.memo_feature``): ``/memo add`` and the
``memo_reminder`` renderer. Loaded because ``MEMOS.extension`` names it, not through ``cogs.EXTENSIONS``."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import RoundtableBot
from bot.ui.actor import actor_from
from bot.ui.notify import Notification, OutgoingMessage, Rendered, Renderer
from bot.ui.options import TextTransformer
from bot.ui.reply import respond
from bot.ui.text import inert
from bot.ui.time import Style, ts
from tests.e2e.memo_feature import MEMO_REMINDER, MemoService


class MemoCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot
        self.memos = bot.services.get(MemoService)  # the feature's service, found by its class

    memo = app_commands.Group(name="memo", description="Memos the bot reminds you of", guild_only=True)

    def _renderers(self) -> dict[str, Renderer]:
        return {MEMO_REMINDER: self.render_memo_reminder}

    async def cog_load(self) -> None:
        self.bot.notifications.register_all(self._renderers())

    async def cog_unload(self) -> None:
        self.bot.notifications.unregister_all(self._renderers())

    @memo.command(name="add", description="Remind me of this tomorrow")
    async def memo_add(
        self, interaction: discord.Interaction, text: app_commands.Transform[str, TextTransformer(200, what="memo")]
    ) -> None:
        added = await self.memos.add(actor_from(interaction), text=text)
        await respond(interaction, f"Noted for **{inert(added.group_name)}**: I'll remind you {ts(added.remind_at, Style.RELATIVE)}.")

    async def render_memo_reminder(self, note: Notification) -> Rendered:
        text = await self.memos.text_of(int(note.payload.get("memo_id", 0)))
        if text is None:
            return Rendered.skip("memo gone")
        return Rendered(OutgoingMessage(content=f"📝 Your memo: {inert(text)}"))


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(MemoCog(bot))
