"""``/admin outbox [group]``: a facilitator's view of their group's scheduled notifications."""

from __future__ import annotations

import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import RoundtableBot
from bot.models import OutboxStatus
from bot.services.outbox import OutboxPage
from bot.ui.actor import actor_from
from bot.ui.options import GroupOption
from bot.ui.pages import PageButton, PageLinks, ShownPage, page_links
from bot.ui.reply import respond
from bot.ui.time import Style, ts

SECTION_TITLES = {"upcoming": "Upcoming notifications", "problems": "Failed, expired and cancelled"}


def outbox_embed(page: OutboxPage) -> discord.Embed:
    lines: list[str] = []
    for entry in page.entries:
        who = "channel" if entry.recipient_id == 0 else f"DM <@{entry.recipient_id}>"
        when = ts(entry.sent_at or entry.due_at, Style.DATE_TIME)
        line = f"**{entry.label or entry.kind}** → {who} · {when}"  # the label its feature declares
        if entry.status != OutboxStatus.PENDING:
            line += f" · {entry.status}"
        if entry.reason:
            line += f"\n  ↳ {discord.utils.escape_markdown(entry.reason)[:300]}"
        lines.append(line)
    embed = discord.Embed(
        title=f"{SECTION_TITLES[page.section]} — {page.group_name}"[:256],
        description="\n".join(lines) or "Nothing here.",
    )
    counts = ", ".join(f"{status}: {count}" for status, count in sorted(page.counts.items())) or "none"
    embed.set_footer(text=f"Page {page.page + 1}/{page.pages} · {page.total} shown in this list · all: {counts}")
    return embed


class OutboxPageButton(
    PageButton,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"outbox:page:(?P<group>[0-9]+):(?P<section>upcoming|problems):(?P<page>[0-9]+)",
):
    in_place = True  # the private list turns its page

    def __init__(self, group_id: int, section: str, page: int, *, label: str, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=f"outbox:page:{group_id}:{section}:{page}",
                disabled=disabled,
            )
        )
        self.group_id, self.section, self.page = group_id, section, page

    @classmethod
    async def from_custom_id(  # type: ignore[override]  # the item is the button this class built
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> OutboxPageButton:
        return cls(int(match["group"]), match["section"], int(match["page"]), label=item.label or "")

    async def load_page(self, interaction: discord.Interaction[RoundtableBot]) -> ShownPage:
        page = await interaction.client.services.outbox.list_for_admin(
            actor_from(interaction), group_id=self.group_id, section=self.section, page=self.page
        )
        return ShownPage(outbox_embed(page), pager(page))


def pager(page: OutboxPage) -> discord.ui.View | None:
    def button(n: int, label: str, disabled: bool) -> OutboxPageButton:
        return OutboxPageButton(page.group_id, page.section, n, label=label, disabled=disabled)

    return page_links(button, page.page, page.pages, PageLinks.PREVIOUS_NEXT)


class AdminCog(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    admin = app_commands.Group(name="admin", description="Look after your group's bot", guild_only=True)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(OutboxPageButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(OutboxPageButton)

    @admin.command(name="outbox", description="Upcoming, failed and expired notifications of your group (facilitators)")
    @app_commands.describe(group="The group (defaults to this channel's group)", show="Which notifications to list")
    @app_commands.choices(
        show=[
            app_commands.Choice(name="Upcoming", value="upcoming"),
            app_commands.Choice(name="Failed, expired and cancelled", value="problems"),
        ]
    )
    async def admin_outbox(
        self, interaction: discord.Interaction, group: GroupOption = None, show: str = "upcoming"
    ) -> None:
        page = await self.bot.services.outbox.list_for_admin(actor_from(interaction), group_id=group, section=show)
        kwargs: dict[str, Any] = {"embed": outbox_embed(page)}
        view = pager(page)
        if view is not None:
            kwargs["view"] = view
        await respond(interaction, **kwargs)


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(AdminCog(bot))
