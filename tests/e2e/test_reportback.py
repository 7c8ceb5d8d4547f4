"""The report-back end to end, as members see it: the DM's rows and buttons keep the list's order
after a click, the meeting-day nudge reaches only those who haven't reported (not those who sent
apologies), a late answer edits the posted board in place, and after the meeting a click answers
privately that the report is closed, with the carry-over buttons."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.app import App
from bot.models import Commitment
from bot.services.commitments_feature import NUDGE_LEAD_HOURS
from bot.services.outbox import plan_group
from tests.e2e.conftest import Harness
from tests.e2e.seeding import MEETING_AT, buttons, seed_group
from tests.seeding import insert_meeting
from tests.sim import Channel, Guild, Sim
from tests.sim.state import Member, Message

ANA_BUTTONS = ["#1 Done", "#1 Partly", "#1 Not done", "#1 Add a note",
               "#2 Done", "#2 Partly", "#2 Not done", "#2 Add a note",
               "#3 Done", "#3 Partly", "#3 Not done", "#3 Add a note", "Remind me later"]


def report_dms(sim: Sim, member: Member) -> list[Message]:
    """The member's DMs with report-back buttons (the report-back DM, then the nudge)."""
    return [m for m in sim.dms(member) if any(label.endswith(" Done") for label in buttons(m))]


def carry_dms(sim: Sim, member: Member) -> list[Message]:
    return [m for m in sim.dms(member) if any(label.endswith("Carry over") for label in buttons(m))]


def board_of(sim: Sim, channel: Channel) -> Message:
    [board] = [m for m in sim.messages(channel) if m.layout and "Report-back — " in m.text]
    return board


def text_of(message: Message) -> str:
    return message.text


async def statuses(app: App) -> dict[int, str]:
    async with app.sessions.begin() as session:
        return {row.number: row.status for row in await session.scalars(select(Commitment))}


async def test_report_back_from_the_dm_to_the_board_and_closed(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob, cat = sim.member(guild, "Ana"), sim.member(guild, "Bob"), sim.member(guild, "Cat")
    group_id, _meeting_id = await seed_group(app, guild, channel, [ana, bob, cat])
    async with app.sessions.begin() as session:  # the next meeting, for Carry over
        await insert_meeting(session, guild_id=guild.id, group_id=group_id, starts_at=MEETING_AT + timedelta(days=35),
                             created_at=app.clock.now())
        await plan_group(session, group_id, app.clock.now())
    for text in ("Send 10 invoices", "Call the bank", "Hire help"):
        await sim.command(ana, channel, "commit add", text=text)  # #1-#3
    await sim.command(bob, channel, "commit add", text="Fix the website")  # #4
    await sim.command(cat, channel, "commit add", text="Write the newsletter")  # #5
    nxt = await sim.command(cat, channel, "meeting next")
    await sim.click(cat, nxt, label="Can't make it")  # apologies

    # The report-back DM, two days before: one row per commitment, in the list's order.
    await sim.advance(MEETING_AT - timedelta(hours=48) - app.clock.now())
    [dm] = report_dms(sim, ana)
    assert buttons(dm) == ANA_BUTTONS
    assert "Change your answers freely until the board is posted at the meeting's start" in dm.embeds[0]["description"]
    assert "until the meeting ends. Then the report closes" in dm.embeds[0]["description"]
    # A click keeps the order (the answered one used to move below the open ones).
    clicked = await sim.click(ana, dm, label="#1 Done")
    assert clicked.interaction.response_type == 7
    [dm] = report_dms(sim, ana)
    assert buttons(dm) == ANA_BUTTONS
    description = dm.embeds[0]["description"]
    assert description.index("`#1` Send 10 invoices — *done*") < description.index("`#2` Call the bank — *open*")
    [bob_dm] = report_dms(sim, bob)
    await sim.click(bob, bob_dm, label="#4 Done")  # Bob has reported everything

    # Meeting day: the nudge, a few hours before, only to Ana (Bob reported, Cat sent apologies).
    await sim.advance(MEETING_AT - timedelta(hours=NUDGE_LEAD_HOURS) - app.clock.now())
    dms = report_dms(sim, ana)
    assert len(dms) == 2
    nudge = dms[1]
    assert "still to report on" in nudge.content and "2 commitments" in nudge.content
    assert "`#2` Call the bank" in nudge.content and "`#3` Hire help" in nudge.content
    assert buttons(nudge) == ANA_BUTTONS
    assert len(report_dms(sim, bob)) == 1
    assert [m for m in sim.dms(cat) if "still to report on" in m.content] == []
    assert not any("still to report on" in m.content for m in sim.messages(channel))  # no channel fallback either
    await sim.click(ana, nudge, label="#2 Partly")  # the nudge's buttons are the report-back's
    assert (await statuses(app))[2] == "partly"

    # The meeting: the board is posted; a later answer edits that same message in place.
    await sim.advance(MEETING_AT - app.clock.now())
    board = board_of(sim, channel)
    assert "🟨 `#2` Call the bank — *partly*" in text_of(board)
    assert f"Not reported yet: <@{ana.id}>" in text_of(board)
    assert "Completion: **50%**" in text_of(board)  # 2 done and 1 partly of 5
    posted = len(sim.messages(channel))
    await sim.advance(minutes=30)
    [dm, _nudge] = report_dms(sim, ana)
    late = await sim.click(ana, dm, label="#2 Done")
    assert late.interaction.response_type == 7
    edited = board_of(sim, channel)
    assert edited.id == board.id and edited.edited_timestamp is not None
    # (Reported after its due time, the meeting's start: "done late".)
    assert "✅ `#2` Call the bank — *done late*" in text_of(edited) and "Completion: **60%**" in text_of(edited)
    assert len(sim.messages(channel)) == posted  # edited, not posted again
    assert edited.allowed_mentions is None or edited.allowed_mentions.get("parse") == []

    # After the meeting has ended: the report is closed, privately, with the carry-over buttons.
    await sim.advance(hours=3)
    before = await statuses(harness.app)
    assert before[3] == "not_reported"
    [dm, _nudge] = report_dms(sim, ana)
    closed = await sim.click(ana, dm, label="#3 Done")
    assert closed.ephemeral and "is closed: the meeting has ended" in closed.content
    assert "`#3` Hire help" in closed.content
    assert buttons(closed.message) == ["#3 Carry over", "#3 Done late", "#3 Drop", "Remind me later"]  # type: ignore[arg-type]
    assert await statuses(harness.app) == before  # nothing stored
    assert "✅ `#2` Call the bank — *done late*" in text_of(board_of(sim, channel))
    closed_too = await sim.click(ana, dm, label="#1 Not done")  # an answered one: closed as well
    assert closed_too.ephemeral and "is closed" in closed_too.content
    assert await statuses(harness.app) == before
    done_late = await sim.click(ana, closed, label="#3 Done late")
    assert (await statuses(harness.app))[3] == "done"
    assert "now done late" in done_late.text

    # Bad input on the carry-over buttons: each answered privately, nothing stored.
    # (The other closed reply still shows #3's buttons; #3 is done late now.)
    assert buttons(closed_too.message) == ["#3 Carry over", "#3 Done late", "#3 Drop", "Remind me later"]  # type: ignore[arg-type]
    refused = await sim.click(ana, closed_too, label="#3 Carry over")
    assert refused.ephemeral and "#3 is done: there's nothing to carry over" in refused.content
    await sim.advance(hours=12)  # the carry-over DMs, inside each member's window
    assert carry_dms(sim, ana) == []  # nothing left unfinished when hers fell due
    [cat_dm] = report_dms(sim, cat)
    cat_closed = await sim.click(cat, cat_dm, label="#5 Done")  # apologies: her commitment is offered too
    assert buttons(cat_closed.message) == ["#5 Carry over", "#5 Done late", "#5 Drop", "Remind me later"]  # type: ignore[arg-type]
    [cat_carry] = carry_dms(sim, cat)
    carried = await sim.click(cat, cat_carry, label="#5 Carry over")
    assert "carried over from #5" in carried.text
    count = len(await statuses(harness.app))
    again = await sim.click(cat, cat_closed, label="#5 Carry over")  # the same button, on the closed reply
    assert again.ephemeral and "#5 is already carried over, as #6" in again.content
    assert len(await statuses(harness.app)) == count

    # Her stats card: every figure from the same ended cycle, with the definitions on the card.
    stats = await sim.command(ana, channel, "commit stats")
    assert "Streak: **1 cycle** in a row with every commitment done" in stats.text
    assert "Kept this year: **3** · Carried over: **0**" in stats.text
    assert ": **100%** (3 done, 0 partly of 3)" in stats.text
    assert "Completion: done, plus partly at half" in stats.embed["footer"]["text"]


async def test_old_report_back_buttons_after_leaving_the_group(
    sim: Sim, guild: Guild, channel: Channel, harness: Harness, app: App
) -> None:
    ana, bob = sim.member(guild, "Ana"), sim.member(guild, "Bob")
    await seed_group(app, guild, channel, [ana, bob])
    await sim.command(bob, channel, "commit add", text="Call the bank")
    await sim.advance(MEETING_AT - timedelta(hours=48) - app.clock.now())
    [dm] = report_dms(sim, bob)
    left = await sim.command(bob, channel, "group leave")
    assert left.ephemeral
    before = await statuses(app)
    for label in ("#1 Done", "#1 Add a note"):
        refused = await sim.click(bob, dm, label=label)
        assert refused.ephemeral and "no longer a member of **Makers**" in refused.content
    assert await statuses(app) == before
