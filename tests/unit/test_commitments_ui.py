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
from bot.services.commitments import Board, CommitmentInfo, CycleRate, MemberCommitments, ReportBack
from bot.settings import Settings
from bot.ui.notify import Notification
from cogs.commitments import (
    CHOICE_NAME_MAX,
    NoteButton,
    ReportButton,
    board_embeds,
    choice_name,
    reportback_message,
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


def test_a_huge_board_stays_within_discords_limits_and_says_what_it_left_out() -> None:
    members = [
        MemberCommitments(user_id=ANA + m, commitments=[
            item(m * 100 + n, ANA + m, text=f"{m}-{n} " + "x" * 290, note="n" * 200) for n in range(30)
        ])
        for m in range(8)
    ]
    board = Board(group_id=1, group_name="Makers", meeting_id=7, meeting_starts_at=MEETING_AT, members=members,
                  not_reported=[m.user_id for m in members], rate=CycleRate(done=0, partly=0, counted=240))
    embeds = board_embeds(board)
    assert 1 <= len(embeds) <= 10
    assert embed_chars(embeds) <= 6000
    assert all(len(e.description or "") <= 4096 for e in embeds)
    assert "see /commit list" in (embeds[-1].footer.text or "")
    # No commitment is cut in half: every shown line carries its whole text.
    shown = re.findall(r"`#\d+` (\S+ x+) —", "\n".join(e.description or "" for e in embeds))
    assert shown and all(len(text.split(" ", 1)[1]) == 290 for text in shown)


def test_a_small_board_fits_in_one_embed_with_statuses_and_rate() -> None:
    board = Board(
        group_id=1, group_name="Makers", meeting_id=7, meeting_starts_at=MEETING_AT,
        members=[MemberCommitments(ANA, [item(1, status="done")]), MemberCommitments(CAT, [item(2, CAT)])],
        not_reported=[CAT], rate=CycleRate(done=1, partly=0, counted=2),
    )
    [embed] = board_embeds(board)
    assert "✅ `#1` Commitment 1 — *done*" in (embed.description or "")
    assert f"Not reported yet: <@{CAT}>" in (embed.description or "")
    assert "**50%**" in (embed.description or "")
    assert embed.footer.text is None


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
    assert board.message is not None and f"<@{ANA}>" in (board.message.embeds[0].description or "")
    assert board.message.allowed_mentions.users is False  # the board mentions nobody

    buddy = await registry.get("buddy_summary")(notification("buddy_summary", group_id, meeting_id, ANA))  # type: ignore[misc]
    assert buddy.message is not None and f"Task of {BOB}" in (buddy.message.embeds[0].description or "")
    assert (await registry.get("buddy_summary")(notification("buddy_summary", group_id, meeting_id, CAT))).message is None  # type: ignore[misc]
