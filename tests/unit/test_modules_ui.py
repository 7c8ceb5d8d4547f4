"""The modules cog's rendering stays within Discord's limits without cutting anything."""

from __future__ import annotations

from datetime import UTC, datetime

import discord

from bot.curriculum import (
    ACTIVITIES_MAX,
    ACTIVITY_MAX,
    RESOURCE_TITLE_MAX,
    RESOURCES_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    URL_MAX,
    ModuleSpec,
    Resource,
)
from bot.services.modules import CheckInEntry, Digest, GroupRef
from cogs.modules import (
    CheckInButton,
    DigestPageButton,
    checkin_pages,
    digest_pages,
    digest_view,
    module_embed,
)

WHEN = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
GROUP = GroupRef(id=7, guild_id=1, name="G" * 80, channel_id=2, timezone="UTC")


def embed_size(embed: discord.Embed) -> int:
    return len(embed)  # discord.py counts what Discord counts (title, description, fields, footer, author)


def test_the_largest_possible_module_fits_one_message() -> None:
    url = "https://example.org/" + "a" * (URL_MAX - len("https://example.org/"))
    module = ModuleSpec(
        number=24, title="T" * TITLE_MAX, summary="S" * SUMMARY_MAX,
        activities=["A" * ACTIVITY_MAX] * ACTIVITIES_MAX,
        resources=[Resource(title="R" * RESOURCE_TITLE_MAX, url=url, kind="listen")] * RESOURCES_MAX,
    )
    embed = module_embed(module, total=24, group_name=GROUP.name, meeting_at=WHEN)
    assert embed_size(embed) <= 6000 and len(embed.fields) <= 25
    assert all(len(field.value or "") <= 1024 for field in embed.fields)
    shown = "\n".join(field.value or "" for field in embed.fields)
    assert shown.count("A" * ACTIVITY_MAX) == ACTIVITIES_MAX  # split over fields, never cut
    assert shown.count(f"]({url})") == RESOURCES_MAX


def entry(user_id: int, text: str) -> CheckInEntry:
    return CheckInEntry(
        id=user_id, user_id=user_id, module_number=1, module_title="Vision", consumed=text, activities=text,
        learning=text, application=text, visibility="group", updated_at=WHEN,
    )


def test_digest_pages_hold_every_full_check_in_within_limits() -> None:
    entries = [entry(1000 + n, f"{n}" * 1000) for n in range(10)]
    digest = Digest(GROUP, 1, "Vision", entries, private_count=2)
    pages = digest_pages(digest)
    assert len(pages) > 1
    for page in pages:
        assert embed_size(page) <= 6000 and len(page.fields) <= 25
        assert all(len(field.value or "") <= 1024 for field in page.fields)
    text = "".join(field.value or "" for page in pages for field in page.fields)
    for n, item in enumerate(entries):
        assert text.count(f"{n}" * 1000) == 4 and f"<@{item.user_id}>" in text
    assert pages[-1].footer.text.endswith(f"page {len(pages)} of {len(pages)}")


def test_digest_buttons_carry_their_ids() -> None:
    view = digest_view(7, 123456789012, 0, 3, first=True)
    assert view is not None
    [button] = view.children
    assert isinstance(button, DigestPageButton)
    assert button.item.custom_id == "checkin:digest:7:123456789012:1"
    middle = digest_view(7, 9, 1, 3, first=False)
    assert [child.item.custom_id for child in middle.children] == ["checkin:digest:7:9:0", "checkin:digest:7:9:2"]
    assert digest_view(7, 9, 0, 1, first=True) is None
    assert CheckInButton(2**31).item.custom_id == f"checkin:open:{2**31}"


def test_empty_pages_say_so() -> None:
    [page] = checkin_pages("Title", [], footer="Makers", empty="Nobody yet.")
    assert page.description == "Nobody yet."
