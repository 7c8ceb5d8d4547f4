"""Lists longer than one embed: joining lines into pages, and Previous / Next for the member who asked."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.ui.base import View
from bot.ui.reply import respond


def join_lines(lines: Sequence[str], limit: int) -> list[str]:
    """Lines joined into chunks of at most ``limit`` characters; a line is never split."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit and current:
            chunks.append(current)
            candidate = line
        current = candidate
    if current:
        chunks.append(current)
    return chunks


class Pages(View):
    """Previous / Next over an ephemeral list; only for the member who asked."""

    def __init__(self, owner_id: int, pages: list[discord.Embed]) -> None:
        super().__init__(timeout=600)
        self.owner_id = owner_id
        self.pages = pages
        self.index = 0
        self._sync()

    def _sync(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await respond(interaction, "These buttons are for the member who ran the command.")
            return False
        return True

    async def _show(self, interaction: discord.Interaction, delta: int) -> None:
        self.index = max(0, min(len(self.pages) - 1, self.index + delta))
        self._sync()
        await interaction.response.edit_message(embed=self.pages[self.index], view=self)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, _button: discord.ui.Button[Pages]) -> None:
        await self._show(interaction, -1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, _button: discord.ui.Button[Pages]) -> None:
        await self._show(interaction, 1)


async def respond_pages(interaction: discord.Interaction, pages: list[discord.Embed]) -> None:
    """Answer privately with the first page, and Previous / Next when there are more."""
    view = Pages(interaction.user.id, pages) if len(pages) > 1 else None
    await respond(interaction, embed=pages[0], view=view)
