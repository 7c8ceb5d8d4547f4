""""Share as a win": the button a member gets when a commitment is reported done or a KPI reaches its
target. Nothing is posted without the owner's click; a second click (or a double click) posts nothing.

The ``custom_id`` carries the server (the report-back DM has none), what is shared and its id, so the
button works after a restart; the services check the clicker owns it.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

import discord

from bot.services.base import Actor
from bot.services.commitments import WinInfo
from bot.services.goals import month_from_text, month_key
from bot.ui.base import RendersErrors
from bot.ui.reply import respond
from bot.ui.text import inert

if TYPE_CHECKING:
    from bot.client import RoundtableBot

log = logging.getLogger(__name__)

LABEL = "Share as a win"
COMMITMENT, KPI = "c", "k"


class ShareWinButton(
    RendersErrors,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"win:share:(?P<guild>[0-9]+):(?P<what>c|k):(?P<id>[0-9]+)(?::(?P<month>[0-9]{4}-[0-9]{2}))?",
):
    def __init__(self, guild_id: int, what: str, item_id: int, month: date | None = None) -> None:
        custom_id = f"win:share:{guild_id}:{what}:{item_id}" + (f":{month_key(month)}" if month is not None else "")
        super().__init__(discord.ui.Button(label=LABEL, style=discord.ButtonStyle.success, emoji="🎉",
                                           custom_id=custom_id))
        self.guild_id, self.what, self.item_id, self.month = guild_id, what, item_id, month

    @classmethod
    def commitment(cls, guild_id: int, commitment_id: int) -> ShareWinButton:
        return cls(guild_id, COMMITMENT, commitment_id)

    @classmethod
    def kpi(cls, guild_id: int, kpi_id: int, month: date) -> ShareWinButton:
        return cls(guild_id, KPI, kpi_id, month)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> ShareWinButton:
        month = month_from_text(match["month"]) if match["month"] else None
        return cls(int(match["guild"]), match["what"], int(match["id"]), month)

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        services = interaction.client.services
        actor = Actor(guild_id=self.guild_id, user_id=interaction.user.id, display_name=interaction.user.display_name)
        if self.what == COMMITMENT or self.month is None:
            won = await services.commitments.share_done(user_id=actor.user_id, commitment_id=self.item_id)
        else:
            group_id, text = await services.goals.target_win(actor, kpi_id=self.item_id, month=self.month)
            won = await services.commitments.win(actor, text=text, group_id=group_id, once=True)
        await post_win(interaction, actor, won)


async def post_win(interaction: discord.Interaction[RoundtableBot], actor: Actor, won: WinInfo) -> None:
    """Post a win in its group's channel, as ``/win`` does, and tell the member privately."""
    bot = interaction.client
    channel = bot.get_partial_messageable(won.channel_id, guild_id=actor.guild_id)
    try:
        message = await channel.send(f"🎉 <@{actor.user_id}> shared a win: {inert(won.text)}",
                                     allowed_mentions=discord.AllowedMentions.none())
    except discord.HTTPException as error:
        log.warning("Couldn't post win %s in %s: %s", won.id, won.channel_id, error)
        await respond(interaction, f"Your win is counted, but I couldn't post it in <#{won.channel_id}>.")
        return
    await bot.services.commitments.record_win_message(win_id=won.id, message_id=message.id)
    await respond(interaction, f"Shared in <#{won.channel_id}>. 🎉")
