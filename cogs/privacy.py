"""Private by default: a group's facilitators are told, privately, when its channel is readable beyond the group.

``/group create`` checks the channel as the group is made (``cogs.groups``); this cog watches for
permission changes afterwards (CHANNEL_UPDATE) and DMs the facilitators once per change that
opens the channel up. The check itself is :func:`bot.ui.privacy.channel_exposure`.

Retention: when the bot is removed from a server (``on_guild_remove``; an outage is
``on_guild_unavailable``, which doesn't count) the removal is recorded and the server's data is
kept ``DATA_RETENTION_DAYS``, then purged by the scheduler; a re-add (``on_guild_join``) keeps it.
At connect (``on_ready``) the servers Discord lists are compared with the database, for a removal
or a re-add while the bot was offline (with shards across processes, each process compares the
servers of its own shards).
"""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.client import RoundtableBot
from bot.ui.dm import send_to_member
from bot.ui.errors import log_failure
from bot.ui.notify import OutgoingMessage
from bot.ui.privacy import channel_exposure, exposure_warning

log = logging.getLogger(__name__)


class PrivacyCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        try:
            await self.bot.services.retention.server_removed(guild.id)
        except Exception as exc:  # a listener must never die silently
            log_failure(f"record the removal from server {guild.id}", exc)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """A removal (or re-add) while the bot was offline: Discord's READY lists every server the bot
        is in, unavailable ones included, on each shard. Each process reconciles the servers of its
        own shards only (a server of another process's shard is not in this one's list)."""
        try:
            await self.bot.services.retention.reconcile(
                {guild.id for guild in self.bot.guilds}, owned=self.bot.serves_guild
            )
        except Exception as exc:
            log_failure("reconcile the servers at connect", exc)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        try:
            await self.bot.services.retention.server_added(guild.id)
        except Exception as exc:
            log_failure(f"record the re-add to server {guild.id}", exc)

    @commands.Cog.listener()
    async def on_guild_channel_update(
        self, before: discord.abc.GuildChannel, after: discord.abc.GuildChannel
    ) -> None:
        try:
            await self._check(before, after)
        except Exception as exc:  # a listener must not die on one channel
            log_failure("the channel privacy check", exc)

    async def _check(self, before: discord.abc.GuildChannel, after: discord.abc.GuildChannel) -> None:
        group = await self.bot.services.groups.group_of_channel(after.id)
        if group is None:
            return
        exposure = channel_exposure(after, group.member_ids)
        # Once per change that opens the channel up: a rename or a topic edit doesn't repeat it.
        if not exposure.exposed or exposure == channel_exposure(before, group.member_ids):
            return
        log.info("The channel of group %s became readable beyond the group", group.group_id)
        text = exposure_warning(exposure, group_name=group.name, channel_id=group.channel_id)
        for user_id in group.facilitator_ids:
            delivery = await send_to_member(self.bot, user_id, OutgoingMessage(content=text))
            if not delivery.by_dm:  # never posted in the channel: that's the one that's too open
                log.info("Couldn't DM facilitator %s about the channel of group %s", user_id, group.group_id)


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(PrivacyCog(bot))
