"""``/buddy pair`` and ``/buddy unpair``: accountability buddies within a group."""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import RoundtableBot
from bot.models import BuddyStatus
from bot.services.groups import BuddyRequest
from bot.ui.actor import actor_from
from bot.ui.base import RendersErrors
from bot.ui.dm import mention_only, send_to_member
from bot.ui.notify import OutgoingMessage
from bot.ui.options import GroupOption
from bot.ui.reply import respond

log = logging.getLogger(__name__)


class BuddyAnswer(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"buddy:(?P<action>accept|decline):(?P<pair_id>[0-9]+)",
):
    """Accept / Decline on a buddy request; only the member asked may answer."""

    def __init__(self, pair_id: int, action: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Accept" if action == "accept" else "Decline",
                style=discord.ButtonStyle.success if action == "accept" else discord.ButtonStyle.secondary,
                custom_id=f"buddy:{action}:{pair_id}",
            )
        )
        self.pair_id = pair_id
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> BuddyAnswer:
        return cls(int(match["pair_id"]), match["action"])

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        pair = await interaction.client.services.groups.buddy_respond(
            user_id=interaction.user.id, pair_id=self.pair_id, accept=self.action == "accept"
        )
        if pair.status == BuddyStatus.ACTIVE:
            text = f"<@{pair.partner_id}> and <@{pair.requester_id}> are now buddies in **{pair.group_name}** 🤝"
        else:
            text = f"<@{pair.partner_id}> declined the buddy request in **{pair.group_name}**."
        await interaction.response.edit_message(content=text, view=None)


def request_view(pair: BuddyRequest) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(BuddyAnswer(pair.pair_id, "accept"))
    view.add_item(BuddyAnswer(pair.pair_id, "decline"))
    return view


class BuddiesCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    buddy = app_commands.Group(name="buddy", description="Accountability buddies", guild_only=True)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(BuddyAnswer)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(BuddyAnswer)

    @buddy.command(name="pair", description="Ask another member of your group to be your accountability buddy")
    @app_commands.describe(member="Who to ask", group="Which group (default: this channel's)")
    async def buddy_pair(self, interaction: discord.Interaction, member: discord.User,
                         group: GroupOption = None) -> None:
        pair = await self.bot.services.groups.buddy_request(actor_from(interaction), partner_id=member.id,
                                                            group_id=group)
        text = (f"<@{pair.requester_id}> asks you to be their accountability buddy in **{pair.group_name}**: "
                "you'll see each other's report-back summaries.")
        where = await self._deliver(pair, member, text)
        await respond(interaction, f"Asked <@{member.id}> ({where}). They can accept or decline.")

    @buddy.command(name="unpair", description="Stop being buddies")
    @app_commands.describe(group="Which group (default: this channel's)")
    async def buddy_unpair(self, interaction: discord.Interaction, group: GroupOption = None) -> None:
        pair = await self.bot.services.groups.buddy_unpair(actor_from(interaction), group_id=group)
        other = pair.partner_id if pair.requester_id == interaction.user.id else pair.requester_id
        await respond(interaction, f"You and <@{other}> are no longer buddies in **{pair.group_name}**.")

    async def _deliver(self, pair: BuddyRequest, member: discord.User, text: str) -> str:
        """DM the member; if their DMs are closed, ask in the group's channel with a mention."""
        delivery = await send_to_member(
            self.bot, member.id, OutgoingMessage(content=text, view=request_view(pair)),
            fallback=OutgoingMessage(
                content=text.replace("you", f"<@{member.id}>", 1), view=request_view(pair),
                allowed_mentions=mention_only(member.id),
            ),
            channel_id=pair.channel_id, guild_id=member.guild.id if isinstance(member, discord.Member) else None,
        )
        if delivery.by_dm:
            return "by DM"
        if delivery.in_channel:
            return f"in <#{pair.channel_id}>, as I couldn't DM them"
        return "but I couldn't reach them: ask them to check `/buddy pair` later"


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(BuddiesCog(bot))
