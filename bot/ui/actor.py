"""Turn an interaction into the plain :class:`~bot.services.base.Actor` the services take."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.services.base import Actor


def actor_from(interaction: discord.Interaction) -> Actor:
    """The acting member. Raises NoPrivateMessage outside a server (rendered privately)."""
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    user = interaction.user
    roles = frozenset(role.id for role in getattr(user, "roles", ()) if not role.is_default())
    channel = interaction.channel
    parent_id = getattr(channel, "parent_id", None) if isinstance(channel, discord.Thread) else None
    return Actor(
        guild_id=interaction.guild_id,
        user_id=user.id,
        display_name=user.display_name,
        can_manage_server=interaction.permissions.manage_guild,
        role_ids=roles,
        channel_id=interaction.channel_id,
        parent_channel_id=parent_id,
    )
