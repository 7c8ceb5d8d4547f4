"""``/server setup`` and ``/timezone set``: server-wide and personal settings."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import RoundtableBot
from bot.ui.actor import actor_from
from bot.ui.options import TimezoneOption
from bot.ui.reply import respond


class ServerCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    server = app_commands.Group(
        name="server",
        description="Set up Roundtable for this server",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )
    timezone = app_commands.Group(name="timezone", description="Your own timezone", guild_only=True)

    @server.command(name="setup", description="Set the server's default timezone and the role that may create groups")
    @app_commands.describe(
        timezone="Default timezone for new groups (IANA name, e.g. Europe/London)",
        facilitator_role="Members with this role may create groups",
    )
    async def server_setup(
        self,
        interaction: discord.Interaction,
        timezone: TimezoneOption | None = None,
        facilitator_role: discord.Role | None = None,
    ) -> None:
        setup = await self.bot.services.guilds.setup(
            actor_from(interaction),
            timezone=timezone,
            facilitator_role_id=facilitator_role.id if facilitator_role else None,
        )
        role = f"<@&{setup.facilitator_role_id}>" if setup.facilitator_role_id else "not set (Manage Server only)"
        await respond(
            interaction,
            f"Server set up. Default timezone: **{setup.timezone}**. Role that may create groups: {role}.",
        )

    @timezone.command(name="set", description="Set your own timezone, used for your DMs and the dates you type")
    @app_commands.describe(tz="Your timezone (IANA name, e.g. America/New_York)")
    async def timezone_set(self, interaction: discord.Interaction, tz: TimezoneOption) -> None:
        name = await self.bot.services.guilds.set_member_timezone(actor_from(interaction), tz)
        await respond(interaction, f"Your timezone is now **{name}**.")


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(ServerCog(bot))
