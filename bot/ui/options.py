"""Option types shared by every cog: the ``group`` option with autocomplete."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.errors import NotFound
from bot.ui.actor import actor_from

if TYPE_CHECKING:
    from bot.client import RoundtableBot


class GroupTransformer(app_commands.Transformer):
    """A group option: autocompletes over the member's groups in this server; yields the group id.

    Typing a name by hand works too. An unknown group is a clear private error.
    """

    def __init__(self, *, every_group: bool = False) -> None:
        self.every_group = every_group

    async def transform(self, interaction: discord.Interaction[RoundtableBot], value: str) -> int:  # type: ignore[override]
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        group_id = await interaction.client.services.groups.find_id(interaction.guild_id, value)
        if group_id is None:
            raise NotFound(f"There's no group called `{value[:80]}` in this server.")
        return group_id

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction[RoundtableBot], value: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        choices = await interaction.client.services.groups.choices(
            actor_from(interaction), value, every_group=self.every_group
        )
        return [app_commands.Choice(name=choice.name, value=str(choice.id)) for choice in choices]


# Use as: group: GroupOption = None   (the member's group, resolved by the service when omitted)
GroupOption = app_commands.Transform[int | None, GroupTransformer]
AnyGroupOption = app_commands.Transform[int, GroupTransformer(every_group=True)]
