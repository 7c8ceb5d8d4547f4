"""One reply helper: the initial response, a follow-up, or nothing if the interaction expired."""

from __future__ import annotations

import logging
from typing import Any

import discord

log = logging.getLogger(__name__)

# Discord's codes for an interaction or its webhook that is gone: answered after the 3 s Discord
# allows (10062), or a follow-up after the token's 15 minutes (10015).
_EXPIRED_CODES = {10062, 10015}


def interaction_label(interaction: discord.Interaction, where: str = "") -> str:
    """What the interaction was, for a log line: ``/commit add``, or its component data."""
    command = interaction.command.qualified_name if interaction.command else None
    return where or (f"/{command}" if command else f"interaction {interaction.data!r:.120}")


def log_expired(interaction: discord.Interaction, where: str = "") -> None:
    """An interaction answered too late: a warning, not an error with a traceback (nothing to fix in
    the code; the member saw "The application did not respond")."""
    log.warning("Interaction expired before it was answered: %s (user %s, guild %s)",
                interaction_label(interaction, where), interaction.user.id, interaction.guild_id)


async def respond(
    interaction: discord.Interaction,
    content: str | None = None,
    *,
    ephemeral: bool = True,
    **kwargs: Any,
) -> discord.Message | None:
    """Answer ``interaction`` however its state allows; private by default.

    Keyword arguments are those of ``send_message`` / ``followup.send`` (``embed``, ``embeds``,
    ``view``, ``file``, ``allowed_mentions``); ``None`` values are left out. Mentions follow the
    bot-wide default (nobody) unless ``allowed_mentions`` says otherwise.
    """
    kwargs = {key: value for key, value in kwargs.items() if value is not None}
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(content, ephemeral=ephemeral, **kwargs)
            return None
        return await interaction.followup.send(content, ephemeral=ephemeral, wait=True, **kwargs)  # type: ignore[call-overload]  # content=None is accepted
    except discord.NotFound as exc:
        if exc.code in _EXPIRED_CODES:
            log_expired(interaction)
            return None
        raise
    except discord.HTTPException as exc:
        if exc.code == 40060:  # already acknowledged (a race with another handler)
            return await interaction.followup.send(content, ephemeral=ephemeral, wait=True, **kwargs)  # type: ignore[call-overload]  # content=None is accepted
        raise


async def defer(interaction: discord.Interaction, *, ephemeral: bool = True, thinking: bool = True) -> None:
    """Acknowledge now (before slow work), if nothing has answered yet."""
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=ephemeral, thinking=thinking)
