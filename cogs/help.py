"""``/help`` and the getting-started message when the bot joins a server."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import RoundtableBot
from bot.ui.dm import send_to_member
from bot.ui.errors import log_failure
from bot.ui.notify import OutgoingMessage
from bot.ui.reply import respond

log = logging.getLogger(__name__)

ABOUT = (
    "Roundtable runs small peer accountability groups: meet once a month, learn a module together, "
    "brainstorm each other's issues, and report back on what you committed to."
)
FIRST_STEPS = (
    "1. A server admin runs `/server setup timezone:Europe/London` (optionally `facilitator_role:`).\n"
    "2. A facilitator runs `/group create name:\"Tuesday Founders\"` in the group's channel, then "
    "`/meeting recurring rule:\"first tuesday\" time:18:00`.\n"
    "3. Members run `/group join` and `/timezone set`."
)
MEMBER = (
    "`/group join` · `/group leave` · `/group info` · `/group list` · `/timezone set`\n"
    "`/meeting next` · `/meeting list` · `/buddy pair` · `/buddy unpair`\n"
    "`/commit add` · `/commit list` · `/brainstorm open` · `/checkin` · `/win`"
)
FACILITATOR = (
    "`/group add` · `/group remove` · `/group facilitator` · `/group settings` · `/group archive`\n"
    "`/meeting schedule` · `/meeting recurring` · `/meeting move` · `/meeting cancel` · `/meeting end`\n"
    "`/module import` · `/module export`"
)
ADMIN = "`/server setup` · `/group create` · `/admin outbox`"


def help_embed() -> discord.Embed:
    embed = discord.Embed(title="Roundtable", description=ABOUT, colour=discord.Colour.blurple())
    embed.add_field(name="Start a group", value=FIRST_STEPS, inline=False)
    embed.add_field(name="Members", value=MEMBER, inline=False)
    embed.add_field(name="Facilitators", value=FACILITATOR, inline=False)
    embed.add_field(name="Server admins (Manage Server)", value=ADMIN, inline=False)
    return embed


def welcome_text() -> str:
    return f"👋 Thanks for adding Roundtable. {ABOUT}\n\n**Getting started**\n{FIRST_STEPS}\n\n`/help` lists every command."


class HelpCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="What Roundtable does and its commands")
    async def help(self, interaction: discord.Interaction) -> None:
        await respond(interaction, embed=help_embed())

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        try:
            if not await self.bot.services.guilds.mark_welcomed(guild.id):
                return
            await self.welcome(guild)
        except Exception as exc:  # a listener must never die silently
            log_failure(f"welcome guild {guild.id}", exc)

    async def welcome(self, guild: discord.Guild) -> str:
        """Post the getting-started message: the system channel if allowed, else DM the owner."""
        channel = guild.system_channel
        if channel is not None and channel.permissions_for(guild.me).send_messages:
            try:
                await channel.send(welcome_text())
                return "system channel"
            except discord.HTTPException as exc:
                log.info("Couldn't welcome in %s's system channel: %s", guild.id, exc)
        if guild.owner_id is None:
            return "nowhere"
        delivery = await send_to_member(self.bot, guild.owner_id, OutgoingMessage(content=welcome_text()))
        return "owner DM" if delivery.by_dm else "nowhere"


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(HelpCog(bot))
