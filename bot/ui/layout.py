"""Layout (components v2) messages within Discord's limits: ``layout_pages``.

A layout message (``discord.ui.LayoutView``: Container, Section, TextDisplay, Thumbnail) carries no
content and no embeds; its text is in text displays. Discord allows at most 40 components in one
(every kind, nested ones included) and 4,000 characters of text display across the message. A
long list goes on in further messages, each a container with the title ("continued"); a block (a
member's lines) stays in one message when it fits in one, and a line is never cut.

A layout message is edited with a layout view (``message.edit(view=...)``): it can't take back
content or embeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import discord

LAYOUT_COMPONENTS = 40  # every component of one message, nested ones included
LAYOUT_TEXT = 4000  # characters of text display in one message
_TITLE_ROOM = 40  # what "(continued, 12/12)" and a heading's marks may add to a title


@dataclass(frozen=True, slots=True)
class Block:
    """Lines that belong together: a Section with ``thumbnail`` (an image URL) beside them, else a
    TextDisplay. Split over several sections only when longer than one message holds; each further
    piece starts with ``continued``."""

    lines: Sequence[str]
    thumbnail: str | None = None
    continued: str = ""


@dataclass(slots=True)
class _Page:
    pieces: list[tuple[str, str | None]] = field(default_factory=list)  # (text, thumbnail)
    components: int = 0
    chars: int = 0


def _cost(thumbnail: str | None) -> int:
    return 3 if thumbnail else 1  # section + text display + thumbnail, or one text display


def _pieces(block: Block, limit: int) -> list[tuple[str, str | None]]:
    """The block's text in pieces of at most ``limit`` characters, lines whole."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for line in block.lines:
        if len(line) > limit:  # cannot happen with bounded text; never send an invalid message
            line = line[: limit - 1] + "…"
        if current and size + len(line) + 1 > limit:
            pieces.append("\n".join(current))
            current = [block.continued] if block.continued else []
            size = sum(len(part) + 1 for part in current)
        current.append(line)
        size += len(line) + 1
    if current:
        pieces.append("\n".join(current))
    return [(text, block.thumbnail) for text in pieces]


def layout_pages(
    title: str, header: str, blocks: Sequence[Block], *, colour: discord.Colour | None = None
) -> list[discord.ui.LayoutView]:
    """One container per message: the title (and, in the first, ``header``), then each block.

    As many messages as the blocks need (at least one); none exceeds 40 components or 4,000
    characters of text, and nothing is left out.
    """
    first_text = f"## {title}" + (f"\n{header}" if header else "")
    base_chars = len(first_text) + _TITLE_ROOM
    piece_limit = LAYOUT_TEXT - len(title) - _TITLE_ROOM - 1
    pages = [_Page(components=2, chars=base_chars)]  # the container and the title's text display

    def fresh() -> _Page:
        return _Page(components=2, chars=len(title) + _TITLE_ROOM)

    def fits(page: _Page, components: int, chars: int) -> bool:
        return page.components + components <= LAYOUT_COMPONENTS and page.chars + chars <= LAYOUT_TEXT

    for block in blocks:
        pieces = _pieces(block, piece_limit)
        whole = (sum(_cost(thumbnail) for _, thumbnail in pieces), sum(len(text) for text, _ in pieces))
        if not fits(pages[-1], *whole) and pages[-1].pieces and fits(fresh(), *whole):
            pages.append(fresh())  # keep the block together
        for text, thumbnail in pieces:
            if not fits(pages[-1], _cost(thumbnail), len(text)):
                pages.append(fresh())
            page = pages[-1]
            page.pieces.append((text, thumbnail))
            page.components += _cost(thumbnail)
            page.chars += len(text)
    views = []
    for index, page in enumerate(pages):
        if index == 0:
            heading = first_text if len(pages) == 1 else f"## {title} (1/{len(pages)})" + (f"\n{header}" if header else "")
        else:
            heading = f"## {title} (continued, {index + 1}/{len(pages)})"
        items: list[discord.ui.Item[discord.ui.LayoutView]] = [discord.ui.TextDisplay(heading)]
        for text, thumbnail in page.pieces:
            if thumbnail:
                items.append(discord.ui.Section(discord.ui.TextDisplay(text), accessory=discord.ui.Thumbnail(thumbnail)))
            else:
                items.append(discord.ui.TextDisplay(text))
        view = discord.ui.LayoutView(timeout=None)
        view.add_item(discord.ui.Container(*items, accent_colour=colour))
        views.append(view)
    return views


def layout_text(view: discord.ui.LayoutView) -> str:
    """Every text display's content, in order (what a reader reads; for tests and logs)."""
    parts: list[str] = []
    for item in view.walk_children():
        if isinstance(item, discord.ui.TextDisplay):
            parts.append(item.content)
    return "\n".join(parts)


def layout_counts(view: discord.ui.LayoutView) -> tuple[int, int]:
    """(components, characters of text display) of one layout message, as Discord counts them."""
    components = len(list(view.walk_children()))
    chars = sum(len(item.content) for item in view.walk_children() if isinstance(item, discord.ui.TextDisplay))
    return components, chars
