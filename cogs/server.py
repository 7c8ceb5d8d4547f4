"""``/server setup`` and ``/timezone set``: server-wide and personal settings."""

from __future__ import annotations

import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import RoundtableBot
from bot.services.base import Actor
from bot.ui.actor import actor_from
from bot.ui.base import Modal, RendersErrors
from bot.ui.options import TimeOption, TimezoneOption
from bot.ui.reply import respond
from bot.ui.words import plural


class TimezoneModal(Modal):
    """"Set my time zone" from a welcome: a typed IANA name (a modal can't autocomplete)."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(title="Your time zone", custom_id=f"tz:modal:{guild_id}", timeout=600)
        self.guild_id = guild_id
        self.zone: discord.ui.TextInput[TimezoneModal] = discord.ui.TextInput(
            label="Time zone (a city's zone name)", placeholder="Europe/London, America/New_York, Australia/Sydney",
            min_length=1, max_length=64, custom_id="tz:name",
        )
        self.add_item(self.zone)

    async def on_submit(self, interaction: discord.Interaction[RoundtableBot]) -> None:  # type: ignore[override]
        actor = Actor(guild_id=self.guild_id, user_id=interaction.user.id, display_name=interaction.user.display_name)
        settings = await interaction.client.services.guilds.set_member_timezone(actor, self.zone.value)
        window = settings.window
        hours = "at any hour" if window.all_day else f"between {window.start:%H:%M} and {window.end:%H:%M} your time"
        await respond(interaction, f"Your timezone is now **{settings.timezone}**. Reminders reach you {hours}; "
                                   "`/timezone set` changes either.")


class TimezoneButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"tz:set:(?P<guild>[0-9]+)",
):
    """"Set my time zone" on a welcome (in the server or a DM): the server is in the custom_id."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(
            discord.ui.Button(label="Set my time zone", style=discord.ButtonStyle.secondary, emoji="🕒",
                              custom_id=f"tz:set:{guild_id}")
        )
        self.guild_id = guild_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> TimezoneButton:
        return cls(int(match["guild"]))

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        await interaction.response.send_modal(TimezoneModal(self.guild_id))


class ServerCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(TimezoneButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(TimezoneButton)

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

    @timezone.command(name="set", description="Set your timezone and the hours your DMs may reach you")
    @app_commands.describe(
        tz="Your timezone (IANA name, e.g. America/New_York)",
        start="From when DMs may reach you, your time (default 08:00)",
        end="Until when DMs may reach you, your time (default 21:00; before `from` wraps past midnight)",
    )
    @app_commands.rename(start="from", end="to")
    async def timezone_set(
        self,
        interaction: discord.Interaction,
        tz: TimezoneOption | None = None,
        start: TimeOption | None = None,
        end: TimeOption | None = None,
    ) -> None:
        settings = await self.bot.services.guilds.set_member_timezone(actor_from(interaction), tz, start=start, end=end)
        zone = f"**{settings.timezone}**" if settings.timezone else "not set (each group's timezone is used)"
        hours = "at any hour" if settings.window.all_day else f"during **{settings.window.label()}** your time"
        moved = f"\n{plural(settings.retimed, 'upcoming DM')} moved to fit." if settings.retimed else ""
        await respond(interaction, f"Your timezone: {zone}. Reminders reach you by DM {hours}.{moved}")


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(ServerCog(bot))
