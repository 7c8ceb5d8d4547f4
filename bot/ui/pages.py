"""The one paginator: lists longer than one embed become pages, never cut, within Discord's limits.

Building pages (pure functions, tested without Discord):

- :func:`join_lines` / :func:`paginate`: lines (or blocks of lines kept together, such as one
  member's commitments) joined into descriptions of at most ``limit`` characters; a line is never split.
- :func:`embed_pages`: one embed per description, "Page n of m" in the footer when there are several.
- :func:`field_pages`: groups of fields (one check-in each) as embeds of at most 25 fields and
  ``PAGE_CHARS`` characters, a group never split across pages.
- :func:`fit_message`: as many pages as one channel message holds (10 embeds, 6,000 characters),
  saying in the footer where the rest is, for a post that can't carry page buttons.

Showing them, two modes:

- In memory: :func:`respond_pages` answers privately with the first page and Previous / Next for the
  member who asked (:class:`Pages`); the buttons die with the process (10 minutes at most).
- Restart-safe: a :class:`PageButton` is a ``DynamicItem`` whose ``custom_id`` carries what to page and
  the page number; a click (before or after a restart) loads that page again through the services
  (:meth:`PageButton.load_page`) and shows it, either in place (``in_place``: ``/admin outbox``) or as a
  private reply (the check-in digest's channel post, which everyone shares). :func:`page_links` lays
  out the buttons: Previous / Next (``PageLinks.PREVIOUS_NEXT``, disabled at the ends) or a button
  per neighbouring page ("Page 2", ``PageLinks.NEIGHBOURS``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

import discord

from bot.ui.base import RendersErrors, View
from bot.ui.reply import respond

if TYPE_CHECKING:
    from bot.client import RoundtableBot

# Discord's limits.
MESSAGE_CHARS = 2000
MESSAGE_EMBEDS = 10
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
FIELD_VALUE = 1024
MESSAGE_EMBED_CHARS = 6000  # every embed of one message together: titles, descriptions, fields, footers
# A page of lines: under an embed description's 4,096, with room for a title and a footer.
PAGE_LINES_CHARS = 4000
# A page's share of those 6,000 characters when fields are added (title and footer included).
PAGE_CHARS = 5500


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


def paginate(blocks: Sequence[Sequence[str]], limit: int = EMBED_DESCRIPTION) -> list[str]:
    """Join blocks of lines into pages of at most ``limit`` characters.

    A block (a member's commitments) stays on one page when it fits; a line is never split.
    """
    pages: list[str] = []
    current: list[str] = []
    size = 0

    def flush() -> None:
        nonlocal current, size
        if current:
            pages.append("\n".join(current))
        current, size = [], 0

    for block in blocks:
        block_size = sum(len(line) + 1 for line in block)
        if current and size + block_size > limit:
            flush()
        for line in block:
            if len(line) > limit:  # cannot happen with bounded text; never send an invalid embed
                line = line[: limit - 1] + "…"
            if current and size + len(line) + 1 > limit:
                flush()
            current.append(line)
            size += len(line) + 1
    flush()
    return pages


def number_pages(pages: list[discord.Embed], *, footer: str | None = None, style: str = "Page {n} of {m}") -> None:
    """Footers: ``footer · page n of m`` (or just ``footer``) when there are several pages."""
    for n, page in enumerate(pages, start=1):
        counter = style.format(n=n, m=len(pages)) if len(pages) > 1 else ""
        text = " · ".join(part for part in (footer, counter) if part)
        if text:
            page.set_footer(text=text)


def embed_pages(
    title: str, pages: Sequence[str], *, colour: discord.Colour | None = None, empty: str = "Nothing here."
) -> list[discord.Embed]:
    """One embed per page of text; "Page n of m" in the footer when there are several."""
    embeds = [discord.Embed(title=title[:EMBED_TITLE], description=page, colour=colour) for page in pages or [empty]]
    number_pages(embeds)
    return embeds


def field_pages(
    title: str,
    groups: Sequence[Sequence[tuple[str, str]]],
    *,
    footer: str,
    empty: str,
    colour: discord.Colour | None = None,
) -> list[discord.Embed]:
    """Groups of (name, value) fields as pages, each within one message's limits; nothing is cut.

    A group (one member's check-in) stays on one page; a page holds at most 25 fields and
    ``PAGE_CHARS`` characters. The footer gets ``· page n of m`` when there are several pages.
    """
    pages: list[discord.Embed] = []

    def new_page() -> discord.Embed:
        page = discord.Embed(title=title, colour=colour)
        pages.append(page)
        return page

    page = new_page()
    used = len(title) + len(footer) + 20
    for fields in groups:
        size = sum(len(name) + len(value) for name, value in fields)
        if page.fields and (len(page.fields) + len(fields) > EMBED_FIELDS or used + size > PAGE_CHARS):
            page = new_page()
            used = len(title) + len(footer) + 20
        for name, value in fields:
            page.add_field(name=name, value=value, inline=False)
        used += size
    if not groups:
        page.description = empty
    number_pages(pages, footer=footer, style="page {n} of {m}")
    return pages


def fit_message(
    title: str, header: str, pages: list[str], more: str, *, colour: discord.Colour | None = None
) -> list[discord.Embed]:
    """Embeds for one message: as many pages as Discord's per-message limits allow (10 embeds,
    6,000 characters); when some don't fit, the last embed's footer says so (never silently)."""
    embeds: list[discord.Embed] = []
    total = 0
    for index, page in enumerate(pages):
        description = f"{header}\n\n{page}" if index == 0 and header else page
        embed_title = title if index == 0 else f"{title} (continued)"
        size = len(embed_title) + len(description)
        last = index == len(pages) - 1
        # Leave room for the footer unless this is the last page.
        room = MESSAGE_EMBED_CHARS - total - (0 if last else len(more))
        if embeds and (size > room or (not last and len(embeds) == MESSAGE_EMBEDS - 1)):
            embeds[-1].set_footer(text=more)
            break
        embeds.append(discord.Embed(title=embed_title, description=description, colour=colour))
        total += size
    return embeds


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


async def respond_pages(interaction: discord.Interaction, pages: list[discord.Embed], content: str | None = None) -> None:
    """Answer privately with the first page, and Previous / Next when there are more."""
    view = Pages(interaction.user.id, pages) if len(pages) > 1 else None
    await respond(interaction, content, embed=pages[0], view=view)


# --- restart-safe pages -------------------------------------------------------------------------------


class PageLinks(Enum):
    PREVIOUS_NEXT = "previous_next"  # "Previous" and "Next", disabled at the ends
    NEIGHBOURS = "neighbours"  # "Page n" for the page before and the page after, where there is one


# Builds the page button for page ``n`` with ``label`` (``disabled``: at an end).
MakePageButton = Callable[[int, str, bool], discord.ui.Item[Any]]


def page_links(make: MakePageButton, page: int, total: int, links: PageLinks) -> discord.ui.View | None:
    """The persistent buttons of page ``page`` (0-based) of ``total``; None for a single page."""
    if total <= 1:
        return None
    view = discord.ui.View(timeout=None)
    if links is PageLinks.PREVIOUS_NEXT:
        view.add_item(make(max(page - 1, 0), "Previous", page == 0))
        view.add_item(make(min(page + 1, total - 1), "Next", page >= total - 1))
        return view
    if page > 0:
        view.add_item(make(page - 1, f"Page {page}", False))
    if page < total - 1:
        view.add_item(make(page + 1, f"Page {page + 2}", False))
    return view


@dataclass(frozen=True, slots=True)
class ShownPage:
    """What a page button shows: the page's embed and its buttons (:func:`page_links`)."""

    embed: discord.Embed
    view: discord.ui.View | None


class PageButton(RendersErrors):
    """Mix into a ``discord.ui.DynamicItem`` subclass (first in the bases) whose ``custom_id`` carries
    what to page and the page number; implement :meth:`load_page`. Registered with
    ``bot.add_dynamic_items`` like any persistent button, it works after a restart::

        class OutboxPageButton(PageButton, discord.ui.DynamicItem[discord.ui.Button],
                               template=r"outbox:page:(?P<group>[0-9]+):(?P<page>[0-9]+)"):
            in_place = True
            async def load_page(self, interaction) -> ShownPage: ...
    """

    # True: the click edits the message it is on (a private list); False: the page is a new private
    # reply to whoever clicked (a channel post everyone shares).
    in_place: ClassVar[bool] = False

    async def load_page(self, interaction: discord.Interaction[RoundtableBot]) -> ShownPage:
        raise NotImplementedError

    async def handle(self, interaction: discord.Interaction[RoundtableBot]) -> None:
        shown = await self.load_page(interaction)
        if self.in_place:
            await interaction.response.edit_message(embed=shown.embed, view=shown.view)
        else:
            await respond(interaction, embed=shown.embed, view=shown.view)
