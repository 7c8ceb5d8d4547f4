"""How a member is named in a message: a mention, or "a former member" for rows a forget kept (user id 0)."""

from __future__ import annotations

from collections.abc import Iterable

import discord

FORMER_MEMBER = "a former member"  # bot.services.mydata.FORMER_MEMBER_ID (0) in the row


def who(user_id: int) -> str:
    return f"<@{user_id}>" if user_id else FORMER_MEMBER


async def avatar_urls(client: discord.Client, user_ids: Iterable[int]) -> dict[int, str]:
    """Each member's avatar (a layout section's thumbnail): the cached user's, else fetched (the bot
    has no member cache), else Discord's default avatar for the id when Discord can't say."""
    found: dict[int, str] = {}
    for user_id in dict.fromkeys(user_ids):
        user = client.get_user(user_id) if user_id else None
        if user is None and user_id and client.is_ready():
            try:
                user = await client.fetch_user(user_id)
            except discord.HTTPException:
                user = None
        found[user_id] = user.display_avatar.url if user is not None else default_avatar_url(user_id)
    return found


def default_avatar_url(user_id: int) -> str:
    """Discord's default avatar for a user id (new usernames: ``(id >> 22) % 6``)."""
    return f"https://cdn.discordapp.com/embed/avatars/{(user_id >> 22) % 6}.png"
