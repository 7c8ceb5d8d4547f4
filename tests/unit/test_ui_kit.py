"""The shared presentation pieces in bot/ui: timestamps and the paginator (pure functions, no Discord)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import discord
import pytest

from bot.ui.pages import (
    EMBED_FIELDS,
    MESSAGE_EMBED_CHARS,
    embed_pages,
    field_pages,
    join_lines,
    paginate,
)
from bot.ui.time import Style, ts, ts_with_relative

WHEN = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize("style", list(Style))
def test_every_style_is_discords_own_markup(style: Style) -> None:
    assert ts(WHEN, style) == discord.utils.format_dt(WHEN, style.value)  # type: ignore[arg-type]


def test_a_meeting_time_reads_in_full_with_the_relative_time() -> None:
    assert ts_with_relative(WHEN) == f"<t:{int(WHEN.timestamp())}:F> (<t:{int(WHEN.timestamp())}:R>)"


def test_one_page_has_no_page_numbers_and_many_pages_are_numbered_without_cutting() -> None:
    [single] = embed_pages("Groups", ["a line"])
    assert single.footer.text is None and single.description == "a line"
    assert embed_pages("Groups", [])[0].description == "Nothing here."

    lines = [f"**Group {n}** — " + "z" * 200 for n in range(60)]
    pages = embed_pages("Groups", join_lines(lines, 4000))
    assert len(pages) > 1
    assert [page.footer.text for page in pages] == [f"Page {n} of {len(pages)}" for n in range(1, len(pages) + 1)]
    assert "\n".join(page.description or "" for page in pages).split("\n") == lines
    assert all(len(page) <= MESSAGE_EMBED_CHARS for page in pages)


def test_a_block_of_lines_stays_on_one_page() -> None:
    blocks = [[f"member {m}", *(f"{m}-{n} " + "c" * 100 for n in range(5))] for m in range(20)]
    pages = paginate(blocks, 1000)
    assert all(len(page) <= 1000 for page in pages)
    for block in blocks:
        assert sum("\n".join(block) in page for page in pages) == 1


def test_field_pages_keep_a_group_together_within_25_fields_and_6000_characters() -> None:
    groups = [[(f"Q{q}", f"{g}:" + "v" * 600) for q in range(4)] for g in range(12)]
    pages = field_pages("Check-ins", groups, footer="Makers", empty="Nobody yet.")
    assert len(pages) > 1
    for page in pages:
        assert len(page.fields) <= EMBED_FIELDS and len(page) <= MESSAGE_EMBED_CHARS
        assert len(page.fields) % 4 == 0  # no check-in split across pages
    assert sum(len(page.fields) for page in pages) == 48
    assert pages[0].footer.text == f"Makers · page 1 of {len(pages)}"


ROOT = Path(__file__).resolve().parents[2]


def _sources() -> list[Path]:
    return sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "cogs").rglob("*.py")])


def _offenders(pattern: str, allowed: Path) -> list[str]:
    needle = re.compile(pattern)
    return [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _sources()
        if path != allowed
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if needle.search(line)
    ]


def test_every_timestamp_goes_through_the_one_helper() -> None:
    assert _offenders(r"<t:|format_dt\(", ROOT / "bot" / "ui" / "time.py") == []


def test_every_dm_goes_through_the_one_helper() -> None:
    assert _offenders(r"create_dm\(|\b(user|member|owner)\.send\(", ROOT / "bot" / "ui" / "dm.py") == []
