"""The one error renderer: every failure of an interaction ends here.

A :class:`~bot.errors.UserError` is shown to the member privately, as it is. Discord's own check
failures get a short, private explanation. Anything else is logged with a reference, and the
member is shown the reference so an admin can find the traceback.
"""

from __future__ import annotations

import logging
import secrets
import string

import discord
from discord import app_commands

from bot.errors import UserError
from bot.text import quoted
from bot.ui.reply import interaction_label, log_expired, respond

log = logging.getLogger(__name__)

_REF_ALPHABET = string.ascii_uppercase + string.digits

# Discord's "Unknown interaction": the answer came after the 3 s Discord allows (or the token is gone).
UNKNOWN_INTERACTION = 10062

# Discord refuses a message longer than this (and then the member gets no answer at all).
MESSAGE_LIMIT = 2000
_ELLIPSIS = "\n…"


def _discord_length(text: str) -> int:
    """Length as Discord may count it (UTF-16 code units: never less than Python's ``len``)."""
    return len(text.encode("utf-16-le")) // 2


def fit_message(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` shortened to fit one Discord message: cut at a line break where possible, an open
    code block closed, and "…" to show something was left out. Short text is returned as it is."""
    if _discord_length(text) <= limit:
        return text
    budget = limit - len(_ELLIPSIS) - len("\n```")
    cut = text[:budget]
    while _discord_length(cut) > budget:  # characters outside the BMP count twice
        cut = cut[:-1]
    line_break = cut.rfind("\n")
    if line_break >= budget // 2:
        cut = cut[:line_break]
    if cut.count("```") % 2:
        cut += "\n```"
    return cut.rstrip() + _ELLIPSIS


def new_ref() -> str:
    return "".join(secrets.choice(_REF_ALPHABET) for _ in range(6))


def log_failure(where: str, error: BaseException) -> str:
    """Log an unexpected failure (of a listener, job or interaction) under a fresh reference."""
    ref = new_ref()
    log.error("Unexpected error (ref %s) in %s", ref, where, exc_info=error, extra={"reference": ref})
    return ref


def unwrap(error: BaseException) -> BaseException:
    """The error that matters: inside CommandInvokeError, or behind a TransformerError."""
    while True:
        if isinstance(error, app_commands.CommandInvokeError):
            error = error.original
        elif isinstance(error, app_commands.TransformerError) and isinstance(error.__cause__, UserError):
            error = error.__cause__
        else:
            return error


def _permission_names(permissions: list[str]) -> str:
    return ", ".join(f"**{name.replace('_', ' ').replace('guild', 'server').title()}**" for name in permissions)


def user_message(error: BaseException) -> str | None:
    """The private message for an error the member can act on, or None if it is unexpected."""
    if isinstance(error, UserError):
        return error.message
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works in a server, not in direct messages."
    if isinstance(error, app_commands.MissingPermissions):
        return f"You need the {_permission_names(error.missing_permissions)} permission to do that."
    if isinstance(error, app_commands.BotMissingPermissions):
        return f"I'm missing the {_permission_names(error.missing_permissions)} permission in this channel."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little — try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.TransformerError):
        # Our transformers raise a UserError (unwrapped above); this is discord.py's own, e.g. a choice.
        return f"{quoted(str(error.value), 80)} isn't a valid value there."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    return None


def is_expired(error: BaseException) -> bool:
    """The interaction was answered too late: nothing more can be said to the member through it."""
    return isinstance(error, discord.NotFound) and error.code == UNKNOWN_INTERACTION


async def render_error(interaction: discord.Interaction, error: BaseException, *, where: str = "") -> None:
    error = unwrap(error)
    if is_expired(error):
        log_expired(interaction, where)  # an answer now would fail the same way
        return
    message = user_message(error)
    if message is not None:
        message = fit_message(message)
    else:
        ref = log_failure(f"{interaction_label(interaction, where)} (user {interaction.user.id}, guild {interaction.guild_id})",
                          error)
        message = f"Something went wrong on our side (ref `{ref}`). It has been logged; please try again."
    await respond(interaction, message, ephemeral=True)
