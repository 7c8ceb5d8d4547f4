"""The one way the bot sends a member a direct message, with the group-channel fallback.

Every DM the bot sends goes through here: the scheduled ones (the dispatcher), buddy requests,
the "your vote wasn't counted" notice, a facilitator dropping someone's commitment, the welcome
to a server's owner, and the "your group's channel is broken" note to facilitators. One rule:

- the DM channel is opened once and remembered (``OutboxService.store_dm_channel``); a
  remembered channel that is gone is replaced, once;
- a refusal because the member's DMs are closed (403 / ``50007``) is remembered
  (``OutboxService.mark_dms_closed``: the outbox then posts their notifications in the group
  channel until they use a command again) and is an expected outcome, never an error;
- :func:`send_to_member` then posts the fallback (which mentions the member, and only them) in
  the group channel, when there is one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot.ui.notify import OutgoingMessage

if TYPE_CHECKING:
    from bot.client import RoundtableBot

log = logging.getLogger(__name__)

# Discord's JSON error codes.
CANNOT_DM = 50007
UNKNOWN_CHANNEL = 10003

Pace = Callable[[], Awaitable[None]]


def mention_only(user_id: int) -> discord.AllowedMentions:
    """Allowed mentions for a fallback that pings the member it is for, and nobody else."""
    return discord.AllowedMentions(everyone=False, roles=False, replied_user=False, users=[discord.Object(id=user_id)])


def send_kwargs(out: OutgoingMessage, *, nonce: str | None = None) -> dict[str, Any]:
    """``Messageable.send`` arguments for ``out`` (mentions: only what ``out`` allows)."""
    kwargs: dict[str, Any] = {"allowed_mentions": out.allowed_mentions}
    if nonce is not None:
        kwargs["nonce"] = nonce
    if out.content is not None:
        kwargs["content"] = out.content
    if out.embeds:
        kwargs["embeds"] = out.embeds
    if out.view is not None:
        kwargs["view"] = out.view
    return kwargs


async def send_dm(
    bot: RoundtableBot,
    user_id: int,
    out: OutgoingMessage,
    *,
    channel_id: int | None = None,
    nonce: str | None = None,
    pace: Pace | None = None,
) -> discord.Message | None:
    """DM ``user_id``; None when their DMs are closed (remembered). Other refusals raise.

    ``channel_id`` is their DM channel when already known (it saves a request); ``pace`` is awaited
    before each request to Discord (the dispatcher's send budget).
    """
    known = channel_id
    for _ in range(2):
        if channel_id is None:
            if pace is not None:
                await pace()
            dm = await bot.create_dm(discord.Object(user_id))
            channel_id = dm.id
            await bot.services.outbox.store_dm_channel(user_id, channel_id)
        target = bot.get_partial_messageable(channel_id, type=discord.ChannelType.private)
        if pace is not None:
            await pace()
        try:
            return await target.send(**send_kwargs(out, nonce=nonce))
        except discord.Forbidden as exc:
            if exc.code != CANNOT_DM:
                raise
            log.info("DMs closed for user %s (Discord %s): using the channel fallback", user_id, exc.code)
            await bot.services.outbox.mark_dms_closed(user_id)
            return None
        except discord.NotFound as exc:
            if exc.code != UNKNOWN_CHANNEL or known is None:
                raise
            channel_id = None  # the remembered DM channel is gone: open a new one, once
    return None


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where a :func:`send_to_member` message went: ``"dm"``, ``"channel"`` or ``"nowhere"``."""

    where: str
    message: discord.Message | None = None

    @property
    def by_dm(self) -> bool:
        return self.where == "dm"

    @property
    def in_channel(self) -> bool:
        return self.where == "channel"


async def send_to_member(
    bot: RoundtableBot,
    user_id: int,
    message: OutgoingMessage,
    *,
    fallback: OutgoingMessage | None = None,
    channel_id: int | None = None,
    guild_id: int | None = None,
    delete_fallback_after: float | None = None,
) -> Delivery:
    """DM the member; if that fails, post ``fallback`` in ``channel_id`` (the group's channel or thread).

    Closed DMs are remembered; any other refusal of the DM is logged and also falls back. A
    fallback the channel refuses is logged: the result says ``nowhere`` and the caller tells the
    member who acted.
    """
    try:
        sent = await send_dm(bot, user_id, message)
    except discord.HTTPException as exc:
        log.info("Couldn't DM user %s: %s", user_id, exc)
        sent = None
    if sent is not None:
        return Delivery("dm", sent)
    if fallback is None or channel_id is None:
        return Delivery("nowhere")
    channel = bot.get_partial_messageable(channel_id, guild_id=guild_id)
    kwargs = send_kwargs(fallback)
    if delete_fallback_after is not None:
        kwargs["delete_after"] = delete_fallback_after
    try:
        posted = await channel.send(**kwargs)
    except discord.HTTPException as exc:
        log.warning("Couldn't post the DM fallback for user %s in channel %s: %s", user_id, channel_id, exc)
        return Delivery("nowhere")
    return Delivery("channel", posted)
