"""How a member is named in a message: a mention, or "a former member" for rows a forget kept (user id 0)."""

from __future__ import annotations

import discord

FORMER_MEMBER = "a former member"  # bot.services.mydata.FORMER_MEMBER_ID (0) in the row


def who(user_id: int) -> str:
    return f"<@{user_id}>" if user_id else FORMER_MEMBER


def avatar_url(client: discord.Client, user_id: int) -> str:
    """The member's avatar (a layout section's thumbnail): the cached user's, else Discord's default
    avatar for the id (the bot has no member cache to ask)."""
    user = client.get_user(user_id) if user_id else None
    if user is not None:
        return user.display_avatar.url
    return f"https://cdn.discordapp.com/embed/avatars/{(user_id >> 22) % 6}.png"
