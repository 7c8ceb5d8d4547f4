"""The commitments cog offline: messages within Discord's limits, persistent report-back buttons,
and the outbox renderers against a real database (the bot never connects)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import discord
import pytest

from bot.app import App
from bot.clock import ManualClock
from bot.models import BuddyPair
from bot.services.base import Actor
from bot.services.commitments import (
    Board,
    CommitmentInfo,
    CycleRate,
    CycleStats,
    MemberCommitments,
    ReportBack,
    Stats,
)
from bot.settings import Settings
from bot.ui.layout import LAYOUT_COMPONENTS, LAYOUT_TEXT, layout_counts, layout_text
from bot.ui.notify import Notification
from cogs.commitments import (
    CHOICE_NAME_MAX,
    NoteButton,
    ReportButton,
    board_messages,
    choice_name,
    reportback_message,
    stats_embed,
)
from tests.seeding import insert_group, insert_meeting

GUILD = 1_000_000_000_000_000_001
CHANNEL = 2_000_000_000_000_000_001
ANA, BOB, CAT = 4_000_000_000_000_000_001, 4_000_000_000_000_000_002, 4_000_000_000_000_000_003
MEETING_AT = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def item(number: int, user_id: int = ANA, *, status: str = "open", text: str | None = None, note: str | None = None) -> CommitmentInfo:
    return CommitmentInfo(
        id=1000 + number, guild_id=GUILD, group_id=1, number=number, user_id=user_id,
        text=text or f"Commitment {number}", due_at=MEETING_AT, meeting_id=7, status=status, note=note,
        reported_at=None,
    )


def embed_chars(embeds: list[discord.Embed]) -> int:
    return sum(len(e.title or "") + len(e.description or "") + len(e.footer.text or "") for e in embeds)


def board_views(board: Board, avatar=None) -> list[discord.ui.LayoutView]:  # type: ignore[no-untyped-def]
    views = []
    for message in board_messages(board, avatar):
        assert message.content is None and message.embeds == []
        assert isinstance(message.view, discord.ui.LayoutView)
        views.append(message.view)
    return views


def test_a_huge_board_goes_on_in_more_messages_within_the_limits_and_cuts_nothing() -> None:
    members = [
        MemberCommitments(user_id=ANA + m, commitments=[
            item(m * 100 + n, ANA + m, text=f"{m}-{n} " + "x" * 290, note="n" * 200) for n in range(30)
        ])
        for m in range(8)
    ]
    board = Board(group_id=1, group_name="Makers", meeting_id=7, meeting_starts_at=MEETING_AT, members=members,
                  not_reported=[m.user_id for m in members], rate=CycleRate(done=0, partly=0, counted=240))
    views = board_views(board, avatar=lambda user_id: f"https://cdn.discordapp.com/embed/avatars/{user_id % 6}.png")
    assert len(views) > 1
    for view in views:
        components, chars = layout_counts(view)
        assert components <= LAYOUT_COMPONENTS and chars <= LAYOUT_TEXT
        assert view.to_components()[0]["type"] == 17  # one container per message
    # Every commitment is shown, once, with its whole text.
    text = "\n".join(layout_text(view) for view in views)
    shown = re.findall(r"`#\d+` (\S+ x+) —", text)
    assert sorted(shown) == sorted(f"{m}-{n} " + "x" * 290 for m in range(8) for n in range(30))
    assert layout_text(views[0]).startswith(f"## Report-back — Makers (1/{len(views)})")
    assert f"(continued, 2/{len(views)})" in layout_text(views[1])
    assert f"**<@{ANA}>** (continued)" in text  # a member longer than a message goes on under her name


def test_a_small_board_is_one_layout_message_with_a_section_per_member() -> None:
    board = Board(
        group_id=1, group_name="Makers", meeting_id=7, meeting_starts_at=MEETING_AT,
        members=[MemberCommitments(ANA, [item(1, status="done")]), MemberCommitments(CAT, [item(2, CAT)])],
        not_reported=[CAT], rate=CycleRate(done=1, partly=0, counted=2),
    )
    [message] = board_messages(board, lambda user_id: "https://cdn.discordapp.com/embed/avatars/1.png")
    assert isinstance(message.view, discord.ui.LayoutView)
    [container] = message.view.to_components()
    heading, *sections = container["components"]
    assert heading["content"].startswith("## Report-back — Makers\nCommitments due at the meeting <t:")
    assert f"Not reported yet: <@{CAT}>" in heading["content"] and "**50%**" in heading["content"]
    assert [s["type"] for s in sections] == [9, 9]
    assert sections[0]["components"][0]["content"] == f"**<@{ANA}>**\n✅ `#1` Commitment 1 — *done*"
    assert sections[1]["accessory"] == {"type": 11, "spoiler": False, "description": None,
                                        "media": {"url": "https://cdn.discordapp.com/embed/avatars/1.png"}}
    assert [u.id for u in message.allowed_mentions.users] == [CAT]  # type: ignore[union-attr]
    assert (message.allowed_mentions.everyone, message.allowed_mentions.roles) == (False, False)
    # Without avatars: the same text, as plain text displays.
    [plain] = board_views(board)
    assert layout_text(plain) == layout_text(message.view)


def test_a_long_report_back_dm_continues_in_more_embeds_instead_of_cutting() -> None:
    report = ReportBack(
        guild_id=GUILD, group_id=1, group_name="Makers", channel_id=CHANNEL, meeting_id=7,
        meeting_starts_at=MEETING_AT, user_id=ANA, timezone="UTC",
        commitments=[item(n, text=f"{n} " + "t" * 290, note="n" * 1000, status="done") for n in range(1, 5)],
    )
    embeds = reportback_message(report).embeds
    assert len(embeds) > 1 and embed_chars(embeds) <= 6000
    assert all(len(e.description or "") <= 4096 for e in embeds)
    text = "\n".join(e.description or "" for e in embeds)
    assert all(f"`#{n}` {n} " + "t" * 290 in text and text.count("n" * 1000) == 4 for n in range(1, 5))
    assert embeds[-1].footer.text is None  # everything fitted in the one message


def test_report_back_dm_has_a_row_of_buttons_per_commitment_up_to_five() -> None:
    report = ReportBack(
        guild_id=GUILD, group_id=1, group_name="Makers", channel_id=CHANNEL, meeting_id=7,
        meeting_starts_at=MEETING_AT, user_id=ANA, timezone="UTC",
        commitments=[item(n) for n in range(1, 8)],
    )
    message = reportback_message(report)
    assert message.view is not None
    children = message.view.children
    assert len(children) == 21  # 5 rows of 4, and "Remind me later" where there is room (the first row)
    assert children[-1].custom_id == "snooze:ask:reportback_dm:1:7" and children[-1].row == 0  # type: ignore[attr-defined]
    custom_ids = [child.custom_id for child in children]  # type: ignore[attr-defined]
    assert custom_ids[:4] == ["commit:report:1001:done", "commit:report:1001:partly", "commit:report:1001:not_done",
                              "commit:note:1001"]
    assert all(len(cid) <= 100 for cid in custom_ids)
    assert "other 2" in (message.content or "")
    # After a restart discord.py matches the ids against the registered templates.
    assert ReportButton.__discord_ui_compiled_template__.fullmatch("commit:report:1001:partly")
    assert NoteButton.__discord_ui_compiled_template__.fullmatch("commit:note:1001")
    assert not ReportButton.__discord_ui_compiled_template__.fullmatch("commit:report:1001:open")


def test_report_back_buttons_keep_the_lists_order_whatever_is_answered() -> None:
    def ids(*statuses: str) -> list[str]:
        report = ReportBack(
            guild_id=GUILD, group_id=1, group_name="Makers", channel_id=CHANNEL, meeting_id=7,
            meeting_starts_at=MEETING_AT, user_id=ANA, timezone="UTC",
            commitments=[item(n, status=status) for n, status in enumerate(statuses, start=1)],
        )
        view = reportback_message(report).view
        assert view is not None
        return [child.custom_id for child in view.children if child.custom_id.startswith("commit:report:")]  # type: ignore[attr-defined]

    unanswered = ids("open", "open", "open")
    assert ids("done", "open", "open") == unanswered == ids("open", "partly", "not_done")
    assert unanswered[0] == "commit:report:1001:done" and unanswered[-1] == "commit:report:1003:not_done"
    # Dropped ones have no buttons; the rest keep their places.
    assert ids("open", "dropped", "done")[3] == "commit:report:1003:done"


def test_the_stats_card_states_its_definitions() -> None:
    stats = Stats(group_name="Makers", user_id=ANA, streak=1, kept_this_year=3, wins_this_year=0, open_now=2,
                  carried_over=1, cycles=[CycleStats(meeting_id=7, starts_at=MEETING_AT, rate=CycleRate(3, 0, 3))])
    embed = stats_embed(stats)
    assert "Streak: **1 cycle** in a row with every commitment done" in (embed.description or "")
    assert "Kept this year: **3** · Carried over: **1**" in (embed.description or "")
    footer = embed.footer.text or ""
    for words in ("A cycle: the commitments due at one meeting that has ended", "partly at half", "Streak:",
                  "Kept this year:", "Carried over:"):
        assert words in footer
    assert len(footer) <= 2048


def test_autocomplete_names_fit() -> None:
    name = choice_name(item(12, text="Send invoices " * 30), "Europe/London")
    assert len(name) <= CHOICE_NAME_MAX and name.startswith("#12 Send invoices") and name.endswith("— due Thu 3 Dec")


# --- renderers against a real database ----------------------------------------------------------------


@pytest.fixture
async def app(tmp_path: Path):
    settings = Settings(discord_token="offline", database_url=f"sqlite:///{tmp_path / 'x.db'}", _env_file=None)  # type: ignore[call-arg]
    app = App(settings, clock=ManualClock(START))
    await app.migrate()
    await app.bot.load_extension("cogs.commitments")
    yield app
    await app.engine.dispose()


async def seed(app: App) -> tuple[int, int]:
    async with app.sessions.begin() as session:
        group = await insert_group(
            session, guild_id=GUILD, channel_id=CHANNEL, name="Makers", members=[ANA, BOB, CAT], created_at=START
        )
        session.add(BuddyPair(guild_id=GUILD, group_id=group.id, requester_id=ANA, partner_id=BOB, status="active",
                              created_at=START))
        meeting = await insert_meeting(session, guild_id=GUILD, group_id=group.id, starts_at=MEETING_AT, created_at=START)
        return group.id, meeting.id


def notification(kind: str, group_id: int, meeting_id: int, recipient: int = 0) -> Notification:
    return Notification(id=1, kind=kind, guild_id=GUILD, group_id=group_id, meeting_id=meeting_id,
                        occurrence=f"meeting:{meeting_id}", recipient_id=recipient, due_at=MEETING_AT, payload={})


async def test_renderers_are_registered_and_render_from_the_database(app: App) -> None:
    registry = app.bot.notifications
    assert {"reportback_dm", "reportback_board", "buddy_summary"} <= registry.kinds  # post_meeting: cogs.meetings
    group_id, meeting_id = await seed(app)
    for user in (ANA, ANA, BOB):
        await app.services.commitments.add(Actor(guild_id=GUILD, user_id=user, channel_id=CHANNEL), text=f"Task of {user}")

    dm = await registry.get("reportback_dm")(notification("reportback_dm", group_id, meeting_id, ANA))  # type: ignore[misc]
    assert dm.message is not None and dm.message.view is not None and len(dm.message.view.children) == 9  # + Remind me later
    assert dm.fallback is not None
    assert dm.fallback.content.startswith(f"<@{ANA}>, 2 commitments to report on before Thu 3 Dec")
    assert [u.id for u in dm.fallback.allowed_mentions.users] == [ANA]  # type: ignore[union-attr]
    assert dm.fallback.allowed_mentions.everyone is False and dm.fallback.allowed_mentions.roles is False
    nothing = await registry.get("reportback_dm")(notification("reportback_dm", group_id, meeting_id, CAT))  # type: ignore[misc]
    assert nothing.message is None and nothing.skip_reason

    board = await registry.get("reportback_board")(notification("reportback_board", group_id, meeting_id))  # type: ignore[misc]
    assert board.message is not None and isinstance(board.message.view, discord.ui.LayoutView)
    assert f"<@{ANA}>" in layout_text(board.message.view) and board.more == []
    # Its text mentions each member; it pings only those who haven't reported (both, here), nobody else.
    assert sorted(u.id for u in board.message.allowed_mentions.users) == [ANA, BOB]  # type: ignore[union-attr]
    assert (board.message.allowed_mentions.everyone, board.message.allowed_mentions.roles) == (False, False)

    buddy = await registry.get("buddy_summary")(notification("buddy_summary", group_id, meeting_id, ANA))  # type: ignore[misc]
    assert buddy.message is not None and f"Task of {BOB}" in (buddy.message.embeds[0].description or "")
    assert (await registry.get("buddy_summary")(notification("buddy_summary", group_id, meeting_id, CAT))).message is None  # type: ignore[misc]
