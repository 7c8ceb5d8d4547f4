"""Base views, modals and dynamic-item mixin whose failures go to the one error renderer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import discord

from bot.ui.errors import render_error

if TYPE_CHECKING:
    from bot.client import RoundtableBot


def bot_of(interaction: discord.Interaction[Any]) -> RoundtableBot:
    """The bot an interaction arrived at, typed: how a modal, select or transformer reaches the services
    (``bot_of(interaction).services.commitments``). A persistent button's ``handle`` gets the interaction
    already typed (``interaction.client.services``)."""
    return cast("RoundtableBot", interaction.client)


class View(discord.ui.View):
    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await render_error(interaction, error, where=f"{type(self).__name__}/{type(item).__name__}")


class Modal(discord.ui.Modal):
    # discord.ui.Modal's own on_error takes no item; mypy compares it with BaseView's, which does.
    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:  # type: ignore[override]
        await render_error(interaction, error, where=type(self).__name__)


class RendersErrors:
    """Mix into a ``discord.ui.DynamicItem`` subclass (first in the bases) and implement ``handle``.

    discord.py only logs a dynamic item's exceptions; this routes them to the one error renderer,
    so the member always gets an answer. ``handle`` gets the interaction typed with the bot, so the
    button reaches its service as ``interaction.client.services.get(GoalService)`` (the class its
    feature declares; older features also have ``services.meetings``-style shortcuts; the ids it
    needs are in its ``custom_id``)::

        class RsvpButton(RendersErrors, discord.ui.DynamicItem[discord.ui.Button], template=r"rsvp:(?P<id>[0-9]+)"):
            async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
                meeting = await interaction.client.services.meetings.rsvp(...)
    """

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await self.handle(cast("discord.Interaction[RoundtableBot]", interaction))
        except Exception as error:
            await render_error(interaction, error, where=type(self).__name__)

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        raise NotImplementedError
