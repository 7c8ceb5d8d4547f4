"""Commitments end to end, as members use them: the real bot against the Discord simulator.

The group, its members and its meeting are written to the database directly (the groups feature's
commands are tested in its own files); everything a member does goes through Discord.
"""

from __future__ import annotations

from datetime import timedelta

import discord
import pytest
from sqlalchemy import select

from bot.app import App
from bot.models import Commitment
from cogs.commitments import board_messages
from tests.e2e.conftest import Harness
from tests.e2e.seeding import MEETING_AT, buttons, seed_group
from tests.sim import Channel, Guild, Sim
from tests.sim.state import walk_components


async def statuses(app: App, group_id: int) -> dict[int, tuple[str, str | None]]:
    async with app.sessions.begin() as session:
        rows = await session.scalars(select(Commitment).where(Commitment.group_id == group_id))
        return {row.number: (row.status, row.note) for row in rows}


async def test_commit_list_report_and_win_from_the_channel(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob, fac = sim.member(guild, "Ana"), sim.member(guild, "Bob"), sim.member(guild, "Fac")
    outsider = sim.member(guild, "Outsider")
    group_id, _meeting_id = await seed_group(app, guild, channel, [ana, bob, fac], facilitators=(fac,))

    added = await sim.command(ana, channel, "commit add", text="Send 10 invoices @everyone")
    assert added.ephemeral and "`#1`" in added.content and "Send 10 invoices" in added.content
    announcement = sim.last_message(channel)
    assert announcement.content.startswith(f"<@{ana.id}> committed to: Send 10 invoices @everyone")
    assert announcement.allowed_mentions is not None and announcement.allowed_mentions.get("parse") == []
    await sim.command(bob, channel, "commit add", text="Call the bank")

    refused = await sim.command(outsider, channel, "commit add", text="Let me in")
    assert refused.ephemeral and "not a member" in refused.content

    choices = await sim.autocomplete(ana, channel, "commit done", option="commitment", value="")
    assert [c["name"] for c in choices] == ["#1 Send 10 invoices @everyone — due Thu 3 Dec"]
    done = await sim.command(ana, channel, "commit done", commitment=choices[0]["value"], note="all sent")
    assert done.ephemeral and "done" in done.content

    not_yours = await sim.command(bob, channel, "commit report", commitment="#1", status="not_done")
    assert not_yours.ephemeral and "another member's" in not_yours.content

    listing = await sim.command(bob, channel, "commit list")
    assert listing.ephemeral and "Call the bank" in listing.text and "Send 10 invoices" not in listing.text

    dropped = await sim.command(fac, channel, "commit drop", commitment="#2")
    assert "Dropped `#2`" in dropped.content and "let them know" in dropped.content
    assert "dropped your commitment `#2`" in sim.dms(bob)[-1].content

    won = await sim.command(bob, channel, "win", text="First big client!")
    assert won.ephemeral
    assert sim.last_message(channel).content == f"🎉 <@{bob.id}> shared a win: First big client!"

    stats = await sim.command(ana, channel, "commit stats")
    assert "Wins this year: **0**" in stats.text and "Open now: **0**" in stats.text
    assert await statuses(app, group_id) == {1: ("done", "all sent"), 2: ("dropped", None)}


async def test_the_report_back_cycle(sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App) -> None:
    ana, bob, cat = sim.member(guild, "Ana"), sim.member(guild, "Bob"), sim.member(guild, "Cat")
    group_id, _meeting_id = await seed_group(app, guild, channel, [ana, bob, cat])
    for member, text in ((ana, "Send 10 invoices"), (bob, "Call the bank"), (cat, "Hire an assistant")):
        reply = await sim.command(member, channel, "commit add", text=text)
        assert reply.ephemeral
    sim.close_dms(cat)

    # The reminder: two days before the meeting.
    await sim.advance(MEETING_AT - timedelta(hours=48) - app.clock.now())
    # (The module's check-in nudge, due a day earlier, is a DM of its own: pick the report-back.)
    def reportback(member):
        [dm] = [m for m in sim.dms(member) if any(label.startswith("#") for label in buttons(m))]
        return dm

    ana_dm, bob_dm = reportback(ana), reportback(bob)
    assert "Send 10 invoices" in ana_dm.embeds[0]["description"]
    assert buttons(ana_dm) == ["#1 Done", "#1 Partly", "#1 Not done", "#1 Add a note", "Remind me later"]
    assert sim.dms(cat) == []
    fallback = sim.last_message(channel)
    assert fallback.content.startswith(f"<@{cat.id}>, 1 commitment to report on before Thu 3 Dec")
    assert fallback.allowed_mentions is not None
    assert [int(u) for u in fallback.allowed_mentions.get("users", [])] == [cat.id]
    assert fallback.allowed_mentions.get("parse") == []  # only Cat: no @everyone, no roles

    # Two report by button; the DM updates in place; a double click records once.
    clicked = await sim.click(ana, ana_dm, label="#1 Done")
    assert clicked.interaction.response_type == 7
    assert "✅ `#1` Send 10 invoices — *done*" in reportback(ana).embeds[0]["description"]
    async with app.sessions.begin() as session:
        first_report = (await session.scalar(select(Commitment).where(Commitment.number == 1))).reported_at
    await sim.advance(minutes=5)
    await sim.click(ana, reportback(ana), label="#1 Done")
    async with app.sessions.begin() as session:
        assert (await session.scalar(select(Commitment).where(Commitment.number == 1))).reported_at == first_report

    await sim.click(bob, bob_dm, label="#2 Partly")
    opened = await sim.click(bob, reportback(bob), label="#2 Add a note")
    assert opened.modal is not None
    await sim.submit_modal(bob, opened, {"How did it go?": "Bank called back; meeting next week"})
    assert "Bank called back" in reportback(bob).embeds[0]["description"]
    assert await statuses(app, group_id) == {
        1: ("done", None), 2: ("partly", "Bank called back; meeting next week"), 3: ("open", None),
    }

    # The meeting: the board, with each status, who hasn't reported, and the completion rate.
    await sim.advance(MEETING_AT - app.clock.now())
    board = sim.last_message(channel)
    assert board.layout  # one section per member (components v2)
    text = board.text
    assert "✅ `#1` Send 10 invoices — *done*" in text
    assert "🟨 `#2` Call the bank — *partly*" in text
    assert "⬜ `#3` Hire an assistant — *open*" in text
    assert f"Not reported yet: <@{cat.id}>" in text
    assert "**50%**" in text  # 1 done + ½ partly of 3
    assert board.content == "" and board.embeds == []
    sections = [c for c in walk_components(board.components) if c["type"] == 9]
    assert [s["components"][0]["content"].split("\n")[0] for s in sections] == [
        f"**<@{m.id}>**" for m in (ana, bob, cat)
    ]
    # Each member's avatar beside her section (the simulator's members have Discord's default one).
    assert [s["accessory"]["media"]["url"] for s in sections] == [
        f"https://cdn.discordapp.com/embed/avatars/{(m.id >> 22) % 6}.png" for m in (ana, bob, cat)
    ]
    assert board.allowed_mentions is not None  # it pings only Cat, who hasn't reported
    assert [int(u) for u in board.allowed_mentions.get("users", [])] == [cat.id]
    assert board.allowed_mentions.get("parse") == []

    # A restart: the old DM's buttons still work (and the later answer wins).
    await harness.restart()
    await sim.click(ana, reportback(ana), label="#1 Not done")
    assert "❌ `#1` Send 10 invoices — *not done*" in reportback(ana).embeds[0]["description"]
    assert (await statuses(harness.app, group_id))[1] == ("not_done", None)  # type: ignore[arg-type]

    # After the meeting: unreported commitments close, and the channel is asked for new ones.
    await sim.advance(hours=3, minutes=1)
    assert "What will you commit to before" in sim.last_message(channel).content
    assert (await statuses(harness.app, group_id))[3] == ("not_reported", None)  # type: ignore[arg-type]


async def test_a_long_list_pages_with_buttons_for_its_owner_only(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    group_id, meeting_id = await seed_group(app, guild, channel, [ana, bob])
    now = app.clock.now()
    async with app.sessions.begin() as session:
        for number in range(1, 41):
            session.add(Commitment(
                guild_id=guild.id, group_id=group_id, number=number, user_id=ana.id if number % 2 else bob.id,
                text=f"Task {number} " + "x" * 280, due_at=MEETING_AT, meeting_id=meeting_id, status="open",
                created_at=now, updated_at=now,
            ))

    listing = await sim.command(ana, channel, "commit list")
    first = listing.embed
    assert first["footer"]["text"].startswith("Page 1 of ")
    assert buttons(listing.message) == ["Previous", "Next"]  # type: ignore[arg-type]
    refused = await sim.click(bob, listing, label="Next")
    assert refused.ephemeral and "for the member who ran the command" in refused.content
    turned = await sim.click(ana, listing, label="Next")
    assert turned.embed["footer"]["text"].startswith("Page 2 of ")
    assert "`#1` Task 1 " in first["description"] and "`#1` Task 1 " not in turned.embed["description"]


async def test_a_click_on_a_button_no_longer_on_its_message_is_answered(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    ana = sim.member(guild, "Ana")
    group_id, _meeting_id = await seed_group(app, guild, channel, [ana])
    await sim.command(ana, channel, "commit add", text="Send 10 invoices")
    await sim.advance(MEETING_AT - timedelta(hours=48) - app.clock.now())
    [dm] = [m for m in sim.dms(ana) if any(label.startswith("#") for label in buttons(m))]
    # Her screen still shows a button of an earlier drawing of the DM (another commitment's).
    answered = await sim.click_vanished(ana, dm, "commit:report:999999:done")
    assert answered.ephemeral and "isn't on this message any more" in answered.content
    assert await statuses(app, group_id) == {1: ("open", None)}  # nothing changed


async def test_a_board_too_long_for_one_message_goes_on_in_more_never_cut(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    members = [sim.member(guild, name) for name in ("Ana", "Bob", "Cat", "Dev")]
    await seed_group(app, guild, channel, members)
    texts = {}
    for member in members:
        for n in range(6):
            text = f"{member.name} {n} " + "x" * 280
            texts[text] = member
            await sim.command(member, channel, "commit add", text=text)
    await sim.advance(MEETING_AT - app.clock.now())
    boards = [m for m in sim.messages(channel) if m.layout and "Report-back — Makers" in m.text]
    assert len(boards) >= 3  # 24 commitments of ~300 characters: more than 4,000 characters
    assert "(1/" in boards[0].text and "(continued, 2/" in boards[1].text
    for board in boards:
        every = list(walk_components(board.components))
        assert len(every) <= 40
        assert sum(len(c.get("content") or "") for c in every if c["type"] == 10) <= 4000
    first = str(boards[0].nonce)  # one outbox row; a resend after a crash returns each message, not a copy
    assert first.startswith("rt-outbox-") and [b.nonce for b in boards[1:]] == [f"{first}-{n}" for n in range(2, len(boards) + 1)]
    shown = "\n".join(board.text for board in boards)
    assert all(f"` {text} — *not reported*" in shown or f"` {text} — *open*" in shown for text in texts)
    assert sim.violations == []


async def test_a_posted_board_is_edited_in_place_with_a_layout(
    sim: Sim, guild: Guild, channel: Channel, app: App
) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    group_id, meeting_id = await seed_group(app, guild, channel, [ana, bob])
    await sim.command(ana, channel, "commit add", text="Send 10 invoices")
    await sim.command(bob, channel, "commit add", text="Call the bank")
    await sim.advance(MEETING_AT - app.clock.now())
    [posted] = [m for m in sim.messages(channel) if m.layout]
    assert "⬜ `#1` Send 10 invoices — *open*" in posted.text

    # A late answer, shown as an edit of the board would show it: re-rendered, edited with a layout view.
    async with app.sessions.begin() as session:
        row = await session.scalar(select(Commitment).where(Commitment.number == 1))
        assert row is not None
        row.status = "done"
    board = await app.services.commitments.board(group_id=group_id, meeting_id=meeting_id or 0)
    assert board is not None
    [again] = board_messages(board)
    assert again.view is not None
    message = app.bot.get_partial_messageable(channel.id).get_partial_message(posted.id)
    await message.edit(view=again.view, allowed_mentions=again.allowed_mentions)
    await sim.settle()
    [edited] = [m for m in sim.messages(channel) if m.layout]
    assert edited.id == posted.id and edited.layout
    assert "✅ `#1` Send 10 invoices — *done*" in edited.text and f"Not reported yet: <@{bob.id}>" in edited.text
    assert sim.violations == []

    # Discord keeps a layout message a layout: an edit with embeds is refused, and the board stays as it was.
    with pytest.raises(discord.HTTPException):
        await message.edit(embeds=[discord.Embed(description="Report-back")])
    assert "✅ `#1` Send 10 invoices — *done*" in edited.text and edited.embeds == []
