"""``/mydata export`` and ``/mydata forget``: a member's own data, sent privately, or deleted (issue 16).

In a server they cover that server; in a DM with the bot, every server. Forget asks first: a
Confirm button only the member may press, within 10 minutes (``MyDataService.forget`` checks both,
so the button is a ``DynamicItem`` that survives a restart and still refuses late or foreign clicks).
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from datetime import UTC, datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import RoundtableBot
from bot.ui.base import RendersErrors
from bot.ui.reply import defer, respond
from bot.ui.words import plural

log = logging.getLogger(__name__)


def _where(guild_id: int | None) -> str:
    return "in this server" if guild_id is not None else "in every server"


class ForgetConfirm(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"mydata:forget:(?P<user>[0-9]+):(?P<guild>[0-9]+):(?P<at>[0-9]+)",
):
    """Confirm on a forget request: the member who asked (``user``), ``guild`` 0 for every server."""

    def __init__(self, user_id: int, guild_id: int | None, asked_at: datetime) -> None:
        super().__init__(
            discord.ui.Button(
                label="Delete my data", style=discord.ButtonStyle.danger,
                custom_id=f"mydata:forget:{user_id}:{guild_id or 0}:{int(asked_at.timestamp())}",
            )
        )
        self.user_id, self.guild_id, self.asked_at = user_id, guild_id, asked_at

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ForgetConfirm:
        guild = int(match["guild"])
        return cls(int(match["user"]), guild or None, datetime.fromtimestamp(int(match["at"]), UTC))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        summary = await interaction.client.services.mydata.forget(
            user_id=self.user_id, guild_id=self.guild_id, confirmed_by=interaction.user.id,
            requested_at=self.asked_at,
        )
        await interaction.response.edit_message(
            content=f"Done: your data {_where(self.guild_id)} is deleted, and you left "
                    f"{plural(summary.groups_left, 'group')}. What the groups keep (commitment numbers, ideas) now shows \"a former member\".",
            view=None,
        )


class MyDataCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    mydata = app_commands.Group(name="mydata", description="Your own data: export it or delete it")

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ForgetConfirm)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ForgetConfirm)

    @mydata.command(name="export", description="Get your data here (in a DM with me: every server) as JSON and CSV")
    async def mydata_export(self, interaction: discord.Interaction) -> None:
        await defer(interaction)
        export = await self.bot.services.mydata.export(user_id=interaction.user.id, guild_id=interaction.guild_id)
        if not export.servers:
            await respond(interaction, f"I have no data about you {_where(interaction.guild_id)}.")
            return
        batches = await asyncio.to_thread(export.files, interaction.filesize_limit)
        for index, batch in enumerate(batches, 1):
            part = f" (part {index} of {len(batches)})" if len(batches) > 1 else ""
            await respond(
                interaction, f"Your data {_where(interaction.guild_id)}{part}: `mydata.json` and a CSV per table.",
                files=[discord.File(io.BytesIO(data), filename=name) for name, data in batch],
            )

    @mydata.command(name="forget", description="Delete your data here (in a DM with me: every server); asks first")
    async def mydata_forget(self, interaction: discord.Interaction) -> None:
        view = discord.ui.View(timeout=None)
        view.add_item(ForgetConfirm(interaction.user.id, interaction.guild_id, self.bot.clock.now()))
        await respond(
            interaction,
            f"This deletes your commitments' text, notes, check-ins, wins, goals, KPIs, RSVPs, votes and profile "
            f"{_where(interaction.guild_id)} and removes you from your groups. It can't be undone. "
            "Get a copy first with `/mydata export`. Confirm within 10 minutes:",
            view=view,
        )


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(MyDataCog(bot))
